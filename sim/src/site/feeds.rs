//! Web feed APIs under `www.tiktok.com/api/…` with TikTok's envelope and cursor semantics;
//! signed endpoints answer an empty 200 unless `msToken` and a signature parameter are present.

use std::collections::HashMap;
use std::sync::Mutex;

use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::corpus::PostCondition;
use crate::corpus::added::FeedRef;
use crate::exchange::{SimRequest, SimResponse};

use super::TiktokSite;
use super::item::{self, ItemOptions};
use super::json_writer::JsonWriter;
use super::pages;

/// Largest page TikTok serves.
pub const MAX_COUNT: usize = 35;
const DEFAULT_COUNT: usize = 30;
const MAX_TRENDING_SESSIONS: usize = 50_000;

/// Per-session progress through the trending list, keyed by device id or msToken.
#[derive(Debug, Default)]
pub struct TrendingSessions {
    offsets: Mutex<HashMap<String, usize>>,
}

impl TrendingSessions {
    /// Takes the next `count` positions of a list of `len` for `key`: `(start, end, has_more)`.
    /// The session starts over after its last batch.
    fn advance(&self, key: &str, count: usize, len: usize) -> (usize, usize, bool) {
        let mut offsets = match self.offsets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if offsets.len() >= MAX_TRENDING_SESSIONS && !offsets.contains_key(key) {
            offsets.clear();
        }
        let start = offsets.get(key).copied().unwrap_or(0).min(len);
        let end = (start + count).min(len);
        let has_more = end < len;
        if has_more {
            offsets.insert(key.to_string(), end);
        } else {
            offsets.remove(key);
        }
        (start, end, has_more)
    }
}

fn plausible(request: &SimRequest, name: &str) -> bool {
    request
        .query_param(name)
        .is_some_and(|value| value.trim().len() >= 20)
}

/// Whether a request carries `msToken` and a signature (`X-Bogus`, `X-Gnarly` or `_signature`).
pub fn is_signed(request: &SimRequest) -> bool {
    plausible(request, "msToken")
        && (plausible(request, "X-Bogus")
            || plausible(request, "X-Gnarly")
            || plausible(request, "_signature"))
}

pub(super) fn empty_ok() -> SimResponse {
    SimResponse::with_body(
        StatusCode::OK,
        "application/json; charset=utf-8",
        Vec::new(),
    )
}

/// The common envelope with `statusCode` `code`.
pub(super) fn envelope(
    site: &TiktokSite,
    request: &SimRequest,
    code: i64,
    message: &str,
) -> Map<String, Value> {
    let log_id = site.log_id(crate::corpus::ids::hash_bytes(
        site.options.seed,
        request.url().as_bytes(),
    ));
    let mut map = Map::new();
    map.insert(
        "extra".to_string(),
        json!({ "fatal_item_ids": [], "logid": log_id, "now": site.options.now_unix * 1_000 }),
    );
    map.insert("log_pb".to_string(), json!({ "impr_id": log_id }));
    map.insert("statusCode".to_string(), json!(code));
    map.insert("status_code".to_string(), json!(code));
    map.insert("status_msg".to_string(), json!(message));
    map
}

pub(super) fn respond(map: Map<String, Value>) -> SimResponse {
    SimResponse::json(StatusCode::OK, &Value::Object(map))
}

pub(super) fn status(
    site: &TiktokSite,
    request: &SimRequest,
    code: i64,
    message: &str,
) -> SimResponse {
    respond(envelope(site, request, code, message))
}

/// `count`: default 30, capped at 35; `Err` when it is not a positive integer.
pub(super) fn parse_count(request: &SimRequest) -> Result<usize, ()> {
    match request.query_param("count") {
        None => Ok(DEFAULT_COUNT),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(value) if value > 0 => Ok((value as usize).min(MAX_COUNT)),
            _ => Err(()),
        },
    }
}

