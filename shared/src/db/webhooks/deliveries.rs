//! The api's side of webhook deliveries: a job's deliveries page by page (oldest first, keyset on
//! the UUID v7 `delivery_id`) with their attempts, and the guarded, rate-limited redelivery.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use crate::ids::{DeliveryId, JobId};

use super::notify_webhook_ready;

/// One delivery as the api shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub delivery_id: DeliveryId,
    pub webhook_id: String,
    pub job_id: JobId,
    pub event_type: String,
    pub url: String,
    pub payload: Value,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub redelivery_of: Option<DeliveryId>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryAttemptRow {
    pub delivery_id: DeliveryId,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: f64,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
    pub outcome: String,
}

/// Up to `limit` deliveries of the job after `after_delivery_id` (from the first when `None`),
/// oldest first.
pub async fn list_deliveries_for_job(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
    after_delivery_id: Option<DeliveryId>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as::<_, DeliveryRow>(
        "select delivery_id, webhook_id, job_id, event_type, url, payload, status, attempts,
                next_attempt_at, last_status_code, last_error, redelivery_of, created_at,
                finished_at
         from webhook_deliveries
         where job_id = $1 and ($2::uuid is null or delivery_id > $2)
         order by delivery_id
         limit $3",
    )
    .bind(job_id)
    .bind(after_delivery_id)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Every attempt of the given deliveries, in order.
pub async fn list_attempts_for_deliveries(
    executor: impl sqlx::PgExecutor<'_>,
    delivery_ids: &[DeliveryId],
) -> Result<Vec<DeliveryAttemptRow>, sqlx::Error> {
    sqlx::query_as::<_, DeliveryAttemptRow>(
        "select delivery_id, attempt, started_at, finished_at, status_code, latency_ms,
                response_excerpt, error, outcome
         from webhook_delivery_attempts
         where delivery_id = any($1)
         order by attempt_id",
    )
    .bind(delivery_ids)
    .fetch_all(executor)
    .await
}

/// What [`redeliver`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum RedeliverOutcome {
    /// The new `pending` delivery.
    Queued(DeliveryRow),
    /// The job has no such delivery.
    NotFound,
    /// The job's webhook is disabled (its receiver answered 410 Gone): nothing is sent to it.
    WebhookDisabled,
    /// The event was already redelivered `max_per_hour` times in the last hour; the next
    /// redelivery is allowed after `retry_after`.
    Limited { retry_after: Duration },
}

/// Queues the event of delivery `delivery_id` (of job `job_id`) again: a new `pending` row with
/// the same `webhook-id`, type, URL and payload — unless the job's webhook is disabled, or the
/// event (its `webhook-id`) was redelivered `max_per_hour` times in the last hour. Concurrent
/// redeliveries of one event are serialised (a transaction-scoped advisory lock), so the limit
/// holds; the caller commits.
pub async fn redeliver(
    connection: &mut PgConnection,
    job_id: JobId,
    delivery_id: DeliveryId,
    max_per_hour: i64,
) -> Result<RedeliverOutcome, sqlx::Error> {
    let original: Option<(String, bool)> = sqlx::query_as(
        "select d.webhook_id, j.webhook_disabled_at is not null
         from webhook_deliveries d join jobs j on j.job_id = d.job_id
         where d.delivery_id = $2 and d.job_id = $1",
    )
    .bind(job_id)
    .bind(delivery_id)
    .fetch_optional(&mut *connection)
    .await?;
    let Some((webhook_id, disabled)) = original else {
        return Ok(RedeliverOutcome::NotFound);
    };
    if disabled {
        return Ok(RedeliverOutcome::WebhookDisabled);
    }
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(&webhook_id)
        .execute(&mut *connection)
        .await?;
    // clock_timestamp(): the lock may have been waited for; now() is the transaction's start.
    let (recent, wait_seconds): (i64, Option<f64>) = sqlx::query_as(
        "select count(*),
                extract(epoch from min(created_at) + interval '1 hour' - clock_timestamp())::float8
         from webhook_deliveries
         where job_id = $1 and webhook_id = $2 and redelivery_of is not null
           and created_at > clock_timestamp() - interval '1 hour'",
    )
    .bind(job_id)
    .bind(&webhook_id)
    .fetch_one(&mut *connection)
    .await?;
    if recent >= max_per_hour {
        let seconds = wait_seconds.unwrap_or(1.0).ceil().max(1.0);
        return Ok(RedeliverOutcome::Limited {
            retry_after: Duration::from_secs_f64(seconds),
        });
    }
    let row = sqlx::query_as::<_, DeliveryRow>(
        "insert into webhook_deliveries (delivery_id, webhook_id, job_id, event_type, url,
                                         payload, redelivery_of, created_at)
         select $3, webhook_id, job_id, event_type, url, payload, delivery_id, clock_timestamp()
         from webhook_deliveries where delivery_id = $2 and job_id = $1
         returning delivery_id, webhook_id, job_id, event_type, url, payload, status, attempts,
                   next_attempt_at, last_status_code, last_error, redelivery_of, created_at,
                   finished_at",
    )
    .bind(job_id)
    .bind(delivery_id)
    .bind(DeliveryId::new_v7())
    .fetch_one(&mut *connection)
    .await?;
    notify_webhook_ready(&mut *connection).await?;
    Ok(RedeliverOutcome::Queued(row))
}
