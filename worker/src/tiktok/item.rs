//! Lenient serde types for TikTok's `itemStruct` (page, reflow, SIGI, feed and yt-dlp's raw item):
//! every field optional, numbers as ints or strings, `author` as object or string, PascalCase
//! `bitrateInfo`, so a drifted field becomes "absent" instead of failing the item.

use serde::Deserialize;
use serde_json::Value;

use super::lenient::{FlexBool, FlexI64, FlexString, FlexU64, UrlField, lenient, lenient_list};

/// `itemStruct` (docs/tiktok-formats.md "The itemStruct fields") and the SIGI `ItemModule[id]` item
/// ("Older page containers").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ItemStruct {
    #[serde(deserialize_with = "lenient")]
    pub id: Option<FlexString>,
    #[serde(deserialize_with = "lenient")]
    pub desc: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub create_time: Option<FlexI64>,
    #[serde(deserialize_with = "lenient")]
    pub video: Option<ItemVideo>,
    /// An object on the web, a string (the handle) in SIGI.
    #[serde(deserialize_with = "lenient")]
    pub author: Option<Value>,
    /// Checked before `author` by yt-dlp (some API shapes).
    #[serde(deserialize_with = "lenient")]
    pub author_info: Option<ItemAuthor>,
    /// SIGI flattens author data onto the item.
    #[serde(deserialize_with = "lenient")]
    pub author_id: Option<FlexString>,
    #[serde(deserialize_with = "lenient")]
    pub author_sec_id: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub nickname: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub avatar_thumb: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub author_stats: Option<AuthorStats>,
    #[serde(rename = "authorStatsV2", deserialize_with = "lenient")]
    pub author_stats_v2: Option<AuthorStats>,
    #[serde(deserialize_with = "lenient")]
    pub music: Option<ItemMusic>,
    #[serde(deserialize_with = "lenient_list")]
    pub challenges: Vec<Challenge>,
    #[serde(deserialize_with = "lenient")]
    pub stats: Option<ItemStats>,
    #[serde(rename = "statsV2", deserialize_with = "lenient")]
    pub stats_v2: Option<ItemStats>,
    #[serde(deserialize_with = "lenient_list")]
    pub text_extra: Vec<TextExtra>,
    #[serde(deserialize_with = "lenient_list")]
    pub contents: Vec<ContentPiece>,
    #[serde(deserialize_with = "lenient")]
    pub is_ad: Option<FlexBool>,
    #[serde(deserialize_with = "lenient")]
    pub is_content_classified: Option<FlexBool>,
    #[serde(deserialize_with = "lenient")]
    pub text_language: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub location_created: Option<String>,
    #[serde(deserialize_with = "lenient_list")]
    pub diversification_labels: Vec<String>,
    #[serde(deserialize_with = "lenient")]
    pub image_post: Option<ImagePost>,
    /// Covers at the root (yt-dlp reads them at the root or under `video`).
    #[serde(deserialize_with = "lenient")]
    pub cover: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub origin_cover: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub dynamic_cover: Option<UrlField>,
}

/// `itemStruct.video`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ItemVideo {
    #[serde(deserialize_with = "lenient")]
    pub id: Option<FlexString>,
    #[serde(deserialize_with = "lenient")]
    pub width: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub height: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub duration: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub cover: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub origin_cover: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub dynamic_cover: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub play_addr: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub download_addr: Option<UrlField>,
    #[serde(deserialize_with = "lenient_list")]
    pub bitrate_info: Vec<BitrateInfo>,
    #[serde(deserialize_with = "lenient")]
    pub codec_type: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub bitrate: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub size: Option<FlexU64>,
    #[serde(deserialize_with = "lenient_list")]
    pub subtitle_infos: Vec<SubtitleInfo>,
    #[serde(deserialize_with = "lenient")]
    pub cla_info: Option<ClaInfo>,
}

/// `video.bitrateInfo[]` (PascalCase; camelCase accepted too).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BitrateInfo {
    #[serde(alias = "gearName", deserialize_with = "lenient")]
    pub gear_name: Option<String>,
    #[serde(alias = "bitrate", deserialize_with = "lenient")]
    pub bitrate: Option<FlexU64>,
    #[serde(alias = "codecType", deserialize_with = "lenient")]
    pub codec_type: Option<String>,
    #[serde(alias = "playAddr", deserialize_with = "lenient")]
    pub play_addr: Option<PlayAddr>,
}

/// `bitrateInfo[].PlayAddr`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PlayAddr {
    #[serde(alias = "dataSize", deserialize_with = "lenient")]
    pub data_size: Option<FlexU64>,
    #[serde(alias = "width", deserialize_with = "lenient")]
    pub width: Option<FlexU64>,
    #[serde(alias = "height", deserialize_with = "lenient")]
    pub height: Option<FlexU64>,
    #[serde(alias = "urlKey", deserialize_with = "lenient")]
    pub url_key: Option<String>,
    #[serde(alias = "urlList", deserialize_with = "lenient")]
    pub url_list: Option<UrlField>,
}

