-- tokworks job engine, version 1.
-- Postgres is the source of truth for every key, job, item, video and timing;
-- Redis only carries "work to do" (see ARCHITECTURE.md).
-- Conventions: lowercase SQL, plural table names, `<thing>_id` primary keys,
-- status columns are text with a check constraint (readable in psql, cheap to extend).

-- API keys. The key itself is shown once at creation and never stored:
-- we keep a SHA-256 of it (keys are 256-bit random, so a fast hash is enough).
create table api_keys (
    api_key_id   uuid primary key,
    name         text not null,
    key_prefix   text not null,               -- first characters, for display ("tok_Ab12…")
    key_sha256   bytea not null unique,
    is_bootstrap boolean not null default false, -- created from the API_KEY environment variable
    created_at   timestamptz not null default now(),
    revoked_at   timestamptz
);

-- Latest known metadata of each TikTok post: the cache, and what GET /v1/videos/{id} serves.
create table videos (
    video_id    text primary key,             -- TikTok's 19-digit id, kept as text
    data        jsonb not null,               -- the `Video` result (shared::video), versioned inside
    raw_item    jsonb,                        -- TikTok's itemStruct as fetched, so results can be re-mapped
    source      text not null check (source in ('ytdlp', 'web')),
    fetched_at  timestamptz not null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

-- Thumbnail (cover) bytes, downloaded at extraction time: upstream URLs expire within hours.
create table thumbnails (
    video_id      text primary key references videos (video_id) on delete cascade,
    content_type  text not null,
    bytes         bytea not null,
    sha256        bytea not null,
    source_url    text not null,
    fetched_at    timestamptz not null default now()
);

create table jobs (
    job_id           uuid primary key,        -- UUID v7 (time ordered)
    api_key_id       uuid not null references api_keys (api_key_id),
    kind             text not null check (kind in ('video', 'batch', 'trending', 'hashtag', 'user')),
    status           text not null check (status in ('queued', 'running', 'succeeded', 'partial', 'failed', 'canceled', 'expired')),
    request          jsonb not null,          -- the accepted request body, normalised (wire format)
    options          jsonb not null default '{}'::jsonb,
    metadata         jsonb not null default '{}'::jsonb,
    idempotency_key  text,
    items_total      integer not null check (items_total >= 0),
    items_succeeded  integer not null default 0,
    items_failed     integer not null default 0,
    items_canceled   integer not null default 0,
    error_code       text,                    -- set when the whole job failed for one reason
    error_message    text,
    created_at       timestamptz not null default now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    constraint jobs_counts_within_total check (items_succeeded + items_failed + items_canceled <= items_total),
    constraint jobs_idempotency_key_unique unique (api_key_id, idempotency_key)
);
create index jobs_by_key_newest on jobs (api_key_id, job_id desc);
create index jobs_unfinished on jobs (status) where status in ('queued', 'running');

-- One unit of work: one URL of a job. A video job has exactly one item.
create table job_items (
    item_id          uuid primary key,        -- UUID v7
    job_id           uuid not null references jobs (job_id) on delete cascade,
    position         integer not null,
    input_url        text not null,           -- exactly what the client sent
    canonical_url    text,                    -- normalised URL (short links: until resolved, the short link)
    video_id         text,                    -- known from the URL or after resolving a short link
    custom_id        text,
    status           text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    attempts         integer not null default 0,  -- claims so far; the retry budget lives here, not in Redis
    max_attempts     integer not null check (max_attempts >= 1),
    not_before       timestamptz not null default now(), -- earliest next attempt (retry backoff)
    task_id          text,                    -- apalis task id of the latest enqueue, for the reconciler
    enqueued_at      timestamptz,
    claim_id         uuid,                    -- fencing token of the current claim
    claimed_by       text,                    -- worker name holding the claim
    lease_expires_at timestamptz,             -- a running item whose lease expired is re-run
    cache_hit        boolean,
    error_code       text,
    error_message    text,
    error_retryable  boolean,
    result_video_id  text references videos (video_id),
    created_at       timestamptz not null default now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    constraint job_items_position_unique unique (job_id, position)
);
create index job_items_by_job on job_items (job_id, position);
create index job_items_unfinished on job_items (status, not_before) where status in ('queued', 'running');

-- Every execution of a task handler that claimed an item: proves "processed exactly once"
-- and shows retries and takeovers after a crash.
create table item_executions (
    execution_id  bigint generated always as identity primary key,
    item_id       uuid not null references job_items (item_id) on delete cascade,
    attempt       integer not null,
    claim_id      uuid not null,
    worker_name   text not null,
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    outcome       text check (outcome in ('succeeded', 'failed', 'retry_scheduled', 'lost_claim'))
);
create index item_executions_by_item on item_executions (item_id);

-- Per-item, per-attempt stage timings (queue wait, resolve, extract, thumbnail, store, total).
create table item_stage_timings (
    item_id      uuid not null references job_items (item_id) on delete cascade,
    attempt      integer not null,
    stage        text not null,
    duration_ms  double precision not null check (duration_ms >= 0),
    recorded_at  timestamptz not null default now(),
    primary key (item_id, attempt, stage)
);
create index item_stage_timings_by_stage on item_stage_timings (stage, recorded_at);

-- Worker processes announce themselves here (GET /v1/stats "live workers").
create table worker_heartbeats (
    worker_name   text primary key,
    hostname      text not null,
    pid           integer not null,
    started_at    timestamptz not null,
    last_seen_at  timestamptz not null
);
