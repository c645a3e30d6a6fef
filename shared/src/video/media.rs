//! The media parts of a `Video`: cover images, play/download links, the bitrate ladder, photo-post
//! images and subtitle tracks — all CDN URLs that expire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An image URL and when TikTok's signature on it expires (`x-expires=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImageUrl {
    /// The URL.
    pub url: String,
    /// Expiry from the URL's `x-expires`/`expire` query parameter; `None` when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Cover and thumbnail images of the post.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CoverImages {
    /// The default cover (`video.cover`; photo posts: `imagePost.cover`).
    pub cover: Option<ImageUrl>,
    /// The first frame at source resolution (`video.originCover`).
    pub origin_cover: Option<ImageUrl>,
    /// Animated cover (`video.dynamicCover`).
    pub dynamic_cover: Option<ImageUrl>,
}

/// A playable media URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaLink {
    /// The URL. CDN URLs need the `tt_chain_token` cookie of the page request and a Referer.
    pub url: String,
    /// Whether the rendition carries TikTok's watermark.
    pub watermarked: bool,
    /// Expiry from the URL's `expire`/`x-expires` query parameter; `None` when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Playable media of the post.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VideoMedia {
    /// The main rendition without watermark (`video.playAddr`).
    pub play: Option<MediaLink>,
    /// The watermarked download rendition (`video.downloadAddr`).
    pub download: Option<MediaLink>,
    /// The bitrate ladder (`video.bitrateInfo`), bytevc2 gears excluded, highest bitrate first.
    pub formats: Vec<VideoFormat>,
}

/// One rendition of the bitrate ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VideoFormat {
    /// Gear name, e.g. `normal_540_0`, `adapt_lowest_1080_1`.
    pub gear_name: Option<String>,
    /// Codec: `h264` or `h265`.
    pub codec: Option<String>,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Bits per second.
    pub bitrate: Option<u64>,
    /// File size in bytes.
    pub size_bytes: Option<u64>,
    /// The best URL (a CDN URL; `www.tiktok.com/aweme/v1/play/` only when there is nothing else).
    pub url: String,
    /// Every usable URL of this rendition (mirrors), best first.
    pub urls: Vec<String>,
    /// Expiry of `url`.
    pub expires_at: Option<DateTime<Utc>>,
}

/// One image of a photo post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhotoImage {
    /// Mirrors of the image, best first (`imageURL.urlList`).
    pub urls: Vec<String>,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Expiry of the first URL.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Who made a subtitle track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubtitleSource {
    /// Automatic speech recognition.
    Asr,
    /// Machine translation of another track.
    Mt,
    /// Captions written by the creator.
    Creator,
}

/// One subtitle track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subtitle {
    /// TikTok's language code name, e.g. `eng-US`.
    pub language_code_name: String,
    /// Short language code, e.g. `en`, when known.
    pub language_code: Option<String>,
    /// Who made it.
    pub source: SubtitleSource,
    /// File format, e.g. `webvtt`.
    pub format: Option<String>,
    /// The URL.
    pub url: String,
    /// Expiry of the URL (`UrlExpire`, `expire`), when known.
    pub expires_at: Option<DateTime<Utc>>,
}
