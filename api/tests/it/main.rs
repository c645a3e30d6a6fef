//! Integration tests of tokworks-api: the router in-process against a fresh Postgres database
//! per test (`#[sqlx::test]`, needs DATABASE_URL) and Redis on 127.0.0.1:6379 (or REDIS_URL)
//! with a unique queue namespace per test.

// Marks the helpers (not only `#[test]` fns) as test code for clippy's allow-unwrap-in-tests.
#![cfg(test)]

mod auth;
mod bad_input;
mod batches;
mod bootstrap_key;
mod cancel_and_list;
mod comments;
mod compat;
mod csv_export;
mod dashboard;
mod event_streams;
mod events;
mod feeds;
mod feeds_search_sound;
mod health;
mod jobs;
mod keys;
mod metrics;
mod openapi;
mod public_endpoints;
mod rate_limits;
mod retention;
mod server;
mod stats_and_videos;
mod support;
mod wait;
mod watches;
mod webhook_deliveries;
mod webhooks;
