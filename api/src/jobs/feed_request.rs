//! The feed kinds of `POST /v1/jobs` (`trending`, `hashtag`, `user`, `search`, `sound`): their
//! fields (`count`, `hashtag` with or without `#`, `username` as `name`, `@name` or profile URL,
//! `query` and `sound` as `feed_targets` checks them) checked and normalised into a
//! `FeedJobRequest` with its feed key (`hashtag|food|30`).

use serde_json::Value;
use tokworks_shared::comment::CommentsWalkKey;
use tokworks_shared::db::feed_walks::feed_key;
use tokworks_shared::job_status::JobKind;
use tokworks_shared::tiktok_url::{TiktokUrl, TiktokUrlKind};

use crate::jobs::feed_targets::{parse_query, parse_sound};
use crate::jobs::request::{
    AcceptedJobRequest, AcceptedWebhook, CreateJobRequest, JobKindRequest, JobOptionsRequest,
    ValidationLimits, insert_normalised_webhook, validate_common,
};
use crate::problem::ApiError;

/// `count` when the request has none.
pub const DEFAULT_FEED_COUNT: u32 = 30;
/// Longest accepted hashtag, in characters (TikTok's limit is about 100).
const MAX_HASHTAG_CHARS: usize = 100;
/// Longest accepted username, in characters (TikTok's limit is 24; old accounts vary).
const MAX_USERNAME_CHARS: usize = 64;

/// Which feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    Trending,
    /// Lowercase, without `#`.
    Hashtag {
        name: String,
    },
    /// Without `@`, as TikTok spells it (case kept; the feed key is lowercase).
    User {
        username: String,
    },
    /// Trimmed, whitespace collapsed, lowercase.
    Search {
        query: String,
    },
    /// The music id.
    Sound {
        music_id: String,
    },
    /// A video's comments (`comments_request`).
    Comments {
        /// The canonical URL the worker resolves (a short link stays one).
        url: String,
        /// The video id when the URL names one, else `url`: the walk key's target.
        key_target: String,
        replies: bool,
    },
}

impl Feed {
    /// `trending`, `hashtag` or `user` (the job kind).
    pub fn kind(&self) -> JobKind {
        match self {
            Feed::Trending => JobKind::Trending,
            Feed::Hashtag { .. } => JobKind::Hashtag,
            Feed::User { .. } => JobKind::User,
            Feed::Search { .. } => JobKind::Search,
            Feed::Sound { .. } => JobKind::Sound,
            Feed::Comments { .. } => JobKind::Comments,
        }
    }

    /// The hashtag or username.
    pub fn target(&self) -> Option<&str> {
        match self {
            Feed::Trending => None,
            Feed::Hashtag { name } => Some(name),
            Feed::User { username } => Some(username),
            Feed::Search { query } => Some(query),
            Feed::Sound { music_id } => Some(music_id),
            Feed::Comments { url, .. } => Some(url),
        }
    }
}

/// A validated feed job.
#[derive(Debug, Clone)]
pub struct FeedJobRequest {
    pub feed: Feed,
    pub count: u32,
    /// `hashtag` / `username` exactly as sent (part of the normalised request).
    pub target_as_sent: Option<String>,
    pub options: JobOptionsRequest,
    pub metadata: Value,
    pub webhook: Option<AcceptedWebhook>,
}

impl FeedJobRequest {
    /// The normalised feed key shared by every identical request (cache and coalescing).
    pub fn feed_key(&self) -> String {
        if let Feed::Comments {
            key_target,
            replies,
            ..
        } = &self.feed
        {
            return CommentsWalkKey {
                target: key_target,
                count: i32::try_from(self.count).unwrap_or(i32::MAX),
                replies: *replies,
            }
            .key();
        }
        feed_key(
            self.feed.kind(),
            self.feed.target(),
            i32::try_from(self.count).unwrap_or(i32::MAX),
        )
    }

