-- tokworks webhooks (Standard Webhooks): per-key signing secrets, the job's webhook target,
-- the outbox of events (written in the same transaction as the state change that causes them)
-- and every delivery attempt. See ARCHITECTURE.md "Webhooks".

-- One signing secret per API key. Stored in clear (not hashed): its owner reads it back at
-- GET /v1/webhook-secret, and the worker needs it to sign. During a rotation's grace period
-- the previous secret also signs every delivery.
create table webhook_secrets (
    api_key_id           uuid primary key references api_keys (api_key_id) on delete cascade,
    secret               text not null,        -- whsec_ + base64(32 random bytes)
    previous_secret      text,
    previous_valid_until timestamptz,
    created_at           timestamptz not null default now(),
    rotated_at           timestamptz
);

-- The job's webhook target (null: the job sends no events).
alter table jobs
    add column webhook_url            text,
    add column webhook_events         text[],
    add column webhook_disabled_at    timestamptz,  -- the receiver answered 410 Gone
    add column last_progress_event_at timestamptz;  -- job.progress throttle (≤ 1 per 2 s)

-- The outbox: one row per delivery of one event to the job's URL. A redelivery is a new row with
-- the same webhook_id. Claimed like job_items (fencing claim_id + lease), so a worker killed
-- mid-send loses nothing: the expired lease is re-claimed.
create table webhook_deliveries (
    delivery_id      uuid primary key,                -- UUID v7
    webhook_id       text not null,                   -- `webhook-id`: msg_<ulid>, stable across retries and redeliveries
    job_id           uuid not null references jobs (job_id) on delete cascade,
    event_type       text not null,
    url              text not null,
    payload          jsonb not null,
    status           text not null default 'pending'
                     check (status in ('pending', 'delivering', 'succeeded', 'failed', 'stopped')),
    attempts         integer not null default 0,      -- claims so far
    next_attempt_at  timestamptz not null default now(),
    claim_id         uuid,
    claimed_by       text,
    lease_expires_at timestamptz,
    last_status_code integer,
    last_error       text,
    redelivery_of    uuid references webhook_deliveries (delivery_id) on delete set null,
    created_at       timestamptz not null default now(),
    finished_at      timestamptz
);
create index webhook_deliveries_by_job on webhook_deliveries (job_id, delivery_id);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
    where status in ('pending', 'delivering');

-- Every attempt of every delivery.
create table webhook_delivery_attempts (
    attempt_id       bigint generated always as identity primary key,
    delivery_id      uuid not null references webhook_deliveries (delivery_id) on delete cascade,
    attempt          integer not null,
    claim_id         uuid not null,
    worker_name      text not null,
    started_at       timestamptz not null,
    finished_at      timestamptz not null default now(),
    status_code      integer,
    latency_ms       double precision not null,
    response_excerpt text,                  -- at most ~1 KB of the response body
    error            text,
    outcome          text not null check (outcome in ('succeeded', 'retry_scheduled', 'failed', 'stopped'))
);
create index webhook_delivery_attempts_by_delivery on webhook_delivery_attempts (delivery_id, attempt_id);
