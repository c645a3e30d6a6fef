//! End-to-end tests of tokworks: the real api binary, two real worker binaries and the real
//! yt-dlp, against the simulator, a fresh Postgres database and a private redis-server per test.
//!
//! Prerequisites (scripts/test.sh does all three): `cargo build --workspace --bins`,
//! Postgres reachable through `DATABASE_URL` with CREATEDB, and scripts/install-ytdlp.sh.

mod batch;
mod cache_and_wait;
mod cli;
mod comments;
mod configuration;
mod dashboard;
mod error_cases;
mod extraction;
mod extraction_engine;
mod fairness;
mod feeds;
mod feeds_search_sound;
mod ground_truth;
mod harness;
mod resilience;
mod thumbnail_analysis;
mod transcripts;
mod watches;
mod webhooks;
