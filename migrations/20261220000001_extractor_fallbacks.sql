-- Items the native (web) extractor handed to yt-dlp under EXTRACTOR=auto, by reason (the error
-- code the native client ended with). Written by the workers, read by the api's /v1/stats and
-- /metrics: a rising count tells an operator that TikTok changed something (issue #11 item 2).
create table extractor_fallbacks (
    reason text primary key,
    fallbacks bigint not null default 0,
    recovered bigint not null default 0,
    last_fallback_at timestamptz not null default now()
);
