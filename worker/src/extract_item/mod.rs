//! `extract_item`: the handler of `ExtractItemTask`. Claims the item (guarded), serves it from
//! the video cache or extracts it, maps TikTok's item to our `Video`, and ends the attempt —
//! video, thumbnail, stage timings, item result, job counters and NOTIFY in one transaction
//! guarded by the claim. Retryable failures go back to `queued` with a backoff and a delayed
//! task; apalis' own retries are never used (docs/apalis-redis.md "Bug 6: retries ignore the settings").

mod attempt;
mod store;

use std::time::{Duration, Instant};

use apalis::prelude::{AbortError, BoxDynError, Data};
use tokworks_shared::db::item_claims::{self, ClaimedItem};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::queue_tasks::{EXTRACT_ITEM_TASK_VERSION, ExtractItemTask};
use tracing::Instrument;

use crate::context::JobContext;
use crate::extractor::ExtractionFailure;
use crate::thumbnail_analysis::{ThumbnailAnalyzer, analyze_item_thumbnail};
use crate::transcripts::{
    StoreTranscriptError, TranscriptRequest, TranscriptStage, run_transcript_stage,
};
use attempt::{AttemptSuccess, attempt};
use store::{StageTimings, store_failure, store_success};

pub use store::retry_delay;

/// Failures of the handler's own machinery (not of the extraction, which ends the item).
#[derive(Debug, thiserror::Error)]
pub enum ExtractItemError {
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot serialise the video: {0}")]
    Serialise(#[from] serde_json::Error),
    #[error("cannot store the transcript: {0}")]
    Transcript(#[from] StoreTranscriptError),
}

/// A payload that is not an `ExtractItemTask` this worker understands.
#[derive(Debug, thiserror::Error)]
pub enum TaskDecodeError {
    #[error("payload is not an ExtractItemTask: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(
        "ExtractItemTask version {0} is not supported (this worker reads {EXTRACT_ITEM_TASK_VERSION})"
    )]
    UnsupportedVersion(u32),
}

/// What one run of the handler did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractItemOutcome {
    /// The item was not claimable (finished, canceled, running elsewhere, not yet due).
    NotClaimable,
    Succeeded {
        video_id: String,
        cache_hit: bool,
    },
    Failed {
        error_code: ErrorCode,
    },
    RetryScheduled {
        error_code: ErrorCode,
        retry_after: Duration,
    },
    /// Another worker took the item over while this run worked; nothing was written.
    LostClaim,
}

/// Decodes a queue payload.
pub fn decode_task(payload: serde_json::Value) -> Result<ExtractItemTask, TaskDecodeError> {
    let task: ExtractItemTask = serde_json::from_value(payload)?;
    if task.v != EXTRACT_ITEM_TASK_VERSION {
        return Err(TaskDecodeError::UnsupportedVersion(task.v));
    }
    Ok(task)
}

/// The apalis entry point. Returns `Ok` for every outcome it handled (including its own
/// infrastructure errors, which the reconciler repairs); an undecodable payload is an
/// `AbortError` (dead set, never retried).
pub async fn extract_item_task(
    payload: serde_json::Value,
    context: Data<JobContext>,
) -> Result<(), BoxDynError> {
    let task = decode_task(payload).map_err(|error| {
        tracing::error!(%error, "dropping an undecodable extract task");
        AbortError::new(error)
    })?;
    // Every line logged while this task runs carries its job and item ids.
    let span = tracing::info_span!("extract_item", job_id = %task.job_id, item_id = %task.item_id);
    async {
        match run_extract_item(&context, task).await {
            Ok(outcome) => {
                crate::worker_metrics::record_item_outcome(&outcome);
                tracing::info!(?outcome, "extract task done");
            }
            Err(error) => {
                crate::worker_metrics::record_item_error();
                tracing::error!(%error, "extract task failed; the reconciler will re-enqueue it");
            }
        }
    }
    .instrument(span)
    .await;
    Ok(())
}

