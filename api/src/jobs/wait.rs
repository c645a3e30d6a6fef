//! Waiting for jobs to finish (`Prefer: wait=N`): one Postgres LISTEN per process on
//! `JOB_FINISHED_CHANNEL`, fanned out to waiters through one `watch` channel per waited job.
//!
//! Waiters subscribe *before* reading the job row, so a NOTIFY sent between the read and the
//! wait is never missed; after the listener loses its connection every waiter re-reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokworks_shared::ids::JobId;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokworks_shared::db::JOB_FINISHED_CHANNEL;

/// Per-job wake-up channels of the waiting requests.
#[derive(Debug)]
struct WaiterMap {
    senders: Mutex<HashMap<JobId, watch::Sender<u64>>>,
    /// How many subscriptions were ever made (lets tests await "a request is now waiting").
    subscriptions: watch::Sender<u64>,
}

impl WaiterMap {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, watch::Sender<u64>>> {
        // The map holds no invariant a panic could break half-way: keep using it.
        self.senders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self, job_id: JobId) {
        if let Some(sender) = self.lock().get(&job_id) {
            sender.send_modify(|generation| *generation += 1);
        }
    }

    fn wake_all(&self) {
        for sender in self.lock().values() {
            sender.send_modify(|generation| *generation += 1);
        }
    }
}

/// Handle on the process-wide job-finished listener (cheap to clone).
#[derive(Debug, Clone)]
pub struct JobWaiters {
    map: Arc<WaiterMap>,
}

impl JobWaiters {
    /// Connects a listener (taking one connection of `pool`), LISTENs, and spawns the task that
    /// fans notifications out. LISTEN is active when this returns.
    pub async fn start(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(JOB_FINISHED_CHANNEL).await?;
        let map = Arc::new(WaiterMap {
            senders: Mutex::new(HashMap::new()),
            subscriptions: watch::channel(0).0,
        });
        tokio::spawn(run_listener(listener, Arc::clone(&map)));
        Ok(JobWaiters { map })
    }

    /// Subscribes to the end of `job_id`. Read the job row after this, then wait.
    pub fn subscribe(&self, job_id: JobId) -> JobFinishedSubscription {
        let receiver = self
            .map
            .lock()
            .entry(job_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        self.map.subscriptions.send_modify(|count| *count += 1);
        JobFinishedSubscription {
            job_id,
            receiver,
            map: Arc::clone(&self.map),
        }
    }

    /// The number of subscriptions made so far, observable (e.g. a test awaits a waiter).
    pub fn subscriptions(&self) -> watch::Receiver<u64> {
        self.map.subscriptions.subscribe()
    }
}

/// A waiter's subscription; dropping it removes the job's channel once nobody waits on it.
#[derive(Debug)]
pub struct JobFinishedSubscription {
    job_id: JobId,
    receiver: watch::Receiver<u64>,
    map: Arc<WaiterMap>,
}

impl JobFinishedSubscription {
    /// Resolves when the job may have finished (a NOTIFY for it, or a listener reconnect):
    /// re-read the job row then.
    pub async fn changed(&mut self) {
        if self.receiver.changed().await.is_err() {
            // The sender lives in the map while this subscription exists: unreachable in
            // practice; waiting forever lets the caller's deadline decide.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for JobFinishedSubscription {
    fn drop(&mut self) {
        let mut senders = self.map.lock();
        // Subscribing happens under the same lock, so a count of 1 (ours) means nobody else waits.
        if senders
            .get(&self.job_id)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            senders.remove(&self.job_id);
        }
    }
}

async fn run_listener(mut listener: PgListener, map: Arc<WaiterMap>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                backoff = Duration::from_millis(250);
                match notification.payload().parse::<JobId>() {
                    Ok(job_id) => map.wake(job_id),
                    Err(_) => tracing::warn!(
                        payload = notification.payload(),
                        "ignoring a job-finished notification whose payload is not a job id"
                    ),
                }
            }
            Ok(None) => {
                // The connection was lost and re-established: notifications may have been
                // missed in between, so every waiter re-reads its job.
                tracing::warn!("job-finished listener reconnected to Postgres");
                map.wake_all();
            }
            Err(sqlx::Error::PoolClosed) => {
                tracing::debug!("job-finished listener stops: the pool was closed");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "job-finished listener failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                map.wake_all();
            }
        }
    }
}
