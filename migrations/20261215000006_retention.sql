-- Retention (docs/retention.md): the worker's retention loop finds what to delete by age, in
-- bounded batches, every minute. Without these indexes each batch would scan the whole table.

-- Finished jobs by the time they finished: the candidates to expire (RETENTION_DAYS) ...
create index if not exists jobs_finished_by_time on jobs (finished_at)
    where status in ('succeeded', 'partial', 'failed', 'canceled');
-- ... and the tombstones (status `expired`) to delete after a second period.
create index if not exists jobs_expired_by_time on jobs (finished_at)
    where status = 'expired';

-- Stored cover bytes and raw items past THUMBNAIL_RETENTION_DAYS.
create index if not exists thumbnails_by_fetched_at on thumbnails (fetched_at);
create index if not exists videos_with_raw_item_by_fetched_at on videos (fetched_at)
    where raw_item is not null;
-- Unreferenced videos past RETENTION_DAYS.
create index if not exists videos_by_fetched_at on videos (fetched_at);

-- Finished feed walks no job links to any more.
create index if not exists feed_walks_finished_by_time on feed_walks (finished_at)
    where status in ('succeeded', 'partial', 'failed');
