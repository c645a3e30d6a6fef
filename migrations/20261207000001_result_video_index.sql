-- `GET /v1/videos/{id}` checks that the video belongs to one of the key's jobs through
-- `job_items.result_video_id` (`exists (… where i.result_video_id = v.video_id and
-- j.api_key_id = $2)`): without an index that is a scan of every item. Partial: most items
-- without a result (queued, failed) are left out.
create index if not exists job_items_by_result_video on job_items (result_video_id)
    where result_video_id is not null;
