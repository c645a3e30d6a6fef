//! The guarded end of an item's attempt (succeeded / failed / retry): the item, its execution
//! row, its queued duplicates, the job's counters, the job's end with its webhook event and
//! NOTIFY — all in the caller's transaction, all `UPDATE … WHERE <expected state>`.

use std::time::Duration;

use sqlx::PgConnection;

use crate::ids::{ClaimId, ItemId, JobId};

use super::ClaimError;
use crate::db::JOB_FINISHED_CHANNEL;
use crate::db::webhooks;
use crate::error_code::ErrorCode;
use crate::job_status::JobStatus;
use crate::webhooks::events::terminal_event_type;

/// How an item's attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemEnd {
    /// The video is stored (in the same transaction) as `video_id`.
    Succeeded { video_id: String, cache_hit: bool },
    /// Final failure with a stable code.
    Failed {
        error_code: ErrorCode,
        message: String,
    },
    /// Back to `queued`, to be claimed again after `retry_after` under the task `task_id`
    /// (pushed delayed by the caller after commit; the reconciler covers a failed push).
    Retry {
        error_code: ErrorCode,
        message: String,
        retry_after: Duration,
        task_id: String,
    },
}

impl ItemEnd {
    fn execution_outcome(&self) -> &'static str {
        match self {
            ItemEnd::Succeeded { .. } => "succeeded",
            ItemEnd::Failed { .. } => "failed",
            ItemEnd::Retry { .. } => "retry_scheduled",
        }
    }
}

/// What ending an item did to its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemEndReport {
    /// The job's status after this end (e.g. `running`, or a terminal status).
    pub job_status: JobStatus,
    /// Whether this end moved the job to a terminal status (and sent the NOTIFY).
    pub job_finished: bool,
}

#[derive(sqlx::FromRow)]
struct JobCountsRow {
    status: JobStatus,
    items_total: i32,
    items_succeeded: i32,
    items_failed: i32,
    items_canceled: i32,
    /// A feed job whose walk stopped short: the stop reason is already the job's error.
    feed_stopped_short: bool,
}

/// Ends the attempt held by `claim_id`, inside the caller's transaction (which also stores the
/// video, thumbnail and timings): moves the item, closes its execution row, moves the job's
/// counters, finishes the job when this was its last item (NOTIFY on
/// [`JOB_FINISHED_CHANNEL`]). Fails with [`ClaimError::LostClaim`] when the claim is no longer
/// held; the caller then rolls back.
pub async fn end_item(
    connection: &mut PgConnection,
    item_id: ItemId,
    claim_id: ClaimId,
    end: &ItemEnd,
) -> Result<ItemEndReport, ClaimError> {
    let job_id: Option<JobId> = match end {
        ItemEnd::Succeeded {
            video_id,
            cache_hit,
        } => {
            sqlx::query_scalar(
                "update job_items
                 set status = 'succeeded', result_video_id = $3, cache_hit = $4,
                     video_id = coalesce(video_id, $3),
                     error_code = null, error_message = null, error_retryable = null,
                     lease_expires_at = null, finished_at = now()
                 where item_id = $1 and claim_id = $2 and status = 'running'
                 returning job_id",
            )
            .bind(item_id)
            .bind(claim_id)
            .bind(video_id)
            .bind(cache_hit)
            .fetch_optional(&mut *connection)
            .await?
        }
        ItemEnd::Failed {
            error_code,
            message,
        } => {
            sqlx::query_scalar(
                "update job_items
                 set status = 'failed', error_code = $3, error_message = $4, error_retryable = $5,
                     lease_expires_at = null, finished_at = now()
                 where item_id = $1 and claim_id = $2 and status = 'running'
                 returning job_id",
            )
            .bind(item_id)
            .bind(claim_id)
            .bind(error_code.as_str())
            .bind(message)
            .bind(error_code.is_retryable())
            .fetch_optional(&mut *connection)
            .await?
        }
        ItemEnd::Retry {
            error_code,
            message,
            retry_after,
            task_id,
        } => {
            sqlx::query_scalar(
                "update job_items
                 set status = 'queued', not_before = now() + make_interval(secs => $5),
                     error_code = $3, error_message = $4, error_retryable = true,
                     claim_id = null, claimed_by = null, lease_expires_at = null,
                     task_id = $6, enqueued_at = now()
                 where item_id = $1 and claim_id = $2 and status = 'running'
                 returning job_id",
            )
            .bind(item_id)
            .bind(claim_id)
            .bind(error_code.as_str())
            .bind(message)
            .bind(retry_after.as_secs_f64())
            .bind(task_id)
            .fetch_optional(&mut *connection)
            .await?
        }
    };
    let Some(job_id) = job_id else {
        return Err(ClaimError::LostClaim { item_id, claim_id });
    };

    sqlx::query(
        "update item_executions set finished_at = now(), outcome = $2
         where claim_id = $1 and finished_at is null",
    )
    .bind(claim_id)
    .bind(end.execution_outcome())
    .execute(&mut *connection)
    .await?;

    let duplicates_ended = end_duplicates(&mut *connection, item_id).await?;
    let also_ended = i32::try_from(duplicates_ended.len())
        .map_err(|_| sqlx::Error::Protocol("duplicate count out of range".into()))?;
    let (succeeded_delta, failed_delta) = match end {
        ItemEnd::Succeeded { .. } => (1 + also_ended, 0),
        ItemEnd::Failed { .. } => (0, 1 + also_ended),
        ItemEnd::Retry { .. } => (0, 0),
    };
    let counts: JobCountsRow = sqlx::query_as(
        "update jobs
         set items_succeeded = items_succeeded + $2, items_failed = items_failed + $3
         where job_id = $1
         returning status, items_total, items_succeeded, items_failed, items_canceled,
                   (feed_walk_id is not null and error_code is not null) as feed_stopped_short",
    )
    .bind(job_id)
    .bind(succeeded_delta)
    .bind(failed_delta)
    .fetch_one(&mut *connection)
    .await?;

    // Webhook outbox rows (no-ops for jobs without a webhook), in this same transaction.
    let item_event = match end {
        ItemEnd::Succeeded { .. } => Some("item.succeeded"),
        ItemEnd::Failed { .. } => Some("item.failed"),
        ItemEnd::Retry { .. } => None,
    };
    if let Some(item_event) = item_event {
        webhooks::enqueue_job_event(&mut *connection, job_id, item_event, Some(item_id)).await?;
        for duplicate_id in &duplicates_ended {
            webhooks::enqueue_job_event(&mut *connection, job_id, item_event, Some(*duplicate_id))
                .await?;
        }
    }

    let all_ended =
        counts.items_succeeded + counts.items_failed + counts.items_canceled >= counts.items_total;
    let job_is_open = !counts.status.is_finished();
    if !(all_ended && job_is_open) {
        if item_event.is_some() && job_is_open {
            webhooks::enqueue_progress_event(&mut *connection, job_id).await?;
        }
        return Ok(ItemEndReport {
            job_status: counts.status,
            job_finished: false,
        });
    }

    // A feed job (with enrichment) whose walk stopped short is `partial` even when every item it
    // got succeeded, as the same job without enrichment is when the walk materialises it.
    let terminal_status = if counts.items_succeeded == counts.items_total {
        if counts.feed_stopped_short {
            JobStatus::Partial
        } else {
            JobStatus::Succeeded
        }
    } else if counts.items_succeeded == 0 {
        JobStatus::Failed
    } else {
        JobStatus::Partial
    };
    // A job that failed as a whole carries the reason when it had a single item (video jobs).
    let (job_error_code, job_error_message) = match end {
        ItemEnd::Failed {
            error_code,
            message,
        } if terminal_status == JobStatus::Failed && counts.items_total == 1 => {
            (Some(error_code.as_str()), Some(message.as_str()))
        }
        _ => (None, None),
    };
    match finish_open_job(
        &mut *connection,
        job_id,
        terminal_status,
        job_error_code,
        job_error_message,
    )
    .await?
    {
        Some(status) => Ok(ItemEndReport {
            job_status: status,
            job_finished: true,
        }),
        None => Ok(ItemEndReport {
            job_status: counts.status,
            job_finished: false,
        }),
    }
}

