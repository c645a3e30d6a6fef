//! A video's comments through TikTok's web API (docs/comments.md, docs/tiktok-formats.md
//! "Comments"): the URL resolved to the post (short links hop by hop, the same resolver as single
//! videos) and its page read once — `statusCode` (not found, private …) and `itemCommentStatus`
//! (comments off) — then `/api/comment/list/` (offset `cursor`, `has_more` 0/1, `total`;
//! `comments` may be null) until `count` top-level comments, and, when asked, each commented
//! comment's `/api/comment/list/reply/` (at most [`MAX_REPLIES_PER_COMMENT`]). Deleted comments
//! are skipped and not counted; a failure after some comments keeps them.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::Value;
use tokworks_shared::comment::Comment;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::TiktokUrl;

use super::classify::{FeedFailure, check_status};
use super::session::WebSession;
use super::{FeedStop, TiktokWebClient};
use crate::tiktok::comment::map_comment;
use crate::tiktok::lenient::{value_to_i64, value_to_u64};
use crate::tiktok::status_code_error;
use crate::web_extractor::page::fetch_video_page;
use crate::web_extractor::short_links::resolve_to_post;

/// Comments asked of one list request (TikTok's web client asks 20; it serves up to 50).
pub const COMMENT_PAGE_COUNT: usize = 50;
/// Replies fetched per top-level comment at most.
pub const MAX_REPLIES_PER_COMMENT: usize = 100;
/// Largest `count` of top-level comments one job walks.
pub const MAX_COMMENT_COUNT: usize = 5_000;

/// What a comments walk asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentsAsk {
    /// A post URL in any shape the single-video job accepts, short links included.
    pub url: String,
    /// Top-level comments wanted (capped at [`MAX_COMMENT_COUNT`]).
    pub count: usize,
    pub replies: bool,
}

/// The result of a comments walk.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentsWalk {
    /// The video, once the URL resolved to it.
    pub video_id: Option<String>,
    /// TikTok's `total` of the first list page.
    pub total: Option<i64>,
    /// Each top-level comment followed by its replies.
    pub comments: Vec<Comment>,
    /// List and reply pages fetched.
    pub pages_fetched: usize,
    pub stopped: FeedStop,
}

/// One parsed list page.
struct ListPage {
    entries: Vec<Value>,
    cursor: Option<u64>,
    has_more: bool,
    total: Option<i64>,
}

fn parse_list(path: &str, value: &Value) -> Result<ListPage, FeedFailure> {
    let status = value
        .get("status_code")
        .or_else(|| value.get("statusCode"))
        .and_then(value_to_i64)
        .ok_or_else(|| FeedFailure::changed(format!("{path}: no `status_code`")))?;
    let message = value
        .get("status_msg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    check_status(path, status, message)?;
    let entries = match value.get("comments") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries.clone(),
        Some(_) => {
            return Err(FeedFailure::changed(format!(
                "{path}: `comments` is not a list"
            )));
        }
    };
    let has_more = match value.get("has_more") {
        Some(Value::Bool(more)) => *more,
        Some(other) => value_to_u64(other).is_some_and(|more| more != 0),
        None => false,
    };
    Ok(ListPage {
        entries,
        cursor: value.get("cursor").and_then(value_to_u64),
        has_more,
        total: value.get("total").and_then(value_to_i64),
    })
}

/// Where a walk is.
struct Walk<'client> {
    session: WebSession<'client>,
    deadline: Instant,
    video_id: String,
    pages_fetched: usize,
    unreadable: usize,
}

impl Walk<'_> {
    fn check_deadline(&self) -> Result<(), FeedFailure> {
        if Instant::now() >= self.deadline {
            return Err(FeedFailure::new(
                ErrorCode::ExtractorTimeout,
                "the comments did not finish within the walk's deadline",
            ));
        }
        Ok(())
    }

    /// Fetches one page of `path` and maps its entries (skipping deleted ones).
    async fn page(
        &mut self,
        path: &str,
        params: &[(&str, String)],
        parent_id: Option<&str>,
    ) -> Result<(Vec<Comment>, ListPage), FeedFailure> {
        self.check_deadline()?;
        let value = self.session.api(path, "video", params).await?;
        let page = parse_list(path, &value)?;
        self.pages_fetched += 1;
        let mut comments = Vec::new();
        for entry in &page.entries {
            match map_comment(entry, &self.video_id, parent_id) {
                Ok(Some(comment)) => comments.push(comment),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "a comment does not map; skipped");
                    self.unreadable += 1;
                }
            }
        }
        Ok((comments, page))
    }
}

