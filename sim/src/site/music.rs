//! The sound APIs (docs/tiktok-formats.md "Music"): `GET /api/music/detail/?musicId=` →
//! `musicInfo{music, author, stats, statsV2}` (answered unsigned, like the challenge detail) and
//! the signed `GET /api/music/item_list/?musicID=&count=&cursor=` → `itemList`, `hasMore` and
//! `cursor` as an offset string. An unknown (or non-numeric) music id answers `statusCode` 10203
//! (MUSIC_NOT_EXIST) in the envelope. The list is `Corpus::posts_with_music`.

use serde_json::{Value, json};

use crate::exchange::{SimRequest, SimResponse};

use super::TiktokSite;
use super::feeds::{envelope, parse_count, parse_cursor, respond, respond_items, status};

/// TikTok's "music does not exist" status.
pub const MUSIC_NOT_EXIST: i64 = 10203;

fn music_id(request: &SimRequest, name: &str) -> Option<u64> {
    request
        .query_param(name)
        .and_then(|id| id.trim().parse::<u64>().ok())
}

pub(super) fn music_detail(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let Some(id) = music_id(request, "musicId") else {
        return status(site, request, MUSIC_NOT_EXIST, "");
    };
    let Some((music, author)) = site.corpus.music_by_id(id) else {
        return status(site, request, MUSIC_NOT_EXIST, "");
    };
    let video_count = site.corpus.posts_with_music(id).len();
    let log_id = site.log_id(id);
    let urls = site.url_builder(&log_id);
    let music_json = json!({
        "id": id.to_string(),
        "title": &music.title,
        "authorName": &music.author_name,
        "album": &music.album,
        "original": music.original,
        "duration": music.duration,
        "playUrl": urls.audio_url(&music.audio_key),
        "coverThumb": urls.music_cover_url(&music.cover_key, 100),
        "coverMedium": urls.music_cover_url(&music.cover_key, 720),
        "coverLarge": urls.music_cover_url(&music.cover_key, 1080),
        "isCopyrighted": !music.original,
        "private": false,
    });
    let author_json = match site.corpus.users.get(author) {
        Some(user) if music.original => json!({
            "id": user.id.to_string(),
            "uniqueId": user.unique_id,
            "nickname": user.nickname,
            "secUid": user.sec_uid,
            "avatarThumb": urls.avatar_url(&user.avatar_key, 100, &user.avatar_refresh_token),
        }),
        _ => Value::Null,
    };
    let mut info = json!({
        "music": music_json,
        "stats": { "videoCount": video_count },
        "statsV2": { "videoCount": video_count.to_string() },
    });
    if !author_json.is_null() {
        info["author"] = author_json;
    } else {
        info["artist"] = json!({ "nickname": &music.author_name });
    }
    let mut map = envelope(site, request, 0, "");
    map.insert("musicInfo".to_string(), info);
    map.insert(
        "shareMeta".to_string(),
        json!({ "title": &music.title, "desc": format!("{video_count} videos") }),
    );
    respond(map)
}

pub(super) fn music_items(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let (Ok(count), Ok(offset)) = (parse_count(request), parse_cursor(request)) else {
        return status(site, request, 10201, "invalid params");
    };
    let Some(id) = music_id(request, "musicID") else {
        return status(site, request, MUSIC_NOT_EXIST, "");
    };
    let posts = site.corpus.posts_with_music(id);
    if posts.is_empty() {
        return status(site, request, MUSIC_NOT_EXIST, "");
    }
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(posts.len());
    let end = (start + count).min(posts.len());
    let mut map = envelope(site, request, 0, "");
    map.insert("hasMore".to_string(), json!(end < posts.len()));
    map.insert("cursor".to_string(), json!(end.to_string()));
    respond_items(site, request, &map, &posts[start..end], false)
}
