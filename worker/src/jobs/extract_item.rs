//! `extract_item`: the handler of `ExtractItemTask`. Claims the item (guarded), serves it from
//! the video cache or extracts it, maps TikTok's item to our `Video`, and ends the attempt —
//! video, thumbnail, stage timings, item result, job counters and NOTIFY in one transaction
//! guarded by the claim. Retryable failures go back to `queued` with a backoff and a delayed
//! task; apalis' own retries are never used (reference/apalis.md §6.6).

use std::time::{Duration, Instant};

use apalis::prelude::{AbortError, BoxDynError, Data};
use chrono::Utc;
use rand::Rng;
use tokworks_shared::db::item_claims::{self, ClaimError, ClaimedItem, ItemEnd};
use tokworks_shared::db::thumbnail_analyses::{self, ItemAnalysisOutcome};
use tokworks_shared::db::videos::{self, VideoRecord};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::jobs::{EXTRACT_ITEM_TASK_VERSION, ExtractItemTask};
use tokworks_shared::queue::ExtractQueue;
use tokworks_shared::tiktok_url::{TiktokUrl, TiktokUrlKind};

use crate::context::JobContext;
use crate::extractor::{ExtractionFailure, ThumbnailBytes};
use crate::thumbnail_analysis::{ThumbnailAnalyzer, analyze_item_thumbnail};
use crate::tiktok::{MapContext, map_item, status_code_error};
use crate::transcripts::{
    StoreTranscriptError, TranscriptRequest, TranscriptStage, run_transcript_stage,
    store_transcript,
};

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
    match run_extract_item(&context, task).await {
        Ok(outcome) => {
            tracing::info!(item_id = %task.item_id, job_id = %task.job_id, ?outcome, "extract task done");
        }
        Err(error) => {
            tracing::error!(item_id = %task.item_id, %error, "extract task failed; the reconciler will re-enqueue it");
        }
    }
    Ok(())
}

/// Everything a successful attempt produced, before it is stored.
struct AttemptSuccess {
    video_id: String,
    video_json: serde_json::Value,
    raw_item: Option<serde_json::Value>,
    source: &'static str,
    thumbnail: Option<ThumbnailBytes>,
    cache_hit: bool,
    extract_duration: Option<Duration>,
    thumbnail_duration: Option<Duration>,
    /// The `analyze` stage's outcome, when the job asked for a thumbnail analysis.
    analysis: Option<ItemAnalysisOutcome>,
}

