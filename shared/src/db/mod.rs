//! All SQL of tokworks lives under this module: one file per table or concern, free `async fn`s
//! taking an executor (pool or transaction), returning row types defined next to them.

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::DatabaseArgs;

pub mod api_keys;
pub mod comments;
pub mod covers;
pub mod extractor_fallbacks;
pub mod feed_walks;
pub mod item_claims;
pub mod job_events;
pub mod job_items;
pub mod job_views;
pub mod jobs;
pub mod nul_free;
pub mod retention;
pub mod service_gauges;
pub mod stats;
pub mod thumbnail_analyses;
pub mod transcripts;
pub mod videos;
pub mod watches;
pub mod webhooks;
pub mod worker_heartbeats;

/// The embedded migrations (`migrations/` at the workspace root).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Postgres NOTIFY channel on which the id of a job that reached a terminal status is published
/// (sent in the same transaction as the transition, so it is delivered only if it committed).
pub const JOB_FINISHED_CHANNEL: &str = "tokworks_job_finished";

/// Postgres NOTIFY channel that wakes the webhook deliverer: sent in the transaction that writes
/// an outbox row (or a redelivery), so it fires only when the row committed.
pub const WEBHOOK_READY_CHANNEL: &str = "tokworks_webhook_ready";

/// Postgres NOTIFY channel that wakes the feed walkers: sent in the transaction that creates a
/// feed walk (payload = walk id), so it fires only when the walk committed.
pub const FEED_WALK_READY_CHANNEL: &str = "tokworks_feed_walk_ready";

/// Failure to reach or migrate Postgres.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL is not a valid Postgres URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    #[error("cannot connect to Postgres: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Opens a pool. Fails fast (5 s) when Postgres is unreachable. Every connection gets
/// `DATABASE_STATEMENT_TIMEOUT_SECONDS` as its `statement_timeout`.
pub async fn connect(args: &DatabaseArgs) -> Result<PgPool, ConnectError> {
    let mut options: PgConnectOptions = args
        .database_url
        .expose_secret()
        .parse()
        .map_err(ConnectError::InvalidUrl)?;
    if args.database_statement_timeout_seconds > 0 {
        let timeout = format!("{}s", args.database_statement_timeout_seconds);
        options = options.options([("statement_timeout", timeout.as_str())]);
    }
    PgPoolOptions::new()
        .max_connections(args.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(ConnectError::Connect)
}

/// Applies every pending migration (idempotent; safe to run from several processes), on a
/// connection of its own without `statement_timeout` (an index build on a large table may take
/// longer), which is closed afterwards instead of going back to the pool.
pub async fn migrate(pool: &PgPool) -> Result<(), ConnectError> {
    let mut connection = pool
        .acquire()
        .await
        .map_err(ConnectError::Connect)?
        .detach();
    sqlx::query("set statement_timeout = 0")
        .execute(&mut connection)
        .await
        .map_err(ConnectError::Connect)?;
    let migrated = MIGRATOR
        .run(&mut connection)
        .await
        .map_err(ConnectError::Migrate);
    // Closing is best effort: the connection is not reused either way.
    let _ = sqlx::Connection::close(connection).await;
    migrated
}

/// Whether `error` means the database is unreachable, overloaded or shutting down — the
/// caller should answer "try again shortly" (503) rather than report a fault: the pool timed
/// out or is closed, the connection broke, or Postgres refused or canceled the work (SQLSTATE
/// classes 08 connection exception, 53 insufficient resources, 57 operator intervention, which
/// includes 57014, a statement canceled by `statement_timeout`).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database_error) => database_error.code().is_some_and(|code| {
            ["08", "53", "57"]
                .iter()
                .any(|class| code.starts_with(class))
        }),
        _ => false,
    }
}