/// `video.subtitleInfos[]` (PascalCase).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SubtitleInfo {
    #[serde(deserialize_with = "lenient")]
    pub format: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub language_code_name: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub source: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub url: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub url_expire: Option<FlexI64>,
}

/// `video.claInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClaInfo {
    #[serde(deserialize_with = "lenient_list")]
    pub caption_infos: Vec<CaptionInfo>,
}

/// `video.claInfo.captionInfos[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CaptionInfo {
    #[serde(deserialize_with = "lenient")]
    pub caption_format: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub expire: Option<FlexI64>,
    #[serde(deserialize_with = "lenient")]
    pub is_auto_gen: Option<FlexBool>,
    #[serde(deserialize_with = "lenient")]
    pub is_original_caption: Option<FlexBool>,
    #[serde(deserialize_with = "lenient")]
    pub language: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub language_code: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub url: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub url_list: Option<UrlField>,
}

/// `itemStruct.author` (object form) and `authorInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ItemAuthor {
    #[serde(alias = "uid", alias = "userId", deserialize_with = "lenient")]
    pub id: Option<FlexString>,
    #[serde(deserialize_with = "lenient")]
    pub unique_id: Option<String>,
    #[serde(alias = "nickName", deserialize_with = "lenient")]
    pub nickname: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub sec_uid: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub verified: Option<FlexBool>,
    #[serde(deserialize_with = "lenient")]
    pub private_account: Option<FlexBool>,
    #[serde(deserialize_with = "lenient")]
    pub secret: Option<FlexBool>,
    #[serde(deserialize_with = "lenient")]
    pub signature: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub avatar_larger: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub avatar_medium: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub avatar_thumb: Option<UrlField>,
}

/// `authorStats` (ints, display-rounded) and `authorStatsV2` (exact decimal strings).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AuthorStats {
    #[serde(deserialize_with = "lenient")]
    pub follower_count: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub following_count: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub heart_count: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub heart: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub video_count: Option<FlexU64>,
}

/// `itemStruct.music`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ItemMusic {
    #[serde(deserialize_with = "lenient")]
    pub id: Option<FlexString>,
    #[serde(deserialize_with = "lenient")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub author_name: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub album: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub original: Option<FlexBool>,
    #[serde(deserialize_with = "lenient")]
    pub duration: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub play_url: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub cover_large: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub cover_medium: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub cover_thumb: Option<UrlField>,
}

/// `itemStruct.challenges[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Challenge {
    #[serde(deserialize_with = "lenient")]
    pub id: Option<FlexString>,
    #[serde(deserialize_with = "lenient")]
    pub title: Option<String>,
}

/// `stats` (ints, display-rounded) and `statsV2` (exact decimal strings).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ItemStats {
    #[serde(deserialize_with = "lenient")]
    pub play_count: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub digg_count: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub comment_count: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub share_count: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub collect_count: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub repost_count: Option<FlexU64>,
}

/// `textExtra[]`: a hashtag (`type` 1) or mention (`type` 0) span of `desc`, in UTF-16 units.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TextExtra {
    #[serde(deserialize_with = "lenient")]
    pub start: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub end: Option<FlexU64>,
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: Option<FlexI64>,
    #[serde(deserialize_with = "lenient")]
    pub hashtag_id: Option<FlexString>,
    #[serde(deserialize_with = "lenient")]
    pub hashtag_name: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub user_id: Option<FlexString>,
    #[serde(deserialize_with = "lenient")]
    pub user_unique_id: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub sec_uid: Option<String>,
}

/// `contents[]`: a piece of the caption with its own spans.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContentPiece {
    #[serde(deserialize_with = "lenient")]
    pub desc: Option<String>,
    #[serde(deserialize_with = "lenient_list")]
    pub text_extra: Vec<TextExtra>,
}

/// `imagePost` of a photo post.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ImagePost {
    #[serde(deserialize_with = "lenient_list")]
    pub images: Vec<ImageData>,
    #[serde(deserialize_with = "lenient")]
    pub cover: Option<ImageData>,
}

/// `imagePost.images[]`, `imagePost.cover`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ImageData {
    #[serde(rename = "imageURL", alias = "imageUrl", deserialize_with = "lenient")]
    pub image_url: Option<UrlField>,
    #[serde(deserialize_with = "lenient")]
    pub image_width: Option<FlexU64>,
    #[serde(deserialize_with = "lenient")]
    pub image_height: Option<FlexU64>,
}

/// Non-empty, trimmed text.
pub fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}
