-- tokworks feed jobs (trending, hashtag, user): one upstream walk of a feed serves every job
-- that asked for the same feed while it ran (coalescing) or within FEED_CACHE_TTL_SECONDS after
-- it ended (the feed cache). See ARCHITECTURE.md "Feed walks".

-- One walk of one feed. Claimed like job_items (fencing claim_id + lease, FOR UPDATE SKIP LOCKED),
-- so a worker killed mid-walk loses nothing: the expired lease is re-claimed by another worker.
create table feed_walks (
    walk_id          uuid primary key,              -- UUID v7
    feed_key         text not null,                 -- normalised: `trending|30`, `hashtag|food|30`, `user|name|30`
    kind             text not null check (kind in ('trending', 'hashtag', 'user')),
    target           text,                          -- the hashtag (lowercase, no #) or the username (no @)
    requested_count  integer not null check (requested_count >= 1),
    status           text not null check (status in ('queued', 'running', 'succeeded', 'partial', 'failed')),
    attempts         integer not null default 0,    -- claims so far; the retry budget lives here
    max_attempts     integer not null check (max_attempts >= 1),
    not_before       timestamptz not null default now(),  -- earliest next claim (retry backoff)
    claim_id         uuid,
    claimed_by       text,
    lease_expires_at timestamptz,
    video_ids        text[] not null default '{}',  -- the feed's videos, in feed order, deduplicated
    stop_code        text,                          -- COUNT_REACHED, NO_MORE, or the error code that stopped it
    stop_message     text,
    pages_fetched    integer,
    walk_ms          double precision,              -- duration of the last attempt's walk (covers included)
    created_at       timestamptz not null default now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
-- At most one walk in flight per feed: `insert … on conflict do nothing` against this index makes
-- coalescing race-free across api processes.
create unique index feed_walks_one_in_flight_per_feed on feed_walks (feed_key)
    where status in ('queued', 'running');
-- The cache lookup: the newest finished walk of a feed.
create index feed_walks_finished_by_feed on feed_walks (feed_key, finished_at desc)
    where status in ('succeeded', 'partial');
create index feed_walks_due on feed_walks (not_before) where status in ('queued', 'running');

-- The walk that serves a feed job, and whether the job was answered from a finished walk.
alter table jobs
    add column feed_walk_id   uuid references feed_walks (walk_id) on delete set null,
    add column feed_cache_hit boolean;
create index jobs_by_feed_walk on jobs (feed_walk_id) where feed_walk_id is not null;
