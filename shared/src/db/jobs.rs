//! Jobs and their items as the api sees them: create (with idempotency), record enqueues, read,
//! list with keyset pagination, and cancel with guarded transitions.
//!
//! Lock order, shared with the worker to avoid deadlocks: item rows first, then the job row.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Acquire, PgConnection};

use crate::ids::{ApiKeyId, ItemId, JobId};

use super::JOB_FINISHED_CHANNEL;
use crate::job_options::StoredJobOptions;
use crate::job_status::{ItemStatus, JobKind, JobStatus};
use crate::video::Video;

/// A job to insert, with its items (all `queued`).
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: JobId,
    pub api_key_id: ApiKeyId,
    pub kind: JobKind,
    /// The accepted request body, normalised; compared (as jsonb) on idempotent replays.
    pub request: Value,
    pub options: StoredJobOptions,
    pub metadata: Value,
    pub idempotency_key: Option<String>,
    pub items: Vec<NewJobItem>,
    /// Where to send the job's webhook events, if anywhere.
    pub webhook: Option<NewJobWebhook>,
}

/// The webhook of a [`NewJob`]: its URL (already checked by the SSRF guard) and event types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJobWebhook {
    pub url: String,
    pub events: Vec<String>,
}

/// One item of a [`NewJob`].
#[derive(Debug, Clone)]
pub struct NewJobItem {
    pub item_id: ItemId,
    /// Index of the URL in the submitted list (unique within the job; gaps are URLs rejected at
    /// submit time).
    pub position: i32,
    /// The earlier item of the same job with the same video: this one is never enqueued and
    /// finishes with that item's result (see `item_claims::end_item`).
    pub duplicate_of: Option<ItemId>,
    pub input_url: String,
    pub canonical_url: Option<String>,
    pub video_id: Option<String>,
    pub custom_id: Option<String>,
    pub max_attempts: i32,
}

/// What [`insert_job_with_items`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertJobOutcome {
    /// The job and its items were inserted (committed, unless the caller's transaction is
    /// rolled back); `created_at` is the job's stored creation time.
    Created { created_at: DateTime<Utc> },
    /// The key already has a job with this idempotency key; nothing was inserted.
    IdempotencyKeyExists {
        existing_job_id: JobId,
        same_request: bool,
    },
}

