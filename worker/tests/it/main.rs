//! tokworks-worker integration tests (one binary): the queue, the yt-dlp pool and the web
//! extractor against the simulator, the extract handler against Postgres and Redis, the
//! reconciler, and the apalis runtime end to end.

mod apalis_runtime;
mod dispatcher;
mod egress;
mod extract_item;
mod feed_walks;
mod lease_renewal;
mod queue;
mod reconciler;
mod retention;
mod startup_signal;
mod support;
mod thumbnail_analysis;
mod tiktok_web_client;
mod tiktok_web_search_sound;
mod transcripts;
mod upstream_messages;
mod web_extractor;
mod webhook_faults;
mod webhooks;
mod ytdlp_pool;
