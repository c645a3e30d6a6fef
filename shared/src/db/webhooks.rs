//! Webhooks: the per-key signing secrets, the outbox (`webhook_deliveries`, written inside the
//! transaction of the state change that causes each event) and the deliverer's guarded claim and
//! end, plus the api's reads and redelivery ([`deliveries`]). Lock order stays item rows → job
//! row → deliveries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::ids::{ApiKeyId, ClaimId, DeliveryId, ItemId, JobId};

mod deliveries;

pub use deliveries::{
    DeliveryAttemptRow, DeliveryRow, RedeliverOutcome, list_attempts_for_deliveries,
    list_deliveries_for_job, redeliver,
};

use super::WEBHOOK_READY_CHANNEL;
use super::nul_free::text_without_nul;
use crate::webhooks::events::PROGRESS_THROTTLE_SECONDS;
use crate::webhooks::signature::generate_secret;

/// A fresh `webhook-id`: `msg_` + a ULID (no `.` in it, as the spec requires).
pub fn new_webhook_id() -> String {
    format!("msg_{}", ulid::Ulid::generate())
}

/// The signing secret(s) of one API key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookSecretRow {
    pub api_key_id: ApiKeyId,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
}

impl WebhookSecretRow {
    /// The secrets that sign a delivery sent at `now`: the current one, and the previous one
    /// while its grace period lasts.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_valid_until)
            && until > now
        {
            secrets.push(previous.as_str());
        }
        secrets
    }
}

/// The key's secret, created now if the key has none yet (keys that predate webhooks, or a
/// concurrent first use: the first insert wins).
///
/// Two statements, not one: when another transaction inserts the key's secret at the same
/// moment, `insert … on conflict do nothing` waits for it and inserts nothing, and a select in
/// that same statement would still read the snapshot taken before the other commit (no row).
/// The second statement takes a new snapshot and sees the winner's secret.
pub async fn ensure_webhook_secret<'a>(
    connection: impl sqlx::Acquire<'a, Database = sqlx::Postgres>,
    api_key_id: ApiKeyId,
) -> Result<WebhookSecretRow, sqlx::Error> {
    let mut connection = connection.acquire().await?;
    let inserted = sqlx::query_as::<_, WebhookSecretRow>(
        "insert into webhook_secrets (api_key_id, secret) values ($1, $2)
         on conflict (api_key_id) do nothing
         returning api_key_id, secret, previous_secret, previous_valid_until, created_at, rotated_at",
    )
    .bind(api_key_id)
    .bind(generate_secret())
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(row) = inserted {
        return Ok(row);
    }
    sqlx::query_as::<_, WebhookSecretRow>(
        "select api_key_id, secret, previous_secret, previous_valid_until, created_at, rotated_at
         from webhook_secrets where api_key_id = $1",
    )
    .bind(api_key_id)
    .fetch_one(&mut *connection)
    .await
}

/// Replaces the key's secret with a new one; the old one keeps signing for `grace`.
pub async fn rotate_webhook_secret(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
    grace: Duration,
) -> Result<WebhookSecretRow, sqlx::Error> {
    sqlx::query_as::<_, WebhookSecretRow>(
        "insert into webhook_secrets (api_key_id, secret) values ($1, $2)
         on conflict (api_key_id) do update
         set previous_secret = webhook_secrets.secret,
             previous_valid_until = now() + make_interval(secs => $3),
             secret = excluded.secret,
             rotated_at = now()
         returning api_key_id, secret, previous_secret, previous_valid_until, created_at,
                   rotated_at",
    )
    .bind(api_key_id)
    .bind(generate_secret())
    .bind(grace.as_secs_f64())
    .fetch_one(executor)
    .await
}

