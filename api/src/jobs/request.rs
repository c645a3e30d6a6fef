//! The `POST /v1/jobs` body (wire format) and its validation into an accepted job: a
//! `VideoJobRequest`, a `BatchJobRequest` (its URL list is checked in `batch_request`) or a
//! `FeedJobRequest` (trending, hashtag, user, search, sound; checked in `feed_request` and
//! `feed_targets`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::job_options::{Language, StoredJobOptions};
use tokworks_shared::tiktok_url::TiktokUrl;
use tokworks_shared::webhooks::address_guard::{AddressPolicy, WebhookTarget};
use tokworks_shared::webhooks::events::{ALL_EVENT_TYPES, DEFAULT_EVENT_TYPES};

use crate::jobs::batch_request::{BatchJobRequest, parse_batch_urls};
use crate::jobs::feed_request::FeedJobRequest;
use crate::problem::ApiError;

/// Largest accepted `metadata` object, serialized.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// Job kinds of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobKindRequest {
    Video,
    Batch,
    Trending,
    Hashtag,
    User,
    Search,
    Sound,
    Comments,
}

impl JobKindRequest {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobKindRequest::Video => "video",
            JobKindRequest::Batch => "batch",
            JobKindRequest::Trending => "trending",
            JobKindRequest::Hashtag => "hashtag",
            JobKindRequest::User => "user",
            JobKindRequest::Search => "search",
            JobKindRequest::Sound => "sound",
            JobKindRequest::Comments => "comments",
        }
    }
}

/// `options` of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobOptionsRequest {
    /// Bypass the cache (CACHE_TTL_SECONDS) and fetch from TikTok again.
    #[serde(default)]
    pub refresh: bool,
    #[serde(default)]
    pub analyze_thumbnail: bool,
    /// Language of the thumbnail analysis and the transcript.
    #[serde(default)]
    pub language: Language,
    #[serde(default)]
    pub transcript: bool,
}

impl JobOptionsRequest {
    /// The options as the job stores them (`jobs.options`, the worker's contract).
    pub fn stored(&self) -> StoredJobOptions {
        StoredJobOptions {
            refresh: self.refresh,
            analyze_thumbnail: self.analyze_thumbnail,
            language: self.language,
            transcript: self.transcript,
            ..StoredJobOptions::default()
        }
    }
}

/// `options` of a job as the API shows it (the stored options without their version; fields in
/// alphabetical order, as the API has always sent them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobOptionsResponse {
    pub analyze_thumbnail: bool,
    pub language: Language,
    pub refresh: bool,
    pub transcript: bool,
}

impl From<StoredJobOptions> for JobOptionsResponse {
    fn from(options: StoredJobOptions) -> Self {
        JobOptionsResponse {
            analyze_thumbnail: options.analyze_thumbnail,
            language: options.language,
            refresh: options.refresh,
            transcript: options.transcript,
        }
    }
}

/// The body of `POST /v1/jobs`, as sent: the fields of every kind (each kind's validation refuses
/// the fields of the others).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    pub kind: JobKindRequest,
    #[serde(default)]
    pub url: Option<String>,
    /// `batch`: the URLs, each a string or `{"url", "custom_id"}`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<serde_json::Value>>)]
    pub urls: Option<Value>,
    /// `trending`, `hashtag`, `user`, `search`, `sound`: how many videos to collect.
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub count: Option<Value>,
    /// `hashtag`: the hashtag, without `#`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub hashtag: Option<Value>,
    /// `user`: the TikTok username, without `@`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub username: Option<Value>,
    /// `search`: what to search for (1 to 100 characters after trimming).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub query: Option<Value>,
    /// `sound`: a 19-digit music id or a sound URL (`https://www.tiktok.com/music/<name>-<id>`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub sound: Option<Value>,
    /// `comments`: also fetch each comment's replies (default false).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub replies: Option<Value>,
    #[serde(default)]
    pub options: Option<JobOptionsRequest>,
    #[serde(default)]
    #[schema(value_type = Option<WebhookRequest>)]
    pub webhook: Option<Value>,
    /// Free JSON object (at most 16 KiB serialized), echoed on the job.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// `webhook` of a job, as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    pub url: String,
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// A validated webhook: its URL passed the URL rules of the SSRF guard (the host's addresses are
/// checked by the route after resolving it) and its event types are known.
#[derive(Debug, Clone)]
pub struct AcceptedWebhook {
    pub target: WebhookTarget,
    /// Exactly what the client sent.
    pub url: String,
    /// Deduplicated, in catalogue order.
    pub events: Vec<String>,
}

/// A validated `video` job.
#[derive(Debug, Clone)]
pub struct VideoJobRequest {
    /// Exactly what the client sent.
    pub input_url: String,
    pub url: TiktokUrl,
    pub options: JobOptionsRequest,
    pub metadata: Value,
    pub webhook: Option<AcceptedWebhook>,
}