/// Inserts a job and its items in one statement (one round trip, atomic on its own: on a bare
/// connection it is its own transaction). The idempotency key is enforced by the
/// `jobs_idempotency_key_unique` constraint (`on conflict do nothing`, then a read of the
/// winner), so two concurrent requests with one key never both create a job.
pub async fn insert_job_with_items(
    connection: &mut PgConnection,
    new_job: &NewJob,
) -> Result<InsertJobOutcome, sqlx::Error> {
    let items_total = i32::try_from(new_job.items.len())
        .map_err(|_| sqlx::Error::Protocol("too many items in one job".into()))?;
    let mut item_ids = Vec::with_capacity(new_job.items.len());
    let mut positions = Vec::with_capacity(new_job.items.len());
    let mut input_urls = Vec::with_capacity(new_job.items.len());
    let mut canonical_urls = Vec::with_capacity(new_job.items.len());
    let mut video_ids = Vec::with_capacity(new_job.items.len());
    let mut custom_ids = Vec::with_capacity(new_job.items.len());
    let mut max_attempts = Vec::with_capacity(new_job.items.len());
    let mut duplicate_ofs = Vec::with_capacity(new_job.items.len());
    for item in &new_job.items {
        item_ids.push(item.item_id);
        positions.push(item.position);
        duplicate_ofs.push(item.duplicate_of);
        input_urls.push(item.input_url.as_str());
        canonical_urls.push(item.canonical_url.as_deref());
        video_ids.push(item.video_id.as_deref());
        custom_ids.push(item.custom_id.as_deref());
        max_attempts.push(item.max_attempts);
    }
    // Data-modifying CTEs all run to completion; the items insert reads the job insert's
    // output, so a conflicting idempotency key inserts no items either. Foreign keys are
    // checked at the end of the statement, when the job row exists. The items get no queue task:
    // the workers' dispatcher hands them to Redis, round-robin across keys. No NOTIFY here: it
    // would serialise every submit's commit; the api wakes the dispatcher after the commit
    // (`api::jobs::dispatch_wakeup`).
    let created_at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "with new_job as (
             insert into jobs (job_id, api_key_id, kind, status, request, options, metadata,
                               idempotency_key, items_total, webhook_url, webhook_events)
             values ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10)
             on conflict on constraint jobs_idempotency_key_unique do nothing
             returning job_id, created_at
         ),
         new_items as (
             insert into job_items (item_id, job_id, position, input_url, canonical_url,
                                    video_id, custom_id, status, max_attempts, duplicate_of)
             select t.item_id, new_job.job_id, t.position, t.input_url, t.canonical_url,
                    t.video_id, t.custom_id, 'queued', t.max_attempts, t.duplicate_of
             from new_job,
                  unnest($11::uuid[], $12::int4[], $13::text[], $14::text[], $15::text[],
                         $16::text[], $17::int4[], $18::uuid[])
                  as t(item_id, position, input_url, canonical_url, video_id, custom_id,
                       max_attempts, duplicate_of)
         )
         select new_job.created_at from new_job",
    )
    .bind(new_job.job_id)
    .bind(new_job.api_key_id)
    .bind(new_job.kind)
    .bind(&new_job.request)
    .bind(sqlx::types::Json(&new_job.options))
    .bind(&new_job.metadata)
    .bind(&new_job.idempotency_key)
    .bind(items_total)
    .bind(new_job.webhook.as_ref().map(|webhook| webhook.url.as_str()))
    .bind(
        new_job
            .webhook
            .as_ref()
            .map(|webhook| webhook.events.clone()),
    )
    .bind(&item_ids)
    .bind(&positions)
    .bind(&input_urls)
    .bind(&canonical_urls)
    .bind(&video_ids)
    .bind(&custom_ids)
    .bind(&max_attempts)
    .bind(&duplicate_ofs)
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(created_at) = created_at {
        return Ok(InsertJobOutcome::Created { created_at });
    }
    // The key's earlier job with this idempotency key (`on conflict do nothing` waited for
    // its transaction, so it is committed).
    let existing: (JobId, bool) = sqlx::query_as(
        "select job_id, request = $3 from jobs where api_key_id = $1 and idempotency_key = $2",
    )
    .bind(new_job.api_key_id)
    .bind(&new_job.idempotency_key)
    .bind(&new_job.request)
    .fetch_one(&mut *connection)
    .await?;
    Ok(InsertJobOutcome::IdempotencyKeyExists {
        existing_job_id: existing.0,
        same_request: existing.1,
    })
}

/// A job with the fields of its first item (position 0; for `video` jobs, its only item).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRow {
    pub job_id: JobId,
    pub api_key_id: ApiKeyId,
    pub kind: JobKind,
    pub status: JobStatus,
    pub request: Value,
    /// `jobs.options`, decoded.
    #[sqlx(json)]
    pub options: StoredJobOptions,
    pub metadata: Value,
    pub idempotency_key: Option<String>,
    pub items_total: i32,
    pub items_succeeded: i32,
    pub items_failed: i32,
    pub items_canceled: i32,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub first_item_id: Option<ItemId>,
    pub first_item_input_url: Option<String>,
    pub first_item_canonical_url: Option<String>,
    pub first_item_video_id: Option<String>,
    pub first_item_status: Option<ItemStatus>,
    pub first_item_attempts: Option<i32>,
    pub first_item_cache_hit: Option<bool>,
    pub first_item_error_code: Option<String>,
    pub first_item_error_message: Option<String>,
    pub first_item_error_retryable: Option<bool>,
    pub first_item_result_video_id: Option<String>,
}

impl JobRow {
    /// The row of a job [`insert_job_with_items`] just created, exactly as a read of it would
    /// return it (so the api answers the submit without reading the job back).
    pub fn just_created(new_job: &NewJob, created_at: DateTime<Utc>) -> Self {
        let first_item = new_job.items.iter().min_by_key(|item| item.position);
        JobRow {
            job_id: new_job.job_id,
            api_key_id: new_job.api_key_id,
            kind: new_job.kind,
            status: JobStatus::Queued,
            request: new_job.request.clone(),
            options: new_job.options,
            metadata: new_job.metadata.clone(),
            idempotency_key: new_job.idempotency_key.clone(),
            items_total: i32::try_from(new_job.items.len()).unwrap_or(i32::MAX),
            items_succeeded: 0,
            items_failed: 0,
            items_canceled: 0,
            error_code: None,
            error_message: None,
            created_at,
            started_at: None,
            finished_at: None,
            first_item_id: first_item.map(|item| item.item_id),
            first_item_input_url: first_item.map(|item| item.input_url.clone()),
            first_item_canonical_url: first_item.and_then(|item| item.canonical_url.clone()),
            first_item_video_id: first_item.and_then(|item| item.video_id.clone()),
            first_item_status: first_item.map(|_| ItemStatus::Queued),
            first_item_attempts: first_item.map(|_| 0),
            first_item_cache_hit: None,
            first_item_error_code: None,
            first_item_error_message: None,
            first_item_error_retryable: None,
            first_item_result_video_id: None,
        }
    }