/// Moves a still-open (`queued`/`running`) job to `terminal_status` inside the caller's
/// transaction, keeping an error already on the job unless one is given; sends the job-finished
/// NOTIFY ([`JOB_FINISHED_CHANNEL`]) and writes the terminal webhook event (`job.completed` /
/// `job.failed`). Returns the new status, or `None` when the job was no longer open (nothing
/// written). Shared by the item path ([`end_item`]) and the feed path (`feed_walks`).
pub async fn finish_open_job(
    connection: &mut PgConnection,
    job_id: JobId,
    terminal_status: JobStatus,
    error_code: Option<&str>,
    error_message: Option<&str>,
) -> Result<Option<JobStatus>, sqlx::Error> {
    let finished: Option<JobStatus> = sqlx::query_scalar(
        "update jobs
         set status = $2, finished_at = now(),
             error_code = coalesce($3, error_code), error_message = coalesce($4, error_message)
         where job_id = $1 and status in ('queued', 'running')
         returning status",
    )
    .bind(job_id)
    .bind(terminal_status)
    .bind(error_code)
    .bind(error_message)
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(status) = finished {
        sqlx::query("select pg_notify($1, $2)")
            .bind(JOB_FINISHED_CHANNEL)
            .bind(job_id.to_string())
            .execute(&mut *connection)
            .await?;
        if let Some(event_type) = terminal_event_type(status) {
            webhooks::enqueue_job_event(&mut *connection, job_id, event_type, None).await?;
        }
    }
    Ok(finished)
}

/// Finishes the still-queued duplicates of `item_id` (items of the same job linked to it by
/// `duplicate_of`) with the outcome `item_id` was just given, unless that outcome is a retry
/// (then it is still `queued` and they wait with it). Returns the ids of the items ended.
async fn end_duplicates(
    connection: &mut PgConnection,
    item_id: ItemId,
) -> Result<Vec<ItemId>, sqlx::Error> {
    sqlx::query_scalar(
        "update job_items as duplicate
         set status = original.status, result_video_id = original.result_video_id,
             cache_hit = original.cache_hit,
             video_id = coalesce(duplicate.video_id, original.video_id),
             error_code = original.error_code, error_message = original.error_message,
             error_retryable = original.error_retryable,
             started_at = coalesce(duplicate.started_at, original.started_at),
             finished_at = now()
         from job_items as original
         where original.item_id = $1 and original.status in ('succeeded', 'failed')
           and duplicate.duplicate_of = original.item_id and duplicate.status = 'queued'
         returning duplicate.item_id",
    )
    .bind(item_id)
    .fetch_all(connection)
    .await
}