    /// The normalised request stored in `jobs.request` (compared on idempotent replays).
    pub fn normalised_request(&self) -> Value {
        let mut request = serde_json::json!({
            "kind": self.feed.kind(),
            "count": self.count,
            "options": self.options,
            "metadata": self.metadata,
        });
        if let Value::Object(object) = &mut request {
            match &self.feed {
                Feed::Trending => {}
                Feed::Hashtag { name } => {
                    object.insert("hashtag".to_owned(), Value::String(name.clone()));
                }
                Feed::User { username } => {
                    object.insert("username".to_owned(), Value::String(username.clone()));
                }
                Feed::Search { query } => {
                    object.insert("query".to_owned(), Value::String(query.clone()));
                }
                Feed::Sound { music_id } => {
                    object.insert("sound".to_owned(), Value::String(music_id.clone()));
                }
                Feed::Comments { replies, .. } => {
                    let url = self.target_as_sent.clone().unwrap_or_default();
                    object.insert("url".to_owned(), Value::String(url));
                    object.insert("replies".to_owned(), Value::Bool(*replies));
                }
            }
        }
        insert_normalised_webhook(&mut request, self.webhook.as_ref());
        request
    }
}

/// A `trending`, `hashtag` or `user` job: `count`, plus `hashtag` / `username`.
pub(crate) fn validate_feed(
    request: CreateJobRequest,
    limits: &ValidationLimits,
) -> Result<AcceptedJobRequest, ApiError> {
    let kind = request.kind;
    for (field, present) in [
        ("replies", request.replies.is_some()),
        ("url", request.url.is_some()),
        ("urls", request.urls.is_some()),
        (
            "hashtag",
            request.hashtag.is_some() && kind != JobKindRequest::Hashtag,
        ),
        (
            "username",
            request.username.is_some() && kind != JobKindRequest::User,
        ),
        (
            "query",
            request.query.is_some() && kind != JobKindRequest::Search,
        ),
        (
            "sound",
            request.sound.is_some() && kind != JobKindRequest::Sound,
        ),
    ] {
        if present {
            return Err(ApiError::InvalidField {
                field: field.to_owned(),
                message: format!("`{field}` is not a field of a `{}` job", kind.as_str()),
            });
        }
    }
    let count = parse_count(request.count.as_ref(), limits.feed_max_count)?;
    let (feed, target_as_sent) = match kind {
        JobKindRequest::Hashtag => (
            Feed::Hashtag {
                name: parse_hashtag(request.hashtag.as_ref())?,
            },
            request
                .hashtag
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_owned),
        ),
        JobKindRequest::User => (
            Feed::User {
                username: parse_username(request.username.as_ref())?,
            },
            request
                .username
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_owned),
        ),
        JobKindRequest::Search => (
            Feed::Search {
                query: parse_query(request.query.as_ref())?,
            },
            as_sent(request.query.as_ref()),
        ),
        JobKindRequest::Sound => (
            Feed::Sound {
                music_id: parse_sound(request.sound.as_ref())?,
            },
            as_sent(request.sound.as_ref()),
        ),
        _ => (Feed::Trending, None),
    };
    let common = validate_common(request.options, request.webhook, request.metadata, limits)?;
    Ok(AcceptedJobRequest::Feed(FeedJobRequest {
        feed,
        count,
        target_as_sent,
        options: common.options,
        metadata: common.metadata,
        webhook: common.webhook,
    }))
}

