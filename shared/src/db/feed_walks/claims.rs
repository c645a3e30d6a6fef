//! The worker's side of a feed walk: claim due walks (`FOR UPDATE SKIP LOCKED`, a fencing
//! `claim_id` and a lease; a running walk whose lease expired is claimable again), renew the
//! lease while walking, and end the walk — finished (its attached open jobs materialised in the
//! same transaction) or back to `queued` for a retry with backoff. Also the repair of feed jobs
//! left open on a finished walk.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::ids::{ClaimId, JobId, WalkId};

use super::WalkStatus;
use super::materialise::{FinishedWalkRow, MaterialisedJob, materialise_job};
use crate::job_status::JobKind;

/// Why ending a walk did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WalkClaimError {
    /// The lease expired and another worker took the walk over (or it ended). Nothing written.
    #[error("feed walk {walk_id} is no longer held by claim {claim_id}")]
    LostClaim { walk_id: WalkId, claim_id: ClaimId },
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
}

/// A walk this worker now holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedWalk {
    pub walk_id: WalkId,
    pub claim_id: ClaimId,
    pub feed_key: String,
    pub kind: JobKind,
    pub target: Option<String>,
    pub requested_count: i32,
    /// This claim's attempt number (1 for the first claim).
    pub attempt: i32,
    pub max_attempts: i32,
    /// Whether this claim took the walk over from a worker whose lease had expired.
    pub took_over_expired_lease: bool,
}

/// Claims up to `limit` due walks for `worker_name`: queued and due, or running under an expired
/// lease. Moves their attached queued jobs to `running` in the same transaction.
pub async fn claim_due_walks(
    pool: &PgPool,
    worker_name: &str,
    lease: Duration,
    limit: i64,
) -> Result<Vec<ClaimedWalk>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let claimed: Vec<ClaimedWalk> = sqlx::query_as(
        "with due as (
             select walk_id, status as previous_status from feed_walks
             where (status = 'queued' and not_before <= now())
                or (status = 'running' and lease_expires_at < now())
             order by not_before
             limit $3
             for update skip locked
         )
         update feed_walks as walk
         set status = 'running', attempts = walk.attempts + 1, claim_id = gen_random_uuid(),
             claimed_by = $1, lease_expires_at = now() + make_interval(secs => $2),
             started_at = coalesce(walk.started_at, now())
         from due
         where walk.walk_id = due.walk_id
         returning walk.walk_id, walk.claim_id, walk.feed_key, walk.kind, walk.target,
                   walk.requested_count, walk.attempts as attempt, walk.max_attempts,
                   (due.previous_status = 'running') as took_over_expired_lease",
    )
    .bind(worker_name)
    .bind(lease.as_secs_f64())
    .bind(limit)
    .fetch_all(&mut *transaction)
    .await?;
    if !claimed.is_empty() {
        let walk_ids: Vec<WalkId> = claimed.iter().map(|walk| walk.walk_id).collect();
        sqlx::query(
            "update jobs set status = 'running', started_at = coalesce(started_at, now())
             where feed_walk_id = any($1) and status = 'queued'",
        )
        .bind(&walk_ids)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(claimed)
}

/// Extends the lease of a walk still held by `claim_id`. `false` when the claim was lost.
pub async fn renew_walk_lease(
    pool: &PgPool,
    walk_id: WalkId,
    claim_id: ClaimId,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let renewed = sqlx::query(
        "update feed_walks set lease_expires_at = now() + make_interval(secs => $3)
         where walk_id = $1 and claim_id = $2 and status = 'running'",
    )
    .bind(walk_id)
    .bind(claim_id)
    .bind(lease.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(renewed == 1)
}

/// How a walk's attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum WalkEnd {
    /// The walk is over: `Succeeded`, `Partial` (stopped short by an error after some videos) or
    /// `Failed` (no video, no attempt left). Every video in `video_ids` is already stored in
    /// `videos` by the caller's transaction.
    Finished {
        status: WalkStatus,
        video_ids: Vec<String>,
        /// `COUNT_REACHED`, `NO_MORE`, or the error code.
        stop_code: String,
        stop_message: Option<String>,
        pages_fetched: i32,
        walk_duration: Duration,
    },
    /// A retryable failure before any video: back to `queued` until `retry_after` has passed.
    Retry {
        stop_code: String,
        stop_message: String,
        retry_after: Duration,
    },
}

