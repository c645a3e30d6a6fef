//! The dispatcher (docs/fair-scheduling.md): submitted items wait in Postgres without a queue
//! task; one dispatcher across all worker processes (the holder of a session advisory lock on a
//! dedicated connection) keeps a bounded window of tasks pending in Redis, filling it round-robin
//! across API keys, so one key's large backlog cannot delay another key's single video by more
//! than about one window. It wakes on `NOTIFY tokworks_items_ready` (an idle submit reaches a
//! worker in milliseconds), polls quickly while a backlog remains, and slowly otherwise.
//!
//! Correctness does not rest on the lock: the dispatching update is guarded (`task_id is null`),
//! so two dispatchers racing never hand one item out twice; a task pushed to a Redis that then
//! loses it is pushed again by the reconciler.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;
use tokio::time::Instant;
use tokworks_shared::db::item_claims::dispatch::{self, DispatchedItem};
use tokworks_shared::db::worker_heartbeats;
use tokworks_shared::queue::{ExtractQueue, QueueError};
use tokworks_shared::queue_tasks::ExtractItemTask;

/// How often a dispatcher that is not the active one tries to take over.
pub const FOLLOWER_RETRY_EVERY: Duration = Duration::from_secs(1);
/// How often the active dispatcher checks that it still holds the lock.
const LOCK_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How often the window's automatic size is recomputed from the heartbeat rows.
const WINDOW_REFRESH_EVERY: Duration = Duration::from_secs(5);
/// Heartbeats older than this do not count towards the window's automatic size.
const LIVE_WITHIN: Duration = Duration::from_secs(10);

/// How the dispatcher sizes and paces its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchSettings {
    /// Tasks to keep pending in Redis (DISPATCH_WINDOW); `None`: twice the live concurrency.
    pub window: Option<usize>,
    /// This process's WORKER_CONCURRENCY (the floor of the automatic window's live sum).
    pub own_concurrency: usize,
    /// Poll interval while a backlog remains (the window drains as workers take tasks).
    pub busy_poll: Duration,
    /// Poll interval with no backlog (a missed notification is caught within this).
    pub idle_poll: Duration,
}