/// A cursor: absent/empty → 0; `Err` when not a non-negative integer.
pub(super) fn parse_cursor(request: &SimRequest) -> Result<u64, ()> {
    match request.query_param("cursor") {
        None => Ok(0),
        Some(text) if text.trim().is_empty() => Ok(0),
        Some(text) => text.trim().parse::<u64>().map_err(|_| ()),
    }
}

/// Responds with the envelope `map` plus `itemList` of the posts `indices` (full itemStructs).
pub(super) fn respond_items(
    site: &TiktokSite,
    request: &SimRequest,
    map: &Map<String, Value>,
    indices: &[u32],
    in_user_list: bool,
) -> SimResponse {
    respond_items_as(site, request, map, indices, in_user_list, "itemList")
}

/// [`respond_items`] with the list under `list_key` (search answers `item_list`).
pub(super) fn respond_items_as(
    site: &TiktokSite,
    request: &SimRequest,
    map: &Map<String, Value>,
    indices: &[u32],
    in_user_list: bool,
    list_key: &str,
) -> SimResponse {
    let log_id = site.log_id(crate::corpus::ids::hash_bytes(7, request.path.as_bytes()));
    let urls = site.url_builder(&log_id);
    let options = ItemOptions {
        create_time_as_string: false,
        in_user_list,
    };
    let mut writer = JsonWriter::new(false, 24 * 1024 * indices.len().max(1));
    writer.begin_object();
    for (key, value) in map {
        writer.key(key).value(value);
    }
    writer.key(list_key).begin_array();
    for post in indices.iter().filter_map(|index| site.corpus.post(*index)) {
        item::write_item_struct(&mut writer, &site.corpus, &post, &urls, options);
    }
    writer.end_array().end_object();
    SimResponse::with_body(
        StatusCode::OK,
        "application/json; charset=utf-8",
        writer.finish(),
    )
}

/// Routes `/api/…` paths; `None` when the path is not a feed API.
pub fn handle(site: &TiktokSite, request: &SimRequest) -> Option<SimResponse> {
    let path = request.path.trim_end_matches('/');
    let signed_endpoint = matches!(
        path,
        "/api/recommend/item_list"
            | "/api/challenge/item_list"
            | "/api/post/item_list"
            | "/api/user/detail"
            | "/api/item/detail"
            | "/api/search/item/full"
            | "/api/music/item_list"
    );
    if signed_endpoint && !is_signed(request) {
        return Some(empty_ok());
    }
    let response = match path {
        "/api/recommend/item_list" => recommend(site, request),
        "/api/challenge/detail" => challenge_detail(site, request),
        "/api/challenge/item_list" => challenge_items(site, request),
        "/api/post/item_list" => user_posts(site, request),
        "/api/creator/item_list" => creator_items(site, request),
        "/api/user/detail" => user_detail(site, request),
        "/api/item/detail" => item_detail(site, request),
        "/api/search/item/full" => super::search::search_items(site, request),
        "/api/music/detail" => super::music::music_detail(site, request),
        "/api/music/item_list" => super::music::music_items(site, request),
        _ => return None,
    };
    Some(response)
}

fn recommend(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let Ok(count) = parse_count(request) else {
        return status(site, request, 10201, "invalid count");
    };
    let key = request
        .query_param("device_id")
        .filter(|id| !id.is_empty())
        .or_else(|| request.query_param("msToken"))
        .unwrap_or_default();
    let trending = site.corpus.trending();
    let (start, end, has_more) = site.trending_sessions.advance(&key, count, trending.len());
    let mut map = envelope(site, request, 0, "");
    map.insert("hasMore".to_string(), json!(has_more));
    map.insert("cursor".to_string(), json!("0"));
    respond_items(site, request, &map, &trending[start..end], false)
}