    /// Whether the job can still change status.
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}

/// The select list of [`JobRow`] (a macro so that queries stay `&'static str` literals).
macro_rules! job_row_select {
    () => {
        "
    select j.job_id, j.api_key_id, j.kind, j.status, j.request, j.options, j.metadata,
           j.idempotency_key, j.items_total, j.items_succeeded, j.items_failed, j.items_canceled,
           j.error_code, j.error_message, j.created_at, j.started_at, j.finished_at,
           i.item_id as first_item_id, i.input_url as first_item_input_url,
           i.canonical_url as first_item_canonical_url, i.video_id as first_item_video_id,
           i.status as first_item_status, i.attempts as first_item_attempts,
           i.cache_hit as first_item_cache_hit, i.error_code as first_item_error_code,
           i.error_message as first_item_error_message,
           i.error_retryable as first_item_error_retryable,
           i.result_video_id as first_item_result_video_id
    from jobs j
    left join lateral (
        select * from job_items where job_items.job_id = j.job_id order by position limit 1
    ) i on true"
    };
}
pub(super) use job_row_select;

/// The job `job_id` if it belongs to `api_key_id` (another key's job is "not found").
pub async fn find_job_for_key(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
    api_key_id: ApiKeyId,
) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as::<_, JobRow>(concat!(
        job_row_select!(),
        " where j.job_id = $1 and j.api_key_id = $2"
    ))
    .bind(job_id)
    .bind(api_key_id)
    .fetch_optional(executor)
    .await
}

/// Filters and keyset cursor of [`list_jobs_for_key`].
#[derive(Debug, Clone, Default)]
pub struct JobListQuery {
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    /// Only jobs older than this one (job ids are UUID v7, so id order is creation order).
    pub before_job_id: Option<JobId>,
    pub limit: i64,
}

/// The key's jobs, newest first.
pub async fn list_jobs_for_key(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
    query: &JobListQuery,
) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as::<_, JobRow>(concat!(
        job_row_select!(),
        "
         where j.api_key_id = $1
           and ($2::text is null or j.status = $2)
           and ($3::text is null or j.kind = $3)
           and ($4::uuid is null or j.job_id < $4)
         order by j.job_id desc
         limit $5"
    ))
    .bind(api_key_id)
    .bind(query.status)
    .bind(query.kind)
    .bind(query.before_job_id)
    .bind(query.limit)
    .fetch_all(executor)
    .await
}

/// One recorded stage duration of one attempt of one item.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct StageTimingRow {
    pub item_id: ItemId,
    pub attempt: i32,
    pub stage: String,
    pub duration_ms: f64,
}

/// Every stage timing of the job's items, by item, attempt and recording order.
pub async fn list_stage_timings_for_job(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
) -> Result<Vec<StageTimingRow>, sqlx::Error> {
    sqlx::query_as::<_, StageTimingRow>(
        "select t.item_id, t.attempt, t.stage, t.duration_ms
         from item_stage_timings t join job_items i on i.item_id = t.item_id
         where i.job_id = $1
         order by i.position, t.attempt, t.recorded_at, t.stage",
    )
    .bind(job_id)
    .fetch_all(executor)
    .await
}

/// The stored metadata of a video, as served by the api.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct StoredVideoRow {
    pub video_id: String,
    /// `videos.data`, decoded.
    #[sqlx(json)]
    pub data: Video,
    pub source: String,
    pub fetched_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The stored video `video_id` (the result of a job item).
pub async fn find_stored_video(
    executor: impl sqlx::PgExecutor<'_>,
    video_id: &str,
) -> Result<Option<StoredVideoRow>, sqlx::Error> {
    sqlx::query_as::<_, StoredVideoRow>(
        "select video_id, data, source, fetched_at, updated_at from videos where video_id = $1",
    )
    .bind(video_id)
    .fetch_optional(executor)
    .await
}

