//! The proxy pool (TIKTOK_PROXY_URLS; TIKTOK_PROXY_URL is a pool of one): each item's session
//! leases one proxy, round-robin over the proxies that are not cooling down, and keeps it for
//! all its requests. A proxy that TikTok answers with 403 or 429 (or a WAF wall) cools down with
//! exponential backoff and is skipped meanwhile; when every proxy cools, a lease waits for the
//! first to come back if that is within [`MAX_LEASE_WAIT`], else fails `UPSTREAM_BLOCKED` or
//! `UPSTREAM_RATE_LIMITED` (retryable). Proxies are named by position and host in logs and
//! metrics, never by their URL (it may carry credentials).

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use metrics::{counter, gauge};
use tokworks_shared::error_code::ErrorCode;

use super::client::ClientSetupError;

/// The longest a lease waits for a cooling proxy to come back.
pub const MAX_LEASE_WAIT: Duration = Duration::from_secs(10);
/// The longest cooldown: the backoff doubles up to here.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(30 * 60);
/// Counter: TikTok answers per proxy, by `proxy` (`0:host:port`) and `outcome` (`ok`,
/// `blocked`, `rate_limited`, `transport`).
pub const PROXY_REQUESTS_TOTAL: &str = "tokworks_worker_proxy_requests_total";
/// Gauge: 1 while the proxy cools down, else 0, by `proxy`.
pub const PROXY_COOLING: &str = "tokworks_worker_proxy_cooling";

/// What one request through a proxy showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyOutcome {
    /// TikTok answered (anything but a block or a rate limit).
    Ok,
    /// 403 or a WAF wall: this address is blocked.
    Blocked,
    /// 429.
    RateLimited,
    /// The proxy or the connection failed (not held against the proxy's reputation).
    Transport,
}

impl ProxyOutcome {
    fn name(self) -> &'static str {
        match self {
            ProxyOutcome::Ok => "ok",
            ProxyOutcome::Blocked => "blocked",
            ProxyOutcome::RateLimited => "rate_limited",
            ProxyOutcome::Transport => "transport",
        }
    }

    /// The outcome of an HTTP status.
    pub fn of_status(status: u16) -> ProxyOutcome {
        match status {
            403 => ProxyOutcome::Blocked,
            429 => ProxyOutcome::RateLimited,
            _ => ProxyOutcome::Ok,
        }
    }
}

/// Every proxy cools down and none comes back within [`MAX_LEASE_WAIT`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("every TikTok proxy is cooling down after {cause}; the first is back in {} s", retry_after.as_secs())]
pub struct ProxiesCooling {
    /// `403/WAF` or `429`: what cooled the proxy that comes back first.
    pub cause: &'static str,
    pub code: ErrorCode,
    pub retry_after: Duration,
}

/// One proxy of the pool, as a session holds it.
#[derive(Clone)]
pub struct ProxySlot {
    pub index: usize,
    /// `{index}:{host}:{port}`, without credentials.
    pub label: Arc<str>,
    /// The URL (credentials included) for yt-dlp's `proxy` option.
    pub url: Arc<str>,
    pub proxy: wreq::Proxy,
}

impl fmt::Debug for ProxySlot {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ProxySlot")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Health {
    /// Blocks in a row (reset by a good answer).
    strikes: u32,
    cooling_until: Option<Instant>,
    cause: Option<ProxyOutcome>,
}

struct Entry {
    slot: ProxySlot,
    health: Mutex<Health>,
}

/// The pool; shared by every session of the process.
pub struct ProxyPool {
    entries: Vec<Entry>,
    next: AtomicUsize,
    base_cooldown: Duration,
}

impl fmt::Debug for ProxyPool {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<&str> = self.entries.iter().map(|e| &*e.slot.label).collect();
        formatter
            .debug_struct("ProxyPool")
            .field("proxies", &labels)
            .finish_non_exhaustive()
    }
}

/// `{index}:{host}:{port}` of a proxy URL (never its credentials).
fn label_of(index: usize, url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{index}:{host}:{port}"),
        None => format!("{index}:{host}"),
    }
}

