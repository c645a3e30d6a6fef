//! TikTok's comment objects (`/api/comment/list/` and `/api/comment/list/reply/` entries,
//! docs/tiktok-formats.md "Comments") → the typed `Comment`. Lenient like the item mapper:
//! ids and counts as strings or numbers, missing optional flags stay `None`; a comment whose
//! `status` says it is not published (deleted, hidden) maps to nothing.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokworks_shared::comment::{Comment, CommentAuthor, CommentMention};

use super::lenient::{value_to_i64, value_to_u64};

/// `status` of a published comment; entries with another status are skipped.
pub const PUBLISHED_STATUS: u64 = 1;
/// `text_extra` `type` of a user mention (1 is a hashtag).
const MENTION_TYPE: u64 = 0;

/// Why a comment entry cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommentMapError {
    #[error("the comment entry is not a JSON object")]
    NotAnObject,
    #[error("the comment has no `cid`")]
    MissingId,
    #[error("comment {0} has no valid `create_time`")]
    MissingCreateTime(String),
    #[error("comment {0} has no `user.uid`")]
    MissingAuthor(String),
}

/// A 64-bit id written as a string or a number (`"0"` and empty count as absent).
fn id_of(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    (!text.is_empty() && text != "0").then_some(text)
}

fn text_of(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A flag given as a bool or 0/1.
fn flag_of(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(flag) => Some(*flag),
        other => value_to_u64(other).map(|number| number != 0),
    }
}

/// Maps one entry of a comment list. `parent_id` is the top-level comment whose replies are
/// listed (`None` for `/api/comment/list/`; a reply's own `reply_id` is used when present).
/// `Ok(None)` for an entry that is not published (`status` other than 1).
pub fn map_comment(
    raw: &Value,
    video_id: &str,
    parent_id: Option<&str>,
) -> Result<Option<Comment>, CommentMapError> {
    let object = raw.as_object().ok_or(CommentMapError::NotAnObject)?;
    let id = id_of(object.get("cid")).ok_or(CommentMapError::MissingId)?;
    if let Some(status) = object.get("status").and_then(value_to_u64)
        && status != PUBLISHED_STATUS
    {
        return Ok(None);
    }
    let created_at: DateTime<Utc> = object
        .get("create_time")
        .and_then(value_to_i64)
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or_else(|| CommentMapError::MissingCreateTime(id.clone()))?;
    let user = object.get("user").and_then(Value::as_object);
    let author_id = id_of(user.and_then(|user| user.get("uid")))
        .ok_or_else(|| CommentMapError::MissingAuthor(id.clone()))?;
    let author = CommentAuthor {
        id: author_id,
        unique_id: text_of(user.and_then(|user| user.get("unique_id"))),
        nickname: text_of(user.and_then(|user| user.get("nickname"))),
        avatar_url: user
            .and_then(|user| user.get("avatar_thumb"))
            .and_then(|thumb| thumb.get("url_list"))
            .and_then(Value::as_array)
            .and_then(|urls| {
                urls.iter()
                    .filter_map(Value::as_str)
                    .find(|url| !url.is_empty())
            })
            .map(str::to_owned),
    };
    let parent_id = id_of(object.get("reply_id")).or_else(|| parent_id.map(str::to_owned));
    let pinned = match (
        object.get("stick_position").and_then(value_to_u64),
        flag_of(object.get("author_pin")),
    ) {
        (Some(position), pin) => Some(position > 0 || pin == Some(true)),
        (None, pin) => pin,
    };
    let mentions = object
        .get("text_extra")
        .and_then(Value::as_array)
        .map(|extras| extras.iter().filter_map(mention_of).collect())
        .unwrap_or_default();
    Ok(Some(Comment {
        id,
        video_id: id_of(object.get("aweme_id")).unwrap_or_else(|| video_id.to_owned()),
        parent_id,
        text: text_of(object.get("text")),
        author,
        like_count: object.get("digg_count").and_then(value_to_u64).unwrap_or(0),
        reply_count: object
            .get("reply_comment_total")
            .and_then(value_to_u64)
            .unwrap_or(0),
        created_at,
        pinned,
        liked_by_author: flag_of(object.get("is_author_digged")),
        mentions,
    }))
}

