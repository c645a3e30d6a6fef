//! The comment APIs (docs/tiktok-formats.md "Comments"): `/api/comment/list/` (a video's
//! top-level comments, offset cursor) and `/api/comment/list/reply/` (one comment's replies),
//! both signed (an empty 200 without `msToken` and a signature, like the feeds). Comments are
//! generated per post from the seed: emoji, `@mentions` with `text_extra`, a pinned first comment
//! (`stick_position` 1, `author_pin`), author-liked comments (`is_author_digged`), deleted ones
//! (`status` 7, still listed, not counted in `total` or `reply_comment_total`) and replies. The
//! last spare post has comments turned off: its item says `itemCommentStatus` 3 and its list is
//! empty (`comments: null`, `total` 0); `GET /_sim/comments?video_id=` is the ground truth.

use http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use crate::corpus::ids::{self, Domain};
use crate::corpus::posts::PostSkeleton;
use crate::corpus::{Corpus, SPARE_COUNT, Slot};
use crate::exchange::{SimRequest, SimResponse};

use super::TiktokSite;
use super::feeds::is_signed;

/// Largest page of either list.
pub const MAX_COUNT: usize = 50;
const DEFAULT_COUNT: usize = 20;
/// `status` of a listed comment, and of one deleted after it was listed.
pub const STATUS_PUBLISHED: u64 = 1;
pub const STATUS_DELETED: u64 = 7;
/// `itemCommentStatus` of a post whose comments are turned off (0 when they are open).
pub const COMMENTS_OFF_ITEM_STATUS: u64 = 3;

const PHRASES: &[&str] = &[
    "this is so good",
    "need the recipe",
    "watched it five times",
    "who else is here in 2026",
    "the ending though",
    "underrated",
    "pov: you found this at 3am",
    "okay but the music",
];
const EMOJI: &[&str] = &["😂", "🔥", "🍜", "❤️", "👀", "🙌🏽", ""];

/// Whether `skeleton`'s comments are turned off: the last spare post.
pub fn comments_off(skeleton: &PostSkeleton) -> bool {
    skeleton.slot == Slot::Spare(SPARE_COUNT - 1)
}

/// One generated comment or reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimComment {
    pub id: u64,
    pub video_id: u64,
    /// The top-level comment a reply answers.
    pub parent_id: Option<u64>,
    pub create_time: i64,
    /// Index of the author in the corpus' users.
    pub user: u32,
    pub text: String,
    /// `(user index, start, end)` of an `@mention` in `text` (character offsets).
    pub mention: Option<(u32, usize, usize)>,
    pub digg_count: u64,
    /// Replies listed (deleted ones included).
    pub reply_slots: u32,
    pub deleted: bool,
    pub pinned: bool,
    pub author_liked: bool,
}

impl SimComment {
    fn is_visible(&self) -> bool {
        !self.deleted
    }
}

fn comment_rng(corpus: &Corpus, video_id: u64, salt: u64) -> rand_chacha::ChaCha8Rng {
    ids::stream_rng(corpus.seed(), Domain::Site, ids::mix64(video_id ^ salt))
}

fn make_comment(
    corpus: &Corpus,
    skeleton: &PostSkeleton,
    parent: Option<&SimComment>,
    index: u32,
    total_slots: u32,
) -> SimComment {
    let salt = parent.map_or(0xC0, |parent| parent.id) ^ (u64::from(index) << 8);
    let mut rng = comment_rng(corpus, skeleton.id, salt);
    let users = corpus.users.public_count.max(1);
    let user = rng.random_range(0..users);
    let since = parent.map_or(skeleton.create_time, |parent| parent.create_time);
    let span = (corpus.now_unix() - since - 120).max(i64::from(total_slots) + 1);
    let create_time = since + 60 + span * i64::from(index) / i64::from(total_slots + 1);
    let id = ids::snowflake(create_time, rng.random::<u32>());
    let phrase = PHRASES[rng.random_range(0..PHRASES.len())];
    let emoji = EMOJI[rng.random_range(0..EMOJI.len())];
    let (text, mention) = if index % 4 == 1 {
        let mentioned = (user + 1 + rng.random_range(0..users)) % users;
        let handle = corpus
            .users
            .get(mentioned)
            .map(|user| user.unique_id.clone())
            .unwrap_or_default();
        let end = handle.chars().count() + 1;
        (
            format!("@{handle} {phrase} {emoji}").trim_end().to_string(),
            Some((mentioned, 0, end)),
        )
    } else {
        (format!("{phrase} {emoji}").trim_end().to_string(), None)
    };
    let top_level = parent.is_none();
    let reply_slots = if top_level && index.is_multiple_of(3) {
        1 + rng.random_range(0..25)
    } else {
        0
    };
    SimComment {
        id,
        video_id: skeleton.id,
        parent_id: parent.map(|parent| parent.id),
        create_time,
        user,
        text,
        mention,
        digg_count: rng.random_range(0..5_000),
        reply_slots,
        deleted: if top_level {
            index % 13 == 7
        } else {
            index % 9 == 4
        },
        pinned: top_level && index == 0,
        author_liked: index % 5 == 2,
    }
}