impl ProxyPool {
    /// A pool of `urls` (empty: direct connections) whose first cooldown is `base_cooldown`.
    pub fn new(urls: &[String], base_cooldown: Duration) -> Result<ProxyPool, ClientSetupError> {
        let mut entries = Vec::with_capacity(urls.len());
        for (index, text) in urls.iter().enumerate() {
            let invalid = || ClientSetupError::InvalidProxy {
                position: index + 1,
            };
            let parsed = url::Url::parse(text.trim()).map_err(|_| invalid())?;
            if parsed.host_str().is_none() {
                return Err(invalid());
            }
            let proxy = wreq::Proxy::all(text.trim()).map_err(|_| invalid())?;
            let label: Arc<str> = label_of(index, &parsed).into();
            gauge!(PROXY_COOLING, "proxy" => label.to_string()).set(0.0);
            entries.push(Entry {
                slot: ProxySlot {
                    index,
                    label,
                    url: text.trim().into(),
                    proxy,
                },
                health: Mutex::new(Health::default()),
            });
        }
        Ok(ProxyPool {
            entries,
            next: AtomicUsize::new(0),
            base_cooldown,
        })
    }

    /// Whether the pool has no proxy (requests go direct).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The proxy at `index`, for a session resumed on the proxy of an earlier one.
    pub fn slot(&self, index: usize) -> Option<ProxySlot> {
        self.entries.get(index).map(|entry| entry.slot.clone())
    }

    fn health(&self, index: usize) -> Health {
        self.entries
            .get(index)
            .map_or_else(Health::default, |entry| {
                *entry
                    .health
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            })
    }

    /// The next proxy that is not cooling at `now`, round-robin; or when the first cooling one
    /// comes back and why it cools.
    fn pick_at(&self, now: Instant) -> Result<ProxySlot, (Instant, ProxyOutcome)> {
        let count = self.entries.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut first_back: Option<(Instant, ProxyOutcome)> = None;
        for offset in 0..count {
            let index = (start + offset) % count;
            let health = self.health(index);
            match health.cooling_until {
                Some(until) if until > now => {
                    let cause = health.cause.unwrap_or(ProxyOutcome::Blocked);
                    if first_back.is_none_or(|(back, _)| until < back) {
                        first_back = Some((until, cause));
                    }
                }
                _ => return Ok(self.entries[index].slot.clone()),
            }
        }
        Err(first_back.unwrap_or((now, ProxyOutcome::Blocked)))
    }

    /// A proxy for a new session (`None`: no proxy configured, connect directly). Waits for a
    /// cooling proxy when all cool and the first is back within [`MAX_LEASE_WAIT`].
    pub async fn lease(&self) -> Result<Option<ProxySlot>, ProxiesCooling> {
        if self.entries.is_empty() {
            return Ok(None);
        }
        let give_up = Instant::now() + MAX_LEASE_WAIT;
        loop {
            let now = Instant::now();
            match self.pick_at(now) {
                Ok(slot) => return Ok(Some(slot)),
                Err((back, _)) if back <= give_up => {
                    tokio::time::sleep(back.saturating_duration_since(now)).await;
                }
                Err((back, cause)) => {
                    let (cause, code) = match cause {
                        ProxyOutcome::RateLimited => ("429", ErrorCode::UpstreamRateLimited),
                        _ => ("403/WAF", ErrorCode::UpstreamBlocked),
                    };
                    return Err(ProxiesCooling {
                        cause,
                        code,
                        retry_after: back.saturating_duration_since(now),
                    });
                }
            }
        }
    }

    /// Records what a request through proxy `index` showed: a block or a rate limit cools it
    /// down (`base × 2^(blocks in a row − 1)`, at most [`MAX_COOLDOWN`]); a good answer resets
    /// the backoff.
    pub fn record(&self, index: usize, outcome: ProxyOutcome) {
        self.record_at(index, outcome, Instant::now());
    }

    fn record_at(&self, index: usize, outcome: ProxyOutcome, now: Instant) {
        let Some(entry) = self.entries.get(index) else {
            return;
        };
        let label = entry.slot.label.to_string();
        counter!(PROXY_REQUESTS_TOTAL, "proxy" => label.clone(), "outcome" => outcome.name())
            .increment(1);
        let mut health = entry
            .health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match outcome {
            ProxyOutcome::Ok => {
                health.strikes = 0;
                if health.cooling_until.is_some_and(|until| until <= now) {
                    health.cooling_until = None;
                    gauge!(PROXY_COOLING, "proxy" => label).set(0.0);
                }
            }
            ProxyOutcome::Blocked | ProxyOutcome::RateLimited => {
                health.strikes = health.strikes.saturating_add(1);
                let cooldown = self.cooldown_after(health.strikes);
                health.cooling_until = Some(now + cooldown);
                health.cause = Some(outcome);
                tracing::warn!(proxy = %label, outcome = outcome.name(), cooldown_seconds = cooldown.as_secs(),
                    "TikTok refused a proxy; it cools down");
                gauge!(PROXY_COOLING, "proxy" => label).set(1.0);
            }
            ProxyOutcome::Transport => {}
        }
    }

