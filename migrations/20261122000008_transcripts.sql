-- tokworks transcripts (issue #5): the text of TikTok's subtitle tracks.
-- `transcripts` caches one parsed track per (video, track language) across jobs; the item columns
-- record what the transcript stage of one item gave (written in the transaction that ends it).
create table transcripts (
    video_id           text not null references videos (video_id) on delete cascade,
    language_code_name text not null,          -- TikTok's track label, e.g. eng-US, ind-ID
    source             text not null check (source in ('asr', 'mt', 'creator')),
    cues               jsonb not null,         -- [{start_ms, end_ms, text}]
    text               text not null,          -- the cue texts joined (repeated lines collapsed)
    fetched_at         timestamptz not null default now(),
    primary key (video_id, language_code_name)
);

alter table job_items
    add column transcript_status text
        check (transcript_status in ('succeeded', 'unavailable', 'failed')),
    add column transcript_language text,          -- requested: en | id
    add column transcript_track_language text,    -- the track used (succeeded only), e.g. eng-US
    add column transcript_available_languages text[], -- every track the post has
    add column transcript_error_code text,
    add column transcript_error_message text;
