//! Ending an attempt: the video, thumbnail, transcript, analysis, stage timings and the item's
//! end written in one transaction guarded by the claim; a retryable failure goes back to
//! `queued` with a backoff and a delayed task.

use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use tokworks_shared::db::item_claims::{self, ClaimError, ClaimedItem, ItemEnd};
use tokworks_shared::db::thumbnail_analyses;
use tokworks_shared::db::videos::{self, VideoRecord};
use tokworks_shared::queue::ExtractQueue;
use tokworks_shared::queue_tasks::ExtractItemTask;

use super::attempt::AttemptSuccess;
use super::{ExtractItemError, ExtractItemOutcome};
use crate::context::JobContext;
use crate::extractor::ExtractionFailure;
use crate::transcripts::{TranscriptStage, store_transcript};

/// Stage timings of one attempt.
pub(super) struct StageTimings {
    pub(super) queue_wait: Duration,
    pub(super) extract: Option<Duration>,
    pub(super) thumbnail: Option<Duration>,
    pub(super) transcript: Option<Duration>,
    pub(super) analyze: Option<Duration>,
    pub(super) store_started: Option<Instant>,
    pub(super) handler_started: Instant,
}

pub(super) async fn store_success(
    context: &JobContext,
    claim: &ClaimedItem,
    success: AttemptSuccess,
    transcript: Option<TranscriptStage>,
    mut timings: StageTimings,
) -> Result<ExtractItemOutcome, ExtractItemError> {
    let mut transaction = context.pool.begin().await?;
    timings.store_started = Some(Instant::now());
    if let Some(extraction) = success.extraction() {
        videos::upsert_video(
            &mut transaction,
            &VideoRecord {
                video: &extraction.video,
                raw_item: Some(&extraction.raw_item),
                fetched_at: Utc::now(),
            },
        )
        .await?;
        if let Some(thumbnail) = &extraction.thumbnail {
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
    let cache_hit = success.cache_hit();
    let end = ItemEnd::Succeeded {
        video_id: success.video_id.clone(),
        cache_hit,
    };
    finish(context, claim, transaction, &end, &timings)
        .await
        .map(|finished| {
            if finished {
                ExtractItemOutcome::Succeeded {
                    video_id: success.video_id,
                    cache_hit,
                }
            } else {
                ExtractItemOutcome::LostClaim
            }
        })
}

pub(super) async fn store_failure(
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
                tracing::info!(job_id = %claim.job_id, status = %report.job_status, "job finished");
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
}
