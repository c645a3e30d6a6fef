-- Fair scheduling across API keys (docs/fair-scheduling.md): items are inserted without a queue
-- task; the workers' dispatcher hands them to Redis a bounded window at a time, round-robin
-- across keys. The dispatcher reads the undispatched backlog through this index, and sizes the
-- Redis window from the live workers' concurrency announced in their heartbeat rows.
create index job_items_undispatched on job_items (not_before)
    where status = 'queued' and task_id is null and duplicate_of is null;

alter table worker_heartbeats
    add column concurrency integer;
