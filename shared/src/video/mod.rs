//! The `Video` result type: the complete metadata of one TikTok video or photo post, as stored in
//! `videos.data` and returned by the API (docs/design.md "What tokworks does"). Built by the worker's itemStruct mapper.

mod media;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use media::{
    CoverImages, ImageUrl, MediaLink, PhotoImage, Subtitle, SubtitleSource, VideoFormat, VideoMedia,
};

/// The current `Video::schema_version`. Bump it when a field changes meaning or is removed.
pub const VIDEO_SCHEMA_VERSION: u32 = 1;

/// One TikTok post with everything tokworks extracts from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Video {
    /// Version of this shape; currently [`VIDEO_SCHEMA_VERSION`] (1).
    pub schema_version: u32,
    /// The post id: a 19-digit decimal string (never a JSON number).
    pub id: String,
    /// Whether this is a video or a photo (slideshow) post.
    pub kind: VideoKind,
    /// Canonical URL: `https://www.tiktok.com/@{author}/video/{id}` (`/photo/` for photo posts).
    pub url: String,
    /// The caption, including `#hashtags` and `@mentions`; may be empty.
    pub description: String,
    /// Creation time (UTC), RFC 3339.
    pub created_at: DateTime<Utc>,
    /// Creation time as Unix seconds (TikTok's `createTime`).
    pub create_time: i64,
    /// Duration in seconds; for photo posts the soundtrack's duration, or 0 when unknown.
    pub duration_seconds: u32,
    /// Width in pixels of the main (`play`) rendition; `None` when TikTok did not say.
    pub width: Option<u32>,
    /// Height in pixels of the main (`play`) rendition; `None` when TikTok did not say.
    pub height: Option<u32>,
    /// Hashtags in caption order (from `textExtra`, then any extra `challenges`), without `#`.
    pub hashtags: Vec<Hashtag>,
    /// Users mentioned in the caption, in caption order (from `textExtra`).
    pub mentions: Vec<Mention>,
    /// Engagement counts.
    pub counts: VideoCounts,
    /// `true` when the counts come from `statsV2` (exact); `false` when only the display-rounded
    /// `stats` were available (e.g. 1 585 253 plays shown as 1 600 000).
    pub counts_exact: bool,
    /// The account that posted it.
    pub author: Author,
    /// The sound, when the post has one.
    pub music: Option<Music>,
    /// Cover and thumbnail images.
    pub covers: CoverImages,
    /// Playable media: no-watermark `play`, watermarked `download`, and the bitrate ladder.
    pub media: VideoMedia,
    /// The images of a photo post, in order; empty for videos.
    pub images: Vec<PhotoImage>,
    /// Subtitle tracks (automatic, machine-translated and creator captions).
    pub subtitles: Vec<Subtitle>,
    /// ISO country code where the post was created (`locationCreated`), e.g. `US`.
    pub location_created: Option<String>,
    /// Whether TikTok marks the post as an advertisement (`isAd`).
    pub is_ad: bool,
    /// Caption language detected by TikTok (`textLanguage`), e.g. `en`, `zh-Hans`.
    pub text_language: Option<String>,
    /// TikTok's content category labels (`diversificationLabels`), e.g. `["Pets", "Animals"]`.
    pub diversification_labels: Vec<String>,
    /// Which extractor produced this record.
    pub source: VideoSource,
    /// When the worker extracted it (UTC, RFC 3339). Media URLs expire relative to this.
    pub extracted_at: DateTime<Utc>,
}

/// Video or photo post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VideoKind {
    /// A video.
    Video,
    /// A photo ("slideshow") post: `images` holds the pictures, `music` the soundtrack.
    Photo,
}

/// Which extractor produced a `Video`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VideoSource {
    /// yt-dlp (its raw itemStruct, mapped by tokworks).
    Ytdlp,
    /// tokworks' own web client (page or feed JSON).
    Web,
}

impl VideoSource {
    /// The wire name: `ytdlp` or `web`.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoSource::Ytdlp => "ytdlp",
            VideoSource::Web => "web",
        }
    }
}

/// A hashtag used in the caption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hashtag {
    /// TikTok's hashtag (challenge) id, when known.
    pub id: Option<String>,
    /// The tag without `#`, as written in the caption.
    pub name: String,
}

/// A user mentioned in the caption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mention {
    /// The user's numeric id, when known.
    pub user_id: Option<String>,
    /// The handle without `@`.
    pub unique_id: String,
    /// The user's `secUid`, when known.
    pub sec_uid: Option<String>,
}

/// Engagement counts of the post. Exact when `Video::counts_exact` is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VideoCounts {
    /// Views (`playCount`).
    pub play_count: u64,
    /// Likes (`diggCount`).
    pub like_count: u64,
    /// Comments (`commentCount`).
    pub comment_count: u64,
    /// Shares (`shareCount`).
    pub share_count: u64,
    /// Saves / favourites (`collectCount`).
    pub collect_count: u64,
    /// Reposts (`repostCount`, only in `statsV2`); `None` when TikTok did not send it.
    pub repost_count: Option<u64>,
}

/// The account that posted the video.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Author {
    /// Numeric user id (string).
    pub id: Option<String>,
    /// The handle (`uniqueId`), without `@`.
    pub unique_id: String,
    /// Display name.
    pub nickname: Option<String>,
    /// Stable secure user id (`secUid`, `MS4wLjABAAAA…`).
    pub sec_uid: Option<String>,
    /// Verified badge.
    pub verified: bool,
    /// Whether the account is private.
    pub private_account: bool,
    /// The bio.
    pub signature: Option<String>,
    /// Largest available avatar image (expires).
    pub avatar: Option<ImageUrl>,
    /// Followers.
    pub follower_count: Option<u64>,
    /// Accounts followed.
    pub following_count: Option<u64>,
    /// Total likes received (`heartCount`).
    pub heart_count: Option<u64>,
    /// Posts published.
    pub video_count: Option<u64>,
    /// `true` when the four counts come from `authorStatsV2` (exact), `false` when from the
    /// display-rounded `authorStats` or absent.
    pub counts_exact: bool,
}

/// The sound of the post.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Music {
    /// Music id (string).
    pub id: Option<String>,
    /// Title, e.g. `original sound - Creator Name`.
    pub title: Option<String>,
    /// Artist or creator name.
    pub author_name: Option<String>,
    /// Album, when TikTok names one.
    pub album: Option<String>,
    /// Whether it is an original sound made with a post.
    pub original: bool,
    /// Duration in seconds.
    pub duration_seconds: Option<u32>,
    /// Audio file URL (expires), when TikTok serves one.
    pub play_url: Option<MediaLink>,
    /// Largest cover image.
    pub cover: Option<ImageUrl>,
}