/// Every top-level comment of `skeleton` in list order (pinned first), deleted ones included.
pub fn top_level(corpus: &Corpus, skeleton: &PostSkeleton) -> Vec<SimComment> {
    if comments_off(skeleton) {
        return Vec::new();
    }
    let mut rng = comment_rng(corpus, skeleton.id, 0x70);
    let slots = 20 + rng.random_range(0..100);
    (0..slots)
        .map(|index| make_comment(corpus, skeleton, None, index, slots))
        .collect()
}

/// Every reply of `parent` in list order (oldest first), deleted ones included.
pub fn replies(corpus: &Corpus, skeleton: &PostSkeleton, parent: &SimComment) -> Vec<SimComment> {
    (0..parent.reply_slots)
        .map(|index| make_comment(corpus, skeleton, Some(parent), index, parent.reply_slots))
        .collect()
}

/// Replies of `parent` not deleted (its `reply_comment_total`).
fn visible_replies(corpus: &Corpus, skeleton: &PostSkeleton, parent: &SimComment) -> u64 {
    replies(corpus, skeleton, parent)
        .iter()
        .filter(|reply| reply.is_visible())
        .count() as u64
}

/// TikTok's `total`: the comments and replies not deleted.
pub fn total(corpus: &Corpus, skeleton: &PostSkeleton) -> u64 {
    top_level(corpus, skeleton)
        .iter()
        .filter(|comment| comment.is_visible())
        .map(|comment| 1 + visible_replies(corpus, skeleton, comment))
        .sum()
}

fn comment_json(site: &TiktokSite, skeleton: &PostSkeleton, comment: &SimComment) -> Value {
    let corpus = &site.corpus;
    let log_id = site.log_id(comment.id);
    let urls = site.url_builder(&log_id);
    let user = corpus.users.get(comment.user);
    let avatar = user
        .map(|user| urls.avatar_url(&user.avatar_key, 100, &user.avatar_refresh_token))
        .unwrap_or_default();
    let text_extra: Vec<Value> = comment
        .mention
        .iter()
        .filter_map(|(mentioned, start, end)| {
            let mentioned = corpus.users.get(*mentioned)?;
            Some(json!({
                "start": start, "end": end, "type": 0, "hashtag_name": "",
                "user_id": mentioned.id.to_string(), "sec_uid": mentioned.sec_uid,
            }))
        })
        .collect();
    let reply_total = if comment.parent_id.is_none() {
        visible_replies(corpus, skeleton, comment)
    } else {
        0
    };
    json!({
        "cid": comment.id.to_string(),
        "aweme_id": comment.video_id.to_string(),
        "text": if comment.deleted { "" } else { comment.text.as_str() },
        "create_time": comment.create_time,
        "digg_count": comment.digg_count,
        "reply_comment_total": reply_total,
        "reply_id": comment.parent_id.map_or("0".to_string(), |id| id.to_string()),
        "reply_to_reply_id": "0",
        "reply_comment": null,
        "status": if comment.deleted { STATUS_DELETED } else { STATUS_PUBLISHED },
        "stick_position": u64::from(comment.pinned),
        "author_pin": comment.pinned,
        "is_author_digged": comment.author_liked,
        "user_digged": 0,
        "comment_language": "en",
        "text_extra": text_extra,
        "label_list": null,
        "share_info": {"url": "", "desc": "", "title": ""},
        "user": {
            "uid": user.map(|user| user.id.to_string()).unwrap_or_default(),
            "unique_id": user.map(|user| user.unique_id.clone()).unwrap_or_default(),
            "nickname": user.map(|user| user.nickname.clone()).unwrap_or_default(),
            "sec_uid": user.map(|user| user.sec_uid.clone()).unwrap_or_default(),
            "avatar_thumb": {"uri": "", "url_list": [avatar], "width": 720, "height": 720},
        },
    })
}

fn parse_number(request: &SimRequest, name: &str, default: u64) -> Result<u64, ()> {
    match request.query_param(name) {
        None => Ok(default),
        Some(text) if text.trim().is_empty() => Ok(default),
        Some(text) => text.trim().parse::<u64>().map_err(|_| ()),
    }
}

fn page_answer(
    site: &TiktokSite,
    request: &SimRequest,
    comments: Option<&[Value]>,
    cursor: u64,
    has_more: bool,
    total: u64,
) -> SimResponse {
    let log_id = site.log_id(ids::hash_bytes(site.options.seed, request.url().as_bytes()));
    SimResponse::json(
        StatusCode::OK,
        &json!({
            "alias_comment_deleted": false,
            "comments": comments,
            "cursor": cursor,
            "extra": {"fatal_item_ids": null, "now": site.options.now_unix * 1_000},
            "has_filtered_comments": 0,
            "has_more": u8::from(has_more),
            "log_pb": {"impr_id": log_id},
            "reply_style": 2,
            "status_code": 0,
            "status_msg": "",
            "top_gifts": [],
            "total": total,
        }),
    )
}

