//! Service-wide figures for the unauthenticated endpoints (`/health`, `/stats`, `/metrics`):
//! computed at most once per `SERVICE_STATS_REFRESH_SECONDS` by one caller at a time and served
//! from memory in between, so any number of anonymous callers costs Postgres and Redis one
//! round of aggregates per interval.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// The latest value of one computation, and when it was made.
#[derive(Debug)]
pub struct Snapshot<T> {
    refresh_every: Duration,
    latest: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Snapshot<T> {
    /// A snapshot recomputed when older than `refresh_every` (zero: on every call).
    pub fn new(refresh_every: Duration) -> Self {
        Snapshot {
            refresh_every,
            latest: Mutex::new(None),
        }
    }

    /// The latest value if it is fresh; else computes a new one with `compute`. Callers that
    /// arrive during a computation wait for it and share its result (single flight). Whatever
    /// `compute` returns is kept, failures included, so an outage is not probed by every caller.
    pub async fn get<F, Fut>(&self, compute: F) -> Arc<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let mut latest = self.latest.lock().await;
        if let Some((made_at, value)) = latest.as_ref()
            && made_at.elapsed() < self.refresh_every
        {
            return Arc::clone(value);
        }
        let value = Arc::new(compute().await);
        *latest = Some((Instant::now(), Arc::clone(&value)));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_fresh_value_is_served_without_computing_and_concurrent_callers_share_one_computation()
     {
        let snapshot = Arc::new(Snapshot::new(Duration::from_secs(60)));
        let computed = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let snapshot = Arc::clone(&snapshot);
                let computed = Arc::clone(&computed);
                tokio::spawn(async move {
                    *snapshot
                        .get(|| async {
                            tokio::task::yield_now().await;
                            computed.fetch_add(1, Ordering::SeqCst)
                        })
                        .await
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), 0);
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn with_no_refresh_interval_every_call_computes() {
        let snapshot = Snapshot::new(Duration::ZERO);
        assert_eq!(*snapshot.get(|| async { 1 }).await, 1);
        assert_eq!(*snapshot.get(|| async { 2 }).await, 2);
    }
}
