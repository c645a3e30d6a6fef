//! The bodies of `POST /v1/watches` and `PATCH /v1/watches/{id}`, checked into typed values:
//! the target through the feed job's own validation (`jobs::feed_request`), `every` within
//! WATCH_MIN_INTERVAL_SECONDS..=604800, the webhook under the SSRF guard with the watch events.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokworks_shared::db::jobs::NewJobWebhook;
use tokworks_shared::job_status::JobKind;
use tokworks_shared::webhooks::events::WATCH_EVENT_TYPES;

use crate::jobs::feed_request::{FeedJobRequest, parse_count};
use crate::jobs::request::{
    AcceptedJobRequest, AcceptedWebhook, CreateJobRequest, JobKindRequest, JobOptionsRequest,
    ValidationLimits, validate_common, validate_webhook_events,
};
use crate::problem::ApiError;

/// Longest `every`: one week, in seconds.
pub const MAX_EVERY_SECONDS: u32 = 604_800;

/// What a watch watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WatchKindRequest {
    User,
    Hashtag,
    Trending,
    Search,
    Sound,
}

/// The body of `POST /v1/watches`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWatchRequest {
    pub kind: WatchKindRequest,
    /// `user`: the username (`name`, `@name` or profile URL), as for a `user` job.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub username: Option<Value>,
    /// `hashtag`: the hashtag, with or without `#`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub hashtag: Option<Value>,
    /// `search`: the query.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub query: Option<Value>,
    /// `sound`: a music id or a tiktok.com/music URL.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub sound: Option<Value>,
    /// Seconds between runs (at least WATCH_MIN_INTERVAL_SECONDS, at most 604800).
    #[schema(value_type = u32)]
    pub every: Option<Value>,
    /// Videos per run, as a feed job's `count` (default 30).
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub count: Option<Value>,
    /// Report the first run's videos too (default false: the first run is a silent baseline).
    #[serde(default)]
    pub report_existing: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<WatchWebhookRequest>)]
    pub webhook: Option<Value>,
    /// The options of every run's job (`refresh` is implied).
    #[serde(default)]
    pub options: Option<JobOptionsRequest>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// `webhook` of a watch, as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct WatchWebhookRequest {
    pub url: String,
    /// `watch.new_videos`, `watch.paused` (default both).
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// The body of `PATCH /v1/watches/{id}`: any of these; `"webhook": null` removes the webhook.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWatchRequest {
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub every: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub count: Option<Value>,
    #[serde(default)]
    pub report_existing: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<WatchWebhookRequest>)]
    pub webhook: Option<Value>,
    #[serde(default)]
    pub options: Option<JobOptionsRequest>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// A member that is present, `null` included (`Some(Value::Null)`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Limits of watch validation from the api's settings.
#[derive(Debug, Clone)]
pub struct WatchLimits {
    pub job: ValidationLimits,
    /// WATCH_MIN_INTERVAL_SECONDS.
    pub min_every_seconds: u32,
}

/// A checked `POST /v1/watches`.
#[derive(Debug, Clone)]
pub struct AcceptedWatch {
    /// The feed each run asks for (target normalised, count, options, metadata).
    pub feed: FeedJobRequest,
    pub every_seconds: u32,
    pub report_existing: bool,
    pub webhook: Option<AcceptedWebhook>,
}

impl AcceptedWatch {
    pub fn kind(&self) -> JobKind {
        self.feed.feed.kind()
    }
}

/// The webhook of a watch as stored.
pub fn new_webhook(webhook: &AcceptedWebhook) -> NewJobWebhook {
    NewJobWebhook {
        url: webhook.url.clone(),
        events: webhook.events.clone(),
    }
}

impl CreateWatchRequest {
    /// Checks the body; the target, count, options and metadata exactly as a feed job's.
    pub fn validate(self, limits: &WatchLimits) -> Result<AcceptedWatch, ApiError> {
        let job_kind = match self.kind {
            WatchKindRequest::User => JobKindRequest::User,
            WatchKindRequest::Hashtag => JobKindRequest::Hashtag,
            WatchKindRequest::Trending => JobKindRequest::Trending,
            WatchKindRequest::Search => JobKindRequest::Search,
            WatchKindRequest::Sound => JobKindRequest::Sound,
        };
        let every_seconds = parse_every(self.every.as_ref(), limits.min_every_seconds)?;
        let feed_request = CreateJobRequest {
            kind: job_kind,
            url: None,
            urls: None,
            count: self.count,
            hashtag: self.hashtag,
            username: self.username,
            query: self.query,
            sound: self.sound,
            replies: None,
            options: self.options,
            webhook: None,
            metadata: self.metadata,
        };
        let AcceptedJobRequest::Feed(feed) = feed_request.validate_with(&limits.job)? else {
            return Err(ApiError::InvalidField {
                field: "kind".to_owned(),
                message: "must be `user`, `hashtag`, `trending`, `search` or `sound`".to_owned(),
            });
        };
        let webhook = self
            .webhook
            .map(|webhook| validate_watch_webhook(webhook, limits))
            .transpose()?;
        Ok(AcceptedWatch {
            feed,
            every_seconds,
            report_existing: self.report_existing.unwrap_or(false),
            webhook,
        })
    }
}

