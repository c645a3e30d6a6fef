//! The `comments` kind of `POST /v1/jobs` (docs/comments.md): `url` (a video URL in any shape a
//! `video` job accepts, short links included: the worker resolves them), `count` (top-level
//! comments, default 100, at most 5000) and `replies` (default false), checked into a feed job
//! whose walk key is `comments|<video id or canonical URL>|<count>|replies` (or `|top`).

use serde_json::Value;

use crate::jobs::feed_request::{Feed, FeedJobRequest, parse_count};
use crate::jobs::request::{
    AcceptedJobRequest, CreateJobRequest, ValidationLimits, parse_video_url, validate_common,
};
use crate::problem::ApiError;

/// `count` when the request has none.
pub const DEFAULT_COMMENT_COUNT: u32 = 100;
/// Largest `count` (top-level comments) of one job.
pub const MAX_COMMENT_COUNT: u32 = 5_000;

/// A `comments` job: `url`, `count`, `replies`; the feed fields are refused, as are the
/// per-video stages (`analyze_thumbnail`, `transcript`), which do not apply to comments.
pub(crate) fn validate_comments(
    request: CreateJobRequest,
    limits: &ValidationLimits,
) -> Result<AcceptedJobRequest, ApiError> {
    for (field, present) in [
        ("urls", request.urls.is_some()),
        ("hashtag", request.hashtag.is_some()),
        ("username", request.username.is_some()),
        ("query", request.query.is_some()),
        ("sound", request.sound.is_some()),
    ] {
        if present {
            return Err(ApiError::InvalidField {
                field: field.to_owned(),
                message: format!("`{field}` is not a field of a `comments` job"),
            });
        }
    }
    let input_url = request.url.ok_or_else(|| ApiError::InvalidField {
        field: "url".to_owned(),
        message: "missing field `url` (the TikTok video URL whose comments to fetch)".to_owned(),
    })?;
    let url = parse_video_url("url", &input_url)?;
    let count = parse_comment_count(request.count.as_ref())?;
    let replies = match request.replies {
        None => false,
        Some(Value::Bool(replies)) => replies,
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "replies".to_owned(),
                message: "must be true or false".to_owned(),
            });
        }
    };
    let common = validate_common(request.options, request.webhook, request.metadata, limits)?;
    for (option, asked) in [
        ("analyze_thumbnail", common.options.analyze_thumbnail),
        ("transcript", common.options.transcript),
    ] {
        if asked {
            return Err(ApiError::InvalidField {
                field: format!("options.{option}"),
                message: format!("`{option}` is not an option of a `comments` job"),
            });
        }
    }
    let key_target = url
        .video_id()
        .map_or_else(|| url.canonical_url().to_owned(), str::to_owned);
    Ok(AcceptedJobRequest::Feed(FeedJobRequest {
        feed: Feed::Comments {
            url: url.canonical_url().to_owned(),
            key_target,
            replies,
        },
        count,
        target_as_sent: Some(input_url),
        options: common.options,
        metadata: common.metadata,
        webhook: common.webhook,
    }))
}

/// `count`: absent → 100; else, as a feed's `count`, an integer in `1..=5000`.
fn parse_comment_count(count: Option<&Value>) -> Result<u32, ApiError> {
    match count {
        None => Ok(DEFAULT_COMMENT_COUNT),
        Some(_) => parse_count(count, MAX_COMMENT_COUNT),
    }
}

#[cfg(test)]
mod tests {
    use tokworks_shared::error_code::ErrorCode;

    use super::*;
    use crate::json_body::parse_json;

    fn validate(body: &str) -> Result<FeedJobRequest, ApiError> {
        match parse_json::<CreateJobRequest>(body.as_bytes())?.validate()? {
            AcceptedJobRequest::Feed(feed) => Ok(feed),
            other => panic!("not a feed job: {other:?}"),
        }
    }

    fn field_of(error: ApiError) -> String {
        match error {
            ApiError::InvalidField { field, .. } | ApiError::InvalidUrl { field, .. } => field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn a_comments_job_has_defaults_and_a_walk_key_by_video_id() {
        let job = validate(
            r#"{"kind":"comments","url":"https://www.tiktok.com/@a/video/7200000000000000001?lang=en"}"#,
        )
        .expect("valid");
        assert_eq!(job.count, 100);
        assert_eq!(job.feed_key(), "comments|7200000000000000001|100|top");
        let request = job.normalised_request();
        assert_eq!(request["kind"], "comments");
        assert_eq!(request["replies"], false);
        assert_eq!(
            request["url"],
            "https://www.tiktok.com/@a/video/7200000000000000001?lang=en"
        );

        let with_replies = validate(
            r#"{"kind":"comments","url":"https://vm.tiktok.com/ZMabcdef/","count":5000,"replies":true}"#,
        )
        .expect("valid");
        assert!(
            with_replies
                .feed_key()
                .starts_with("comments|https://vm.tiktok.com/ZMabcdef")
        );
        assert!(with_replies.feed_key().ends_with("|5000|replies"));
    }

    #[test]
    fn bad_comments_requests_name_their_field() {
        for (body, field) in [
            (r#"{"kind":"comments"}"#, "url"),
            (
                r#"{"kind":"comments","url":"https://www.tiktok.com/@someone"}"#,
                "url",
            ),
            (
                r#"{"kind":"comments","url":"https://example.com/video/1"}"#,
                "url",
            ),
            (
                r#"{"kind":"comments","url":"https://www.tiktok.com/@a/video/7200000000000000001","count":0}"#,
                "count",
            ),
            (
                r#"{"kind":"comments","url":"https://www.tiktok.com/@a/video/7200000000000000001","count":5001}"#,
                "count",
            ),
            (
                r#"{"kind":"comments","url":"https://www.tiktok.com/@a/video/7200000000000000001","replies":"yes"}"#,
                "replies",
            ),
            (
                r#"{"kind":"comments","url":"https://www.tiktok.com/@a/video/7200000000000000001","hashtag":"x"}"#,
                "hashtag",
            ),
            (
                r#"{"kind":"comments","url":"https://www.tiktok.com/@a/video/7200000000000000001","query":"ramen"}"#,
                "query",
            ),
            (
                r#"{"kind":"comments","url":"https://www.tiktok.com/@a/video/7200000000000000001","options":{"transcript":true}}"#,
                "options.transcript",
            ),
            (
                r#"{"kind":"video","url":"https://www.tiktok.com/@a/video/7200000000000000001","replies":true}"#,
                "replies",
            ),
            (r#"{"kind":"trending","replies":true}"#, "replies"),
        ] {
            let error = validate(body)
                .err()
                .unwrap_or_else(|| panic!("accepted: {body}"));
            assert_eq!(field_of(error), field, "{body}");
        }
        let profile = validate(r#"{"kind":"comments","url":"https://www.tiktok.com/@someone"}"#)
            .expect_err("refused");
        assert!(matches!(
            profile,
            ApiError::InvalidUrl {
                code: ErrorCode::UnsupportedUrl,
                ..
            }
        ));
    }
}
