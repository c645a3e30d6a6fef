-- tokworks `comments` jobs (issue #15): a video's comments, walked by a feed walk of kind
-- 'comments' (key `comments|<video id or canonical URL>|<count>|replies` or `|top`), so identical
-- requests coalesce and the feed cache applies. See docs/comments.md.

-- One row per comment or reply ever fetched: the typed `Comment` (shared::comment) as jsonb,
-- replaced by the newest fetch. Deleted by the retention loop when no walk lists it any more.
create table comments (
    comment_id  text primary key,
    video_id    text not null,
    parent_id   text,                        -- null for a top-level comment
    data        jsonb not null,              -- shared::comment::Comment
    fetched_at  timestamptz not null default now()
);
create index comments_by_video on comments (video_id);

-- What a finished comments walk found: the video it resolved to and TikTok's `total`.
create table comment_walks (
    walk_id   uuid primary key references feed_walks (walk_id) on delete cascade,
    video_id  text not null,
    total     bigint                          -- TikTok's `total` of the first list page
);

-- The walk's comments in order (each top-level comment followed by its replies); every job of
-- the walk reads its comments from here by position. Gone with the walk (cascade).
create table comment_walk_items (
    walk_id     uuid not null references comment_walks (walk_id) on delete cascade,
    position    integer not null check (position >= 0),
    comment_id  text not null references comments (comment_id),
    primary key (walk_id, position)
);
create index comment_walk_items_by_comment on comment_walk_items (comment_id);
