//! The worker process's background maintenance loop (docs/apalis-redis.md "Background maintenance" plus the job
//! engine's own duties): the chunked promoter, bounded cleanup of finished tasks, this process's
//! heartbeat row and the reconciler, in one loop — and, in a task of its own with its own
//! interval, lease renewal of the items this process is working on, so a slow round of the loop
//! (a stalled Redis answers after its 5 s timeout, a long reconcile) cannot let live claims expire.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use tokworks_shared::db::{item_claims, worker_heartbeats};
use tokworks_shared::queue::ExtractQueue;

use crate::active_claims::ActiveClaims;
use crate::background::reconciler::{self, ENQUEUE_GRACE};
use crate::context::WorkerIdentity;

/// How often due tasks are moved from `scheduled` to `active`.
pub const PROMOTE_EVERY: Duration = Duration::from_millis(250);
/// How often finished tasks are deleted from Redis.
pub const CLEANUP_EVERY: Duration = Duration::from_secs(30);
/// At most this many finished tasks are deleted per cleanup round.
pub const CLEANUP_MAX_TASKS: u64 = 20_000;
/// How often the heartbeat row is written.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// How often the leases of the items this process is working on are renewed (own task).
pub const RENEW_LEASES_EVERY: Duration = Duration::from_secs(2);
/// How often the reconciler runs.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// Heartbeat rows older than this belong to dead processes and are pruned.
const STALE_HEARTBEAT_SECONDS: f64 = 3600.0;

/// What the maintenance loop works on.
#[derive(Debug, Clone)]
pub struct Maintenance {
    pub pool: PgPool,
    pub queue: ExtractQueue,
    pub identity: std::sync::Arc<WorkerIdentity>,
    /// The claims this process's handlers hold (shared with `JobContext`).
    pub active_claims: ActiveClaims,
    pub item_lease: Duration,
    /// Announced in the heartbeat: this worker can analyse thumbnails (OPENAI_API_KEY is set).
    pub vision_configured: bool,
    /// Announced in the heartbeat: this worker's WORKER_CONCURRENCY (sizes the dispatch window).
    pub concurrency: usize,
}

impl Maintenance {
    /// Runs until `shutdown` turns true, then removes this worker's heartbeat row. Lease
    /// renewal runs meanwhile in its own task ([`Maintenance::renew_leases_until`]).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let renewal = tokio::spawn(self.clone().renew_leases_until(shutdown.clone()));
        let mut promote = tokio::time::interval(PROMOTE_EVERY);
        let mut cleanup = tokio::time::interval(CLEANUP_EVERY);
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let mut reconcile = tokio::time::interval(RECONCILE_EVERY);
        for interval in [&mut promote, &mut cleanup, &mut heartbeat, &mut reconcile] {
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { break; }
                }
                _ = promote.tick() => self.promote().await,
                _ = cleanup.tick() => self.cleanup().await,
                _ = heartbeat.tick() => self.heartbeat().await,
                _ = reconcile.tick() => self.reconcile().await,
            }
        }
        if let Err(error) = renewal.await {
            tracing::warn!(%error, "lease renewal task ended abnormally");
        }
        if let Err(error) =
            worker_heartbeats::remove_heartbeat(&self.pool, &self.identity.worker_name).await
        {
            tracing::warn!(%error, "cannot remove the worker heartbeat row");
        }
    }

    /// Moves every due task to `active` (also run once before the workers start).
    pub async fn promote(&self) {
        match self.queue.promote_due_tasks().await {
            Ok(0) => {}
            Ok(moved) => tracing::debug!(moved, "promoted due tasks"),
            Err(error) => tracing::warn!(%error, "promoter failed"),
        }
    }

    async fn cleanup(&self) {
        match self.queue.cleanup_finished_tasks(CLEANUP_MAX_TASKS).await {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "deleted finished tasks from Redis"),
            Err(error) => tracing::warn!(%error, "queue cleanup failed"),
        }
    }

    /// Renews the leases of the items this process's handlers are working on, every
    /// [`RENEW_LEASES_EVERY`], until `shutdown` turns true. Nothing else runs in this task, so
    /// only a slow renewal itself can delay the next one.
    pub async fn renew_leases_until(self, mut shutdown: watch::Receiver<bool>) {
        let mut renew = tokio::time::interval(RENEW_LEASES_EVERY);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { break; }
                }
                _ = renew.tick() => self.renew_leases().await,
            }
        }
    }

    /// Renews the leases of the items this process's handlers are working on (not every item
    /// claimed under this worker's name: a handler that panicked lets its lease run out, so
    /// another worker takes the item over).
    pub async fn renew_leases(&self) {
        let claims = self.active_claims.snapshot();
        if claims.is_empty() {
            return;
        }
        if let Err(error) = item_claims::renew_leases(&self.pool, &claims, self.item_lease).await {
            tracing::warn!(%error, "cannot renew item leases");
        }
    }

    /// Writes this process's heartbeat row.
    pub async fn heartbeat(&self) {
        let identity = worker_heartbeats::WorkerIdentity {
            worker_name: &self.identity.worker_name,
            hostname: &self.identity.hostname,
            pid: i32::try_from(self.identity.pid).unwrap_or(i32::MAX),
            started_at: self.identity.started_at,
            vision_configured: self.vision_configured,
        };
        let concurrency = i32::try_from(self.concurrency).unwrap_or(i32::MAX);
        if let Err(error) = worker_heartbeats::upsert_heartbeat_with_concurrency(
            &self.pool,
            &identity,
            Some(concurrency),
        )
        .await
        {
            tracing::warn!(%error, "cannot write the worker heartbeat");
        }
    }

    async fn reconcile(&self) {
        if let Err(error) =
            worker_heartbeats::prune_stale_heartbeats(&self.pool, STALE_HEARTBEAT_SECONDS).await
        {
            tracing::debug!(%error, "cannot prune stale heartbeat rows");
        }
        match reconciler::reconcile_once(&self.pool, &self.queue, ENQUEUE_GRACE).await {
            Ok(report) if report.reenqueued > 0 => {
                tracing::info!(?report, "reconciler re-enqueued items");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "reconciler round failed"),
        }
    }
}
