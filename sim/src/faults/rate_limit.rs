//! The listener's request budget (`--rate-limit-per-second`, `POST /_sim/config
//! {rate_limit_per_second}`): TikTok rate-limits by client address, and one simulator listener
//! stands for one proxy's address, so a test can run two simulators as two proxies and
//! rate-limit one. Past the budget within the current second, TikTok requests get 429 with
//! `Retry-After: 1`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Window {
    per_second: Option<u32>,
    started: Instant,
    admitted: u32,
}

/// A fixed one-second window; `None` is no limit.
#[derive(Debug)]
pub struct RateLimit {
    initial: Option<u32>,
    window: Mutex<Window>,
}

impl RateLimit {
    pub fn new(per_second: Option<u32>) -> RateLimit {
        RateLimit {
            initial: per_second,
            window: Mutex::new(Window {
                per_second,
                started: Instant::now(),
                admitted: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The budget (`None`: no limit).
    pub fn per_second(&self) -> Option<u32> {
        self.lock().per_second
    }

    /// Sets the budget (`None` or 0: no limit) and starts a new window.
    pub fn set(&self, per_second: Option<u32>) {
        let mut window = self.lock();
        window.per_second = per_second.filter(|limit| *limit > 0);
        window.started = Instant::now();
        window.admitted = 0;
    }

    /// Back to the start-up budget (`POST /_sim/reset`).
    pub fn reset(&self) {
        self.set(self.initial);
    }

    /// Whether a request arriving at `now` is within the budget (and counts it).
    pub fn admit(&self, now: Instant) -> bool {
        let mut window = self.lock();
        let Some(limit) = window.per_second else {
            return true;
        };
        if now.saturating_duration_since(window.started) >= Duration::from_secs(1) {
            window.started = now;
            window.admitted = 0;
        }
        if window.admitted >= limit {
            return false;
        }
        window.admitted += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_holds_per_second_and_can_be_lifted() {
        let limit = RateLimit::new(Some(2));
        let start = Instant::now();
        assert!(limit.admit(start));
        assert!(limit.admit(start));
        assert!(!limit.admit(start + Duration::from_millis(500)));
        assert!(limit.admit(start + Duration::from_millis(1_000)));
        limit.set(Some(0));
        assert!((0..100).all(|_| limit.admit(start)));
        limit.reset();
        assert_eq!(limit.per_second(), Some(2));
    }
}