fn challenge_detail(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let hashtag = match (
        request.query_param("challengeName"),
        request.query_param("challengeID"),
    ) {
        (Some(name), _) if !name.is_empty() => {
            site.corpus.hashtag_by_name(name.trim_start_matches('#'))
        }
        (_, Some(id)) if !id.is_empty() => site.corpus.hashtag_by_id(&id),
        _ => return status(site, request, 10201, "invalid params"),
    };
    let Some((info, share_meta)) =
        hashtag.and_then(|hashtag| pages::challenge_info_json(site, hashtag.index))
    else {
        return status(site, request, 10205, "");
    };
    let mut map = envelope(site, request, 0, "");
    map.insert("challengeInfo".to_string(), info);
    map.insert("shareMeta".to_string(), share_meta);
    respond(map)
}

fn challenge_items(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let (Ok(count), Ok(offset)) = (parse_count(request), parse_cursor(request)) else {
        return status(site, request, 10201, "invalid params");
    };
    let Some(id) = request
        .query_param("challengeID")
        .filter(|id| !id.is_empty())
    else {
        return status(site, request, 10201, "invalid params");
    };
    let Some(hashtag) = site.corpus.hashtag_by_id(&id) else {
        return status(site, request, 10205, "");
    };
    // Posts added by the control API first (newest), then the corpus's own.
    let mut posts = site.corpus.added_posts_for(FeedRef::Hashtag(hashtag.index));
    posts.extend_from_slice(site.corpus.hashtag_posts(hashtag.index));
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(posts.len());
    let end = (start + count).min(posts.len());
    let mut map = envelope(site, request, 0, "");
    map.insert("hasMore".to_string(), json!(end < posts.len()));
    map.insert("cursor".to_string(), json!(end.to_string()));
    respond_items(site, request, &map, &posts[start..end], false)
}

fn lookup_user<'a>(
    site: &'a TiktokSite,
    request: &SimRequest,
) -> Result<&'a crate::corpus::users::User, i64> {
    let by_sec_uid = request
        .query_param("secUid")
        .filter(|value| !value.is_empty());
    let by_unique_id = request
        .query_param("uniqueId")
        .filter(|value| !value.is_empty());
    match (by_sec_uid, by_unique_id) {
        (Some(sec_uid), _) => site.corpus.users.by_sec_uid(&sec_uid).ok_or(10202),
        (None, Some(unique_id)) => site
            .corpus
            .users
            .by_unique_id(unique_id.trim_start_matches('@'))
            .ok_or(10202),
        (None, None) => Err(10201),
    }
}

fn user_posts(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let (Ok(count), Ok(cursor)) = (parse_count(request), parse_cursor(request)) else {
        return status(site, request, 10201, "invalid params");
    };
    let user = match lookup_user(site, request) {
        Ok(user) => user,
        Err(code) => return status(site, request, code, ""),
    };
    let mut map = envelope(site, request, 0, "");
    if user.private_account {
        map.insert("cursor".to_string(), json!("0"));
        map.insert("hasMore".to_string(), json!(false));
        return respond(map);
    }
    let pinned = site.corpus.pinned_regular_of(user.index);
    let mut page: Vec<u32> = Vec::with_capacity(count);
    if cursor == 0 {
        page.extend(pinned.iter().take(count));
    }
    let chronological: Vec<u32> = site
        .corpus
        .user_posts_newest_first(user.index)
        .filter(|index| Some(*index) != pinned)
        .filter_map(|index| site.corpus.skeleton(index))
        .filter(|skeleton| cursor == 0 || (skeleton.create_time as u64) * 1_000 < cursor)
        .map(|skeleton| skeleton.global_index)
        .collect();
    let room = count - page.len();
    let taken = chronological.len().min(room);
    page.extend_from_slice(&chronological[..taken]);
    let has_more = taken < chronological.len();
    let next_cursor = match chronological[..taken]
        .last()
        .and_then(|index| site.corpus.skeleton(*index))
    {
        Some(last) => (last.create_time as u64 * 1_000).to_string(),
        None if cursor == 0 => (site.options.now_unix as u64 * 1_000).to_string(),
        None => cursor.to_string(),
    };
    map.insert("hasMore".to_string(), json!(has_more));
    map.insert("cursor".to_string(), json!(next_cursor));
    respond_items(site, request, &map, &page, true)
}