fn invalid(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let log_id = site.log_id(ids::hash_bytes(site.options.seed, request.url().as_bytes()));
    SimResponse::json(
        StatusCode::OK,
        &json!({"status_code": 10201, "status_msg": "invalid params", "log_pb": {"impr_id": log_id}}),
    )
}

/// The post with id `text`, when it is one of the corpus' viewable posts.
fn viewable_post(site: &TiktokSite, text: Option<String>) -> Option<PostSkeleton> {
    let id = text?.trim().parse::<u64>().ok()?;
    let skeleton = site.corpus.skeleton(site.corpus.resolve_post_id(id)?)?;
    matches!(
        skeleton.condition(),
        crate::corpus::PostCondition::Public | crate::corpus::PostCondition::AgeRestricted
    )
    .then_some(skeleton)
}

fn window(len: usize, cursor: u64, count: u64) -> (usize, usize, bool) {
    let start = usize::try_from(cursor).unwrap_or(usize::MAX).min(len);
    let count = usize::try_from(count)
        .unwrap_or(MAX_COUNT)
        .clamp(1, MAX_COUNT);
    let end = (start + count).min(len);
    (start, end, end < len)
}

/// Routes the comment APIs; `None` for other paths.
pub fn handle(site: &TiktokSite, request: &SimRequest) -> Option<SimResponse> {
    let path = request.path.trim_end_matches('/');
    if !matches!(path, "/api/comment/list" | "/api/comment/list/reply") {
        return None;
    }
    if !is_signed(request) {
        return Some(SimResponse::with_body(
            StatusCode::OK,
            "application/json; charset=utf-8",
            Vec::new(),
        ));
    }
    let (Ok(cursor), Ok(count)) = (
        parse_number(request, "cursor", 0),
        parse_number(request, "count", DEFAULT_COUNT as u64),
    ) else {
        return Some(invalid(site, request));
    };
    Some(if path == "/api/comment/list" {
        let Some(skeleton) = viewable_post(site, request.query_param("aweme_id")) else {
            // TikTok answers an unknown video with an empty list, not an error.
            return Some(page_answer(site, request, None, 0, false, 0));
        };
        let all = top_level(&site.corpus, &skeleton);
        let (start, end, has_more) = window(all.len(), cursor, count);
        let page: Vec<Value> = all[start..end]
            .iter()
            .map(|comment| comment_json(site, &skeleton, comment))
            .collect();
        let total = total(&site.corpus, &skeleton);
        let comments = (!page.is_empty()).then_some(page);
        page_answer(
            site,
            request,
            comments.as_deref(),
            end as u64,
            has_more,
            total,
        )
    } else {
        let Some(skeleton) = viewable_post(site, request.query_param("item_id")) else {
            return Some(page_answer(site, request, None, 0, false, 0));
        };
        let parent_id = request.query_param("comment_id").unwrap_or_default();
        let Some(parent) = top_level(&site.corpus, &skeleton)
            .into_iter()
            .find(|comment| comment.id.to_string() == parent_id.trim())
        else {
            return Some(page_answer(site, request, None, 0, false, 0));
        };
        let all = replies(&site.corpus, &skeleton, &parent);
        let (start, end, has_more) = window(all.len(), cursor, count);
        let page: Vec<Value> = all[start..end]
            .iter()
            .map(|reply| comment_json(site, &skeleton, reply))
            .collect();
        let total = visible_replies(&site.corpus, &skeleton, &parent);
        let comments = (!page.is_empty()).then_some(page);
        page_answer(
            site,
            request,
            comments.as_deref(),
            end as u64,
            has_more,
            total,
        )
    })
}

/// Ground truth of a video's comments (`GET /_sim/comments?video_id=`): `None` for an id that
/// is not a viewable post.
pub fn truth(site: &TiktokSite, video_id: &str) -> Option<Value> {
    let skeleton = viewable_post(site, Some(video_id.to_string()))?;
    let corpus = &site.corpus;
    let comments: Vec<Value> = top_level(corpus, &skeleton)
        .iter()
        .map(|comment| {
            let replies: Vec<Value> = replies(corpus, &skeleton, comment)
                .iter()
                .map(|reply| json!({"id": reply.id.to_string(), "deleted": reply.deleted}))
                .collect();
            json!({
                "id": comment.id.to_string(),
                "deleted": comment.deleted,
                "pinned": comment.pinned,
                "liked_by_author": comment.author_liked,
                "text": comment.text,
                "replies": replies,
            })
        })
        .collect();
    Some(json!({
        "video_id": skeleton.id.to_string(),
        "url": site.canonical_url(&skeleton),
        "comments_off": comments_off(&skeleton),
        "total": total(corpus, &skeleton),
        "comments": comments,
    }))
}

/// The URL of the post whose comments are turned off.
pub fn comments_off_url(site: &TiktokSite) -> Option<String> {
    let index = site.corpus.spare_index(SPARE_COUNT - 1)?;
    let skeleton = site.corpus.skeleton(index)?;
    Some(site.canonical_url(&skeleton))
}
