//! Retention SQL (docs/retention.md): the lock that lets one worker at a time delete, and the
//! bounded batches that expire finished jobs, delete their tombstones, and drop stored covers,
//! raw items, unreferenced videos and feed walks past their age.
//!
//! Every function deletes at most about `limit` rows (plus the rows that cascade from them) in
//! one short transaction, so a batch never holds many locks for long. Lock order follows the
//! rest of the engine: item rows before the job row ([`expire_jobs_batch`]); every other batch
//! locks rows of one table only.

use std::time::Duration;

use crate::ids::JobId;
use sqlx::{Acquire, PgConnection};

/// The key of the session-level advisory lock held by the worker running a retention round
/// (`pg_try_advisory_lock`): "tokret" in ASCII.
pub const RETENTION_LOCK_KEY: i64 = 0x746f_6b72_6574;

/// Takes the retention lock on this connection if no other session holds it; `false` when
/// another worker is running a round. Held until [`unlock`] or until the connection closes.
pub async fn try_lock(connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(RETENTION_LOCK_KEY)
        .fetch_one(connection)
        .await
}

/// Releases the retention lock held by this connection (`false` if it held none).
pub async fn unlock(connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select pg_advisory_unlock($1)")
        .bind(RETENTION_LOCK_KEY)
        .fetch_one(connection)
        .await
}

/// What one [`expire_jobs_batch`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiredBatch {
    /// Jobs moved to `expired`.
    pub jobs: u64,
    /// Their items deleted (stage timings and executions go with them).
    pub items: u64,
    /// Their finished webhook deliveries deleted (attempts go with them).
    pub deliveries: u64,
}

/// Expires the jobs that finished more than `older_than` ago and have no webhook delivery still
/// pending or in flight, oldest first, about `item_limit` items at a time (at least one job):
/// deletes their items (with stage timings and executions, by cascade) and their finished
/// deliveries (with attempts), and turns the job row into a tombstone (`status = 'expired'`,
/// counters and `finished_at` kept). One transaction: items first, then the job rows.
pub async fn expire_jobs_batch(
    connection: &mut PgConnection,
    older_than: Duration,
    item_limit: i64,
) -> Result<ExpiredBatch, sqlx::Error> {
    let mut transaction = connection.begin().await?;
    // Jobs in finishing order until about `item_limit` items: a job is taken when the items of
    // the jobs before it are fewer than the limit (so the first one always is).
    let job_ids: Vec<JobId> = sqlx::query_scalar(
        "select job_id from (
             select j.job_id, j.items_total,
                    sum(j.items_total) over (order by j.finished_at, j.job_id) as running_total
             from jobs j
             where j.status in ('succeeded', 'partial', 'failed', 'canceled')
               and j.finished_at < now() - make_interval(secs => $1)
               and not exists (
                   select 1 from webhook_deliveries d
                   where d.job_id = j.job_id and d.status in ('pending', 'delivering'))
             order by j.finished_at, j.job_id
             limit $2
         ) picked
         where running_total - items_total < $2",
    )
    .bind(older_than.as_secs_f64())
    .bind(item_limit)
    .fetch_all(&mut *transaction)
    .await?;
    if job_ids.is_empty() {
        return Ok(ExpiredBatch::default());
    }
    let items = sqlx::query("delete from job_items where job_id = any($1)")
        .bind(&job_ids)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
    // Only finished deliveries: one created meanwhile (a redelivery) is still sent.
    let deliveries = sqlx::query(
        "delete from webhook_deliveries
         where job_id = any($1) and status in ('succeeded', 'failed', 'stopped')",
    )
    .bind(&job_ids)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    let jobs = sqlx::query(
        "update jobs set status = 'expired'
         where job_id = any($1) and status in ('succeeded', 'partial', 'failed', 'canceled')",
    )
    .bind(&job_ids)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    transaction.commit().await?;
    Ok(ExpiredBatch {
        jobs,
        items,
        deliveries,
    })
}

/// Deletes up to `limit` tombstones (`expired` jobs) that finished more than `older_than` ago
/// and have no webhook delivery still pending or in flight; their remaining (finished)
/// deliveries go with them.
pub async fn delete_tombstones_batch(
    executor: impl sqlx::PgExecutor<'_>,
    older_than: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "delete from jobs where job_id in (
             select j.job_id from jobs j
             where j.status = 'expired'
               and j.finished_at < now() - make_interval(secs => $1)
               and not exists (
                   select 1 from webhook_deliveries d
                   where d.job_id = j.job_id and d.status in ('pending', 'delivering'))
             order by j.finished_at
             limit $2
             for update of j skip locked)",
    )
    .bind(older_than.as_secs_f64())
    .bind(limit)
    .execute(executor)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` finished feed walks that ended more than `older_than` ago and that no
/// job (tombstones included) links to any more.
pub async fn delete_feed_walks_batch(
    executor: impl sqlx::PgExecutor<'_>,
    older_than: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "delete from feed_walks where walk_id in (
             select w.walk_id from feed_walks w
             where w.status in ('succeeded', 'partial', 'failed')
               and w.finished_at < now() - make_interval(secs => $1)
               and not exists (select 1 from jobs j where j.feed_walk_id = w.walk_id)
             order by w.finished_at
             limit $2
             for update of w skip locked)",
    )
    .bind(older_than.as_secs_f64())
    .bind(limit)
    .execute(executor)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` stored covers (`thumbnails` rows) downloaded more than `older_than`
/// ago. The video rows stay.
pub async fn delete_thumbnails_batch(
    executor: impl sqlx::PgExecutor<'_>,
    older_than: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "delete from thumbnails where video_id in (
             select video_id from thumbnails
             where fetched_at < now() - make_interval(secs => $1)
             order by fetched_at
             limit $2
             for update skip locked)",
    )
    .bind(older_than.as_secs_f64())
    .bind(limit)
    .execute(executor)
    .await?
    .rows_affected())
}

/// Drops TikTok's raw item (`videos.raw_item`) of up to `limit` videos fetched more than
/// `older_than` ago. The mapped `Video` (`data`) stays.
pub async fn clear_raw_items_batch(
    executor: impl sqlx::PgExecutor<'_>,
    older_than: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update videos set raw_item = null where video_id in (
             select video_id from videos
             where raw_item is not null and fetched_at < now() - make_interval(secs => $1)
             order by fetched_at
             limit $2
             for update skip locked)",
    )
    .bind(older_than.as_secs_f64())
    .bind(limit)
    .execute(executor)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` videos fetched more than `older_than` ago that no item references
/// (`job_items.result_video_id`); their cover and transcripts go with them.
pub async fn delete_unreferenced_videos_batch(
    executor: impl sqlx::PgExecutor<'_>,
    older_than: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "delete from videos where video_id in (
             select v.video_id from videos v
             where v.fetched_at < now() - make_interval(secs => $1)
               and not exists (select 1 from job_items i where i.result_video_id = v.video_id)
             order by v.fetched_at
             limit $2
             for update of v skip locked)",
    )
    .bind(older_than.as_secs_f64())
    .bind(limit)
    .execute(executor)
    .await?
    .rows_affected())
}