/// Whether `next` moves the offset cursor on from `cursor`.
fn advanced(path: &str, cursor: u64, next: Option<u64>) -> Result<u64, FeedFailure> {
    match next {
        Some(next) if next > cursor => Ok(next),
        other => Err(FeedFailure::changed(format!(
            "{path}: has_more with a cursor that does not advance ({other:?} after {cursor})"
        ))),
    }
}

impl TiktokWebClient {
    /// Walks the comments of the post at `ask.url` to the end (see the module docs).
    pub async fn comments(&self, ask: &CommentsAsk) -> CommentsWalk {
        let deadline = Instant::now() + self.settings.deadline;
        let count = ask.count.clamp(1, MAX_COMMENT_COUNT);
        let video_id =
            match tokio::time::timeout(self.settings.deadline, self.resolve(&ask.url)).await {
                Ok(Ok(video_id)) => video_id,
                Ok(Err(failure)) => return failed_before_any(failure),
                Err(_) => {
                    return failed_before_any(FeedFailure::new(
                        ErrorCode::ExtractorTimeout,
                        "the video page did not load within the walk's deadline",
                    ));
                }
            };
        let mut walk = Walk {
            session: WebSession::new(
                self.egress.clone(),
                &self.signer,
                self.settings.ms_token.clone(),
                self.settings.request_timeout,
            ),
            deadline,
            video_id: video_id.clone(),
            pages_fetched: 0,
            unreadable: 0,
        };
        let mut top = Vec::new();
        let mut total = None;
        let mut seen = HashSet::new();
        let mut stopped = walk_top_level(&mut walk, count, &mut top, &mut total, &mut seen).await;
        let mut comments = Vec::with_capacity(top.len());
        for parent in top {
            let wants_replies = ask.replies && parent.reply_count > 0;
            let parent_id = parent.id.clone();
            comments.push(parent);
            if wants_replies
                && !matches!(stopped, FeedStop::Failed { .. })
                && let Err(failure) =
                    walk_replies(&mut walk, &parent_id, &mut comments, &mut seen).await
            {
                stopped = failed(failure, walk.pages_fetched);
            }
        }
        if comments.is_empty() && walk.unreadable > 0 && !matches!(stopped, FeedStop::Failed { .. })
        {
            stopped = failed(
                FeedFailure::changed(format!(
                    "{} comments arrived and none could be read (TikTok's comment layout may have changed)",
                    walk.unreadable
                )),
                walk.pages_fetched,
            );
        }
        CommentsWalk {
            video_id: Some(video_id),
            total,
            comments,
            pages_fetched: walk.pages_fetched,
            stopped,
        }
    }

    /// The id of the post `url` names, from its page (short links followed); fails with the
    /// page's status (`VIDEO_NOT_FOUND`, `VIDEO_PRIVATE` …) or `COMMENTS_DISABLED`.
    async fn resolve(&self, url: &str) -> Result<String, FeedFailure> {
        let parsed = TiktokUrl::parse(url)
            .map_err(|error| FeedFailure::new(error.error_code(), error.to_string()))?;
        let session = self.egress.new_session().await.map_err(|cooling| {
            let mut failure = FeedFailure::new(cooling.code, cooling.to_string());
            failure.retry_after = Some(cooling.retry_after);
            failure
        })?;
        let post = resolve_to_post(&session, parsed)
            .await
            .map_err(|failure| FeedFailure::new(failure.code, failure.message))?;
        let fetched = fetch_video_page(&session, &post)
            .await
            .map_err(|failure| FeedFailure::new(failure.code, failure.message))?;
        let page = fetched.page;
        if page.status_code != 0 {
            let code = status_code_error(page.status_code, page.item.as_ref())
                .unwrap_or(ErrorCode::UpstreamChanged);
            return Err(FeedFailure::new(
                code,
                format!(
                    "the video page says statusCode {} ({})",
                    page.status_code, page.status_message
                ),
            ));
        }
        let item = page
            .item
            .ok_or_else(|| FeedFailure::changed("the video page has no item"))?;
        let video_id = match item.get("id") {
            Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
            Some(Value::Number(id)) => id.to_string(),
            _ => return Err(FeedFailure::changed("the video page's item has no id")),
        };
        let comment_status = item.get("itemCommentStatus").and_then(value_to_u64);
        if comment_status.is_some_and(|status| status != 0) {
            return Err(FeedFailure::new(
                ErrorCode::CommentsDisabled,
                format!("the author turned comments off for video {video_id}"),
            ));
        }
        Ok(video_id)
    }
}