fn as_sent(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// Checks `count`: absent → [`DEFAULT_FEED_COUNT`] (capped at `max_count`); else an integer in
/// `1..=max_count`.
pub fn parse_count(count: Option<&Value>, max_count: u32) -> Result<u32, ApiError> {
    let Some(count) = count else {
        return Ok(DEFAULT_FEED_COUNT.min(max_count));
    };
    count
        .as_u64()
        .and_then(|count| u32::try_from(count).ok())
        .filter(|count| (1..=max_count).contains(count))
        .ok_or_else(|| ApiError::InvalidField {
            field: "count".to_owned(),
            message: format!("must be an integer from 1 to {max_count}"),
        })
}

/// Checks a hashtag: a string, with or without a leading `#`, of letters, digits and `_`.
pub fn parse_hashtag(hashtag: Option<&Value>) -> Result<String, ApiError> {
    let invalid = |message: &str| ApiError::InvalidField {
        field: "hashtag".to_owned(),
        message: message.to_owned(),
    };
    let text = match hashtag {
        None => {
            return Err(invalid(
                "missing field `hashtag` (e.g. \"food\" or \"#food\")",
            ));
        }
        Some(Value::String(text)) => text,
        Some(_) => return Err(invalid("must be a string such as \"food\" or \"#food\"")),
    };
    let name = text.trim();
    let name = name.strip_prefix('#').unwrap_or(name);
    if name.is_empty() {
        return Err(invalid("must name a hashtag, e.g. \"food\""));
    }
    if name.chars().count() > MAX_HASHTAG_CHARS {
        return Err(invalid(&format!(
            "is longer than {MAX_HASHTAG_CHARS} characters"
        )));
    }
    if !name
        .chars()
        .all(|character| character.is_alphanumeric() || character == '_')
    {
        return Err(invalid(
            "a hashtag has only letters, digits and `_` (one hashtag, without spaces)",
        ));
    }
    Ok(name.to_lowercase())
}

/// Checks a username: `name`, `@name`, or a profile URL (`https://www.tiktok.com/@name`).
pub fn parse_username(username: Option<&Value>) -> Result<String, ApiError> {
    let invalid = |message: &str| ApiError::InvalidField {
        field: "username".to_owned(),
        message: message.to_owned(),
    };
    let text = match username {
        None => {
            return Err(invalid(
                "missing field `username` (e.g. \"name\", \"@name\" or a profile URL)",
            ));
        }
        Some(Value::String(text)) => text.trim(),
        Some(_) => return Err(invalid("must be a string such as \"@name\"")),
    };
    let name = if text.contains('/') || text.contains("tiktok.") {
        let url = TiktokUrl::parse(text).map_err(|error| ApiError::InvalidUrl {
            field: "username".to_owned(),
            code: error.error_code(),
            message: error.to_string(),
        })?;
        match url.kind() {
            TiktokUrlKind::Profile { username } => username.clone(),
            _ => {
                return Err(ApiError::InvalidUrl {
                    field: "username".to_owned(),
                    code: tokworks_shared::error_code::ErrorCode::UnsupportedUrl,
                    message: "not a profile URL (https://www.tiktok.com/@name)".to_owned(),
                });
            }
        }
    } else {
        text.strip_prefix('@').unwrap_or(text).to_owned()
    };
    if name.is_empty() {
        return Err(invalid("must name a user, e.g. \"@name\""));
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(invalid(&format!(
            "is longer than {MAX_USERNAME_CHARS} characters"
        )));
    }
    if !name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || matches!(character, '_' | '.'))
    {
        return Err(invalid("a username has only letters, digits, `_` and `.`"));
    }
    Ok(name)
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::json_body::parse_json;

    /// The feed job a body is accepted as (panics when it is another kind of job).
    pub(crate) fn accepted_feed(body: &str) -> Result<FeedJobRequest, ApiError> {
        match parse_json::<CreateJobRequest>(body.as_bytes())?.validate()? {
            AcceptedJobRequest::Feed(feed) => Ok(feed),
            other => panic!("not a feed job from {body}: {other:?}"),
        }
    }

    #[test]
    fn feed_kinds_are_accepted_and_normalised() {
        let trending = accepted_feed(r#"{"kind":"trending"}"#).unwrap();
        assert_eq!(trending.feed_key(), "trending|30");
        let hashtag =
            accepted_feed(r##"{"kind":"hashtag","hashtag":"#Food","count":40}"##).unwrap();
        assert_eq!(hashtag.feed_key(), "hashtag|food|40");
        let user = accepted_feed(
            r#"{"kind":"user","username":"https://www.tiktok.com/@some_one","count":5}"#,
        )
        .unwrap();
        assert_eq!(user.feed_key(), "user|some_one|5");
    }

    #[test]
    fn feed_fields_are_checked_with_stable_codes() {
        for (body, code) in [
            (r#"{"kind":"trending","count":0}"#, "INVALID_FIELD"),
            (r#"{"kind":"trending","count":501}"#, "INVALID_FIELD"),
            (r#"{"kind":"trending","hashtag":"food"}"#, "INVALID_FIELD"),
            (r#"{"kind":"hashtag","count":10}"#, "INVALID_FIELD"),
            (r#"{"kind":"hashtag","hashtag":"a b"}"#, "INVALID_FIELD"),
            (
                r#"{"kind":"hashtag","hashtag":"food","username":"x"}"#,
                "INVALID_FIELD",
            ),
            (r#"{"kind":"user"}"#, "INVALID_FIELD"),
            (
                r#"{"kind":"user","username":"https://www.tiktok.com/tag/food"}"#,
                "UNSUPPORTED_URL",
            ),
            (
                r#"{"kind":"user","username":"x","url":"https://www.tiktok.com/@x"}"#,
                "INVALID_FIELD",
            ),
        ] {
            assert_eq!(accepted_feed(body).unwrap_err().code(), code, "{body}");
        }
    }

    #[test]
    fn counts_default_and_stay_within_bounds() {
        assert_eq!(parse_count(None, 500).unwrap(), 30);
        assert_eq!(parse_count(None, 10).unwrap(), 10);
        assert_eq!(parse_count(Some(&json!(500)), 500).unwrap(), 500);
        for bad in [
            json!(0),
            json!(501),
            json!(-1),
            json!(2.5),
            json!("30"),
            json!(null),
        ] {
            assert_eq!(
                parse_count(Some(&bad), 500).unwrap_err().code(),
                "INVALID_FIELD",
                "{bad}"
            );
        }
    }

    #[test]
    fn hashtags_lose_the_hash_and_case() {
        assert_eq!(parse_hashtag(Some(&json!("food"))).unwrap(), "food");
        assert_eq!(
            parse_hashtag(Some(&json!(" #FoodTok "))).unwrap(),
            "foodtok"
        );
        assert_eq!(parse_hashtag(Some(&json!("café_2"))).unwrap(), "café_2");
        for bad in [
            json!("#"),
            json!(""),
            json!("two words"),
            json!("a#b"),
            json!(3),
        ] {
            assert_eq!(
                parse_hashtag(Some(&bad)).unwrap_err().code(),
                "INVALID_FIELD",
                "{bad}"
            );
        }
        assert_eq!(parse_hashtag(None).unwrap_err().code(), "INVALID_FIELD");
    }

    #[test]
    fn usernames_come_bare_with_at_or_as_profile_urls() {
        for input in [
            "some.user_1",
            "@some.user_1",
            "https://www.tiktok.com/@some.user_1",
            "https://www.tiktok.com/@some.user_1?lang=en",
        ] {
            assert_eq!(
                parse_username(Some(&json!(input))).unwrap(),
                "some.user_1",
                "{input}"
            );
        }
        assert_eq!(
            parse_username(Some(&json!(
                "https://www.tiktok.com/@a/video/7300000000000000001"
            )))
            .unwrap_err()
            .code(),
            "UNSUPPORTED_URL"
        );
        assert_eq!(
            parse_username(Some(&json!("https://example.com/@a")))
                .unwrap_err()
                .code(),
            "INVALID_URL"
        );
        for bad in [json!("@"), json!("a b"), json!("x".repeat(65)), json!(1)] {
            assert_eq!(
                parse_username(Some(&bad)).unwrap_err().code(),
                "INVALID_FIELD",
                "{bad}"
            );
        }
    }

    #[test]
    fn identical_feeds_share_a_key() {
        let request = |feed: Feed, count: u32| FeedJobRequest {
            feed,
            count,
            target_as_sent: None,
            options: JobOptionsRequest::default(),
            metadata: json!({}),
            webhook: None,
        };
        assert_eq!(request(Feed::Trending, 30).feed_key(), "trending|30");
        let tag = request(
            Feed::Hashtag {
                name: "food".to_owned(),
            },
            40,
        );
        assert_eq!(tag.feed_key(), "hashtag|food|40");
        assert_eq!(tag.normalised_request()["hashtag"], "food");
        let user = request(
            Feed::User {
                username: "Some.User".to_owned(),
            },
            30,
        );
        assert_eq!(user.feed_key(), "user|some.user|30");
    }

    proptest! {
        #[test]
        fn any_string_is_a_hashtag_or_a_field_error(text in "\\PC{0,120}") {
            match parse_hashtag(Some(&json!(text))) {
                Ok(name) => {
                    prop_assert!(!name.is_empty());
                    prop_assert!(!name.contains('#'));
                    prop_assert_eq!(name.to_lowercase(), name);
                }
                Err(error) => prop_assert_eq!(error.code(), "INVALID_FIELD"),
            }
        }

        #[test]
        fn any_string_is_a_username_or_a_4xx(text in "\\PC{0,120}") {
            match parse_username(Some(&json!(text))) {
                Ok(name) => {
                    prop_assert!(!name.is_empty());
                    prop_assert!(!name.starts_with('@'));
                }
                Err(error) => prop_assert!(matches!(
                    error.code(),
                    "INVALID_FIELD" | "INVALID_URL" | "UNSUPPORTED_URL"
                )),
            }
        }
    }
}
