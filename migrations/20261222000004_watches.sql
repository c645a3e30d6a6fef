-- tokworks watches (issue #15, docs/watches.md): a watch runs an ordinary feed job every
-- `every_seconds` for its key and reports, once, the videos that no earlier run of it found.
-- The scheduler in the workers claims due watches with FOR UPDATE SKIP LOCKED and creates the
-- run's job, its `watch_runs` row and the next due time in one transaction; a run's evaluation
-- (new videos, the webhook outbox row, the watch's state) is one transaction too.

create table watches (
    watch_id             uuid primary key,                 -- UUID v7
    api_key_id           uuid not null references api_keys (api_key_id) on delete cascade,
    kind                 text not null check (kind in ('trending', 'hashtag', 'user', 'search', 'sound')),
    target               text,                             -- the normalised hashtag, username, query or sound id
    every_seconds        integer not null check (every_seconds >= 1),
    count                integer not null check (count >= 1),
    report_existing      boolean not null default false,
    options              jsonb not null default '{}'::jsonb, -- the runs' job options (StoredJobOptions) as asked
    metadata             jsonb not null default '{}'::jsonb,
    max_attempts         integer not null check (max_attempts >= 1), -- of each run's walk
    webhook_url          text,
    webhook_events       text[],
    status               text not null default 'active' check (status in ('active', 'paused')),
    paused_reason        text check (paused_reason in ('requested', 'failing')),
    next_run_at          timestamptz,                      -- null while paused
    last_run_at          timestamptz,                      -- the last run's scheduled start
    last_success_at      timestamptz,
    consecutive_failures integer not null default 0,
    failing_since        timestamptz,                      -- the first failure of the current streak
    last_error_code      text,
    last_error_message   text,
    baseline_done        boolean not null default false,   -- a run succeeded (the baseline is behind)
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint watches_paused_has_reason check ((status = 'paused') = (paused_reason is not null))
);
create index watches_by_key_newest on watches (api_key_id, watch_id desc);
create index watches_due on watches (next_run_at) where status = 'active';

-- One run of a watch: the ordinary feed job it created and what it found.
create table watch_runs (
    run_id        uuid primary key,                        -- UUID v7
    watch_id      uuid not null references watches (watch_id) on delete cascade,
    job_id        uuid references jobs (job_id) on delete set null,
    status        text not null check (status in ('running', 'succeeded', 'partial', 'failed', 'canceled')),
    baseline      boolean not null default false,
    scheduled_for timestamptz not null,                    -- the due time it was claimed for
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    videos_found  integer not null default 0,
    new_video_ids text[] not null default '{}',
    error_code    text,
    error_message text
);
-- At most one run in flight per watch (the scheduler also checks it before claiming).
create unique index watch_runs_one_in_flight on watch_runs (watch_id) where status = 'running';
create index watch_runs_by_watch_newest on watch_runs (watch_id, run_id desc);
create index watch_runs_running_by_job on watch_runs (job_id) where status = 'running';

-- Every video a watch has seen, once: the first run that found it, and whether it was reported.
create table watch_videos (
    watch_id      uuid not null references watches (watch_id) on delete cascade,
    video_id      text not null,
    url           text not null,
    first_seen_at timestamptz not null default now(),
    run_id        uuid not null references watch_runs (run_id) on delete cascade,
    reported      boolean not null,
    primary key (watch_id, video_id)
);
create index watch_videos_by_watch_newest on watch_videos (watch_id, first_seen_at desc, video_id desc);

-- Per-key override of WATCH_MAX_PER_KEY (null: the api's default).
alter table api_keys add column max_watches integer check (max_watches > 0);
