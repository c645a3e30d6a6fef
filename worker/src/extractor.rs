//! The boundary between the job handler and whatever fetches a TikTok post (the yt-dlp pool, or
//! the native web client): one URL in, TikTok's raw `itemStruct` plus the cover bytes out, or a
//! classified failure.

use futures::future::BoxFuture;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::video::VideoSource;

use crate::egress::SessionSeed;

/// What an extractor got for one post.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// Which client produced it (with EXTRACTOR=auto: yt-dlp when the native client fell back).
    pub source: VideoSource,
    /// TikTok's `itemStruct` as parsed from the page (input of the mapper).
    pub item: serde_json::Value,
    /// `webapp.video-detail.statusCode` of the page (0 on success).
    pub status_code: i64,
    /// The page URL the item came from (resolved, for short links).
    pub webpage_url: String,
    /// The cover image, downloaded with the page's session; `None` if it could not be fetched.
    pub thumbnail: Option<ThumbnailBytes>,
    /// Why the cover is missing, when it is.
    pub thumbnail_error: Option<String>,
    /// Time spent downloading the cover, when the extractor measured it separately.
    pub thumbnail_duration: Option<std::time::Duration>,
    /// The item's TikTok session (cookies, proxy), resumed for its later downloads (subtitles).
    pub session: Option<SessionSeed>,
}

/// Cover image bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbnailBytes {
    pub source_url: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A classified extraction failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ExtractionFailure {
    pub code: ErrorCode,
    pub message: String,
}

impl ExtractionFailure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ExtractionFailure {
            code,
            message: message.into(),
        }
    }
}

/// Something that fetches one TikTok post by URL.
pub trait VideoExtractor: Send + Sync + std::fmt::Debug {
    /// Which client this extractor tries first (metrics of failed extractions); the stored
    /// video records [`Extraction::source`], the client that produced it.
    fn source(&self) -> VideoSource;

    /// Fetches the post at `url` (a canonical post URL or a short link).
    fn extract<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Extraction, ExtractionFailure>>;
}