impl DispatchSettings {
    /// The defaults for a worker of `own_concurrency` slots and a DISPATCH_WINDOW of `window`
    /// (0 = automatic).
    pub fn new(window: u32, own_concurrency: usize) -> Self {
        DispatchSettings {
            window: (window > 0).then(|| usize::try_from(window).unwrap_or(usize::MAX)),
            own_concurrency,
            busy_poll: Duration::from_millis(50),
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// Failures of one dispatch round (the next round tries again).
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchRound {
    /// Free places in the window when the round began.
    pub room: usize,
    /// Items given a task and pushed, in the order chosen.
    pub dispatched: Vec<DispatchedItem>,
}

impl DispatchRound {
    /// Whether more items may be waiting (the round filled every free place, or had none).
    pub fn backlog_may_remain(&self) -> bool {
        self.dispatched.len() == self.room
    }
}

/// One process's dispatcher; at most one across processes is active at a time.
#[derive(Debug)]
pub struct Dispatcher {
    pool: PgPool,
    queue: ExtractQueue,
    settings: DispatchSettings,
    /// The dedicated session holding the advisory lock, while this dispatcher is active.
    lock: Option<PgConnection>,
    lock_checked_at: Instant,
    window: usize,
    window_refreshed_at: Option<Instant>,
}

impl Dispatcher {
    pub fn new(pool: PgPool, queue: ExtractQueue, settings: DispatchSettings) -> Self {
        Dispatcher {
            pool,
            queue,
            window: settings
                .window
                .unwrap_or(2 * settings.own_concurrency.max(1)),
            settings,
            lock: None,
            lock_checked_at: Instant::now(),
            window_refreshed_at: None,
        }
    }

    /// Whether this dispatcher holds the lock (as of its last check).
    pub fn is_active(&self) -> bool {
        self.lock.is_some()
    }

    /// Takes the dispatcher lock if nobody holds it, or checks (at most once a second) that it
    /// is still held; `true` while this dispatcher is the active one.
    pub async fn try_lead(&mut self) -> bool {
        if let Some(connection) = self.lock.as_mut() {
            if self.lock_checked_at.elapsed() < LOCK_CHECK_EVERY {
                return true;
            }
            match dispatch::holds_dispatcher_lock(connection).await {
                Ok(true) => {
                    self.lock_checked_at = Instant::now();
                    return true;
                }
                Ok(false) => tracing::warn!("the dispatcher lock was lost"),
                Err(error) => tracing::warn!(%error, "the dispatcher's lock session is gone"),
            }
            self.lock = None;
        }
        let attempt = async {
            // Detached: the session must never go back to the pool while it holds the lock.
            let mut connection = self.pool.acquire().await?.detach();
            let taken = dispatch::try_lock_dispatcher(&mut connection).await?;
            Ok::<_, sqlx::Error>(taken.then_some(connection))
        };
        match attempt.await {
            Ok(Some(connection)) => {
                tracing::info!("this worker is now the active dispatcher");
                self.lock = Some(connection);
                self.lock_checked_at = Instant::now();
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::warn!(%error, "cannot try the dispatcher lock");
                false
            }
        }
    }

    /// Gives up the lock (closing its session), so another dispatcher takes over.
    pub async fn resign(&mut self) {
        if let Some(connection) = self.lock.take() {
            use sqlx::Connection;
            if let Err(error) = connection.close().await {
                tracing::debug!(%error, "closing the dispatcher's lock session");
            }
        }
    }

    /// One round: measures the window, and fills its free places with queued items chosen
    /// round-robin across keys (recorded in Postgres first, then pushed). Call only while
    /// active (tests may call it directly).
    pub async fn dispatch_once(&mut self) -> Result<DispatchRound, DispatchError> {
        self.refresh_window().await;
        let waiting = usize::try_from(self.queue.waiting_tasks().await?).unwrap_or(usize::MAX);
        let room = self.window.saturating_sub(waiting);
        if room == 0 {
            return Ok(DispatchRound::default());
        }
        let task_ids: Vec<String> = (0..room).map(|_| ExtractQueue::new_task_id()).collect();
        let dispatched = dispatch::dispatch_round_robin(&self.pool, &task_ids).await?;
        let tasks: Vec<(String, ExtractItemTask)> = dispatched
            .iter()
            .map(|item| {
                (
                    item.task_id.clone(),
                    ExtractItemTask::new(item.job_id, item.item_id),
                )
            })
            .collect();
        // A push that fails leaves recorded task ids Redis does not hold: the reconciler pushes
        // them again once ENQUEUE_GRACE has passed.
        self.queue.push_with_ids(&tasks, None).await?;
        if !tasks.is_empty() {
            // apalis' push puts tasks in `scheduled`: promote them now rather than at the
            // promoter's next tick, so an idle submit reaches a worker at once.
            self.queue.promote_due_tasks().await?;
        }
        Ok(DispatchRound { room, dispatched })
    }

    /// Recomputes the automatic window from the heartbeat rows (every few seconds).
    async fn refresh_window(&mut self) {
        if self.settings.window.is_some()
            || self
                .window_refreshed_at
                .is_some_and(|at| at.elapsed() < WINDOW_REFRESH_EVERY)
        {
            return;
        }
        self.window_refreshed_at = Some(Instant::now());
        match worker_heartbeats::live_concurrency(&self.pool, LIVE_WITHIN).await {
            Ok(live) => {
                let live = usize::try_from(live).unwrap_or(0);
                self.window = 2 * live.max(self.settings.own_concurrency).max(1);
            }
            Err(error) => tracing::warn!(%error, "cannot read the live workers' concurrency"),
        }
    }

    /// Runs until `shutdown` turns true: waits to become the active dispatcher, then dispatches
    /// on every notification and poll; resigns on the way out.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut listener: Option<PgListener> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            if !self.try_lead().await {
                listener = None;
                tokio::select! {
                    _ = shutdown.changed() => {}
                    () = tokio::time::sleep(FOLLOWER_RETRY_EVERY) => {}
                }
                continue;
            }
            if listener.is_none() {
                listener = listen(&self.pool).await;
            }
            let wait = match self.dispatch_once().await {
                Ok(round) if round.backlog_may_remain() => self.settings.busy_poll,
                Ok(_) => self.settings.idle_poll,
                Err(error) => {
                    tracing::warn!(%error, "dispatch round failed");
                    self.settings.idle_poll
                }
            };
            tokio::select! {
                _ = shutdown.changed() => {}
                woke = wait_for_notification(listener.as_mut(), wait) => {
                    if !woke { listener = None; }
                }
            }
        }
        self.resign().await;
    }
}

/// A listener on `tokworks_items_ready`, or `None` (logged; the poll covers for it).
async fn listen(pool: &PgPool) -> Option<PgListener> {
    let attempt = async {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(dispatch::ITEMS_READY_CHANNEL).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match attempt.await {
        Ok(listener) => Some(listener),
        Err(error) => {
            tracing::warn!(%error, "cannot LISTEN for ready items; polling only");
            None
        }
    }
}

/// Waits up to `timeout` for a notification (draining any others already buffered); `false`
/// when the listener failed and should be rebuilt.
async fn wait_for_notification(listener: Option<&mut PgListener>, timeout: Duration) -> bool {
    let Some(listener) = listener else {
        tokio::time::sleep(timeout).await;
        return false;
    };
    match tokio::time::timeout(timeout, listener.recv()).await {
        Err(_) => true,
        Ok(Ok(_)) => {
            while listener.next_buffered().is_some() {}
            true
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "the ready-items listener failed");
            false
        }
    }
}
