//! One walk of a feed: pages fetched with the TikTok web client, each new `itemStruct` mapped by
//! the single-video mapper as its page arrives and its cover downloaded in the background
//! (bounded), the end of the attempt decided (finished, partial, failed, or retried with
//! backoff), and the videos and covers stored in the ending transaction.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokworks_shared::db::feed_walks::claims::{ClaimedWalk, WalkEnd};
use tokworks_shared::db::feed_walks::{FeedStopCode, WalkStatus};
use tokworks_shared::db::videos::{self, VideoRecord};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::sound::SoundInfo;
use tokworks_shared::video::{Video, VideoSource};

use super::FeedWalkRunner;
use crate::extract_item::retry_delay;
use crate::extractor::ThumbnailBytes;
use crate::tiktok::{MapContext, map_item};
use crate::tiktok_web::feeds::item_id;
use crate::tiktok_web::{FeedStop, FeedWalker};

/// Codes of a failure before any video after which a walk is tried again (within its budget).
fn walk_is_retryable(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::UpstreamEmpty
            | ErrorCode::UpstreamRateLimited
            | ErrorCode::UpstreamUnavailable
            | ErrorCode::UpstreamBlocked
            | ErrorCode::ExtractorTimeout
    )
}

/// What a walk gathered: its videos and covers, why it stopped, the item pages fetched, and a
/// sound walk's sound.
pub(super) struct WalkResult {
    pub(super) videos: Vec<WalkedVideo>,
    pub(super) thumbnails: Vec<(String, ThumbnailBytes)>,
    pub(super) stopped: FeedStop,
    pub(super) pages: usize,
    pub(super) sound: Option<SoundInfo>,
}

/// A mapped feed video ready to store.
pub(super) struct WalkedVideo {
    pub(super) video_id: String,
    video: Video,
    raw_item: serde_json::Value,
}

impl FeedWalkRunner {
    /// Walks page by page; each page's items are mapped at once and their covers downloaded in
    /// the background (bounded) while the next page loads.
    pub(super) async fn walk_with_covers(&self, mut walker: FeedWalker<'_>) -> WalkResult {
        let context = MapContext {
            source: VideoSource::Web,
            extracted_at: Utc::now(),
        };
        let permits = Arc::new(Semaphore::new(self.settings.cover_concurrency.max(1)));
        let mut covers: JoinSet<Option<(String, ThumbnailBytes)>> = JoinSet::new();
        let mut videos = Vec::new();
        let (mut pages, mut unusable) = (0, 0_usize);
        while let Some(page) = walker.next_page().await {
            pages = page.page_number;
            for item in page.new_items {
                let video = match map_item(&item, &context) {
                    Ok(video) => video,
                    Err(error) => {
                        tracing::warn!(%error, id = ?item.get("id"), "a feed item does not map; set aside");
                        if let Some(id) = item_id(&item) {
                            walker.set_aside(&id);
                        }
                        unusable += 1;
                        continue;
                    }
                };
                let (client, permits, cover_item) =
                    (self.client.clone(), permits.clone(), item.clone());
                let video_id = video.id.clone();
                covers.spawn(async move {
                    let _permit = permits.acquire_owned().await.ok()?;
                    let outcome = client.download_cover(&cover_item).await;
                    if let Some(error) = &outcome.error {
                        tracing::warn!(video_id, error, "feed cover not stored");
                    }
                    outcome.thumbnail.map(|thumbnail| (video_id, thumbnail))
                });
                videos.push(WalkedVideo {
                    video_id: video.id.clone(),
                    video,
                    raw_item: item,
                });
            }
        }
        let finished = walker.finish().await;
        let (mut stopped, sound) = (finished.stopped, finished.sound);
        if videos.is_empty() && unusable > 0 && !matches!(stopped, FeedStop::Failed { .. }) {
            // Items came and none could be read: TikTok's item layout changed, not an empty feed.
            stopped = FeedStop::Failed {
                code: ErrorCode::UpstreamChanged,
                message: format!(
                    "{unusable} feed items arrived and none could be read as a video \
                     (TikTok's item layout may have changed)"
                ),
                retry_after: None,
                pages_fetched: pages,
            };
        }
        let mut thumbnails = Vec::new();
        while let Some(joined) = covers.join_next().await {
            if let Ok(Some(thumbnail)) = joined {
                thumbnails.push(thumbnail);
            }
        }
        WalkResult {
            videos,
            thumbnails,
            stopped,
            pages,
            sound,
        }
    }

