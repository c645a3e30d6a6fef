//! tokworks-shared: what both `tokworks-api` and `tokworks-worker` need — domain types,
//! wire formats (queue payloads), the queue itself, configuration pieces, and all SQL.
//!
//! Invariant: no HTTP server, no HTTP client, no child processes live here.

pub mod comment;
pub mod config;
pub mod db;
pub mod error_code;
pub mod ids;
pub mod job_options;
pub mod job_status;
pub mod logging;
pub mod queue;
pub mod queue_tasks;
pub mod sound;
#[cfg(feature = "test-fixtures")]
pub mod test_fixtures;
pub mod tiktok_url;
pub mod video;
pub mod webhooks;
