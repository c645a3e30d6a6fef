//! The end of a watch run, once: when its job has ended, one transaction with the run row locked
//! (`FOR UPDATE SKIP LOCKED`, guarded by `status = 'running'`) records the videos the watch had
//! never seen, the run's outcome, the watch's state (failures, backoff, self-pause) and at most
//! one webhook outbox row (`watch.new_videos` or `watch.paused`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};

use crate::db::webhooks::{new_webhook_id, notify_webhook_ready};
use crate::ids::{DeliveryId, JobId, WatchId, WatchRunId};
use crate::job_status::{JobKind, JobStatus};
use crate::webhooks::events::{WATCH_NEW_VIDEOS, WATCH_PAUSED};

use super::{WatchRunStatus, WatchStatus, target_field};

/// The error code of a run whose job is gone (deleted by retention before the run was read).
pub const RUN_JOB_MISSING: &str = "JOB_EXPIRED";
/// The error code of a failed run whose job names none.
pub const RUN_FAILED: &str = "INTERNAL";

/// How failures are handled (worker settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationSettings {
    /// A watch whose runs have failed for this long pauses itself
    /// (WATCH_PAUSE_AFTER_FAILING_SECONDS).
    pub pause_after_failing: Duration,
    /// Longest backoff after failures (never shorter than `every`).
    pub max_backoff: Duration,
}

impl Default for EvaluationSettings {
    fn default() -> Self {
        EvaluationSettings {
            pause_after_failing: Duration::from_secs(86_400),
            max_backoff: Duration::from_secs(6 * 3_600),
        }
    }
}

