//! Submitting a feed job (trending, hashtag, user) from Rust code: `POST /v1/jobs` and the
//! compatibility endpoints (`/trending`, `/category`) call [`submit_feed_job`]. The job is
//! answered from the feed cache, attached to the feed's in-flight walk, or given a new walk, in
//! one transaction (`shared::db::feed_walks`).

use tokworks_shared::db::feed_walks::{
    self as feed_db, FeedService, NewFeedWalk, SubmitFeedOutcome,
};
use tokworks_shared::db::jobs::{NewJob, NewJobWebhook};
use tokworks_shared::ids::{JobId, WalkId};

use crate::auth::ApiKey;
use crate::jobs::feed_request::FeedJobRequest;
use crate::problem::ApiError;
use crate::state::AppState;

/// A feed job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedFeedJob {
    pub job_id: JobId,
    /// The Idempotency-Key named an earlier job with the same request: that job, unchanged.
    pub replayed: bool,
    /// How a new job is served (`None` on a replay).
    pub service: Option<FeedService>,
}

/// Stores the feed job of `key` and serves it (cache, coalescing or a new walk). A reused
/// Idempotency-Key with another body is `IDEMPOTENCY_KEY_REUSED`.
pub async fn submit_feed_job(
    state: &AppState,
    key: &ApiKey,
    feed_job: &FeedJobRequest,
    idempotency_key: Option<String>,
) -> Result<SubmittedFeedJob, ApiError> {
    // A feed job may fetch `count` videos: that many URLs, and its walk is one item in flight.
    // A comments job names one URL, whatever its count.
    let urls = match feed_job.feed {
        crate::jobs::feed_request::Feed::Comments { .. } => 1,
        _ => feed_job.count,
    };
    let cost = crate::rate_limits::SubmitCost { urls, items: 1 };
    crate::rate_limits::admit_submission(state, key, cost).await?;
    let new_job = NewJob {
        job_id: JobId::new_v7(),
        api_key_id: key.api_key_id,
        kind: feed_job.feed.kind(),
        request: feed_job.normalised_request(),
        options: feed_job.options.stored(),
        metadata: feed_job.metadata.clone(),
        idempotency_key,
        items: Vec::new(),
        webhook: feed_job.webhook.as_ref().map(|webhook| NewJobWebhook {
            url: webhook.url.clone(),
            events: webhook.events.clone(),
        }),
    };
    let walk = NewFeedWalk {
        walk_id: WalkId::new_v7(),
        feed_key: feed_job.feed_key(),
        kind: feed_job.feed.kind(),
        target: feed_job.feed.target().map(str::to_owned),
        requested_count: i32::try_from(feed_job.count).unwrap_or(i32::MAX),
        max_attempts: state.settings.item_max_attempts,
    };
    let mut connection = state.db.acquire().await?;
    let outcome = feed_db::submit_feed_job(
        &mut connection,
        &new_job,
        &walk,
        state.settings.feed_cache_ttl,
        feed_job.options.refresh,
    )
    .await?;
    drop(connection);
    match outcome {
        SubmitFeedOutcome::IdempotencyKeyExists {
            same_request: false,
            ..
        } => Err(ApiError::IdempotencyKeyReused),
        SubmitFeedOutcome::IdempotencyKeyExists {
            existing_job_id,
            same_request: true,
        } => Ok(SubmittedFeedJob {
            job_id: existing_job_id,
            replayed: true,
            service: None,
        }),
        SubmitFeedOutcome::Created(service) => {
            tracing::info!(job_id = %new_job.job_id, feed_key = walk.feed_key, ?service, "feed job accepted");
            Ok(SubmittedFeedJob {
                job_id: new_job.job_id,
                replayed: false,
                service: Some(service),
            })
        }
    }
}
