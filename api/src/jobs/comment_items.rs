//! The items of a `comments` job on the wire (docs/comments.md): each comment by position as
//! `{"object": "comment", "position": n, …the Comment's fields}` — top-level comments each
//! followed by their replies — as JSON (the usual list envelope), NDJSON lines, or CSV rows
//! (CSV-injection-safe like the video items).

use serde::Serialize;
use tokworks_shared::comment::Comment;
use tokworks_shared::db::comments::PositionedComment;

use crate::jobs::item_view::{csv_field, neutralise_formula};

/// One comment of a comments job.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CommentItemResponse {
    pub object: &'static str,
    pub position: i32,
    #[serde(flatten)]
    pub comment: Comment,
}

impl From<PositionedComment> for CommentItemResponse {
    fn from(row: PositionedComment) -> Self {
        CommentItemResponse {
            object: "comment",
            position: row.position,
            comment: row.comment,
        }
    }
}

/// `GET /v1/jobs/{id}/items` of a comments job, as JSON.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommentListResponse {
    pub object: &'static str,
    pub data: Vec<CommentItemResponse>,
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One JSON object per line, each line ending with `\n`.
pub fn comments_as_ndjson(items: &[CommentItemResponse]) -> String {
    let mut body = String::new();
    for item in items {
        body.push_str(&serde_json::to_string(item).unwrap_or_default());
        body.push('\n');
    }
    body
}

/// The CSV columns of a comments job.
pub const COMMENT_CSV_COLUMNS: [&str; 13] = [
    "position",
    "comment_id",
    "video_id",
    "parent_id",
    "created_at",
    "author_id",
    "author_unique_id",
    "author_nickname",
    "like_count",
    "reply_count",
    "pinned",
    "liked_by_author",
    "text",
];

/// RFC 4180 CSV (CRLF, quoted when needed); TikTok's text cells get a leading `'` when a
/// spreadsheet would run them as a formula.
pub fn comments_as_csv(items: &[CommentItemResponse]) -> String {
    let mut body = COMMENT_CSV_COLUMNS.join(",");
    body.push_str("\r\n");
    let text = |value: &str| csv_field(&neutralise_formula(value));
    let flag = |value: Option<bool>| value.map(|flag| flag.to_string()).unwrap_or_default();
    for item in items {
        let comment = &item.comment;
        let row = [
            item.position.to_string(),
            text(&comment.id),
            text(&comment.video_id),
            comment.parent_id.as_deref().map(text).unwrap_or_default(),
            comment
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text(&comment.author.id),
            text(&comment.author.unique_id),
            text(&comment.author.nickname),
            comment.like_count.to_string(),
            comment.reply_count.to_string(),
            flag(comment.pinned),
            flag(comment.liked_by_author),
            text(&comment.text),
        ];
        body.push_str(&row.join(","));
        body.push_str("\r\n");
    }
    body
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use tokworks_shared::comment::CommentAuthor;

    use super::*;

    fn item(position: i32, text: &str, parent: Option<&str>) -> CommentItemResponse {
        CommentItemResponse {
            object: "comment",
            position,
            comment: Comment {
                id: format!("73{position}"),
                video_id: "72".into(),
                parent_id: parent.map(str::to_owned),
                text: text.into(),
                author: CommentAuthor {
                    id: "1".into(),
                    unique_id: "alice".into(),
                    nickname: "=Alice, \"A\"".into(),
                    avatar_url: None,
                },
                like_count: 5,
                reply_count: 0,
                created_at: DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time"),
                pinned: Some(true),
                liked_by_author: None,
                mentions: Vec::new(),
            },
        }
    }

    #[test]
    fn json_objects_are_flat_comments_with_their_position() {
        let json = serde_json::to_value(item(0, "hi", None)).expect("serialises");
        assert_eq!(json["object"], "comment");
        assert_eq!(json["position"], 0);
        assert_eq!(json["id"], "730");
        assert_eq!(json["author"]["unique_id"], "alice");
        assert_eq!(json["created_at"], "2023-11-14T22:13:20Z");
        let text = serde_json::to_string(&item(0, "hi", None)).expect("serialises");
        assert!(
            text.starts_with("{\"object\":\"comment\",\"position\":0,\"id\":"),
            "{text}"
        );
    }

    #[test]
    fn ndjson_has_one_object_per_line() {
        let body = comments_as_ndjson(&[item(0, "a", None), item(1, "b\nc", Some("730"))]);
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 2);
        let second: serde_json::Value = serde_json::from_str(lines[1]).expect("a JSON line");
        assert_eq!(second["parent_id"], "730");
        assert_eq!(second["text"], "b\nc");
    }

    #[test]
    fn csv_rows_are_quoted_and_injection_safe() {
        let body = comments_as_csv(&[item(0, "@bob =1+1 🍜", None), item(1, "ok", Some("730"))]);
        let lines: Vec<&str> = body.split("\r\n").collect();
        assert_eq!(lines[0], COMMENT_CSV_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "0,730,72,,2023-11-14T22:13:20Z,1,alice,\"'=Alice, \"\"A\"\"\",5,0,true,,'@bob =1+1 🍜"
        );
        assert!(lines[2].starts_with("1,731,72,730,"), "{}", lines[2]);
        assert_eq!(lines[3], "");
    }
}