impl VideoJobRequest {
    /// The normalised request stored in `jobs.request` (compared on idempotent replays).
    pub fn normalised_request(&self) -> Value {
        let mut request = serde_json::json!({
            "kind": "video",
            "url": self.input_url,
            "options": self.options,
            "metadata": self.metadata,
        });
        insert_normalised_webhook(&mut request, self.webhook.as_ref());
        request
    }
}

/// A validated job of one of the available kinds.
#[derive(Debug, Clone)]
pub enum AcceptedJobRequest {
    Video(VideoJobRequest),
    Batch(BatchJobRequest),
    Feed(FeedJobRequest),
}

impl AcceptedJobRequest {
    /// The job's webhook, if it has one.
    pub fn webhook(&self) -> Option<&AcceptedWebhook> {
        match self {
            AcceptedJobRequest::Video(video) => video.webhook.as_ref(),
            AcceptedJobRequest::Batch(batch) => batch.webhook.as_ref(),
            AcceptedJobRequest::Feed(feed) => feed.webhook.as_ref(),
        }
    }
}

/// What every kind shares, validated: options, metadata, webhook.
pub(crate) struct CommonFields {
    pub(crate) options: JobOptionsRequest,
    pub(crate) metadata: Value,
    pub(crate) webhook: Option<AcceptedWebhook>,
}

/// Limits of validation that come from the api's settings.
#[derive(Debug, Clone, Default)]
pub struct ValidationLimits {
    /// The webhook SSRF guard.
    pub webhook_policy: AddressPolicy,
    /// Most URLs in one batch (BATCH_MAX_URLS).
    pub batch_max_urls: usize,
    /// Largest `count` of a feed job (FEED_MAX_COUNT).
    pub feed_max_count: u32,
}

impl CreateJobRequest {
    /// Checks the request and returns the job to create, or the first problem found (webhook
    /// URLs under the strictest guard policy, batches of up to 1000 URLs).
    pub fn validate(self) -> Result<AcceptedJobRequest, ApiError> {
        self.validate_with(&ValidationLimits {
            webhook_policy: AddressPolicy::default(),
            batch_max_urls: 1000,
            feed_max_count: 500,
        })
    }

    /// [`Self::validate`] with the api's limits.
    pub fn validate_with(self, limits: &ValidationLimits) -> Result<AcceptedJobRequest, ApiError> {
        let kind = self.kind;
        if matches!(
            kind,
            JobKindRequest::Trending
                | JobKindRequest::Hashtag
                | JobKindRequest::User
                | JobKindRequest::Search
                | JobKindRequest::Sound
        ) {
            return crate::jobs::feed_request::validate_feed(self, limits);
        }
        if kind == JobKindRequest::Comments {
            return crate::jobs::comments_request::validate_comments(self, limits);
        }
        if self.replies.is_some() {
            return Err(ApiError::InvalidField {
                field: "replies".to_owned(),
                message: format!("`replies` is not a field of a `{}` job", kind.as_str()),
            });
        }
        let (url_field, urls_field) = (self.url.is_some(), self.urls.is_some());
        for (field, present) in [
            ("url", url_field && kind == JobKindRequest::Batch),
            ("urls", urls_field && kind == JobKindRequest::Video),
            ("count", self.count.is_some()),
            ("hashtag", self.hashtag.is_some()),
            ("username", self.username.is_some()),
            ("query", self.query.is_some()),
            ("sound", self.sound.is_some()),
        ] {
            if present {
                return Err(ApiError::InvalidField {
                    field: field.to_owned(),
                    message: format!("`{field}` is not a field of a `{}` job", kind.as_str()),
                });
            }
        }
        let common = validate_common(self.options, self.webhook, self.metadata, limits)?;
        if kind == JobKindRequest::Batch {
            let urls = self.urls.ok_or_else(|| ApiError::InvalidField {
                field: "urls".to_owned(),
                message: "missing field `urls` (the list of TikTok video URLs)".to_owned(),
            })?;
            let parsed = parse_batch_urls(&urls, limits.batch_max_urls)?;
            return Ok(AcceptedJobRequest::Batch(BatchJobRequest {
                urls_as_sent: urls,
                entries: parsed.entries,
                rejected: parsed.rejected,
                options: common.options,
                metadata: common.metadata,
                webhook: common.webhook,
            }));
        }
        let input_url = self.url.ok_or_else(|| ApiError::InvalidField {
            field: "url".to_owned(),
            message: "missing field `url` (the TikTok video URL)".to_owned(),
        })?;
        let url = parse_video_url("url", &input_url)?;
        Ok(AcceptedJobRequest::Video(VideoJobRequest {
            input_url,
            url,
            options: common.options,
            metadata: common.metadata,
            webhook: common.webhook,
        }))
    }
}

