//! One attempt at an item: the video cache when a fresh copy is stored, otherwise the
//! extractor, TikTok's status code classified, the item mapped to our `Video` and the duration
//! limit applied.

use std::time::{Duration, Instant};

use chrono::Utc;
use tokworks_shared::db::item_claims::ClaimedItem;
use tokworks_shared::db::thumbnail_analyses::ItemAnalysisOutcome;
use tokworks_shared::db::videos;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::{TiktokUrl, TiktokUrlKind};
use tokworks_shared::video::Video;

use crate::context::JobContext;
use crate::egress::SessionSeed;
use crate::extractor::{ExtractionFailure, ThumbnailBytes};
use crate::tiktok::{MapContext, map_item, status_code_error};

/// Everything a successful attempt produced, before it is stored.
pub(super) struct AttemptSuccess {
    pub(super) video_id: String,
    /// The stored copy, or the video extracted now.
    pub(super) origin: VideoOrigin,
    /// The `analyze` stage's outcome, when the job asked for a thumbnail analysis.
    pub(super) analysis: Option<ItemAnalysisOutcome>,
    /// The extraction's TikTok session (cookies, proxy, page), for the subtitle download.
    pub(super) session: Option<SessionSeed>,
}

/// Where an attempt's video came from.
pub(super) enum VideoOrigin {
    /// A fresh copy is stored (`cache_hit`): nothing to store again.
    CacheHit,
    /// Extracted now: stored with its raw item and cover.
    Extracted(Box<Extraction>),
}

/// A video extracted by this attempt.
pub(super) struct Extraction {
    pub(super) video: Video,
    pub(super) raw_item: serde_json::Value,
    pub(super) thumbnail: Option<ThumbnailBytes>,
    pub(super) extract_duration: Duration,
    pub(super) thumbnail_duration: Option<Duration>,
}

impl AttemptSuccess {
    /// Whether the video was served from the cache.
    pub(super) fn cache_hit(&self) -> bool {
        matches!(self.origin, VideoOrigin::CacheHit)
    }

    /// The video extracted by this attempt (`None` on a cache hit).
    pub(super) fn extraction(&self) -> Option<&Extraction> {
        match &self.origin {
            VideoOrigin::CacheHit => None,
            VideoOrigin::Extracted(extraction) => Some(extraction),
        }
    }
}
/// Cache or extraction; `bypass_cache` extracts even when a fresh copy is stored.
pub(super) async fn attempt(
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

    let refresh = claim.job_options.refresh;
    let known_video_id = claim.video_id.as_deref().or(url.video_id());
    let lookup_started = Instant::now();
    if let (Some(video_id), false) = (known_video_id, bypass_cache)
        && let Some(fresh) = stored_copy(context, claim, video_id, refresh)
            .await
            .map_err(|error| ExtractionFailure::new(ErrorCode::Internal, error.to_string()))?
    {
        crate::worker_metrics::record_extraction("cache", lookup_started.elapsed());
        return Ok(AttemptSuccess {
            video_id: fresh.video_id,
            origin: VideoOrigin::CacheHit,
            analysis: None,
            session: None,
        });
    }

    let extract_started = Instant::now();
    let extraction = context.extractor.extract(url.canonical_url()).await;
    let extract_total = extract_started.elapsed();
    let metric_source = extraction
        .as_ref()
        .map_or(context.extractor.source(), |extraction| extraction.source);
    crate::worker_metrics::record_extraction(metric_source.as_str(), extract_total);
    let extraction = extraction?;
    let thumbnail_duration = extraction.thumbnail_duration;
    let extract_duration = extract_total.saturating_sub(thumbnail_duration.unwrap_or_default());

    if let Some(code) = status_code_error(extraction.status_code, Some(&extraction.item)) {
        return Err(ExtractionFailure::new(
            code,
            format!("TikTok answered statusCode {}", extraction.status_code),
        ));
    }
    let source = extraction.source;
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
    Ok(AttemptSuccess {
        video_id: video.id.clone(),
        origin: VideoOrigin::Extracted(Box::new(Extraction {
            video,
            raw_item: extraction.item,
            thumbnail: extraction.thumbnail,
            extract_duration,
            thumbnail_duration,
        })),
        analysis: None,
        session: extraction.session,
    })
}

/// The stored copy this item may be served from: one younger than `CACHE_TTL_SECONDS`; or, when
/// the job asked for `refresh` (or the cache is off), one fetched since the job was submitted —
/// by its own feed walk, typically, so that enrichment items do not fetch each video again.
async fn stored_copy(
    context: &JobContext,
    claim: &ClaimedItem,
    video_id: &str,
    refresh: bool,
) -> Result<Option<videos::FreshVideo>, sqlx::Error> {
    match (context.settings.cache_ttl, refresh) {
        (Some(ttl), false) => videos::fresh_video(&context.pool, video_id, ttl).await,
        _ => videos::video_fetched_since(&context.pool, video_id, claim.job_created_at).await,
    }
}
