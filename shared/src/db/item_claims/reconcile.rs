//! The reconciler's queries: which unfinished items may be missing from Redis, and the guarded
//! record of a re-enqueue.

use std::time::Duration;

use sqlx::PgPool;

use crate::ids::{ItemId, JobId};

use crate::job_status::ItemStatus;

/// An unfinished item the reconciler may have to enqueue again.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReconcileCandidate {
    pub item_id: ItemId,
    pub job_id: JobId,
    pub status: ItemStatus,
    pub task_id: Option<String>,
}

/// Items that should be in the queue but may not be: `queued`, due and dispatched (a task id is
/// recorded: items without one wait for the dispatcher, docs/fair-scheduling.md), last
/// enqueued more than `grace` ago; and `running` under an expired lease. The caller checks
/// their `task_id` against Redis.
pub async fn reconcile_candidates(
    pool: &PgPool,
    grace: Duration,
    limit: i64,
) -> Result<Vec<ReconcileCandidate>, sqlx::Error> {
    sqlx::query_as(
        "select item_id, job_id, status, task_id
         from job_items
         where (status = 'queued' and not_before <= now() and duplicate_of is null
                and task_id is not null
                and enqueued_at < now() - make_interval(secs => $1))
            or (status = 'running' and lease_expires_at < now())
         order by not_before
         limit $2",
    )
    .bind(grace.as_secs_f64())
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Records that the item was enqueued again under `new_task_id`, if nobody else did it since
/// the candidate was read (guarded on the previous task id). `true` when recorded: only then
/// should the caller push.
pub async fn record_reenqueue(
    pool: &PgPool,
    item_id: ItemId,
    previous_task_id: Option<&str>,
    new_task_id: &str,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update job_items set task_id = $3, enqueued_at = now()
         where item_id = $1 and task_id is not distinct from $2
           and status in ('queued', 'running')",
    )
    .bind(item_id)
    .bind(previous_task_id)
    .bind(new_task_id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}