/// What evaluating one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvaluation {
    pub run_id: WatchRunId,
    pub watch_id: WatchId,
    pub status: WatchRunStatus,
    /// The run was the watch's baseline (its first successful run).
    pub baseline: bool,
    /// The videos the watch had never seen, in feed order.
    pub new_video_ids: Vec<String>,
    /// They were reported (`watch.new_videos`, when the watch has a webhook for it).
    pub reported: bool,
    /// The watch paused itself (failing for too long).
    pub paused: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct RunToEvaluate {
    watch_id: WatchId,
    job_id: Option<JobId>,
    started_at: DateTime<Utc>,
    job_status: Option<JobStatus>,
    job_error_code: Option<String>,
    job_error_message: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct WatchToEvaluate {
    kind: JobKind,
    target: Option<String>,
    every_seconds: i32,
    report_existing: bool,
    baseline_done: bool,
    metadata: Value,
    webhook_url: Option<String>,
    webhook_events: Option<Vec<String>>,
    status: WatchStatus,
    consecutive_failures: i32,
}

impl WatchToEvaluate {
    /// The URL the watch's events of `event_type` go to, if it subscribed.
    fn webhook_for(&self, event_type: &str) -> Option<&str> {
        let subscribed = self
            .webhook_events
            .as_ref()
            .is_some_and(|events| events.iter().any(|event| event == event_type));
        self.webhook_url.as_deref().filter(|_| subscribed)
    }

    fn with_target(&self, mut data: Value) -> Value {
        if let (Some(field), Some(target), Value::Object(object)) =
            (target_field(self.kind), &self.target, &mut data)
        {
            object.insert(field.to_owned(), json!(target));
        }
        data
    }
}

/// The runs still `running` whose job has ended (or is gone): the evaluator's sweep.
pub async fn runs_ready_to_evaluate(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<WatchRunId>, sqlx::Error> {
    sqlx::query_scalar(
        "select r.run_id from watch_runs r left join jobs j on j.job_id = r.job_id
         where r.status = 'running'
           and (j.job_id is null or j.status not in ('queued', 'running'))
         order by r.run_id
         limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The run in flight whose job is `job_id`, if any (the job-finished NOTIFY's payload).
pub async fn running_run_of_job(
    pool: &PgPool,
    job_id: JobId,
) -> Result<Option<WatchRunId>, sqlx::Error> {
    sqlx::query_scalar("select run_id from watch_runs where job_id = $1 and status = 'running'")
        .bind(job_id)
        .fetch_optional(pool)
        .await
}

/// Evaluates run `run_id` if it is still `running`, its job has ended and no other worker is
/// evaluating it; `None` otherwise (nothing written). See the module doc.
pub async fn evaluate_run(
    pool: &PgPool,
    run_id: WatchRunId,
    settings: &EvaluationSettings,
) -> Result<Option<RunEvaluation>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let run: Option<RunToEvaluate> = sqlx::query_as(
        "select r.watch_id, r.job_id, r.started_at, j.status as job_status,
                j.error_code as job_error_code, j.error_message as job_error_message
         from watch_runs r left join jobs j on j.job_id = r.job_id
         where r.run_id = $1 and r.status = 'running'
         for update of r skip locked",
    )
    .bind(run_id)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(run) = run else {
        transaction.rollback().await?;
        return Ok(None);
    };
    if matches!(run.job_status, Some(JobStatus::Queued | JobStatus::Running)) {
        transaction.rollback().await?;
        return Ok(None);
    }
    let watch: Option<WatchToEvaluate> = sqlx::query_as(
        "select kind, target, every_seconds, report_existing, baseline_done, metadata,
                webhook_url, webhook_events, status, consecutive_failures
         from watches where watch_id = $1 for update",
    )
    .bind(run.watch_id)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(watch) = watch else {
        // The watch was deleted (its runs with it) meanwhile.
        transaction.rollback().await?;
        return Ok(None);
    };
    let evaluation = match run.job_status {
        Some(JobStatus::Succeeded | JobStatus::Partial) => {
            record_success(&mut transaction, run_id, &run, &watch).await?
        }
        Some(JobStatus::Canceled) => {
            end_run(
                &mut transaction,
                run_id,
                WatchRunStatus::Canceled,
                None,
                None,
            )
            .await?;
            RunEvaluation {
                run_id,
                watch_id: run.watch_id,
                status: WatchRunStatus::Canceled,
                baseline: false,
                new_video_ids: Vec::new(),
                reported: false,
                paused: false,
            }
        }
        _ => record_failure(&mut transaction, run_id, &run, &watch, settings).await?,
    };
    transaction.commit().await?;
    Ok(Some(evaluation))
}

async fn end_run(
    connection: &mut PgConnection,
    run_id: WatchRunId,
    status: WatchRunStatus,
    error_code: Option<&str>,
    error_message: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update watch_runs set status = $2, finished_at = now(), error_code = $3,
                               error_message = $4, baseline = false
         where run_id = $1",
    )
    .bind(run_id)
    .bind(status)
    .bind(error_code)
    .bind(error_message)
    .execute(connection)
    .await?;
    Ok(())
}

async fn record_success(
    connection: &mut PgConnection,
    run_id: WatchRunId,
    run: &RunToEvaluate,
    watch: &WatchToEvaluate,
) -> Result<RunEvaluation, sqlx::Error> {
    let status = match run.job_status {
        Some(JobStatus::Partial) => WatchRunStatus::Partial,
        _ => WatchRunStatus::Succeeded,
    };
    let found: Vec<(String, String)> = sqlx::query_as(
        "select video_id, coalesce(canonical_url, input_url) from job_items
         where job_id = $1 and video_id is not null
         order by position",
    )
    .bind(run.job_id)
    .fetch_all(&mut *connection)
    .await?;
    let mut video_ids: Vec<String> = Vec::with_capacity(found.len());
    let mut urls: Vec<String> = Vec::with_capacity(found.len());
    for (video_id, url) in found {
        if !video_ids.contains(&video_id) {
            video_ids.push(video_id);
            urls.push(url);
        }
    }
    let baseline = !watch.baseline_done;
    let report = !baseline || watch.report_existing;
    let inserted: Vec<String> = sqlx::query_scalar(
        "insert into watch_videos (watch_id, video_id, url, run_id, reported)
         select $1, t.video_id, t.url, $2, $3
         from unnest($4::text[], $5::text[]) as t(video_id, url)
         on conflict (watch_id, video_id) do nothing
         returning video_id",
    )
    .bind(run.watch_id)
    .bind(run_id)
    .bind(report)
    .bind(&video_ids)
    .bind(&urls)
    .fetch_all(&mut *connection)
    .await?;
    // In feed order, with their URLs.
    let new_videos: Vec<(&String, &String)> = video_ids
        .iter()
        .zip(&urls)
        .filter(|(video_id, _)| inserted.contains(*video_id))
        .collect();
    let new_video_ids: Vec<String> = new_videos.iter().map(|(id, _)| (*id).clone()).collect();
    let reported_ids: Vec<String> = if report {
        new_video_ids.clone()
    } else {
        Vec::new()
    };
    sqlx::query(
        "update watch_runs set status = $2, finished_at = now(), videos_found = $3,
                               new_video_ids = $4, baseline = $5
         where run_id = $1",
    )
    .bind(run_id)
    .bind(status)
    .bind(i32::try_from(video_ids.len()).unwrap_or(i32::MAX))
    .bind(&reported_ids)
    .bind(baseline)
    .execute(&mut *connection)
    .await?;
    sqlx::query(
        "update watches
         set last_success_at = now(), consecutive_failures = 0, failing_since = null,
             last_error_code = null, last_error_message = null, baseline_done = true,
             updated_at = now()
         where watch_id = $1",
    )
    .bind(run.watch_id)
    .execute(&mut *connection)
    .await?;
    let mut reported = false;
    if let (false, Some(url), Some(job_id)) = (
        reported_ids.is_empty(),
        watch.webhook_for(WATCH_NEW_VIDEOS),
        run.job_id,
    ) {
        let data = watch.with_target(json!({
            "watch_id": run.watch_id,
            "run_id": run_id,
            "job_id": job_id,
            "kind": watch.kind,
            "new_video_ids": reported_ids,
            "videos": new_videos
                .iter()
                .map(|(video_id, url)| json!({ "video_id": video_id, "url": url }))
                .collect::<Vec<_>>(),
            "links": {
                "watch": format!("/v1/watches/{}", run.watch_id),
                "videos": format!("/v1/watches/{}/videos", run.watch_id),
                "job": format!("/v1/jobs/{job_id}"),
            },
            "metadata": watch.metadata,
        }));
        enqueue_watch_event(&mut *connection, job_id, WATCH_NEW_VIDEOS, url, data).await?;
        reported = true;
    }
    Ok(RunEvaluation {
        run_id,
        watch_id: run.watch_id,
        status,
        baseline,
        new_video_ids: reported_ids,
        reported,
        paused: false,
    })
}

async fn record_failure(
    connection: &mut PgConnection,
    run_id: WatchRunId,
    run: &RunToEvaluate,
    watch: &WatchToEvaluate,
    settings: &EvaluationSettings,
) -> Result<RunEvaluation, sqlx::Error> {
    let (code, message) = match run.job_status {
        None => (
            RUN_JOB_MISSING.to_owned(),
            "the run's job is gone (retention) before the run was evaluated".to_owned(),
        ),
        Some(_) => (
            run.job_error_code
                .clone()
                .unwrap_or_else(|| RUN_FAILED.to_owned()),
            run.job_error_message
                .clone()
                .unwrap_or_else(|| "the run's job failed".to_owned()),
        ),
    };
    end_run(
        &mut *connection,
        run_id,
        WatchRunStatus::Failed,
        Some(&code),
        Some(&message),
    )
    .await?;
    let failures = watch.consecutive_failures.saturating_add(1);
    let every = f64::from(watch.every_seconds.max(1));
    let backoff = (every * 2f64.powi(failures.min(30)))
        .min(settings.max_backoff.as_secs_f64())
        .max(every);
    let paused: Option<bool> = sqlx::query_scalar(
        "update watches
         set consecutive_failures = $2,
             failing_since = coalesce(failing_since, $3),
             last_error_code = $4, last_error_message = $5,
             next_run_at = case
                 when status <> 'active' then next_run_at
                 when now() - coalesce(failing_since, $3) >= make_interval(secs => $7) then null
                 else greatest(next_run_at, now() + make_interval(secs => $6)) end,
             paused_reason = case
                 when status = 'active'
                      and now() - coalesce(failing_since, $3) >= make_interval(secs => $7)
                 then 'failing' else paused_reason end,
             status = case
                 when status = 'active'
                      and now() - coalesce(failing_since, $3) >= make_interval(secs => $7)
                 then 'paused' else status end,
             updated_at = now()
         where watch_id = $1
         returning coalesce(paused_reason = 'failing' and status = 'paused', false)",
    )
    .bind(run.watch_id)
    .bind(failures)
    .bind(run.started_at)
    .bind(&code)
    .bind(&message)
    .bind(backoff)
    .bind(settings.pause_after_failing.as_secs_f64())
    .fetch_optional(&mut *connection)
    .await?;
    let paused_now = paused.unwrap_or(false) && watch.status == WatchStatus::Active;
    if let (true, Some(url), Some(job_id)) =
        (paused_now, watch.webhook_for(WATCH_PAUSED), run.job_id)
    {
        let data = watch.with_target(json!({
            "watch_id": run.watch_id,
            "run_id": run_id,
            "kind": watch.kind,
            "status": "paused",
            "paused_reason": "failing",
            "consecutive_failures": failures,
            "last_error": { "code": code, "message": message },
            "links": { "watch": format!("/v1/watches/{}", run.watch_id) },
            "metadata": watch.metadata,
        }));
        enqueue_watch_event(&mut *connection, job_id, WATCH_PAUSED, url, data).await?;
    }
    Ok(RunEvaluation {
        run_id,
        watch_id: run.watch_id,
        status: WatchRunStatus::Failed,
        baseline: false,
        new_video_ids: Vec::new(),
        reported: false,
        paused: paused_now,
    })
}

/// Writes one watch event to the webhook outbox (signed and sent by the deliverer like a job's,
/// under the run job's key) and wakes the deliverers on commit.
async fn enqueue_watch_event(
    connection: &mut PgConnection,
    job_id: JobId,
    event_type: &str,
    url: &str,
    data: Value,
) -> Result<(), sqlx::Error> {
    let payload = json!({
        "type": event_type,
        "timestamp": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "data": data,
    });
    sqlx::query(
        "insert into webhook_deliveries (delivery_id, webhook_id, job_id, event_type, url, payload)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(DeliveryId::new_v7())
    .bind(new_webhook_id())
    .bind(job_id)
    .bind(event_type)
    .bind(url)
    .bind(&payload)
    .execute(&mut *connection)
    .await?;
    notify_webhook_ready(&mut *connection).await
}
