//! The webhook deliverer: a background loop in every worker process that claims due outbox rows
//! (`webhook_deliveries`, `FOR UPDATE SKIP LOCKED` + a lease), signs and sends them
//! ([`sender`]), and records each attempt. Woken by `NOTIFY tokworks_webhook_ready` (sent in the
//! outbox transaction) and by the earliest due time, with a periodic scan as a safety net.

pub mod sender;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokworks_shared::db::WEBHOOK_READY_CHANNEL;
use tokworks_shared::db::webhooks::{self as webhook_db, AttemptOutcome, ClaimedDelivery};
use tokworks_shared::webhooks::address_guard::AddressPolicy;

use crate::background::webhook_deliverer::sender::{SendResult, send_delivery};

/// Most sends in flight at once; each is independent: a freed slot is refilled at once, so one
/// slow receiver holds one slot, not a whole batch.
const MAX_IN_FLIGHT: usize = 16;
/// Claims beyond the attempts of the retry schedule after which a delivery whose outcome was
/// never recorded (lease expired each time) ends `failed` instead of being sent again.
const UNRECORDED_CLAIM_MARGIN: usize = 3;
/// Longest sleep between scans when nothing is due and no NOTIFY arrives.
const MAX_IDLE_WAIT: Duration = Duration::from_secs(5);
/// Longest honoured `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Extra lease beyond the request timeout (the send, its DNS lookup and the write of the result).
const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// How the deliverer sends (from the worker's WEBHOOK_* settings).
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub policy: AddressPolicy,
    /// Delay after each failed attempt; its length + 1 is the number of attempts.
    pub retry_schedule: Vec<Duration>,
    /// Whole-request timeout (connect, send, response head and the capped body read).
    pub timeout: Duration,
}

impl DeliverySettings {
    /// The claim's lease: longer than any send can take, so only a dead worker's claim expires.
    pub fn lease(&self) -> Duration {
        self.timeout + LEASE_MARGIN
    }

    /// Claims of one delivery after which it ends `failed` unsent: every attempt of the schedule
    /// plus a margin for claims whose outcome could not be recorded.
    pub fn max_claims(&self) -> i32 {
        let claims = self.retry_schedule.len() + 1 + UNRECORDED_CLAIM_MARGIN;
        i32::try_from(claims).unwrap_or(i32::MAX)
    }
}

/// The deliverer of one worker process.
#[derive(Debug, Clone)]
pub struct Deliverer {
    pub pool: PgPool,
    pub worker_name: String,
    pub settings: Arc<DeliverySettings>,
}

impl Deliverer {
    /// Runs until `shutdown` turns true (the sends in flight finish first).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => match listener.listen(WEBHOOK_READY_CHANNEL).await {
                Ok(()) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "cannot LISTEN for webhooks; scanning only");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for webhooks; scanning only");
                None
            }
        };
        let mut sends: JoinSet<()> = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = MAX_IN_FLIGHT.saturating_sub(sends.len());
            if free > 0 {
                for delivery in self.claim(free).await {
                    let deliverer = self.clone();
                    sends.spawn(async move { deliverer.deliver_one(delivery).await });
                }
            }
            // Every slot busy: only a finished send (or shutdown) makes room.
            let wait = if sends.len() < MAX_IN_FLIGHT {
                self.idle_wait().await
            } else {
                MAX_IDLE_WAIT
            };
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break; // the sender is gone: nobody can ask for more work
                    }
                }
                Some(joined) = sends.join_next(), if !sends.is_empty() => {
                    if let Err(error) = joined {
                        tracing::error!(%error, "a webhook send task failed");
                    }
                }
                () = tokio::time::sleep(wait) => {}
                notified = wait_for_notification(listener.as_mut()) => {
                    if let Err(error) = notified {
                        tracing::warn!(%error, "webhook LISTEN connection failed; reconnecting");
                    }
                }
            }
        }
        while let Some(joined) = sends.join_next().await {
            if let Err(error) = joined {
                tracing::error!(%error, "a webhook send task failed");
            }
        }
    }

    async fn idle_wait(&self) -> Duration {
        match webhook_db::next_delivery_due_at(&self.pool).await {
            Ok(Some(due_at)) => (due_at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(10), MAX_IDLE_WAIT),
            Ok(None) => MAX_IDLE_WAIT,
            Err(error) => {
                tracing::warn!(%error, "cannot read the next webhook due time");
                MAX_IDLE_WAIT
            }
        }
    }

    /// Claims up to `limit` due deliveries (none on a database error: the next round retries).
    async fn claim(&self, limit: usize) -> Vec<ClaimedDelivery> {
        match webhook_db::claim_due_deliveries(
            &self.pool,
            &self.worker_name,
            self.settings.lease(),
            i64::try_from(limit).unwrap_or(i64::MAX),
            self.settings.max_claims(),
        )
        .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "cannot claim webhook deliveries");
                Vec::new()
            }
        }
    }

    async fn deliver_one(&self, claimed: ClaimedDelivery) {
        let secrets = match webhook_db::ensure_webhook_secret(&self.pool, claimed.api_key_id).await
        {
            Ok(row) => row,
            Err(error) => {
                tracing::warn!(%error, "cannot read the webhook secret; the lease will retry");
                return;
            }
        };
        let result = send_delivery(&self.settings, &claimed, &secrets, &self.worker_name).await;
        let outcome = self.outcome_of(&claimed, &result);
        crate::worker_metrics::record_webhook_attempt(match outcome {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Retry { .. } => "retry_scheduled",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Stopped => "stopped",
        });
        tracing::info!(
            webhook_id = claimed.webhook_id,
            event_type = claimed.event_type,
            attempt = claimed.attempt,
            status_code = result.record.status_code,
            ?outcome,
            "webhook attempt"
        );
        match webhook_db::end_delivery_attempt(&self.pool, &claimed, outcome, &result.record).await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                webhook_id = claimed.webhook_id,
                "webhook claim lost (lease expired); another worker retries it"
            ),
            Err(error) => tracing::warn!(%error, "cannot record a webhook attempt"),
        }
    }

    /// 2xx → succeeded; 410 → stopped; refused by the guard → failed; anything else is retried
    /// on the schedule (Retry-After honoured, bounded) until the schedule is exhausted.
    fn outcome_of(&self, claimed: &ClaimedDelivery, result: &SendResult) -> AttemptOutcome {
        if result.refused {
            return AttemptOutcome::Failed;
        }
        match result.record.status_code {
            Some(200..=299) => return AttemptOutcome::Succeeded,
            Some(410) => return AttemptOutcome::Stopped,
            _ => {}
        }
        let index = usize::try_from(claimed.attempt.max(1) - 1).unwrap_or(usize::MAX);
        let Some(scheduled) = self.settings.retry_schedule.get(index) else {
            return AttemptOutcome::Failed;
        };
        let after = match result.retry_after {
            Some(retry_after) => retry_after.clamp(Duration::from_secs(1), MAX_RETRY_AFTER),
            None => with_jitter(*scheduled),
        };
        AttemptOutcome::Retry { after }
    }
}

/// ±10 % of jitter, so retries of many deliveries spread out.
fn with_jitter(delay: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    delay.mul_f64(factor)
}

async fn wait_for_notification(listener: Option<&mut PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let delay = with_jitter(Duration::from_secs(100));
            assert!(delay >= Duration::from_secs(90) && delay <= Duration::from_secs(110));
        }
    }
}
