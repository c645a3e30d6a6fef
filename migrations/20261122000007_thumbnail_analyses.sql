-- tokworks thumbnail analysis (issue #5): a content-addressed cache of successful vision answers,
-- and each item's analysis outcome.
--
-- `thumbnail_analyses` holds only successes, keyed by
-- cache_key = sha256(image sha256 ‖ 0x00 ‖ language ‖ 0x00 ‖ model ‖ 0x00 ‖ prompt_version): the
-- same image bytes, language, model and prompt version are analysed once, across jobs and
-- workers (see ARCHITECTURE.md "Thumbnail analysis").
create table thumbnail_analyses (
    cache_key         bytea primary key,
    image_sha256      bytea not null,
    language          text not null,
    model             text not null,
    prompt_version    text not null,
    analysis          jsonb not null,           -- the 25 validated fields, as the model answered
    prompt_tokens     integer not null,
    completion_tokens integer not null,
    total_tokens      integer not null,
    latency_ms        integer not null,         -- of the vision call(s) that produced it
    created_at        timestamptz not null default now()
);
create index thumbnail_analyses_by_image on thumbnail_analyses (image_sha256, language);

-- The analysis outcome of an item that asked for one (`options.analyze_thumbnail`), written in
-- the transaction that ends the item. All null when no analysis was asked for.
alter table job_items
    add column analysis_status         text check (analysis_status in ('succeeded', 'failed')),
    add column analysis_key            bytea references thumbnail_analyses (cache_key),
    add column analysis_language       text,
    add column analysis_model          text,
    add column analysis_prompt_version text,
    add column analysis_cached         boolean,
    add column analysis_error_code     text,
    add column analysis_error_message  text;
