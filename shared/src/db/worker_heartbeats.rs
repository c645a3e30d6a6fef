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
    /// The worker can analyse thumbnails (it has an OpenAI-compatible API key).
    pub vision_configured: bool,
}

/// Inserts the worker's row or moves its `last_seen_at` to now.
pub async fn upsert_heartbeat(
    executor: impl PgExecutor<'_>,
    identity: &WorkerIdentity<'_>,
) -> Result<(), sqlx::Error> {
    upsert_heartbeat_with_concurrency(executor, identity, None).await
}

/// [`upsert_heartbeat`], also announcing how many items the worker runs at once (its
/// `WORKER_CONCURRENCY`; the dispatcher sizes the Redis window from the live workers' sum).
pub async fn upsert_heartbeat_with_concurrency(
    executor: impl PgExecutor<'_>,
    identity: &WorkerIdentity<'_>,
    concurrency: Option<i32>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into worker_heartbeats
             (worker_name, hostname, pid, started_at, last_seen_at, vision_configured, concurrency)
         values ($1, $2, $3, $4, now(), $5, $6)
         on conflict (worker_name)
         do update set last_seen_at = now(), vision_configured = excluded.vision_configured,
                       concurrency = coalesce(excluded.concurrency, worker_heartbeats.concurrency)",
    )
    .bind(identity.worker_name)
    .bind(identity.hostname)
    .bind(identity.pid)
    .bind(identity.started_at)
    .bind(identity.vision_configured)
    .bind(concurrency)
    .execute(executor)
    .await?;
    Ok(())
}

/// The summed concurrency of the workers seen within `within` that announced theirs.
pub async fn live_concurrency(
    executor: impl PgExecutor<'_>,
    within: std::time::Duration,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select coalesce(sum(concurrency), 0)::int8 from worker_heartbeats
         where last_seen_at > now() - make_interval(secs => $1)",
    )
    .bind(within.as_secs_f64())
    .fetch_one(executor)
    .await
}

/// Live workers (seen within `within`), and how many of them can analyse thumbnails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct LiveWorkers {
    pub live: i64,
    pub vision_configured: i64,
}

/// Counts the live workers and their capabilities.
pub async fn live_workers(
    executor: impl PgExecutor<'_>,
    within: std::time::Duration,
) -> Result<LiveWorkers, sqlx::Error> {
    sqlx::query_as(
        "select count(*) as live, count(*) filter (where vision_configured) as vision_configured
         from worker_heartbeats
         where last_seen_at > now() - make_interval(secs => $1)",
    )
    .bind(within.as_secs_f64())
    .fetch_one(executor)
    .await
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