pub(crate) fn validate_common(
    options: Option<JobOptionsRequest>,
    webhook: Option<Value>,
    metadata: Option<Value>,
    limits: &ValidationLimits,
) -> Result<CommonFields, ApiError> {
    let webhook = webhook
        .map(|webhook| validate_webhook(webhook, &limits.webhook_policy))
        .transpose()?;
    let options = options.unwrap_or_default();
    let metadata = validate_metadata(metadata)?;
    Ok(CommonFields {
        options,
        metadata,
        webhook,
    })
}

/// The `webhook` member of a normalised request, when there is a webhook.
pub(crate) fn insert_normalised_webhook(request: &mut Value, webhook: Option<&AcceptedWebhook>) {
    if let (Some(webhook), Value::Object(object)) = (webhook, request) {
        object.insert(
            "webhook".to_owned(),
            serde_json::json!({ "url": webhook.url, "events": webhook.events }),
        );
    }
}

fn validate_webhook(webhook: Value, policy: &AddressPolicy) -> Result<AcceptedWebhook, ApiError> {
    validate_webhook_events(webhook, policy, &ALL_EVENT_TYPES, &DEFAULT_EVENT_TYPES)
}

/// A webhook object (`{"url", "events"?}`): the URL through the SSRF guard (`policy`), the
/// events among `catalogue` (in its order; `defaults` when left out).
pub(crate) fn validate_webhook_events(
    webhook: Value,
    policy: &AddressPolicy,
    catalogue: &[&str],
    defaults: &[&str],
) -> Result<AcceptedWebhook, ApiError> {
    let webhook: WebhookRequest =
        serde_json::from_value(webhook).map_err(|error| ApiError::InvalidField {
            field: "webhook".to_owned(),
            message: format!("must be {{\"url\": \"https://…\", \"events\": [ … ]}}: {error}"),
        })?;
    let requested = webhook
        .events
        .unwrap_or_else(|| defaults.iter().map(|name| (*name).to_owned()).collect());
    if requested.is_empty() {
        return Err(ApiError::InvalidField {
            field: "webhook.events".to_owned(),
            message: "must name at least one event (or be omitted for the defaults)".to_owned(),
        });
    }
    if let Some(unknown) = requested
        .iter()
        .find(|name| !catalogue.contains(&name.as_str()))
    {
        return Err(ApiError::InvalidField {
            field: "webhook.events".to_owned(),
            message: format!(
                "unknown event `{unknown}` (known: {})",
                catalogue.join(", ")
            ),
        });
    }
    let events = catalogue
        .iter()
        .filter(|name| requested.iter().any(|requested| requested == *name))
        .map(|name| (*name).to_owned())
        .collect();
    let target =
        policy
            .check_url(&webhook.url)
            .map_err(|error| ApiError::WebhookUrlNotAllowed {
                message: error.to_string(),
            })?;
    Ok(AcceptedWebhook {
        target,
        url: webhook.url,
        events,
    })
}

fn validate_metadata(metadata: Option<Value>) -> Result<Value, ApiError> {
    let metadata = match metadata {
        None => return Ok(Value::Object(serde_json::Map::new())),
        Some(metadata @ Value::Object(_)) => metadata,
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "metadata".to_owned(),
                message: "must be a JSON object".to_owned(),
            });
        }
    };
    let size = serde_json::to_vec(&metadata)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(ApiError::InvalidField {
            field: "metadata".to_owned(),
            message: format!("is {size} bytes serialized; at most {MAX_METADATA_BYTES} allowed"),
        });
    }
    Ok(metadata)
}

