//! The sound walker (docs/tiktok-formats.md "Music"): `/api/music/detail/?musicId=` for the
//! sound's metadata (kept as a typed `SoundInfo` for the walk), then
//! `/api/music/item_list/?musicID=&count=&cursor=` (`itemList`, `hasMore`, `cursor` as an offset
//! string). `statusCode` 10203 (MUSIC_NOT_EXIST) or a detail without `musicInfo.music.id` is
//! `SOUND_NOT_FOUND`.

use serde::Deserialize;
use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::sound::SoundInfo;

use super::classify::FeedFailure;
use super::envelope::{ItemListPage, Status};
use super::feeds::{FeedWalker, Step, WalkState};
use crate::tiktok::lenient::{FlexBool, FlexString, FlexU64, lenient};

const DETAIL_PATH: &str = "/api/music/detail/";
const ITEMS_PATH: &str = "/api/music/item_list/";
/// TikTok's "music does not exist".
const MUSIC_NOT_EXIST: i64 = 10203;

/// `/api/music/detail/`'s answer.
#[derive(Debug, Clone, Deserialize)]
struct MusicDetail {
    #[serde(flatten)]
    status: Status,
    #[serde(rename = "musicInfo", default, deserialize_with = "lenient")]
    music_info: Option<MusicInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct MusicInfo {
    #[serde(default, deserialize_with = "lenient")]
    music: Option<MusicFields>,
    /// An object (the creator of an original sound) or a string.
    #[serde(default)]
    author: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    stats: Option<MusicStats>,
    #[serde(rename = "statsV2", default, deserialize_with = "lenient")]
    stats_v2: Option<MusicStats>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct MusicFields {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<FlexString>,
    #[serde(default, deserialize_with = "lenient")]
    title: Option<FlexString>,
    #[serde(rename = "authorName", default, deserialize_with = "lenient")]
    author_name: Option<FlexString>,
    #[serde(default, deserialize_with = "lenient")]
    album: Option<FlexString>,
    #[serde(default, deserialize_with = "lenient")]
    duration: Option<FlexU64>,
    #[serde(default, deserialize_with = "lenient")]
    original: Option<FlexBool>,
    #[serde(rename = "coverLarge", default, deserialize_with = "lenient")]
    cover_large: Option<FlexString>,
    #[serde(rename = "coverMedium", default, deserialize_with = "lenient")]
    cover_medium: Option<FlexString>,
    #[serde(rename = "coverThumb", default, deserialize_with = "lenient")]
    cover_thumb: Option<FlexString>,
    #[serde(rename = "playUrl", default, deserialize_with = "lenient")]
    play_url: Option<FlexString>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
struct MusicStats {
    #[serde(rename = "videoCount", default, deserialize_with = "lenient")]
    video_count: Option<FlexU64>,
}

fn non_empty(text: Option<FlexString>) -> Option<String> {
    text.map(|FlexString(text)| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// The author's name of a `musicInfo.author` object or string.
fn author_name(author: Option<&Value>) -> Option<String> {
    match author? {
        Value::String(name) => Some(name.trim().to_owned()).filter(|name| !name.is_empty()),
        Value::Object(object) => ["nickname", "uniqueId"]
            .into_iter()
            .filter_map(|key| object.get(key).and_then(Value::as_str))
            .map(str::trim)
            .find(|name| !name.is_empty())
            .map(str::to_owned),
        _ => None,
    }
}

fn not_found(what: &str, why: &str) -> FeedFailure {
    FeedFailure::new(
        ErrorCode::SoundNotFound,
        format!("{what}: TikTok knows no such sound ({why})"),
    )
}

/// The sound of a detail answer; `SOUND_NOT_FOUND` for 10203 or a music without `id`.
pub fn parse_music_detail(what: &str, value: Value) -> Result<SoundInfo, FeedFailure> {
    let detail: MusicDetail = serde_json::from_value(value)
        .map_err(|error| FeedFailure::changed(format!("{what}: {error}")))?;
    if detail.status.code() == MUSIC_NOT_EXIST {
        return Err(not_found(what, "statusCode 10203"));
    }
    detail.status.check(what)?;
    let info = detail.music_info.unwrap_or_default();
    let music = info.music.clone().unwrap_or_default();
    let Some(id) = non_empty(music.id) else {
        return Err(not_found(what, "no musicInfo.music.id"));
    };
    let video_count = info
        .stats_v2
        .and_then(|stats| stats.video_count)
        .or_else(|| {
            info.stats
                .and_then(|stats| stats.video_count)
                .filter(|FlexU64(count)| *count > 0)
        })
        .map(|FlexU64(count)| count);
    Ok(SoundInfo {
        id,
        title: non_empty(music.title).unwrap_or_default(),
        author: non_empty(music.author_name).or_else(|| author_name(info.author.as_ref())),
        album: non_empty(music.album),
        duration_seconds: music
            .duration
            .and_then(|FlexU64(seconds)| u32::try_from(seconds).ok())
            .filter(|seconds| *seconds > 0),
        original: music.original.is_some_and(|FlexBool(flag)| flag),
        cover_url: non_empty(music.cover_large)
            .or_else(|| non_empty(music.cover_medium))
            .or_else(|| non_empty(music.cover_thumb)),
        play_url: non_empty(music.play_url),
        video_count,
    })
}

impl FeedWalker<'_> {
    /// Reads the sound's metadata (kept on the walker) and starts its list.
    pub(super) async fn sound_detail(&mut self, music_id: String) -> Result<Step, FeedFailure> {
        let value = self
            .session
            .api(DETAIL_PATH, "music", &[("musicId", music_id.clone())])
            .await?;
        let sound = parse_music_detail(DETAIL_PATH, value)?;
        self.sound = Some(sound);
        Ok(Step::Resolved(WalkState::Sound {
            music_id,
            cursor: 0,
        }))
    }

    /// One page of the sound's videos from `cursor` (an offset).
    pub(super) async fn sound_page(
        &mut self,
        music_id: String,
        cursor: u64,
        count: String,
    ) -> Result<Step, FeedFailure> {
        let params = [
            ("musicID", music_id.clone()),
            ("count", count),
            ("cursor", cursor.to_string()),
        ];
        let value = self.session.api(ITEMS_PATH, "music", &params).await?;
        let code = serde_json::from_value::<Status>(value.clone())
            .map(|status| status.code())
            .unwrap_or(0);
        if code == MUSIC_NOT_EXIST {
            return Err(not_found(ITEMS_PATH, "statusCode 10203"));
        }
        let page = ItemListPage::parse(ITEMS_PATH, value)?;
        let items = page.items();
        let next = match (page.has_more(), page.cursor()) {
            (false, _) => None,
            (true, Some(next)) if next > cursor => Some(WalkState::Sound {
                music_id,
                cursor: next,
            }),
            (true, next) => {
                return Err(FeedFailure::changed(format!(
                    "{ITEMS_PATH}: hasMore with a cursor that does not advance ({next:?} after {cursor})"
                )));
            }
        };
        Ok(Step::Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_music_detail_becomes_a_typed_sound() {
        let sound = parse_music_detail(
            "x",
            json!({"statusCode": 0, "musicInfo": {
                "music": {"id": 7454730076952459393_u64, "title": "original sound - Ann",
                          "authorName": "", "album": "", "duration": "31", "original": 1,
                          "coverLarge": "", "coverMedium": "https://p16/c.jpeg", "playUrl": ""},
                "author": {"uniqueId": "ann", "nickname": "Ann"},
                "stats": {"videoCount": 0}, "statsV2": {"videoCount": "120"}}}),
        )
        .unwrap();
        assert_eq!(
            sound,
            SoundInfo {
                id: "7454730076952459393".to_owned(),
                title: "original sound - Ann".to_owned(),
                author: Some("Ann".to_owned()),
                album: None,
                duration_seconds: Some(31),
                original: true,
                cover_url: Some("https://p16/c.jpeg".to_owned()),
                play_url: None,
                video_count: Some(120),
            }
        );
        let licensed = parse_music_detail(
            "x",
            json!({"musicInfo": {"music": {"id": "1", "title": "Espresso",
                   "authorName": "Sabrina Carpenter", "album": "Short n' Sweet"},
                   "author": "ignored", "stats": {"videoCount": 9}}}),
        )
        .unwrap();
        assert_eq!(licensed.author.as_deref(), Some("Sabrina Carpenter"));
        assert_eq!(licensed.album.as_deref(), Some("Short n' Sweet"));
        assert_eq!(licensed.video_count, Some(9));
        assert!(!licensed.original);
    }

    #[test]
    fn unknown_sounds_are_not_found_and_other_statuses_classify_as_usual() {
        for answer in [
            json!({"statusCode": 10203, "status_msg": ""}),
            json!({"status_code": 10203}),
            json!({"statusCode": 0, "musicInfo": {"music": {"title": "x"}}}),
            json!({"statusCode": 0}),
        ] {
            assert_eq!(
                parse_music_detail("x", answer.clone()).unwrap_err().code,
                ErrorCode::SoundNotFound,
                "{answer}"
            );
        }
        assert_eq!(
            parse_music_detail("x", json!({"statusCode": 10000}))
                .unwrap_err()
                .code,
            ErrorCode::UpstreamBlocked
        );
        assert_eq!(
            parse_music_detail("x", json!("text")).unwrap_err().code,
            ErrorCode::UpstreamChanged
        );
    }
}
