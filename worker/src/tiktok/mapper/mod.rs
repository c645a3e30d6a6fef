//! The one mapper from TikTok's `itemStruct` (page, reflow, SIGI, feed item, or yt-dlp's raw item)
//! to `shared::video::Video`: ids, caption, counts (statsV2 first), author, music and kind here;
//! media, covers, images and subtitles in `media`; hashtags and mentions in `caption`.

mod caption;
mod media;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::id_creation_unix_seconds;
use tokworks_shared::video::{
    Author, ImageUrl, MediaLink, Music, VIDEO_SCHEMA_VERSION, Video, VideoCounts, VideoKind,
    VideoSource,
};

use super::item::{AuthorStats, ItemAuthor, ItemStats, ItemStruct, non_empty};
use super::lenient::{FlexBool, FlexU64};

pub use media::url_expiry;

/// What the caller knows that the item does not: who extracted it and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapContext {
    /// `ytdlp` or `web`; copied into `Video::source`.
    pub source: VideoSource,
    /// Copied into `Video::extracted_at`.
    pub extracted_at: DateTime<Utc>,
}

/// Why an item could not be mapped: what was missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("the item is not a JSON object")]
    NotAnObject,
    #[error("the item has no usable `{field}`")]
    MissingField { field: &'static str },
    #[error("the item is age-restricted (isContentClassified) and carries no video")]
    AgeRestricted,
    #[error("the item carries neither `video` nor `imagePost`")]
    NoMedia,
}

impl MapError {
    /// The item error code: `AGE_RESTRICTED` for classified content, else `UPSTREAM_CHANGED` (layout drift).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            MapError::AgeRestricted => ErrorCode::AgeRestricted,
            _ => ErrorCode::UpstreamChanged,
        }
    }
}

/// Maps one `itemStruct` to a `Video`. Tolerates everything of docs/tiktok-formats.md
/// "Parser robustness checklist".
pub fn map_item(item: &Value, context: &MapContext) -> Result<Video, MapError> {
    if !item.is_object() {
        return Err(MapError::NotAnObject);
    }
    let parsed = ItemStruct::deserialize(item).map_err(|_| MapError::NotAnObject)?;
    let is_classified = parsed
        .is_content_classified
        .is_some_and(|FlexBool(flag)| flag);
    let has_images = parsed
        .image_post
        .as_ref()
        .is_some_and(|post| !post.images.is_empty());
    if parsed.video.is_none() && !has_images {
        return Err(if is_classified {
            MapError::AgeRestricted
        } else {
            MapError::NoMedia
        });
    }

    let id = item_id(&parsed).ok_or(MapError::MissingField { field: "id" })?;
    let create_time = parsed
        .create_time
        .map(|time| time.0)
        .filter(|time| *time > 0)
        .or_else(|| id_creation_unix_seconds(&id))
        .ok_or(MapError::MissingField {
            field: "createTime",
        })?;
    let created_at =
        DateTime::<Utc>::from_timestamp(create_time, 0).ok_or(MapError::MissingField {
            field: "createTime",
        })?;
    let author = map_author(&parsed).ok_or(MapError::MissingField {
        field: "author.uniqueId",
    })?;
    let kind = if has_images {
        VideoKind::Photo
    } else {
        VideoKind::Video
    };
    let description = parsed.desc.clone().unwrap_or_default();
    let (counts, counts_exact) = map_counts(parsed.stats_v2.as_ref(), parsed.stats.as_ref());
    let music = map_music(&parsed);
    let video = parsed.video.clone().unwrap_or_default();
    let positive = |value: Option<FlexU64>| {
        value
            .map(|FlexU64(number)| number)
            .filter(|number| *number > 0)
    };
    let music_duration = music.as_ref().and_then(|music| music.duration_seconds);
    let duration_seconds = positive(video.duration)
        .and_then(|seconds| u32::try_from(seconds).ok())
        .or(if kind == VideoKind::Photo {
            music_duration
        } else {
            None
        })
        .unwrap_or(0);
    let images = media::map_images(parsed.image_post.as_ref());
    let first_image = images.first();
    let width = positive(video.width)
        .and_then(|value| u32::try_from(value).ok())
        .or(first_image.and_then(|image| image.width));
    let height = positive(video.height)
        .and_then(|value| u32::try_from(value).ok())
        .or(first_image.and_then(|image| image.height));
    let (hashtags, mentions) = caption::hashtags_and_mentions(&parsed, &description);
    let path = if kind == VideoKind::Photo {
        "photo"
    } else {
        "video"
    };
    let covers = media::map_covers(&parsed, &video, &images);

    Ok(Video {
        schema_version: VIDEO_SCHEMA_VERSION,
        url: format!("https://www.tiktok.com/@{}/{path}/{id}", author.unique_id),
        id,
        kind,
        description,
        created_at,
        create_time,
        duration_seconds,
        width,
        height,
        hashtags,
        mentions,
        counts,
        counts_exact,
        author,
        music,
        covers,
        media: media::map_media(&video),
        images,
        subtitles: media::map_subtitles(&video),
        location_created: non_empty(parsed.location_created.as_deref()),
        is_ad: parsed.is_ad.is_some_and(|FlexBool(flag)| flag),
        text_language: non_empty(parsed.text_language.as_deref())
            .filter(|language| language != "un"),
        diversification_labels: parsed
            .diversification_labels
            .iter()
            .filter_map(|label| non_empty(Some(label)))
            .collect(),
        source: context.source,
        extracted_at: context.extracted_at,
    })
}

