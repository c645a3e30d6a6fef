//! `Comment`: one TikTok comment or reply of a video, the item type of `comments` jobs. It stays
//! typed from the worker's mapper through `comments.data` (decoded in `shared::db::comments`) to
//! the api's item views; the field order below is the serialised key order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A comment (top level when `parent_id` is `None`) or a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comment {
    /// TikTok's `cid` (a 19-digit decimal string).
    pub id: String,
    /// The video commented on (`aweme_id`).
    pub video_id: String,
    /// The top-level comment a reply answers; `None` for a top-level comment.
    pub parent_id: Option<String>,
    pub text: String,
    pub author: CommentAuthor,
    /// `digg_count`.
    pub like_count: u64,
    /// `reply_comment_total` (0 for replies).
    pub reply_count: u64,
    /// `create_time` (Unix seconds), in UTC.
    pub created_at: DateTime<Utc>,
    /// Pinned by the video's author (`stick_position` / `author_pin`), when TikTok says.
    pub pinned: Option<bool>,
    /// Liked by the video's author (`is_author_digged`), when TikTok says.
    pub liked_by_author: Option<bool>,
    /// Users mentioned in `text` (`text_extra` entries of type 0).
    pub mentions: Vec<CommentMention>,
}

/// Who wrote a comment (`user`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommentAuthor {
    /// `uid`.
    pub id: String,
    /// `unique_id`, the @handle without `@`.
    pub unique_id: String,
    pub nickname: String,
    /// The first URL of `avatar_thumb.url_list`.
    pub avatar_url: Option<String>,
}

/// A user mentioned in a comment's text (`text_extra` entry of type 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommentMention {
    /// `user_id`.
    pub user_id: String,
    /// `sec_uid`, when given.
    pub sec_uid: Option<String>,
    /// `start` and `end` of the mention in `text`, as TikTok counts them.
    pub start: u32,
    pub end: u32,
}

/// The feed-walk key of a comments request: `comments|<video id or canonical URL>|<count>|replies`
/// (or `|top` without replies). Identical requests share a walk and the feed cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentsWalkKey<'a> {
    /// The video id when the URL names one, else the canonical URL (a short link).
    pub target: &'a str,
    pub count: i32,
    pub replies: bool,
}

impl CommentsWalkKey<'_> {
    const REPLIES: &'static str = "replies";
    const TOP: &'static str = "top";

    pub fn key(&self) -> String {
        let scope = if self.replies {
            Self::REPLIES
        } else {
            Self::TOP
        };
        format!("comments|{}|{}|{scope}", self.target, self.count)
    }

    /// Whether the walk keyed `feed_key` asks for replies.
    pub fn wants_replies(feed_key: &str) -> bool {
        feed_key.starts_with("comments|") && feed_key.ends_with(&format!("|{}", Self::REPLIES))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_serialises_with_a_stable_key_order() {
        let comment = Comment {
            id: "7300000000000000001".into(),
            video_id: "7200000000000000000".into(),
            parent_id: None,
            text: "hi @bob 🍜".into(),
            author: CommentAuthor {
                id: "1".into(),
                unique_id: "alice".into(),
                nickname: "Alice".into(),
                avatar_url: None,
            },
            like_count: 3,
            reply_count: 1,
            created_at: DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time"),
            pinned: Some(true),
            liked_by_author: None,
            mentions: vec![CommentMention {
                user_id: "2".into(),
                sec_uid: None,
                start: 3,
                end: 7,
            }],
        };
        let json = serde_json::to_string(&comment).expect("serialises");
        let keys = [
            "\"id\"",
            "\"video_id\"",
            "\"parent_id\"",
            "\"text\"",
            "\"author\"",
            "\"like_count\"",
            "\"reply_count\"",
            "\"created_at\"",
            "\"pinned\"",
            "\"liked_by_author\"",
            "\"mentions\"",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|key| json.find(key).expect("the key is present"))
            .collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{json}");
        assert!(
            json.contains("\"created_at\":\"2023-11-14T22:13:20Z\""),
            "{json}"
        );
        let back: Comment = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, comment);
    }

    #[test]
    fn walk_keys_say_whether_replies_were_asked() {
        let key = CommentsWalkKey {
            target: "7200000000000000000",
            count: 100,
            replies: true,
        }
        .key();
        assert_eq!(key, "comments|7200000000000000000|100|replies");
        assert!(CommentsWalkKey::wants_replies(&key));
        let top = CommentsWalkKey {
            target: "https://vm.tiktok.com/ZMabc/",
            count: 5,
            replies: false,
        }
        .key();
        assert!(!CommentsWalkKey::wants_replies(&top));
        assert!(!CommentsWalkKey::wants_replies("user|replies"));
    }
}