/// A checked `PATCH`.
#[derive(Debug, Clone, Default)]
pub struct AcceptedWatchChanges {
    pub every_seconds: Option<u32>,
    pub count: Option<u32>,
    pub report_existing: Option<bool>,
    pub options: Option<JobOptionsRequest>,
    pub metadata: Option<Value>,
    /// `Some(None)`: remove the webhook.
    pub webhook: Option<Option<AcceptedWebhook>>,
}

impl UpdateWatchRequest {
    pub fn validate(self, limits: &WatchLimits) -> Result<AcceptedWatchChanges, ApiError> {
        let every_seconds = self
            .every
            .as_ref()
            .map(|every| parse_every(Some(every), limits.min_every_seconds))
            .transpose()?;
        let count = self
            .count
            .as_ref()
            .map(|count| parse_count(Some(count), limits.job.feed_max_count))
            .transpose()?;
        let metadata = match self.metadata {
            Some(metadata) => {
                Some(validate_common(None, None, Some(metadata), &limits.job)?.metadata)
            }
            None => None,
        };
        let webhook = match self.webhook {
            None => None,
            Some(Value::Null) => Some(None),
            Some(webhook) => Some(Some(validate_watch_webhook(webhook, limits)?)),
        };
        Ok(AcceptedWatchChanges {
            every_seconds,
            count,
            report_existing: self.report_existing,
            options: self.options,
            metadata,
            webhook,
        })
    }
}

/// `every`: an integer of seconds in `min..=604800`.
fn parse_every(every: Option<&Value>, min: u32) -> Result<u32, ApiError> {
    let invalid = || ApiError::InvalidField {
        field: "every".to_owned(),
        message: format!(
            "must be an integer number of seconds from {min} (WATCH_MIN_INTERVAL_SECONDS) to {MAX_EVERY_SECONDS}"
        ),
    };
    let every = every.ok_or_else(|| ApiError::InvalidField {
        field: "every".to_owned(),
        message: "missing field `every` (seconds between runs, e.g. 3600)".to_owned(),
    })?;
    every
        .as_u64()
        .and_then(|every| u32::try_from(every).ok())
        .filter(|every| (min.max(1)..=MAX_EVERY_SECONDS).contains(every))
        .ok_or_else(invalid)
}

/// A watch's webhook: the job webhook's URL rules (SSRF guard), the watch events.
fn validate_watch_webhook(
    webhook: Value,
    limits: &WatchLimits,
) -> Result<AcceptedWebhook, ApiError> {
    validate_webhook_events(
        webhook,
        &limits.job.webhook_policy,
        &WATCH_EVENT_TYPES,
        &WATCH_EVENT_TYPES,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> WatchLimits {
        WatchLimits {
            job: ValidationLimits {
                webhook_policy: Default::default(),
                batch_max_urls: 1000,
                feed_max_count: 500,
            },
            min_every_seconds: 300,
        }
    }

    fn validate(body: Value) -> Result<AcceptedWatch, ApiError> {
        serde_json::from_value::<CreateWatchRequest>(body)
            .expect("the body parses")
            .validate(&limits())
    }

    #[test]
    fn a_user_watch_normalises_its_username_like_a_user_job() {
        let watch = validate(serde_json::json!({
            "kind": "user", "username": "@Some.One", "every": 3600
        }))
        .expect("valid");
        assert_eq!(watch.feed.feed.target(), Some("Some.One"));
        assert_eq!(watch.feed.count, 30);
        assert_eq!(watch.every_seconds, 3600);
        assert!(!watch.report_existing);
    }

    #[test]
    fn every_below_the_minimum_or_missing_or_fields_of_another_kind_are_refused() {
        for body in [
            serde_json::json!({"kind": "user", "username": "a", "every": 299}),
            serde_json::json!({"kind": "user", "username": "a"}),
            serde_json::json!({"kind": "user", "username": "a", "every": 604_801}),
            serde_json::json!({"kind": "trending", "hashtag": "x", "every": 300}),
            serde_json::json!({"kind": "hashtag", "query": "x", "every": 300}),
        ] {
            let error = validate(body.clone()).expect_err("refused");
            assert_eq!(error.code(), "INVALID_FIELD", "{body}");
        }
    }

    #[test]
    fn a_watch_webhook_knows_only_watch_events() {
        let error = validate(serde_json::json!({
            "kind": "trending", "every": 300,
            "webhook": {"url": "https://example.com/hook", "events": ["job.completed"]}
        }))
        .expect_err("refused");
        assert!(
            matches!(error, ApiError::InvalidField { ref field, .. } if field == "webhook.events")
        );
        let watch = validate(serde_json::json!({
            "kind": "trending", "every": 300, "webhook": {"url": "https://example.com/hook"}
        }))
        .expect("valid");
        assert_eq!(
            watch.webhook.expect("a webhook").events,
            vec!["watch.new_videos", "watch.paused"]
        );
    }
}