/// Writes the event `event_type` of `job_id` (about `item_id`, for item events) to the outbox,
/// inside the caller's transaction, if the job has a webhook subscribed to it and not disabled
/// by a 410; sends the wake-up NOTIFY when a row was written. Returns how many rows (0 or 1).
pub async fn enqueue_job_event(
    connection: &mut PgConnection,
    job_id: JobId,
    event_type: &str,
    item_id: Option<ItemId>,
) -> Result<u64, sqlx::Error> {
    let inserted = sqlx::query(
        r#"
        with job as (
            select j.*,
                   (select result_video_id from job_items
                    where job_items.job_id = j.job_id and status = 'succeeded'
                    order by position limit 1) as first_video_id
            from jobs j
            where j.job_id = $1 and j.webhook_url is not null and j.webhook_disabled_at is null
              and $2::text = any(j.webhook_events)
        ),
        item as (
            select item_id, status, custom_id, input_url, video_id, result_video_id,
                   error_code, error_message
            from job_items where item_id = $3
        )
        insert into webhook_deliveries (delivery_id, webhook_id, job_id, event_type, url, payload)
        select $4, $5, job.job_id, $2::text, job.webhook_url, jsonb_build_object(
            'type', $2::text,
            'timestamp', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'data', jsonb_build_object(
                'id', job.job_id,
                'object', 'job',
                'kind', job.kind,
                'status', job.status,
                'counts', jsonb_build_object(
                    'total', job.items_total,
                    'succeeded', job.items_succeeded,
                    'failed', job.items_failed,
                    'canceled', job.items_canceled,
                    'pending', greatest(0, job.items_total - job.items_succeeded
                                           - job.items_failed - job.items_canceled)),
                'links', jsonb_strip_nulls(jsonb_build_object(
                    'self', '/v1/jobs/' || job.job_id,
                    'deliveries', '/v1/jobs/' || job.job_id || '/deliveries',
                    'items', case when job.kind <> 'video'
                                  then '/v1/jobs/' || job.job_id || '/items' end,
                    'video', case when job.kind = 'video' and job.first_video_id is not null
                                  then '/v1/videos/' || job.first_video_id end)),
                'metadata', job.metadata
            ) || case when item.item_id is null then '{}'::jsonb else jsonb_build_object(
                'item', jsonb_strip_nulls(jsonb_build_object(
                    'id', item.item_id,
                    'status', item.status,
                    'url', item.input_url,
                    'custom_id', item.custom_id,
                    'video_id', coalesce(item.result_video_id, item.video_id),
                    'error', case when item.error_code is null or item.status = 'succeeded'
                                  then null
                                  else jsonb_build_object('code', item.error_code,
                                                          'message', item.error_message) end)))
            end)
        from job left join item on true
        "#,
    )
    .bind(job_id)
    .bind(event_type)
    .bind(item_id)
    .bind(DeliveryId::new_v7())
    .bind(new_webhook_id())
    .execute(&mut *connection)
    .await?
    .rows_affected();
    if inserted > 0 {
        notify_webhook_ready(&mut *connection).await?;
    }
    Ok(inserted)
}

/// Writes a `job.progress` event unless the job sent one less than 2 s ago (the throttle is
/// `jobs.last_progress_event_at`, moved in the same transaction).
pub async fn enqueue_progress_event(
    connection: &mut PgConnection,
    job_id: JobId,
) -> Result<u64, sqlx::Error> {
    let due: Option<JobId> = sqlx::query_scalar(
        "update jobs set last_progress_event_at = now()
         where job_id = $1 and webhook_url is not null and webhook_disabled_at is null
           and 'job.progress' = any(webhook_events)
           and (last_progress_event_at is null
                or last_progress_event_at <= now() - make_interval(secs => $2))
         returning job_id",
    )
    .bind(job_id)
    .bind(PROGRESS_THROTTLE_SECONDS)
    .fetch_optional(&mut *connection)
    .await?;
    match due {
        Some(_) => enqueue_job_event(connection, job_id, "job.progress", None).await,
        None => Ok(0),
    }
}

pub(super) async fn notify_webhook_ready(
    executor: impl sqlx::PgExecutor<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, '')")
        .bind(WEBHOOK_READY_CHANNEL)
        .execute(executor)
        .await?;
    Ok(())
}

/// A delivery this worker now holds (fencing token `claim_id`, under a lease).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub delivery_id: DeliveryId,
    pub webhook_id: String,
    pub job_id: JobId,
    pub api_key_id: ApiKeyId,
    pub event_type: String,
    pub url: String,
    pub payload: Value,
    /// This claim's attempt number (1 for the first).
    pub attempt: i32,
    pub claim_id: ClaimId,
}

/// `last_error` of a delivery ended by [`claim_due_deliveries`] after too many claims.
pub const UNRECORDED_OUTCOME_ERROR: &str =
    "claimed too many times without a recorded outcome (the worker died or could not record it)";

/// Claims up to `limit` deliveries that are due (`pending` and `next_attempt_at` passed) or whose
/// lease expired (a worker died mid-send, or could not record the outcome), skipping rows other
/// workers are claiming. A delivery already claimed `max_claims` times is not sent again: it
/// ends `failed` (an outcome that can never be recorded must not make it repeat forever).
pub async fn claim_due_deliveries(
    pool: &PgPool,
    worker_name: &str,
    lease: Duration,
    limit: i64,
    max_claims: i32,
) -> Result<Vec<ClaimedDelivery>, sqlx::Error> {
    sqlx::query(
        "update webhook_deliveries
         set status = 'failed', finished_at = now(), last_error = $2,
             claim_id = null, claimed_by = null, lease_expires_at = null
         where attempts >= $1
           and ((status = 'pending' and next_attempt_at <= now())
                or (status = 'delivering' and lease_expires_at < now()))",
    )
    .bind(max_claims)
    .bind(UNRECORDED_OUTCOME_ERROR)
    .execute(pool)
    .await?;
    sqlx::query_as::<_, ClaimedDelivery>(
        "with due as (
             select delivery_id from webhook_deliveries
             where ((status = 'pending' and next_attempt_at <= now())
                    or (status = 'delivering' and lease_expires_at < now()))
               and attempts < $4
             order by next_attempt_at
             limit $3
             for update skip locked
         )
         update webhook_deliveries as d
         set status = 'delivering', attempts = d.attempts + 1, claim_id = gen_random_uuid(),
             claimed_by = $1, lease_expires_at = now() + make_interval(secs => $2)
         from due, jobs
         where d.delivery_id = due.delivery_id and jobs.job_id = d.job_id
         returning d.delivery_id, d.webhook_id, d.job_id, jobs.api_key_id, d.event_type, d.url,
                   d.payload, d.attempts as attempt, d.claim_id",
    )
    .bind(worker_name)
    .bind(lease.as_secs_f64())
    .bind(limit)
    .bind(max_claims)
    .fetch_all(pool)
    .await
}

