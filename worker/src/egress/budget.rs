//! The request budget per upstream host, shared by every worker of one Redis and
//! `QUEUE_NAMESPACE` (TIKTOK_MAX_REQUESTS_PER_SECOND): each request of the native client
//! (pages, short links, feeds, covers, subtitles) first reserves a send time from a GCRA kept in
//! Redis under `{namespace}:egress:{host}`, then waits until that time. Grants of one host are
//! spaced `1/N` s apart on Redis' clock, so N requests per second is never exceeded, however many
//! workers there are. A reservation further away than [`MAX_WAIT`] is refused (nothing is
//! charged) and the request fails with [`BudgetExhausted`] (`UPSTREAM_RATE_LIMITED`, retried
//! with the item's backoff). Redis trouble lets the request through (fail open, logged).
//!
//! The HTTP layer calls [`acquire`] once per request; it does nothing until [`install`] was
//! called (the worker does it when the setting is present).

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Longest wait for a send time before the request fails with [`BudgetExhausted`].
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// How long one reservation round trip may take before the request is let through.
const RESERVE_TIMEOUT: Duration = Duration::from_millis(500);
/// After a Redis failure, Redis is not asked again for this long (requests go through).
const FAILURE_BACKOFF: Duration = Duration::from_secs(1);

/// Reserves the next send time of one host. KEYS[1] = the host's key; ARGV = interval between
/// grants (µs), longest acceptable wait (µs). On Redis' clock: the grant is at the stored
/// theoretical arrival time (or now, if that has passed); the next one `interval` later.
/// Returns the wait in µs, or -1 when it would exceed the longest wait (nothing is charged).
const RESERVE_SCRIPT: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now
if wait > tonumber(ARGV[2]) then return -1 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return wait
";

/// No send time within [`MAX_WAIT`]: the budget is used up by other requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the request budget of {host} (TIKTOK_MAX_REQUESTS_PER_SECOND) has no slot within {} s",
    MAX_WAIT.as_secs()
)]
pub struct BudgetExhausted {
    pub host: String,
}

/// Why a reservation could not be made (the request then goes through: fail open).
#[derive(Debug, thiserror::Error)]
enum ReserveError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// The budget of this process's native client.
pub struct RequestBudget {
    connection: ConnectionManager,
    namespace: String,
    interval: Duration,
    script: redis::Script,
    last_failure: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for RequestBudget {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RequestBudget")
            .field("namespace", &self.namespace)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl RequestBudget {
    /// A budget of `per_second` requests to each host, kept under `{namespace}:egress:`.
    pub async fn connect(
        redis_url: &str,
        namespace: &str,
        per_second: u32,
    ) -> Result<RequestBudget, redis::RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESERVE_TIMEOUT))
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_max_delay(Duration::from_secs(1));
        let connection = redis::Client::open(redis_url)?
            .get_connection_manager_with_config(config)
            .await?;
        Ok(RequestBudget {
            connection,
            namespace: namespace.to_owned(),
            interval: Duration::from_secs(1) / per_second.max(1),
            script: redis::Script::new(RESERVE_SCRIPT),
            last_failure: Mutex::new(None),
        })
    }

    /// Waits for the next send time of `host`; fails when it is more than [`MAX_WAIT`] away.
    pub async fn acquire_host(&self, host: &str) -> Result<(), BudgetExhausted> {
        if self.backing_off() {
            return Ok(());
        }
        let reservation = tokio::time::timeout(RESERVE_TIMEOUT, self.reserve(host))
            .await
            .unwrap_or(Err(ReserveError::Timeout(RESERVE_TIMEOUT)));
        match reservation {
            Ok(Some(wait)) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Ok(None) => {
                crate::worker_metrics::record_request_budget_exhausted();
                Err(BudgetExhausted {
                    host: host.to_owned(),
                })
            }
            Err(error) => {
                tracing::warn!(%error, "request budget unavailable; sending without it");
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                Ok(())
            }
        }
    }

    fn backing_off(&self) -> bool {
        self.last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|failed_at| failed_at.elapsed() < FAILURE_BACKOFF)
    }

    async fn reserve(&self, host: &str) -> Result<Option<Duration>, ReserveError> {
        let micros = |duration: Duration| u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        let wait: i64 = self
            .script
            .key(format!(
                "{}:egress:{}",
                self.namespace,
                host.to_ascii_lowercase()
            ))
            .arg(micros(self.interval).max(1))
            .arg(micros(MAX_WAIT))
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(u64::try_from(wait).ok().map(Duration::from_micros))
    }
}

static BUDGET: OnceLock<RequestBudget> = OnceLock::new();

/// Makes `budget` the one [`acquire`] uses in this process (the first call wins).
pub fn install(budget: RequestBudget) {
    if BUDGET.set(budget).is_err() {
        tracing::warn!("a request budget was already installed; keeping the first");
    }
}

/// Waits for a send time to `host` (a request URL's host) under the installed budget (at once
/// when none is installed, or for a URL without a host).
pub async fn acquire(host: Option<&str>) -> Result<(), BudgetExhausted> {
    match (BUDGET.get(), host) {
        (Some(budget), Some(host)) => budget.acquire_host(host).await,
        _ => Ok(()),
    }
}