fn creator_items(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let (Ok(count), Ok(cursor)) = (parse_count(request), parse_cursor(request)) else {
        return status(site, request, 10201, "invalid params");
    };
    let user = match lookup_user(site, request) {
        Ok(user) => user,
        Err(code) => return status(site, request, code, ""),
    };
    let newest_first = request
        .query_param("type")
        .is_none_or(|value| value.trim() != "0");
    let mut map = envelope(site, request, 0, "");
    if user.private_account {
        map.insert("hasMorePrevious".to_string(), json!(false));
        map.insert("hasMoreLatest".to_string(), json!(false));
        map.insert("hasMore".to_string(), json!(false));
        return respond(map);
    }
    let mut candidates: Vec<(u64, u32)> = site
        .corpus
        .user_posts_newest_first(user.index)
        .filter_map(|index| site.corpus.skeleton(index))
        .map(|skeleton| (skeleton.create_time as u64 * 1_000, skeleton.global_index))
        .filter(|(millis, _)| {
            if newest_first {
                cursor == 0 || *millis < cursor
            } else {
                *millis > cursor
            }
        })
        .collect();
    if !newest_first {
        candidates.reverse();
    }
    let taken = candidates.len().min(count);
    let page: Vec<u32> = candidates[..taken]
        .iter()
        .map(|(_, index)| *index)
        .collect();
    let more = taken < candidates.len();
    map.insert(
        "hasMorePrevious".to_string(),
        json!(if newest_first { more } else { false }),
    );
    map.insert(
        "hasMoreLatest".to_string(),
        json!(if newest_first { false } else { more }),
    );
    map.insert("hasMore".to_string(), json!(more));
    respond_items(site, request, &map, &page, false)
}

fn user_detail(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let user = match lookup_user(site, request) {
        Ok(user) => user,
        Err(code) => return status(site, request, code, ""),
    };
    let log_id = site.log_id(user.id);
    let Some((user_info, share_meta)) = pages::user_info_json(site, user.index, &log_id) else {
        return status(site, request, 10202, "");
    };
    let mut map = envelope(site, request, 0, "");
    map.insert("userInfo".to_string(), user_info);
    map.insert("shareMeta".to_string(), share_meta);
    respond(map)
}

fn item_detail(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let Some(id) = request
        .query_param("itemId")
        .and_then(|id| id.trim().parse::<u64>().ok())
    else {
        return status(site, request, 10201, "invalid params");
    };
    let Some(post) = site
        .corpus
        .resolve_post_id(id)
        .and_then(|index| site.corpus.post(index))
    else {
        return status(site, request, 10204, "item doesn't exist");
    };
    let condition = post.skeleton.condition();
    if !matches!(
        condition,
        PostCondition::Public | PostCondition::AgeRestricted
    ) {
        return status(
            site,
            request,
            condition.status_code(),
            condition.status_msg(),
        );
    }
    let log_id = site.log_id(post.skeleton.id);
    let urls = site.url_builder(&log_id);
    let options = ItemOptions {
        create_time_as_string: false,
        in_user_list: false,
    };
    let mut writer = JsonWriter::new(false, 24 * 1024);
    writer.begin_object();
    for (key, value) in &envelope(site, request, 0, "") {
        writer.key(key).value(value);
    }
    writer.key("itemInfo").begin_object().key("itemStruct");
    item::write_item_struct(&mut writer, &site.corpus, &post, &urls, options);
    writer.end_object().end_object();
    SimResponse::with_body(
        StatusCode::OK,
        "application/json; charset=utf-8",
        writer.finish(),
    )
}