fn failed(failure: FeedFailure, pages_fetched: usize) -> FeedStop {
    FeedStop::Failed {
        code: failure.code,
        message: failure.message,
        retry_after: failure.retry_after,
        pages_fetched,
    }
}

fn failed_before_any(failure: FeedFailure) -> CommentsWalk {
    CommentsWalk {
        video_id: None,
        total: None,
        comments: Vec::new(),
        pages_fetched: 0,
        stopped: failed(failure, 0),
    }
}

/// The top-level list until `count` comments or its end.
async fn walk_top_level(
    walk: &mut Walk<'_>,
    count: usize,
    top: &mut Vec<Comment>,
    total: &mut Option<i64>,
    seen: &mut HashSet<String>,
) -> FeedStop {
    let path = "/api/comment/list/";
    let mut cursor = 0_u64;
    loop {
        if top.len() >= count {
            return FeedStop::CountReached;
        }
        let params = [
            ("aweme_id", walk.video_id.clone()),
            ("cursor", cursor.to_string()),
            ("count", COMMENT_PAGE_COUNT.to_string()),
        ];
        let (comments, page) = match walk.page(path, &params, None).await {
            Ok(page) => page,
            Err(failure) => return failed(failure, walk.pages_fetched),
        };
        if total.is_none() {
            *total = page.total;
        }
        for comment in comments {
            if top.len() < count && seen.insert(comment.id.clone()) {
                top.push(comment);
            }
        }
        if !page.has_more {
            return if top.len() >= count {
                FeedStop::CountReached
            } else {
                FeedStop::NoMore
            };
        }
        cursor = match advanced(path, cursor, page.cursor) {
            Ok(next) => next,
            Err(failure) => return failed(failure, walk.pages_fetched),
        };
    }
}

/// The replies of `parent_id`, appended to `out` (at most [`MAX_REPLIES_PER_COMMENT`]).
async fn walk_replies(
    walk: &mut Walk<'_>,
    parent_id: &str,
    out: &mut Vec<Comment>,
    seen: &mut HashSet<String>,
) -> Result<(), FeedFailure> {
    let path = "/api/comment/list/reply/";
    let mut cursor = 0_u64;
    let mut taken = 0;
    loop {
        let params = [
            ("item_id", walk.video_id.clone()),
            ("comment_id", parent_id.to_owned()),
            ("cursor", cursor.to_string()),
            ("count", COMMENT_PAGE_COUNT.to_string()),
        ];
        let (replies, page) = walk.page(path, &params, Some(parent_id)).await?;
        for mut reply in replies {
            if taken >= MAX_REPLIES_PER_COMMENT {
                return Ok(());
            }
            reply.parent_id = Some(parent_id.to_owned());
            if seen.insert(reply.id.clone()) {
                out.push(reply);
                taken += 1;
            }
        }
        if !page.has_more || taken >= MAX_REPLIES_PER_COMMENT {
            return Ok(());
        }
        cursor = advanced(path, cursor, page.cursor)?;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn list_pages_are_read_leniently_and_errors_classified() {
        let page = parse_list(
            "p",
            &json!({"status_code": 0, "comments": null, "has_more": 0, "cursor": 0, "total": 0}),
        )
        .unwrap();
        assert!(page.entries.is_empty() && !page.has_more);
        let page = parse_list("p", &json!({"status_code": 0, "comments": [{}], "has_more": 1, "cursor": "20", "total": "77"})).unwrap();
        assert_eq!(
            (page.entries.len(), page.has_more, page.cursor, page.total),
            (1, true, Some(20), Some(77))
        );
        assert_eq!(
            parse_list("p", &json!({"comments": []}))
                .err()
                .map(|f| f.code),
            Some(ErrorCode::UpstreamChanged)
        );
        assert_eq!(
            parse_list("p", &json!({"status_code": 0, "comments": {}}))
                .err()
                .map(|f| f.code),
            Some(ErrorCode::UpstreamChanged)
        );
        assert!(advanced("p", 20, Some(20)).is_err());
        assert_eq!(advanced("p", 20, Some(40)).unwrap(), 40);
    }
}