/// Ends the attempt held by `walk.claim_id` in the caller's transaction. A finished walk's open
/// attached jobs get their items, counters, status, webhook events and NOTIFY here; the returned
/// jobs list the items made (their enrichment items wait for the dispatcher). [`WalkClaimError::LostClaim`] when the
/// claim is no longer held (the caller rolls back).
pub async fn end_walk(
    connection: &mut PgConnection,
    walk: &ClaimedWalk,
    end: &WalkEnd,
) -> Result<Vec<MaterialisedJob>, WalkClaimError> {
    let lost = || WalkClaimError::LostClaim {
        walk_id: walk.walk_id,
        claim_id: walk.claim_id,
    };
    let (status, video_ids, stop_code, stop_message, pages_fetched, walk_duration) = match end {
        WalkEnd::Retry {
            stop_code,
            stop_message,
            retry_after,
        } => {
            let moved = sqlx::query(
                "update feed_walks
                 set status = 'queued', not_before = now() + make_interval(secs => $3),
                     stop_code = $4, stop_message = $5,
                     claim_id = null, claimed_by = null, lease_expires_at = null
                 where walk_id = $1 and claim_id = $2 and status = 'running'",
            )
            .bind(walk.walk_id)
            .bind(walk.claim_id)
            .bind(retry_after.as_secs_f64())
            .bind(stop_code)
            .bind(stop_message)
            .execute(&mut *connection)
            .await?
            .rows_affected();
            return if moved == 1 {
                Ok(Vec::new())
            } else {
                Err(lost())
            };
        }
        WalkEnd::Finished {
            status,
            video_ids,
            stop_code,
            stop_message,
            pages_fetched,
            walk_duration,
        } => (
            status,
            video_ids,
            stop_code,
            stop_message,
            pages_fetched,
            walk_duration,
        ),
    };
    let finished: Option<FinishedWalkRow> = sqlx::query_as(
        "update feed_walks
         set status = $3, video_ids = $4, stop_code = $5, stop_message = $6,
             pages_fetched = $7, walk_ms = $8, finished_at = now(), lease_expires_at = null
         where walk_id = $1 and claim_id = $2 and status = 'running'
         returning walk_id, status, video_ids, stop_code, stop_message",
    )
    .bind(walk.walk_id)
    .bind(walk.claim_id)
    .bind(status)
    .bind(video_ids)
    .bind(stop_code)
    .bind(stop_message)
    .bind(pages_fetched)
    .bind(walk_duration.as_secs_f64() * 1000.0)
    .fetch_optional(&mut *connection)
    .await?;
    let finished = finished.ok_or_else(lost)?;
    materialise_attached_jobs(connection, &finished, walk.max_attempts)
        .await
        .map_err(WalkClaimError::from)
}

/// Materialises every open job attached to `walk` (held locked by the caller), oldest first.
async fn materialise_attached_jobs(
    connection: &mut PgConnection,
    walk: &FinishedWalkRow,
    max_attempts: i32,
) -> Result<Vec<MaterialisedJob>, sqlx::Error> {
    let job_ids: Vec<JobId> = sqlx::query_scalar(
        "select job_id from jobs
         where feed_walk_id = $1 and status in ('queued', 'running') and items_total = 0
         order by job_id",
    )
    .bind(walk.walk_id)
    .fetch_all(&mut *connection)
    .await?;
    let mut materialised = Vec::with_capacity(job_ids.len());
    for job_id in job_ids {
        if let Some(job) = materialise_job(connection, job_id, walk, false, max_attempts).await? {
            materialised.push(job);
        }
    }
    Ok(materialised)
}

/// Finds open feed jobs without items whose walk has finished (none exist unless a bug or a
/// manual edit left them) and materialises them, one walk per transaction. Returns the jobs
/// served.
pub async fn repair_orphaned_feed_jobs(pool: &PgPool) -> Result<Vec<MaterialisedJob>, sqlx::Error> {
    let walk_ids: Vec<WalkId> = sqlx::query_scalar(
        "select distinct w.walk_id
         from jobs j join feed_walks w on w.walk_id = j.feed_walk_id
         where j.status in ('queued', 'running') and j.items_total = 0
           and w.status in ('succeeded', 'partial', 'failed')
         limit 100",
    )
    .fetch_all(pool)
    .await?;
    let mut repaired = Vec::new();
    for walk_id in walk_ids {
        let mut transaction = pool.begin().await?;
        let walk: Option<(FinishedWalkRow, i32)> = sqlx::query_as::<_, FinishedWalkWithBudget>(
            "select walk_id, status, video_ids, stop_code, stop_message, max_attempts
             from feed_walks where walk_id = $1 for share",
        )
        .bind(walk_id)
        .fetch_optional(&mut *transaction)
        .await?
        .map(|row| (row.walk, row.max_attempts));
        if let Some((walk, max_attempts)) = walk {
            repaired
                .extend(materialise_attached_jobs(&mut transaction, &walk, max_attempts).await?);
        }
        transaction.commit().await?;
    }
    Ok(repaired)
}

#[derive(sqlx::FromRow)]
struct FinishedWalkWithBudget {
    #[sqlx(flatten)]
    walk: FinishedWalkRow,
    max_attempts: i32,
}

/// When the next queued walk becomes due (`None`: no walk waits).
pub async fn next_walk_due_at(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "select min(case when status = 'queued' then not_before else lease_expires_at end)
         from feed_walks where status in ('queued', 'running')",
    )
    .fetch_one(pool)
    .await
}
