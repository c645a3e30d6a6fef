//! The reconciler: Postgres is the source of truth, so every few seconds it re-enqueues what
//! Postgres says is unfinished but Redis no longer carries — `queued` items whose task is gone
//! (Redis restart, failed push) or already finished, and `running` items whose lease expired
//! (the worker was killed) and whose task is not pending any more. This is what makes `kill -9`
//! and a Redis restart lose nothing.

use std::time::Duration;

use sqlx::PgPool;
use tokworks_shared::db::item_claims;
use tokworks_shared::queue::{ExtractQueue, QueueError};
use tokworks_shared::queue_tasks::ExtractItemTask;

/// How long after an enqueue (or creation, before the api recorded its task id) an item is left
/// alone: the api pushes right after its commit, and records the task id right after the push.
pub const ENQUEUE_GRACE: Duration = Duration::from_secs(10);

/// Candidates read per round.
const CANDIDATES_PER_ROUND: i64 = 1000;

/// Failures of one reconcile round (the next round tries again).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Unfinished items looked at.
    pub checked: usize,
    /// Items given a new task.
    pub reenqueued: usize,
}

/// One reconcile round.
pub async fn reconcile_once(
    pool: &PgPool,
    queue: &ExtractQueue,
    grace: Duration,
) -> Result<ReconcileReport, ReconcileError> {
    let candidates = item_claims::reconcile_candidates(pool, grace, CANDIDATES_PER_ROUND).await?;
    if candidates.is_empty() {
        return Ok(ReconcileReport::default());
    }
    let known_task_ids: Vec<String> = candidates
        .iter()
        .filter_map(|candidate| candidate.task_id.clone())
        .collect();
    let pending = queue.tasks_pending(&known_task_ids).await?;
    let pending_ids: std::collections::HashSet<&str> = known_task_ids
        .iter()
        .zip(pending)
        .filter_map(|(task_id, is_pending)| is_pending.then_some(task_id.as_str()))
        .collect();

    let mut to_push = Vec::new();
    for candidate in &candidates {
        if candidate
            .task_id
            .as_deref()
            .is_some_and(|task_id| pending_ids.contains(task_id))
        {
            continue;
        }
        let new_task_id = ExtractQueue::new_task_id();
        if item_claims::record_reenqueue(
            pool,
            candidate.item_id,
            candidate.task_id.as_deref(),
            &new_task_id,
        )
        .await?
        {
            tracing::info!(
                item_id = %candidate.item_id,
                status = %candidate.status,
                previous_task_id = ?candidate.task_id,
                "re-enqueuing an item Redis lost"
            );
            to_push.push((
                new_task_id,
                ExtractItemTask::new(candidate.job_id, candidate.item_id),
            ));
        }
    }
    queue.push_with_ids(&to_push, None).await?;
    Ok(ReconcileReport {
        checked: candidates.len(),
        reenqueued: to_push.len(),
    })
}