/// The stored video `video_id`, only if one of the key's items resolved to it.
pub async fn find_stored_video_for_key(
    executor: impl sqlx::PgExecutor<'_>,
    video_id: &str,
    api_key_id: ApiKeyId,
) -> Result<Option<StoredVideoRow>, sqlx::Error> {
    sqlx::query_as::<_, StoredVideoRow>(
        "select v.video_id, v.data, v.source, v.fetched_at, v.updated_at
         from videos v
         where v.video_id = $1
           and exists (select 1 from job_items i join jobs j on j.job_id = i.job_id
                       where i.result_video_id = v.video_id and j.api_key_id = $2)",
    )
    .bind(video_id)
    .bind(api_key_id)
    .fetch_optional(executor)
    .await
}

/// What [`cancel_job_for_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelJobOutcome {
    /// No job `job_id` for this key.
    NotFound,
    /// The job was already finished (or canceled): nothing changed.
    AlreadyFinished,
    /// The job is now `canceled`; `items_canceled` queued items were canceled (running items
    /// finish, and the worker leaves the job `canceled`).
    Canceled { items_canceled: i32 },
}

/// Cancels a job (idempotent). Queued items become `canceled` (`CANCELED`), counters and the
/// job status move in the same transaction, which also sends the job-finished NOTIFY.
pub async fn cancel_job_for_key(
    connection: &mut PgConnection,
    job_id: JobId,
    api_key_id: ApiKeyId,
) -> Result<CancelJobOutcome, sqlx::Error> {
    let mut transaction = connection.begin().await?;
    let status: Option<JobStatus> =
        sqlx::query_scalar("select status from jobs where job_id = $1 and api_key_id = $2")
            .bind(job_id)
            .bind(api_key_id)
            .fetch_optional(&mut *transaction)
            .await?;
    let Some(status) = status else {
        return Ok(CancelJobOutcome::NotFound);
    };
    if status.is_finished() {
        return Ok(CancelJobOutcome::AlreadyFinished);
    }
    // Items first, then the job (the lock order the worker uses too).
    let items_canceled = cancel_queued_items(&mut transaction, job_id).await?;
    let moved: Option<JobId> = sqlx::query_scalar(
        "update jobs
         set status = 'canceled', items_canceled = items_canceled + $2, finished_at = now(),
             error_code = 'CANCELED', error_message = 'The job was canceled by the client.'
         where job_id = $1 and status in ('queued', 'running')
         returning job_id",
    )
    .bind(job_id)
    .bind(items_canceled)
    .fetch_optional(&mut *transaction)
    .await?;
    if moved.is_none() {
        // Finished concurrently (its last item ended since the read above).
        transaction.rollback().await?;
        return Ok(CancelJobOutcome::AlreadyFinished);
    }
    // Items committed while the job update above waited for the job's row lock (a feed walk
    // ending materialises a job's items under that lock) were invisible to the first pass; this
    // statement sees them.
    let late_items_canceled = cancel_queued_items(&mut transaction, job_id).await?;
    if late_items_canceled > 0 {
        sqlx::query("update jobs set items_canceled = items_canceled + $2 where job_id = $1")
            .bind(job_id)
            .bind(late_items_canceled)
            .execute(&mut *transaction)
            .await?;
    }
    let items_canceled = items_canceled + late_items_canceled;
    notify_job_finished(&mut *transaction, job_id).await?;
    super::webhooks::enqueue_job_event(&mut transaction, job_id, "job.canceled", None).await?;
    transaction.commit().await?;
    Ok(CancelJobOutcome::Canceled { items_canceled })
}

/// Ends the job's `queued` items as `canceled` (`CANCELED`); returns how many.
async fn cancel_queued_items(
    connection: &mut PgConnection,
    job_id: JobId,
) -> Result<i32, sqlx::Error> {
    let canceled = sqlx::query(
        "update job_items
         set status = 'canceled', error_code = 'CANCELED',
             error_message = 'The job was canceled before this item ran.',
             error_retryable = false, finished_at = now()
         where job_id = $1 and status = 'queued'",
    )
    .bind(job_id)
    .execute(connection)
    .await?
    .rows_affected();
    i32::try_from(canceled).map_err(|_| sqlx::Error::Protocol("item count out of range".into()))
}

/// Sends the job-finished NOTIFY ([`JOB_FINISHED_CHANNEL`], payload = job id). Call it inside the
/// transaction that moves the job to a terminal status: it is delivered only on commit.
pub async fn notify_job_finished(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(JOB_FINISHED_CHANNEL)
        .bind(job_id.to_string())
        .execute(executor)
        .await?;
    Ok(())
}