fn mention_of(extra: &Value) -> Option<CommentMention> {
    if extra.get("type").and_then(value_to_u64)? != MENTION_TYPE {
        return None;
    }
    let user_id = id_of(extra.get("user_id"))?;
    let position = |name: &str| {
        extra
            .get(name)
            .and_then(value_to_u64)
            .and_then(|number| u32::try_from(number).ok())
    };
    Some(CommentMention {
        user_id,
        sec_uid: extra
            .get("sec_uid")
            .and_then(Value::as_str)
            .filter(|sec_uid| !sec_uid.is_empty())
            .map(str::to_owned),
        start: position("start")?,
        end: position("end")?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn entry() -> Value {
        json!({
            "cid": "7300000000000000001", "aweme_id": "7200000000000000000",
            "text": "@bob so good 🍜", "create_time": 1_700_000_000, "digg_count": 12,
            "reply_comment_total": 3, "reply_id": "0", "status": 1, "stick_position": 1,
            "author_pin": true, "is_author_digged": false,
            "text_extra": [
                {"type": 0, "start": 0, "end": 4, "user_id": "42", "sec_uid": "MS4w"},
                {"type": 1, "start": 5, "end": 9, "hashtag_name": "food"}
            ],
            "user": {"uid": "7", "unique_id": "alice", "nickname": "Alice",
                     "avatar_thumb": {"url_list": ["https://p16.example/a.jpeg"]}}
        })
    }

    #[test]
    fn a_published_comment_maps_every_field() {
        let comment = map_comment(&entry(), "x", None).unwrap().unwrap();
        assert_eq!(comment.id, "7300000000000000001");
        assert_eq!(comment.video_id, "7200000000000000000");
        assert_eq!(
            comment.parent_id, None,
            "reply_id \"0\" is a top-level comment"
        );
        assert_eq!(comment.author.unique_id, "alice");
        assert_eq!(
            comment.author.avatar_url.as_deref(),
            Some("https://p16.example/a.jpeg")
        );
        assert_eq!((comment.like_count, comment.reply_count), (12, 3));
        assert_eq!(comment.created_at.timestamp(), 1_700_000_000);
        assert_eq!(comment.pinned, Some(true));
        assert_eq!(comment.liked_by_author, Some(false));
        assert_eq!(comment.mentions.len(), 1, "hashtags are not mentions");
        assert_eq!(comment.mentions[0].user_id, "42");
    }

    #[test]
    fn replies_deleted_comments_and_missing_flags() {
        let mut reply = entry();
        reply["reply_id"] = json!("7300000000000000000");
        reply["cid"] = json!(7_300_000_000_000_000_002_u64);
        reply.as_object_mut().unwrap().remove("stick_position");
        reply.as_object_mut().unwrap().remove("author_pin");
        reply.as_object_mut().unwrap().remove("is_author_digged");
        let comment = map_comment(&reply, "x", Some("other")).unwrap().unwrap();
        assert_eq!(comment.id, "7300000000000000002");
        assert_eq!(comment.parent_id.as_deref(), Some("7300000000000000000"));
        assert_eq!((comment.pinned, comment.liked_by_author), (None, None));

        let mut deleted = entry();
        deleted["status"] = json!(7);
        assert_eq!(map_comment(&deleted, "x", None), Ok(None));

        let mut no_id = entry();
        no_id.as_object_mut().unwrap().remove("cid");
        assert_eq!(
            map_comment(&no_id, "x", None),
            Err(CommentMapError::MissingId)
        );
    }

    proptest! {
        #[test]
        fn any_json_maps_or_fails_without_panicking(
            cid in proptest::option::of("[0-9]{0,20}"),
            create_time in proptest::option::of(any::<i64>()),
            status in proptest::option::of(0_u64..10),
            text in ".{0,40}",
            extra_type in any::<i64>(),
            start in any::<i64>(),
            uid in proptest::option::of(prop_oneof![Just(json!(null)), any::<u64>().prop_map(|n| json!(n)), "[0-9a-z]{0,8}".prop_map(|s| json!(s))]),
        ) {
            let mut raw = json!({"text": text, "text_extra": [{"type": extra_type, "start": start, "end": 3, "user_id": "1"}]});
            if let Some(cid) = &cid { raw["cid"] = json!(cid); }
            if let Some(time) = create_time { raw["create_time"] = json!(time); }
            if let Some(status) = status { raw["status"] = json!(status); }
            if let Some(uid) = uid { raw["user"] = json!({"uid": uid}); }
            match map_comment(&raw, "9", None) {
                Ok(Some(comment)) => {
                    prop_assert!(!comment.id.is_empty());
                    prop_assert_eq!(comment.text, text);
                    prop_assert!(status.is_none_or(|status| status == PUBLISHED_STATUS));
                    let mentioned = extra_type == 0 && u32::try_from(start).is_ok();
                    prop_assert_eq!(comment.mentions.len(), usize::from(mentioned));
                }
                Ok(None) => prop_assert!(status.is_some_and(|status| status != PUBLISHED_STATUS)),
                Err(_) => {}
            }
        }
    }
}