/// Parses a video URL (the value of `field`): posts and short links only.
pub(crate) fn parse_video_url(field: &str, input_url: &str) -> Result<TiktokUrl, ApiError> {
    let url = TiktokUrl::parse(input_url).map_err(|error| ApiError::InvalidUrl {
        field: field.to_owned(),
        code: error.error_code(),
        message: error.to_string(),
    })?;
    if url.kind().is_video_input() {
        return Ok(url);
    }
    Err(ApiError::InvalidUrl {
        field: field.to_owned(),
        code: ErrorCode::UnsupportedUrl,
        message: format!("not a video URL: {}", url.kind().describe()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_body::parse_json;

    fn validate(body: &str) -> Result<VideoJobRequest, ApiError> {
        match parse_json::<CreateJobRequest>(body.as_bytes())?.validate()? {
            AcceptedJobRequest::Video(video) => Ok(video),
            other => panic!("not a video job from {body}: {other:?}"),
        }
    }

    #[test]
    fn a_video_url_is_accepted_with_default_options() {
        let job = validate(
            r#"{"kind":"video","url":"https://www.tiktok.com/@a/video/7300000000000000001"}"#,
        )
        .unwrap();
        assert_eq!(job.options, JobOptionsRequest::default());
        assert_eq!(job.url.video_id(), Some("7300000000000000001"));
        assert_eq!(job.normalised_request()["options"]["language"], "en");
    }

    #[test]
    fn fields_of_the_other_kind_are_invalid() {
        let url = "https://www.tiktok.com/@a/video/7300000000000000001";
        let error = validate(&format!(
            r#"{{"kind":"video","url":"{url}","urls":["{url}"]}}"#
        ))
        .unwrap_err();
        assert_eq!(error.code(), "INVALID_FIELD");
        let batch = format!(r#"{{"kind":"batch","url":"{url}","urls":["{url}"]}}"#);
        let error = parse_json::<CreateJobRequest>(batch.as_bytes())
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(error.code(), "INVALID_FIELD");
    }

    #[test]
    fn a_transcript_can_be_asked_for_in_either_language() {
        let url = "https://www.tiktok.com/@a/video/7300000000000000001";
        let body = format!(
            r#"{{"kind":"video","url":"{url}","options":{{"transcript":true,"language":"id"}}}}"#
        );
        let job = validate(&body).unwrap();
        assert!(job.options.transcript);
        assert_eq!(job.options.language, Language::Id);
        let body = format!(
            r#"{{"kind":"video","url":"{url}","options":{{"transcript":true,"language":"fr"}}}}"#
        );
        assert!(validate(&body).is_err(), "only en and id");
    }

    #[test]
    fn thumbnail_analysis_is_accepted_with_its_language_in_the_normalised_options() {
        let url = "https://www.tiktok.com/@a/video/7300000000000000001";
        let job = validate(&format!(
            r#"{{"kind":"video","url":"{url}","options":{{"analyze_thumbnail":true,"language":"id"}}}}"#
        ))
        .unwrap();
        let request = job.normalised_request();
        assert_eq!(request["options"]["analyze_thumbnail"], true);
        assert_eq!(request["options"]["language"], "id");
        let error = validate(&format!(
            r#"{{"kind":"video","url":"{url}","options":{{"analyze_thumbnail":true,"language":"fr"}}}}"#
        ))
        .unwrap_err();
        assert!(error.code().starts_with("INVALID"), "{}", error.code());
    }

    #[test]
    fn a_webhook_gets_default_events_and_is_part_of_the_normalised_request() {
        let url = "https://www.tiktok.com/@a/video/7300000000000000001";
        let job = validate(&format!(
            r#"{{"kind":"video","url":"{url}","webhook":{{"url":"https://93.184.216.34/hook"}}}}"#
        ))
        .unwrap();
        let request = job.normalised_request();
        assert_eq!(
            request["webhook"]["events"],
            serde_json::json!(["job.completed", "job.failed", "job.canceled"])
        );
        assert_eq!(request["webhook"]["url"], "https://93.184.216.34/hook");
    }

    #[test]
    fn webhook_problems_have_stable_codes() {
        let url = "https://www.tiktok.com/@a/video/7300000000000000001";
        for (webhook, code) in [
            (
                r#"{"url":"https://93.184.216.34/","events":["job.exploded"]}"#,
                "INVALID_FIELD",
            ),
            (
                r#"{"url":"https://93.184.216.34/","events":[]}"#,
                "INVALID_FIELD",
            ),
            (
                r#"{"url":"https://93.184.216.34/","secret":"x"}"#,
                "INVALID_FIELD",
            ),
            (
                r#"{"url":"http://127.0.0.1:8080/"}"#,
                "WEBHOOK_URL_NOT_ALLOWED",
            ),
            (r#"{"url":"http://127.0.0.1/"}"#, "WEBHOOK_URL_NOT_ALLOWED"),
            (r#"{"url":"http://2130706433/"}"#, "WEBHOOK_URL_NOT_ALLOWED"),
            (r#"{"url":"http://localhost/"}"#, "WEBHOOK_URL_NOT_ALLOWED"),
            (
                r#"{"url":"https://u:p@93.184.216.34/"}"#,
                "WEBHOOK_URL_NOT_ALLOWED",
            ),
            (r#"{"url":"file:///etc/passwd"}"#, "WEBHOOK_URL_NOT_ALLOWED"),
        ] {
            let body = format!(r#"{{"kind":"video","url":"{url}","webhook":{webhook}}}"#);
            assert_eq!(validate(&body).unwrap_err().code(), code, "{webhook}");
        }
    }

    #[test]
    fn a_profile_url_is_unsupported_as_a_video() {
        let error =
            validate(r#"{"kind":"video","url":"https://www.tiktok.com/@someone"}"#).unwrap_err();
        assert_eq!(error.code(), "UNSUPPORTED_URL");
    }
}
