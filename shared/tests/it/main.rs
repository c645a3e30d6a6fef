//! Integration tests of tokworks-shared: the `shared::db` functions against a fresh Postgres
//! database per test (`#[sqlx::test]`, needs DATABASE_URL), in one test binary.

// Marks the helpers (not only `#[test]` fns) as test code for clippy's allow-unwrap-in-tests.
#![cfg(test)]

mod batch_duplicates;
mod cancel_race;
mod extractor_fallbacks;
mod upstream_text;
mod video_ownership_index;
mod watches;
mod webhook_outbox;
