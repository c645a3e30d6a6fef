-- Per-key limits (docs/rate-limits.md). Null: the api's default (KEY_REQUESTS_PER_SECOND,
-- KEY_URLS_PER_MINUTE, KEY_MAX_ITEMS_IN_FLIGHT).
alter table api_keys
    add column requests_per_second integer check (requests_per_second > 0),
    add column urls_per_minute     integer check (urls_per_minute > 0),
    add column max_items_in_flight integer check (max_items_in_flight > 0);

-- The in-flight count of one key (read at most once per second per api process) looks only at
-- its unfinished jobs.
create index jobs_unfinished_by_key on jobs (api_key_id) where status in ('queued', 'running');
