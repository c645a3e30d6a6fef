//! Worker processes announce themselves in `worker_heartbeats` (GET /v1/stats "live workers").

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// One worker process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerIdentity<'a> {
    /// The unique worker name (prefix + host + pid + ULID).
    pub worker_name: &'a str,
    pub hostname: &'a str,
    pub pid: i32,
    pub started_at: DateTime<Utc>,
}

/// Inserts the worker's row or moves its `last_seen_at` to now.
pub async fn upsert_heartbeat(
    executor: impl PgExecutor<'_>,
    identity: &WorkerIdentity<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into worker_heartbeats (worker_name, hostname, pid, started_at, last_seen_at)
         values ($1, $2, $3, $4, now())
         on conflict (worker_name) do update set last_seen_at = now()",
    )
    .bind(identity.worker_name)
    .bind(identity.hostname)
    .bind(identity.pid)
    .bind(identity.started_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Removes the worker's row (graceful shutdown).
pub async fn remove_heartbeat(
    executor: impl PgExecutor<'_>,
    worker_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from worker_heartbeats where worker_name = $1")
        .bind(worker_name)
        .execute(executor)
        .await?;
    Ok(())
}

/// Deletes rows of workers not seen for `older_than_seconds` (crashed processes).
pub async fn prune_stale_heartbeats(
    executor: impl PgExecutor<'_>,
    older_than_seconds: f64,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "delete from worker_heartbeats
         where last_seen_at < now() - make_interval(secs => $1)",
    )
    .bind(older_than_seconds)
    .execute(executor)
    .await?;
    Ok(result.rows_affected())
}