/// The earliest time a delivery will be due (for the deliverer's sleep), if any is waiting.
pub async fn next_delivery_due_at(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "select min(case when status = 'pending' then next_attempt_at else lease_expires_at end)
         from webhook_deliveries where status in ('pending', 'delivering')",
    )
    .fetch_one(pool)
    .await
}

/// How one attempt ended, as decided by the deliverer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// 2xx: the delivery is `succeeded`.
    Succeeded,
    /// Back to `pending`, due after the delay.
    Retry { after: Duration },
    /// The retry schedule is exhausted (or the target is refused): `failed`.
    Failed,
    /// 410 Gone: `stopped`, and no further deliveries to that URL for that job.
    Stopped,
}

impl AttemptOutcome {
    fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Retry { .. } => "retry_scheduled",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Stopped => "stopped",
        }
    }

    fn delivery_status(self) -> &'static str {
        match self {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Retry { .. } => "pending",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Stopped => "stopped",
        }
    }
}

/// What one attempt observed.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub worker_name: String,
    pub started_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency: Duration,
    /// At most ~1 KB of the response body (stored without NUL characters).
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// Ends the attempt held by `claim_id`: records it and moves the delivery, in one transaction,
/// guarded by the claim. `false` when the claim was lost (lease expired and re-claimed):
/// nothing is written then. The excerpt and error are stored without NUL characters (which
/// Postgres `text` refuses), so a receiver's odd body cannot fail the transaction.
pub async fn end_delivery_attempt(
    pool: &PgPool,
    claimed: &ClaimedDelivery,
    outcome: AttemptOutcome,
    record: &AttemptRecord,
) -> Result<bool, sqlx::Error> {
    let retry_after = match outcome {
        AttemptOutcome::Retry { after } => after.as_secs_f64(),
        _ => 0.0,
    };
    let excerpt = record.response_excerpt.as_deref().map(text_without_nul);
    let error = record.error.as_deref().map(text_without_nul);
    let mut transaction = pool.begin().await?;
    let moved: Option<DeliveryId> = sqlx::query_scalar(
        "update webhook_deliveries
         set status = $3, last_status_code = $4, last_error = $5,
             next_attempt_at = case when $3 = 'pending'
                                    then now() + make_interval(secs => $6)
                                    else next_attempt_at end,
             finished_at = case when $3 = 'pending' then null else now() end,
             claim_id = null, claimed_by = null, lease_expires_at = null
         where delivery_id = $1 and claim_id = $2 and status = 'delivering'
         returning delivery_id",
    )
    .bind(claimed.delivery_id)
    .bind(claimed.claim_id)
    .bind(outcome.delivery_status())
    .bind(record.status_code)
    .bind(error.as_deref())
    .bind(retry_after)
    .fetch_optional(&mut *transaction)
    .await?;
    if moved.is_none() {
        transaction.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "insert into webhook_delivery_attempts (delivery_id, attempt, claim_id, worker_name,
             started_at, status_code, latency_ms, response_excerpt, error, outcome)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(claimed.delivery_id)
    .bind(claimed.attempt)
    .bind(claimed.claim_id)
    .bind(&record.worker_name)
    .bind(record.started_at)
    .bind(record.status_code)
    .bind(record.latency.as_secs_f64() * 1000.0)
    .bind(excerpt.as_deref())
    .bind(error.as_deref())
    .bind(outcome.as_str())
    .execute(&mut *transaction)
    .await?;
    if outcome == AttemptOutcome::Stopped {
        sqlx::query(
            "update jobs set webhook_disabled_at = coalesce(webhook_disabled_at, now())
             where job_id = $1 and webhook_url = $2",
        )
        .bind(claimed.job_id)
        .bind(&claimed.url)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "update webhook_deliveries
             set status = 'stopped', finished_at = now(),
                 last_error = 'the receiver answered 410 Gone to another delivery'
             where job_id = $1 and url = $2 and status = 'pending'",
        )
        .bind(claimed.job_id)
        .bind(&claimed.url)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(true)
}
