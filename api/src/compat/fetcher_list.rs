//! The old Flask fetcher's list entry (`GET /trending`, `GET /category?hashtag=`): `{id,
//! description, author{…}, stats{…}, hashtags[{id,title}], video{url,width,height,duration}}`,
//! built from a stored `Video` record.
//!
//! docs/design.md "Compatibility endpoints" documents the outer keys and `hashtags`/`video`; the fetcher forwarded TikTok's
//! own names inside `author` and `stats`, so those use TikTok's camelCase names
//! (`uniqueId`, `diggCount`, …). `video.url` is the no-watermark play address (it expires and
//! needs TikTok's CDN cookie, as the old service's did), or the post's page URL when TikTok sent
//! no play address (photo posts).

use serde::Serialize;
use tokworks_shared::video::Video;

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FetcherVideo {
    pub id: String,
    pub description: String,
    pub author: FetcherAuthor,
    pub stats: FetcherStats,
    pub hashtags: Vec<FetcherHashtag>,
    pub video: FetcherMedia,
}

/// `author`: TikTok's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetcherAuthor {
    pub id: Option<String>,
    #[serde(rename = "uniqueId")]
    pub unique_id: String,
    pub nickname: Option<String>,
    #[serde(rename = "avatarThumb")]
    pub avatar_thumb: Option<String>,
    pub verified: bool,
}

/// `stats`: TikTok's names, exact counts when TikTok sent `statsV2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FetcherStats {
    #[serde(rename = "playCount")]
    pub play_count: u64,
    #[serde(rename = "diggCount")]
    pub digg_count: u64,
    #[serde(rename = "commentCount")]
    pub comment_count: u64,
    #[serde(rename = "shareCount")]
    pub share_count: u64,
    #[serde(rename = "collectCount")]
    pub collect_count: u64,
}

/// One hashtag: TikTok's challenge id (null when the caption's tag has none) and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetcherHashtag {
    pub id: Option<String>,
    pub title: String,
}

/// `video`: where to play it and its geometry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetcherMedia {
    pub url: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Seconds.
    pub duration: u32,
}

impl FetcherVideo {
    /// The list entry of one stored video.
    pub fn from_video(video: &Video) -> FetcherVideo {
        FetcherVideo {
            id: video.id.clone(),
            description: video.description.clone(),
            author: FetcherAuthor {
                id: video.author.id.clone(),
                unique_id: video.author.unique_id.clone(),
                nickname: video.author.nickname.clone(),
                avatar_thumb: video
                    .author
                    .avatar
                    .as_ref()
                    .map(|avatar| avatar.url.clone()),
                verified: video.author.verified,
            },
            stats: FetcherStats {
                play_count: video.counts.play_count,
                digg_count: video.counts.like_count,
                comment_count: video.counts.comment_count,
                share_count: video.counts.share_count,
                collect_count: video.counts.collect_count,
            },
            hashtags: video
                .hashtags
                .iter()
                .map(|hashtag| FetcherHashtag {
                    id: hashtag.id.clone(),
                    title: hashtag.name.clone(),
                })
                .collect(),
            video: FetcherMedia {
                url: video
                    .media
                    .play
                    .as_ref()
                    .map_or_else(|| video.url.clone(), |play| play.url.clone()),
                width: video.width,
                height: video.height,
                duration: video.duration_seconds,
            },
        }
    }
}
