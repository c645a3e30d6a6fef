//! Wakes the workers' dispatcher after submits: `NOTIFY tokworks_items_ready`, sent after the
//! submit's commit by one background task per process, at most one at a time, so a burst of
//! submits costs one notification per round trip instead of one per job.
//!
//! Why not inside the insert: Postgres serialises the commits of transactions that sent a
//! NOTIFY (they take one global lock to queue it), which halved the insert rate measured with
//! pgbench (5,350 → 2,340 commits/s on the CI machine kind). The wake-up is only a hint: the
//! dispatcher also polls (every second when idle), so a lost one delays nothing by more.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;
use tokworks_shared::db::item_claims::dispatch;

/// Handle of the process's wake-up task (cheap to clone).
#[derive(Debug, Clone)]
pub struct DispatchWakeup {
    pending: Arc<Notify>,
}

impl DispatchWakeup {
    /// Starts the task that sends the notifications on `pool` (needs a Tokio runtime).
    pub fn start(pool: PgPool) -> Self {
        let pending = Arc::new(Notify::new());
        tokio::spawn(send_wakeups(pool, Arc::clone(&pending)));
        DispatchWakeup { pending }
    }

    /// Asks for one notification soon; calls made while one is being sent share the next one.
    pub fn wake(&self) {
        self.pending.notify_one();
    }
}

async fn send_wakeups(pool: PgPool, pending: Arc<Notify>) {
    loop {
        pending.notified().await;
        if let Err(error) = dispatch::notify_items_ready(&pool).await {
            tracing::debug!(%error, "cannot wake the dispatcher; it polls anyway");
        }
    }
}
