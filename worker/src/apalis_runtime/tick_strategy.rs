//! A poll strategy that never loses a wake-up (docs/apalis-redis.md "Bug 2: lost wake-ups"): it drains every
//! elapsed tick until the interval is `Pending`, so a timer waker is always registered. apalis'
//! own `IntervalStrategy` can return `Ready` without one and stall the worker for a heartbeat.

use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Interval, MissedTickBehavior};

/// Wakes the worker's fetch loop every `interval`.
#[derive(Debug)]
pub struct TickStrategy {
    interval: Interval,
}

impl TickStrategy {
    /// Must be called inside a tokio runtime.
    pub fn new(period: Duration) -> TickStrategy {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        TickStrategy { interval }
    }
}

impl PollStrategy for TickStrategy {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _snapshot: &PollSnapshot) -> Poll<Option<()>> {
        let mut fired = false;
        while self.interval.poll_tick(cx).is_ready() {
            fired = true;
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}