/// Stage timings of one attempt.
struct StageTimings {
    queue_wait: Duration,
    extract: Option<Duration>,
    thumbnail: Option<Duration>,
    transcript: Option<Duration>,
    analyze: Option<Duration>,
    store_started: Option<Instant>,
    handler_started: Instant,
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
    match attempt(context, &claim, false).await {
        Ok(mut success) => {
            // The transcript stage may extract again (a cached video's subtitle URL went stale),
            // so it runs first and the analysis sees the final cover.
            let transcript = transcript_stage(context, &claim, &mut success).await;
            timings.transcript = transcript.as_ref().map(|stage| stage.duration);
            timings.extract = success.extract_duration;
            timings.thumbnail = success.thumbnail_duration;
            if let Some(language) = ThumbnailAnalyzer::requested_language(&claim.job_options) {
                let started = Instant::now();
                let analyzer = context.thumbnail_analyzer.as_deref();
                let (video_id, thumbnail) = (&success.video_id, success.thumbnail.as_ref());
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

/// The transcript stage, when the job asked for one. A cache hit whose subtitle URL went stale
/// (expired, 403) is extracted again first, as on a cache miss, for fresh URLs.
async fn transcript_stage(
    context: &JobContext,
    claim: &ClaimedItem,
    success: &mut AttemptSuccess,
) -> Option<TranscriptStage> {
    let request = TranscriptRequest::from_job_options(&claim.job_options)?;
    let started = Instant::now();
    let (video_id, video_json) = (&success.video_id, &success.video_json);
    let mut outcome = run_transcript_stage(context, &request, video_id, video_json).await;
    if success.cache_hit && outcome.url_went_stale() {
        match attempt(context, claim, true).await {
            Ok(fresh) => {
                *success = fresh;
                let (video_id, video_json) = (&success.video_id, &success.video_json);
                outcome = run_transcript_stage(context, &request, video_id, video_json).await;
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

/// Cache or extraction; `bypass_cache` extracts even when a fresh copy is stored.
async fn attempt(
    context: &JobContext,
    claim: &ClaimedItem,
    bypass_cache: bool,
) -> Result<AttemptSuccess, ExtractionFailure> {
    let input = claim.canonical_url.as_deref().unwrap_or(&claim.input_url);
    let url = TiktokUrl::parse(input)
        .map_err(|error| ExtractionFailure::new(error.error_code(), error.to_string()))?;
    match url.kind() {
        TiktokUrlKind::Post { .. } | TiktokUrlKind::ShortLink { .. } => {}
        _ => {
            return Err(ExtractionFailure::new(
                ErrorCode::UnsupportedUrl,
                "only video and photo post URLs (or short links to them) can be extracted",
            ));
        }
    }

    let refresh = bypass_cache
        || claim
            .job_options
            .get("refresh")
            .and_then(serde_json::Value::as_bool)
            == Some(true);
    let known_video_id = claim.video_id.as_deref().or(url.video_id());
    if let (Some(ttl), Some(video_id), false) =
        (context.settings.cache_ttl, known_video_id, refresh)
        && let Some(fresh) = videos::fresh_video(&context.pool, video_id, ttl)
            .await
            .map_err(|error| ExtractionFailure::new(ErrorCode::Internal, error.to_string()))?
    {
        return Ok(AttemptSuccess {
            video_id: fresh.video_id,
            video_json: serde_json::Value::Null,
            raw_item: None,
            source: "",
            thumbnail: None,
            cache_hit: true,
            extract_duration: None,
            thumbnail_duration: None,
            analysis: None,
        });
    }

    let extract_started = Instant::now();
    let extraction = context.extractor.extract(url.canonical_url()).await?;
    let extract_total = extract_started.elapsed();
    let thumbnail_duration = extraction.thumbnail_duration;
    let extract_duration = extract_total.saturating_sub(thumbnail_duration.unwrap_or_default());

    if let Some(code) = status_code_error(extraction.status_code, Some(&extraction.item)) {
        return Err(ExtractionFailure::new(
            code,
            format!("TikTok answered statusCode {}", extraction.status_code),
        ));
    }
    let source = context.extractor.source();
    let video = map_item(
        &extraction.item,
        &MapContext {
            source,
            extracted_at: Utc::now(),
        },
    )
    .map_err(|error| ExtractionFailure::new(error.error_code(), error.to_string()))?;
    if let Some(limit) = context.settings.max_video_duration_seconds
        && video.duration_seconds > limit
    {
        return Err(ExtractionFailure::new(
            ErrorCode::VideoTooLong,
            format!(
                "the video lasts {} s; the limit is {limit} s",
                video.duration_seconds
            ),
        ));
    }
    if let Some(expected) = known_video_id.filter(|expected| *expected != video.id) {
        tracing::warn!(expected, got = %video.id, "extracted a different video id than the URL names");
    }
    if let Some(reason) = &extraction.thumbnail_error {
        tracing::warn!(video_id = %video.id, reason, "cover image not stored");
    }
    let video_json = serde_json::to_value(&video)
        .map_err(|error| ExtractionFailure::new(ErrorCode::Internal, error.to_string()))?;
    Ok(AttemptSuccess {
        video_id: video.id.clone(),
        video_json,
        raw_item: Some(extraction.item),
        source: source.as_str(),
        thumbnail: extraction.thumbnail,
        cache_hit: false,
        extract_duration: Some(extract_duration),
        thumbnail_duration,
        analysis: None,
    })
}

async fn store_success(
    context: &JobContext,
    claim: &ClaimedItem,
    success: AttemptSuccess,
    transcript: Option<TranscriptStage>,
    mut timings: StageTimings,
) -> Result<ExtractItemOutcome, ExtractItemError> {
    let mut transaction = context.pool.begin().await?;
    timings.store_started = Some(Instant::now());
    if !success.cache_hit {
        videos::upsert_video(
            &mut transaction,
            &VideoRecord {
                video_id: &success.video_id,
                data: &success.video_json,
                raw_item: success.raw_item.as_ref(),
                source: success.source,
                fetched_at: Utc::now(),
            },
        )
        .await?;
        if let Some(thumbnail) = &success.thumbnail {
            videos::upsert_thumbnail(
                &mut transaction,
                &success.video_id,
                &thumbnail.content_type,
                &thumbnail.bytes,
                &thumbnail.source_url,
            )
            .await?;
        }
    }
    if let Some(stage) = &transcript {
        let (item, claim_id, video) = (claim.item_id, claim.claim_id, &success.video_id);
        store_transcript(&mut transaction, item, claim_id, video, stage).await?;
    }
    if let Some(analysis) = &success.analysis {
        thumbnail_analyses::record_item_analysis(
            &mut transaction,
            claim.item_id,
            claim.claim_id,
            analysis,
        )
        .await?;
    }
    let end = ItemEnd::Succeeded {
        video_id: success.video_id.clone(),
        cache_hit: success.cache_hit,
    };
    finish(context, claim, transaction, &end, &timings)
        .await
        .map(|finished| {
            if finished {
                ExtractItemOutcome::Succeeded {
                    video_id: success.video_id,
                    cache_hit: success.cache_hit,
                }
            } else {
                ExtractItemOutcome::LostClaim
            }
        })
}

async fn store_failure(
    context: &JobContext,
    claim: &ClaimedItem,
    task: ExtractItemTask,
    failure: ExtractionFailure,
    timings: StageTimings,
) -> Result<ExtractItemOutcome, ExtractItemError> {
    let retry = failure.code.is_retryable() && claim.attempt < claim.max_attempts;
    let transaction = context.pool.begin().await?;
    if !retry {
        let end = ItemEnd::Failed {
            error_code: failure.code,
            message: failure.message.clone(),
        };
        let finished = finish(context, claim, transaction, &end, &timings).await?;
        return Ok(if finished {
            ExtractItemOutcome::Failed {
                error_code: failure.code,
            }
        } else {
            ExtractItemOutcome::LostClaim
        });
    }
    let retry_after = retry_delay(&context.settings.retry_delays, claim.attempt);
    let task_id = ExtractQueue::new_task_id();
    let end = ItemEnd::Retry {
        error_code: failure.code,
        message: failure.message.clone(),
        retry_after,
        task_id: task_id.clone(),
    };
    if !finish(context, claim, transaction, &end, &timings).await? {
        return Ok(ExtractItemOutcome::LostClaim);
    }
    // apalis schedules in whole seconds: one more second keeps the task from arriving before
    // `not_before` (it would find the item not yet claimable).
    let push_delay = retry_after + Duration::from_secs(1);
    if let Err(error) = context
        .queue
        .push_with_ids(&[(task_id, task)], Some(push_delay))
        .await
    {
        tracing::warn!(%error, item_id = %claim.item_id, "cannot push the retry task; the reconciler will");
    }
    Ok(ExtractItemOutcome::RetryScheduled {
        error_code: failure.code,
        retry_after,
    })
}

/// Writes the timings and ends the item in `transaction`; `false` when the claim was lost
/// (the transaction is rolled back and the execution marked `lost_claim`).
async fn finish(
    context: &JobContext,
    claim: &ClaimedItem,
    mut transaction: sqlx::Transaction<'static, sqlx::Postgres>,
    end: &ItemEnd,
    timings: &StageTimings,
) -> Result<bool, ExtractItemError> {
    let mut stages = vec![("queue_wait", timings.queue_wait)];
    stages.extend(timings.extract.map(|duration| ("extract", duration)));
    stages.extend(timings.thumbnail.map(|duration| ("thumbnail", duration)));
    stages.extend(timings.transcript.map(|duration| ("transcript", duration)));
    stages.extend(timings.analyze.map(|duration| ("analyze", duration)));
    stages.extend(
        timings
            .store_started
            .map(|started| ("store", started.elapsed())),
    );
    stages.push((
        "total",
        timings.queue_wait + timings.handler_started.elapsed(),
    ));
    for (stage, duration) in stages {
        item_claims::record_stage_timing(
            &mut transaction,
            claim.item_id,
            claim.attempt,
            stage,
            duration,
        )
        .await?;
    }
    match item_claims::end_item(&mut transaction, claim.item_id, claim.claim_id, end).await {
        Ok(report) => {
            transaction.commit().await?;
            if report.job_finished {
                tracing::info!(job_id = %claim.job_id, status = report.job_status, "job finished");
            }
            Ok(true)
        }
        Err(ClaimError::LostClaim { .. }) => {
            transaction.rollback().await?;
            item_claims::mark_execution_lost(&context.pool, claim.claim_id).await?;
            tracing::warn!(item_id = %claim.item_id, "lost the claim while working; discarded the result");
            Ok(false)
        }
        Err(ClaimError::Database(error)) => Err(error.into()),
    }
}

/// The delay before attempt `failed_attempt + 1`: the configured step for that attempt (the
/// last one repeats), ±20 % jitter so a burst of failures does not retry in lockstep.
pub fn retry_delay(delays: &[Duration], failed_attempt: i32) -> Duration {
    let index = usize::try_from(failed_attempt.saturating_sub(1)).unwrap_or_default();
    let base = delays
        .get(index)
        .or_else(|| delays.last())
        .copied()
        .unwrap_or(Duration::from_secs(2));
    base.mul_f64(rand::rng().random_range(0.8..=1.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_stay_within_jitter() {
        let delays = [2, 8, 30].map(Duration::from_secs);
        for (attempt, base) in [(1, 2.0), (2, 8.0), (3, 30.0), (7, 30.0)] {
            let delay = retry_delay(&delays, attempt).as_secs_f64();
            assert!(
                delay >= base * 0.8 - 1e-9 && delay <= base * 1.2 + 1e-9,
                "{attempt}: {delay}"
            );
        }
    }

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
        let good = ExtractItemTask::new(uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        assert_eq!(
            decode_task(serde_json::to_value(good).unwrap()).unwrap(),
            good
        );
    }
}
