//! The worker's side of the item lifecycle (docs/claims-and-leases.md "Item lifecycle"): the guarded
//! claim, the guarded end (succeeded / failed / retry) with job counters and NOTIFY, lease renewal,
//! the reconciler's queries, and the dispatcher's (`dispatch`). Every transition is an
//! `UPDATE … WHERE <expected state> RETURNING`, so a task that runs twice (at-least-once
//! delivery) changes nothing the second time.

pub mod dispatch;
mod endings;
mod reconcile;

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use crate::ids::{ClaimId, ItemId, JobId};

use crate::job_options::StoredJobOptions;

pub use endings::{ItemEnd, ItemEndReport, end_item, finish_open_job};
pub use reconcile::{ReconcileCandidate, reconcile_candidates, record_reenqueue};

/// Why ending an item did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The claim is no longer ours: the lease expired and another worker took the item over,
    /// or the item was finished by another execution. Nothing was written.
    #[error("item {item_id} is no longer held by claim {claim_id}")]
    LostClaim { item_id: ItemId, claim_id: ClaimId },
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
}

/// An item this worker now holds, with what the handler needs to process it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedItem {
    pub item_id: ItemId,
    pub job_id: JobId,
    pub claim_id: ClaimId,
    /// This claim's attempt number (1 for the first claim).
    pub attempt: i32,
    pub max_attempts: i32,
    pub input_url: String,
    pub canonical_url: Option<String>,
    pub video_id: Option<String>,
    /// The job's options (`refresh`, `analyze_thumbnail`, …), decoded from `jobs.options`.
    #[sqlx(json)]
    pub job_options: StoredJobOptions,
    /// When the job was submitted: a `refresh` is satisfied by a copy fetched since.
    pub job_created_at: chrono::DateTime<chrono::Utc>,
    /// Milliseconds between the item becoming runnable (enqueue or retry time) and this claim.
    pub queue_wait_ms: f64,
    /// Whether this claim took the item over from a worker whose lease had expired.
    pub took_over_expired_lease: bool,
}

/// Claims `item_id` for `worker_name` if it is claimable: queued and due, or running under an
/// expired lease. Moves its job `queued → running` and records an `item_executions` row, all in
/// one transaction. `None` when the item is not claimable (running under a live lease, finished,
/// canceled, not yet due, or unknown).
pub async fn claim_item(
    pool: &PgPool,
    item_id: ItemId,
    worker_name: &str,
    lease: Duration,
) -> Result<Option<ClaimedItem>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let claim_id = ClaimId::new_v7();
    let claimed: Option<ClaimedItem> = sqlx::query_as(
        r"
        with previous as (
            select item_id, status as previous_status
            from job_items
            where item_id = $1
            for update
        ),
        claimed as (
            update job_items as item
            set status = 'running',
                attempts = item.attempts + 1,
                claim_id = $2,
                claimed_by = $3,
                lease_expires_at = now() + make_interval(secs => $4),
                started_at = coalesce(item.started_at, now())
            from previous
            where item.item_id = previous.item_id
              and item.duplicate_of is null
              and ((item.status = 'queued' and item.not_before <= now())
                   or (item.status = 'running' and item.lease_expires_at < now()))
            returning item.item_id, item.job_id, item.claim_id, item.attempts, item.max_attempts,
                      item.input_url, item.canonical_url, item.video_id, item.not_before,
                      item.enqueued_at, item.created_at, previous.previous_status
        )
        select claimed.item_id,
               claimed.job_id,
               claimed.claim_id,
               claimed.attempts as attempt,
               claimed.max_attempts,
               claimed.input_url,
               claimed.canonical_url,
               claimed.video_id,
               jobs.options as job_options,
               jobs.created_at as job_created_at,
               greatest(0, extract(epoch from (clock_timestamp() - greatest(
                   coalesce(claimed.enqueued_at, claimed.created_at), claimed.not_before))) * 1000
               )::float8 as queue_wait_ms,
               (claimed.previous_status = 'running') as took_over_expired_lease
        from claimed
        join jobs on jobs.job_id = claimed.job_id
        ",
    )
    .bind(item_id)
    .bind(claim_id)
    .bind(worker_name)
    .bind(lease.as_secs_f64())
    .fetch_optional(&mut *transaction)
    .await?;

    let Some(claimed) = claimed else {
        transaction.rollback().await?;
        return Ok(None);
    };

    sqlx::query(
        "update jobs set status = 'running', started_at = coalesce(started_at, now())
         where job_id = $1 and status = 'queued'",
    )
    .bind(claimed.job_id)
    .execute(&mut *transaction)
    .await?;

    sqlx::query(
        "insert into item_executions (item_id, attempt, claim_id, worker_name)
         values ($1, $2, $3, $4)",
    )
    .bind(claimed.item_id)
    .bind(claimed.attempt)
    .bind(claimed.claim_id)
    .bind(worker_name)
    .execute(&mut *transaction)
    .await?;

    transaction.commit().await?;
    Ok(Some(claimed))
}

/// Marks the execution row of a claim that was lost (another worker took the item over).
pub async fn mark_execution_lost(pool: &PgPool, claim_id: ClaimId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update item_executions set finished_at = now(), outcome = 'lost_claim'
         where claim_id = $1 and finished_at is null",
    )
    .bind(claim_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records one stage timing of an attempt (idempotent per item, attempt and stage).
pub async fn record_stage_timing(
    connection: &mut PgConnection,
    item_id: ItemId,
    attempt: i32,
    stage: &str,
    duration: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into item_stage_timings (item_id, attempt, stage, duration_ms)
         values ($1, $2, $3, $4)
         on conflict (item_id, attempt, stage) do update set duration_ms = excluded.duration_ms",
    )
    .bind(item_id)
    .bind(attempt)
    .bind(stage)
    .bind(duration.as_secs_f64() * 1000.0)
    .execute(connection)
    .await?;
    Ok(())
}

/// Extends the leases of the running items held by `claim_ids` (the claims a worker process is
/// working on). Returns how many were renewed.
pub async fn renew_leases(
    pool: &PgPool,
    claim_ids: &[ClaimId],
    lease: Duration,
) -> Result<u64, sqlx::Error> {
    if claim_ids.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(
        "update job_items set lease_expires_at = now() + make_interval(secs => $2)
         where status = 'running' and claim_id = any($1)",
    )
    .bind(claim_ids)
    .bind(lease.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}
