//! One walk of a video's comments (feed walks of kind `comments`, docs/comments.md): the
//! comments fetched by the TikTok web client, the end of the attempt decided by the feed rules
//! (finished, partial, failed, or retried with backoff when nothing came), and the comments and
//! the walk's ordered list stored in the ending transaction, guarded by the claim.

use std::time::Instant;

use tokworks_shared::comment::CommentsWalkKey;
use tokworks_shared::db::comments::{WalkComments, store_walk_comments};
use tokworks_shared::db::feed_walks::claims::{
    self as walk_claims, ClaimedWalk, WalkClaimError, WalkEnd,
};
use tokworks_shared::error_code::ErrorCode;

use super::walk::stop_error_code;
use super::{FeedWalkError, FeedWalkRunner, WalkOutcome};
use crate::tiktok_web::comments::CommentsAsk;

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
        // The feed rules, with comments in place of videos (a video without comments is a
        // success, not an empty feed: TikTok says so with `NO_MORE`).
        let end = self.end_of(
            walk,
            Vec::new(),
            found.comments.is_empty(),
            &found.stopped,
            found.pages_fetched,
            started.elapsed(),
        );
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
                error_code: stop_error_code(&found.stopped).unwrap_or(ErrorCode::Internal),
                retry_after,
            },
        })
    }
}