/// `id`, else a numeric `video.id` (the 2020 NEXT_DATA `video.id` is junk, so it must be digits).
fn item_id(parsed: &ItemStruct) -> Option<String> {
    let is_id = |text: &str| {
        !text.is_empty() && text.len() <= 20 && text.bytes().all(|byte| byte.is_ascii_digit())
    };
    parsed
        .id
        .as_ref()
        .map(|id| id.0.trim().to_string())
        .filter(|id| is_id(id))
        .or_else(|| {
            parsed
                .video
                .as_ref()?
                .id
                .as_ref()
                .map(|id| id.0.trim().to_string())
                .filter(|id| is_id(id))
        })
}

/// Counts from `statsV2` (exact) when it has a play count, else from `stats` (display-rounded).
fn map_counts(stats_v2: Option<&ItemStats>, stats: Option<&ItemStats>) -> (VideoCounts, bool) {
    let exact = stats_v2.filter(|stats| stats.play_count.is_some());
    let primary = exact.or(stats);
    let pick = |field: fn(&ItemStats) -> Option<FlexU64>| -> Option<u64> {
        primary
            .and_then(field)
            .or_else(|| stats.and_then(field))
            .map(|FlexU64(number)| number)
    };
    let counts = VideoCounts {
        play_count: pick(|stats| stats.play_count).unwrap_or(0),
        like_count: pick(|stats| stats.digg_count).unwrap_or(0),
        comment_count: pick(|stats| stats.comment_count).unwrap_or(0),
        share_count: pick(|stats| stats.share_count).unwrap_or(0),
        collect_count: pick(|stats| stats.collect_count).unwrap_or(0),
        repost_count: primary
            .and_then(|stats| stats.repost_count)
            .map(|FlexU64(number)| number),
    };
    (counts, exact.is_some())
}

/// The author from `authorInfo`, the `author` object, or SIGI's string `author` plus flattened fields.
fn map_author(parsed: &ItemStruct) -> Option<Author> {
    let object: Option<ItemAuthor> = parsed
        .author_info
        .clone()
        .filter(|author| author.unique_id.is_some())
        .or_else(|| {
            parsed
                .author
                .as_ref()
                .filter(|value| value.is_object())
                .and_then(|value| ItemAuthor::deserialize(value).ok())
        });
    let handle_string = parsed
        .author
        .as_ref()
        .and_then(Value::as_str)
        .map(str::to_string);
    let author = object.unwrap_or_default();
    let unique_id =
        non_empty(author.unique_id.as_deref()).or_else(|| non_empty(handle_string.as_deref()))?;
    let flag = |value: Option<FlexBool>| value.is_some_and(|FlexBool(flag)| flag);
    let avatar_url = [
        &author.avatar_larger,
        &author.avatar_medium,
        &author.avatar_thumb,
    ]
    .into_iter()
    .find_map(|urls| urls.as_ref().and_then(|urls| urls.0.first().cloned()))
    .or_else(|| non_empty(parsed.avatar_thumb.as_deref()));
    let (stats, counts_exact): (Option<&AuthorStats>, bool) =
        match (&parsed.author_stats_v2, &parsed.author_stats) {
            (Some(exact), _) => (Some(exact), true),
            (None, Some(rounded)) => (Some(rounded), false),
            (None, None) => (None, false),
        };
    let count = |field: fn(&AuthorStats) -> Option<FlexU64>| {
        stats.and_then(field).map(|FlexU64(number)| number)
    };
    Some(Author {
        id: author
            .id
            .map(|id| id.0)
            .or_else(|| parsed.author_id.clone().map(|id| id.0))
            .filter(|id| !id.is_empty()),
        unique_id,
        nickname: non_empty(author.nickname.as_deref())
            .or_else(|| non_empty(parsed.nickname.as_deref())),
        sec_uid: non_empty(author.sec_uid.as_deref())
            .or_else(|| non_empty(parsed.author_sec_id.as_deref())),
        verified: flag(author.verified),
        private_account: flag(author.private_account) || flag(author.secret),
        signature: author.signature.filter(|signature| !signature.is_empty()),
        avatar: avatar_url.map(|url| ImageUrl {
            expires_at: url_expiry(&url),
            url,
        }),
        follower_count: count(|stats| stats.follower_count),
        following_count: count(|stats| stats.following_count),
        heart_count: count(|stats| stats.heart_count).or_else(|| count(|stats| stats.heart)),
        video_count: count(|stats| stats.video_count),
        counts_exact: counts_exact && stats.is_some_and(|stats| stats.follower_count.is_some()),
    })
}

fn map_music(parsed: &ItemStruct) -> Option<Music> {
    let music = parsed.music.as_ref()?;
    let id = music
        .id
        .as_ref()
        .map(|id| id.0.trim().to_string())
        .filter(|id| !id.is_empty() && id != "0");
    let title = non_empty(music.title.as_deref());
    if id.is_none() && title.is_none() {
        return None;
    }
    let play_url = music
        .play_url
        .as_ref()
        .and_then(|urls| urls.0.first())
        .map(|url| MediaLink {
            expires_at: url_expiry(url),
            url: url.clone(),
            watermarked: false,
        });
    let cover = [&music.cover_large, &music.cover_medium, &music.cover_thumb]
        .into_iter()
        .find_map(|urls| urls.as_ref().and_then(|urls| urls.0.first().cloned()))
        .map(|url| ImageUrl {
            expires_at: url_expiry(&url),
            url,
        });
    Some(Music {
        id,
        title,
        author_name: non_empty(music.author_name.as_deref()),
        album: non_empty(music.album.as_deref()),
        original: music.original.is_some_and(|FlexBool(flag)| flag),
        duration_seconds: music
            .duration
            .and_then(|FlexU64(seconds)| u32::try_from(seconds).ok()),
        play_url,
        cover,
    })
}