    /// The cooldown after `strikes` blocks in a row.
    fn cooldown_after(&self, strikes: u32) -> Duration {
        let factor = 2u32.saturating_pow(strikes.saturating_sub(1).min(16));
        self.base_cooldown.saturating_mul(factor).min(MAX_COOLDOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(count: usize, cooldown: Duration) -> ProxyPool {
        let urls: Vec<String> = (0..count)
            .map(|index| format!("http://user:secret@127.0.0.1:{}", 9000 + index))
            .collect();
        ProxyPool::new(&urls, cooldown).unwrap()
    }

    #[test]
    fn leases_go_round_robin_and_skip_a_cooling_proxy_until_it_is_back() {
        let pool = pool(2, Duration::from_secs(30));
        let now = Instant::now();
        let picks: Vec<usize> = (0..4).map(|_| pool.pick_at(now).unwrap().index).collect();
        assert_eq!(picks, [0, 1, 0, 1]);
        pool.record_at(1, ProxyOutcome::Blocked, now);
        let picks: Vec<usize> = (0..4).map(|_| pool.pick_at(now).unwrap().index).collect();
        assert_eq!(picks, [0, 0, 0, 0]);
        let later = now + Duration::from_secs(31);
        let picks: Vec<usize> = (0..2).map(|_| pool.pick_at(later).unwrap().index).collect();
        assert!(picks.contains(&1), "{picks:?}");
    }

    #[test]
    fn the_backoff_doubles_per_block_in_a_row_and_resets_after_a_good_answer() {
        let pool = pool(1, Duration::from_secs(10));
        assert_eq!(pool.cooldown_after(1), Duration::from_secs(10));
        assert_eq!(pool.cooldown_after(2), Duration::from_secs(20));
        assert_eq!(pool.cooldown_after(3), Duration::from_secs(40));
        assert_eq!(pool.cooldown_after(40), MAX_COOLDOWN);
        let now = Instant::now();
        pool.record_at(0, ProxyOutcome::RateLimited, now);
        pool.record_at(0, ProxyOutcome::RateLimited, now);
        let (back, cause) = pool.pick_at(now).unwrap_err();
        assert_eq!(back, now + Duration::from_secs(20));
        assert_eq!(cause, ProxyOutcome::RateLimited);
        pool.record_at(0, ProxyOutcome::Ok, back);
        assert_eq!(pool.health(0).strikes, 0);
        pool.record_at(0, ProxyOutcome::Blocked, back);
        assert_eq!(
            pool.health(0).cooling_until,
            Some(back + Duration::from_secs(10))
        );
    }

    #[tokio::test]
    async fn when_every_proxy_cools_for_long_a_lease_fails_with_the_cause() {
        let pool = pool(2, Duration::from_secs(600));
        pool.record(0, ProxyOutcome::RateLimited);
        pool.record(1, ProxyOutcome::RateLimited);
        let error = pool.lease().await.unwrap_err();
        assert_eq!(error.code, ErrorCode::UpstreamRateLimited);
        assert!(error.code.is_retryable());
        assert!(error.retry_after > Duration::from_secs(500));
        assert!(!error.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn when_every_proxy_cools_briefly_a_lease_waits_for_the_first_back() {
        let pool = pool(1, Duration::from_millis(50));
        pool.record(0, ProxyOutcome::Blocked);
        let slot = tokio::time::timeout(Duration::from_secs(5), pool.lease())
            .await
            .expect("the lease does not wait past the cooldown")
            .unwrap()
            .unwrap();
        assert_eq!(slot.index, 0);
    }

    #[test]
    fn labels_and_debug_output_never_show_credentials() {
        let pool = pool(2, Duration::from_secs(1));
        let text = format!("{pool:?} {:?}", pool.slot(1).unwrap());
        assert!(text.contains("1:127.0.0.1:9001"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let error = ProxyPool::new(&["not a url".to_owned()], Duration::from_secs(1)).unwrap_err();
        assert!(error.to_string().contains("proxy 1"));
    }
}