    /// How the attempt ends: finished (succeeded, partial, failed) or retried later. A walk
    /// that `found_nothing` (no video, or no comment) fails — or is retried, for a transient
    /// stop within its attempts; one that found some ends partial when it stopped short.
    pub(super) fn end_of(
        &self,
        walk: &ClaimedWalk,
        video_ids: Vec<String>,
        found_nothing: bool,
        stopped: &FeedStop,
        pages_fetched: usize,
        walk_duration: Duration,
    ) -> WalkEnd {
        let pages_fetched = i32::try_from(pages_fetched).unwrap_or(i32::MAX);
        let (status, stop_code, stop_message) = match stopped {
            FeedStop::CountReached => (WalkStatus::Succeeded, FeedStopCode::COUNT_REACHED, None),
            FeedStop::NoMore => (WalkStatus::Succeeded, FeedStopCode::NO_MORE, None),
            FeedStop::Failed {
                code,
                message,
                retry_after,
                ..
            } => {
                if found_nothing && walk_is_retryable(*code) && walk.attempt < walk.max_attempts {
                    let backoff = retry_delay(&self.settings.retry_delays, walk.attempt);
                    let asked = retry_after.map(|after| after.min(self.settings.max_retry_after));
                    return WalkEnd::Retry {
                        stop_code: code.as_str().to_owned(),
                        stop_message: message.clone(),
                        retry_after: asked.map_or(backoff, |asked| asked.max(backoff)),
                    };
                }
                let status = if found_nothing {
                    WalkStatus::Failed
                } else {
                    WalkStatus::Partial
                };
                (status, code.as_str(), Some(message.clone()))
            }
        };
        WalkEnd::Finished {
            status,
            video_ids,
            stop_code: stop_code.to_owned(),
            stop_message,
            pages_fetched,
            walk_duration,
        }
    }
}

pub(super) fn stop_error_code(stopped: &FeedStop) -> Option<ErrorCode> {
    match stopped {
        FeedStop::Failed { code, .. } => Some(*code),
        _ => None,
    }
}

/// Stores the walk's videos (raw item kept, source `web`) and the covers downloaded.
pub(super) async fn store_videos(
    connection: &mut sqlx::PgConnection,
    videos: &[WalkedVideo],
    thumbnails: &[(String, ThumbnailBytes)],
) -> Result<(), sqlx::Error> {
    let fetched_at = Utc::now();
    for video in videos {
        videos::upsert_video(
            &mut *connection,
            &VideoRecord {
                video: &video.video,
                raw_item: Some(&video.raw_item),
                fetched_at,
            },
        )
        .await?;
    }
    for (video_id, thumbnail) in thumbnails {
        videos::upsert_thumbnail(
            &mut *connection,
            video_id,
            &thumbnail.content_type,
            &thumbnail.bytes,
            &thumbnail.source_url,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_upstream_failures_retry_a_walk() {
        for code in [
            ErrorCode::UpstreamEmpty,
            ErrorCode::UpstreamRateLimited,
            ErrorCode::UpstreamUnavailable,
            ErrorCode::UpstreamBlocked,
            ErrorCode::ExtractorTimeout,
        ] {
            assert!(walk_is_retryable(code), "{code:?}");
        }
        for code in [
            ErrorCode::HashtagNotFound,
            ErrorCode::UserNotFound,
            ErrorCode::VideoPrivate,
            ErrorCode::UpstreamChanged,
        ] {
            assert!(!walk_is_retryable(code), "{code:?}");
        }
    }
}