/// Runs one task: claim, cache or extract, end the attempt.
pub async fn run_extract_item(
    context: &JobContext,
    task: ExtractItemTask,
) -> Result<ExtractItemOutcome, ExtractItemError> {
    let handler_started = Instant::now();
    let Some(claim) = item_claims::claim_item(
        &context.pool,
        task.item_id,
        &context.identity.worker_name,
        context.settings.item_lease,
    )
    .await?
    else {
        return Ok(ExtractItemOutcome::NotClaimable);
    };
    // The heartbeat renews this claim's lease while the guard lives (dropped on panic too).
    let _working_on = context.active_claims.hold(claim.claim_id);
    if claim.took_over_expired_lease {
        tracing::warn!(item_id = %claim.item_id, attempt = claim.attempt, "took over an item whose lease expired");
    }
    let mut timings = StageTimings {
        queue_wait: Duration::from_secs_f64(claim.queue_wait_ms.max(0.0) / 1000.0),
        extract: None,
        thumbnail: None,
        transcript: None,
        analyze: None,
        store_started: None,
        handler_started,
    };
    if let Some(failure) = worker_lost_on_last_attempt(&claim) {
        tracing::error!(item_id = %claim.item_id, attempt = claim.attempt, "the item's last attempt lost its worker; failing it instead of running it again");
        return store_failure(context, &claim, task, failure, timings).await;
    }
    match attempt(context, &claim, false).await {
        Ok(mut success) => {
            // The transcript stage may extract again (a cached video's subtitle URL went stale),
            // so it runs first and the analysis sees the final cover.
            let transcript = transcript_stage(context, &claim, &mut success).await;
            timings.transcript = transcript.as_ref().map(|stage| stage.duration);
            let extraction = success.extraction();
            timings.extract = extraction.map(|extraction| extraction.extract_duration);
            timings.thumbnail = extraction.and_then(|extraction| extraction.thumbnail_duration);
            if let Some(language) = ThumbnailAnalyzer::requested_language(&claim.job_options) {
                let started = Instant::now();
                let analyzer = context.thumbnail_analyzer.as_deref();
                let thumbnail = success
                    .extraction()
                    .and_then(|extraction| extraction.thumbnail.as_ref());
                let video_id = &success.video_id;
                success.analysis = Some(
                    analyze_item_thumbnail(analyzer, &context.pool, video_id, thumbnail, language)
                        .await,
                );
                timings.analyze = Some(started.elapsed());
            }
            store_success(context, &claim, success, transcript, timings).await
        }
        Err(failure) => store_failure(context, &claim, task, failure, timings).await,
    }
}

/// A claim taken over from an expired lease after the item's last attempt: the worker running
/// it was lost (killed, crashed, out of memory) on every attempt left, so the item fails with
/// `INTERNAL` rather than taking down worker after worker without end.
fn worker_lost_on_last_attempt(claim: &ClaimedItem) -> Option<ExtractionFailure> {
    (claim.took_over_expired_lease && claim.attempt > claim.max_attempts).then(|| {
        ExtractionFailure::new(
            ErrorCode::Internal,
            format!(
                "the worker running attempt {} of {} stopped before ending it (killed or crashed); \
                 not tried again",
                claim.attempt - 1,
                claim.max_attempts
            ),
        )
    })
}

/// The transcript stage, when the job asked for one. A cache hit whose subtitle URL went stale
/// (expired, 403) is extracted again first, as on a cache miss, for fresh URLs.
async fn transcript_stage(
    context: &JobContext,
    claim: &ClaimedItem,
    success: &mut AttemptSuccess,
) -> Option<TranscriptStage> {
    let request = TranscriptRequest::from_job_options(&claim.job_options)?;
    let started = Instant::now();
    let subtitles = |success: &AttemptSuccess| {
        success
            .extraction()
            .map(|extraction| extraction.video.subtitles.clone())
    };
    let mut outcome = run_transcript_stage(
        context,
        &request,
        &success.video_id,
        subtitles(success),
        success.session.as_ref(),
    )
    .await;
    if success.cache_hit() && outcome.url_went_stale() {
        match attempt(context, claim, true).await {
            Ok(fresh) => {
                *success = fresh;
                outcome = run_transcript_stage(
                    context,
                    &request,
                    &success.video_id,
                    subtitles(success),
                    success.session.as_ref(),
                )
                .await;
            }
            Err(failure) => tracing::warn!(item_id = %claim.item_id, code = failure.code.as_str(),
                "re-extraction for fresh subtitle URLs failed; keeping the cached video"),
        }
    }
    let duration = started.elapsed();
    Some(TranscriptStage {
        request,
        outcome,
        duration,
    })
}

#[cfg(test)]
mod tests {
    use tokworks_shared::ids::{ItemId, JobId};

    use super::*;

    #[test]
    fn payloads_of_another_version_or_shape_are_rejected() {
        let unknown =
            serde_json::json!({"v": 2, "job_id": uuid::Uuid::nil(), "item_id": uuid::Uuid::nil()});
        assert!(matches!(
            decode_task(unknown),
            Err(TaskDecodeError::UnsupportedVersion(2))
        ));
        assert!(matches!(
            decode_task(serde_json::json!({"hello": 1})),
            Err(TaskDecodeError::Malformed(_))
        ));
        let good = ExtractItemTask::new(JobId::new_v7(), ItemId::new_v7());
        assert_eq!(
            decode_task(serde_json::to_value(good).unwrap()).unwrap(),
            good
        );
    }
}
