//! One walk of a video's comments (feed walks of kind `comments`, docs/comments.md): the
//! comments fetched by the TikTok web client, the end of the attempt decided by the feed rules
//! (finished, partial, failed, or retried with backoff when nothing came), and the comments and
//! the walk's ordered list stored in the ending transaction, guarded by the claim.

use std::time::{Duration, Instant};

use tokworks_shared::comment::CommentsWalkKey;
use tokworks_shared::db::comments::{WalkComments, store_walk_comments};
use tokworks_shared::db::feed_walks::claims::{
    self as walk_claims, ClaimedWalk, WalkClaimError, WalkEnd,
};
use tokworks_shared::db::feed_walks::{FeedStopCode, WalkStatus};
use tokworks_shared::error_code::ErrorCode;

use super::walk::walk_is_retryable;
use super::{FeedWalkError, FeedWalkRunner, WalkOutcome};
use crate::extract_item::retry_delay;
use crate::tiktok_web::FeedStop;
use crate::tiktok_web::comments::{CommentsAsk, CommentsWalk};

impl FeedWalkRunner {
    /// Walks the comments of a claimed `comments` walk and ends the attempt.
    pub(super) async fn walk_comments_and_end(
        &self,
        walk: &ClaimedWalk,
    ) -> Result<WalkOutcome, FeedWalkError> {
        let started = Instant::now();
        let ask = CommentsAsk {
            url: walk.target.clone().unwrap_or_default(),
            count: usize::try_from(walk.requested_count).unwrap_or(1),
            replies: CommentsWalkKey::wants_replies(&walk.feed_key),
        };
        let found = self.client.comments(&ask).await;
        let end = self.comments_end(walk, &found, started.elapsed());
        let mut transaction = self.pool.begin().await?;
        if let (WalkEnd::Finished { .. }, Some(video_id)) = (&end, &found.video_id) {
            store_walk_comments(
                &mut transaction,
                walk.walk_id,
                &WalkComments {
                    video_id,
                    total: found.total,
                    comments: &found.comments,
                },
            )
            .await?;
        }
        let jobs = match walk_claims::end_walk(&mut transaction, walk, &end).await {
            Ok(jobs) => jobs,
            Err(WalkClaimError::LostClaim { .. }) => {
                transaction.rollback().await?;
                tracing::warn!(walk_id = %walk.walk_id, "lost the comments walk's claim; discarded its result");
                return Ok(WalkOutcome::LostClaim);
            }
            Err(WalkClaimError::Database(error)) => return Err(error.into()),
        };
        transaction.commit().await?;
        Ok(match end {
            WalkEnd::Finished { status, .. } => WalkOutcome::Finished {
                status,
                videos: found.comments.len(),
                jobs: jobs.len(),
            },
            WalkEnd::Retry { retry_after, .. } => WalkOutcome::RetryScheduled {
                error_code: match &found.stopped {
                    FeedStop::Failed { code, .. } => *code,
                    _ => ErrorCode::Internal,
                },
                retry_after,
            },
        })
    }

    /// How a comments attempt ends: the feed rules, with comments in place of videos (a video
    /// without comments is a success, not an empty feed).
    fn comments_end(
        &self,
        walk: &ClaimedWalk,
        found: &CommentsWalk,
        walk_duration: Duration,
    ) -> WalkEnd {
        let pages_fetched = i32::try_from(found.pages_fetched).unwrap_or(i32::MAX);
        let (status, stop_code, stop_message) = match &found.stopped {
            FeedStop::CountReached => (WalkStatus::Succeeded, FeedStopCode::COUNT_REACHED, None),
            FeedStop::NoMore => (WalkStatus::Succeeded, FeedStopCode::NO_MORE, None),
            FeedStop::Failed {
                code,
                message,
                retry_after,
                ..
            } => {
                if found.comments.is_empty()
                    && walk_is_retryable(*code)
                    && walk.attempt < walk.max_attempts
                {
                    let backoff = retry_delay(&self.settings.retry_delays, walk.attempt);
                    let asked = retry_after.map(|after| after.min(self.settings.max_retry_after));
                    return WalkEnd::Retry {
                        stop_code: code.as_str().to_owned(),
                        stop_message: message.clone(),
                        retry_after: asked.map_or(backoff, |asked| asked.max(backoff)),
                    };
                }
                let status = if found.comments.is_empty() {
                    WalkStatus::Failed
                } else {
                    WalkStatus::Partial
                };
                (status, code.as_str(), Some(message.clone()))
            }
        };
        WalkEnd::Finished {
            status,
            video_ids: Vec::new(),
            stop_code: stop_code.to_owned(),
            stop_message,
            pages_fetched,
            walk_duration,
        }
    }
}
