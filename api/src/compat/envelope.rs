//! The old analyzer's response envelopes: `{"success":true,"data","metadata"}` and
//! `{"success":false,"error":{"code","message","details"},"metadata"}`, with its error codes.

use std::time::Instant;
use tokworks_shared::ids::JobId;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

/// `metadata.api_version` and the `version` of `/health`, as the old service reported them.
pub const COMPAT_API_VERSION: &str = "1.0.0";

/// The only platform.
pub const PLATFORM: &str = "tiktok";

/// The old service's error codes that tokworks answers (each with its old HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatErrorCode {
    ValidationError,
    UnsupportedPlatform,
    VideoUnavailable,
    VideoTooLong,
    NotVideoContent,
    ExtractionFailed,
    ThumbnailAnalysisFailed,
    ApiKeyInvalid,
    ServiceUnavailable,
    Timeout,
    /// tokworks' per-key limits (not in the old service, which limited nothing).
    RateLimited,
}

impl CompatErrorCode {
    /// The wire name, e.g. `VIDEO_UNAVAILABLE`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompatErrorCode::ValidationError => "VALIDATION_ERROR",
            CompatErrorCode::UnsupportedPlatform => "UNSUPPORTED_PLATFORM",
            CompatErrorCode::VideoUnavailable => "VIDEO_UNAVAILABLE",
            CompatErrorCode::VideoTooLong => "VIDEO_TOO_LONG",
            CompatErrorCode::NotVideoContent => "NOT_VIDEO_CONTENT",
            CompatErrorCode::ExtractionFailed => "EXTRACTION_FAILED",
            CompatErrorCode::ThumbnailAnalysisFailed => "THUMBNAIL_ANALYSIS_FAILED",
            CompatErrorCode::ApiKeyInvalid => "API_KEY_INVALID",
            CompatErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            CompatErrorCode::Timeout => "TIMEOUT",
            CompatErrorCode::RateLimited => "RATE_LIMITED",
        }
    }

    /// The old service's HTTP status of the code (response_helpers.py:89-103).
    pub fn http_status(self) -> StatusCode {
        match self {
            CompatErrorCode::ValidationError => StatusCode::BAD_REQUEST,
            CompatErrorCode::UnsupportedPlatform
            | CompatErrorCode::VideoUnavailable
            | CompatErrorCode::VideoTooLong
            | CompatErrorCode::NotVideoContent => StatusCode::UNPROCESSABLE_ENTITY,
            CompatErrorCode::ExtractionFailed | CompatErrorCode::ThumbnailAnalysisFailed => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            CompatErrorCode::ApiKeyInvalid => StatusCode::UNAUTHORIZED,
            CompatErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            CompatErrorCode::Timeout => StatusCode::REQUEST_TIMEOUT,
            CompatErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// `error.details`: the old `ErrorDetails(url, platform, reason)`; `reason` carries tokworks'
/// precise error code, `job_id` (an addition) the job to poll on `/v1/jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetails {
    pub url: Option<String>,
    pub platform: Option<&'static str>,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
}

impl ErrorDetails {
    /// Details naming the URL, the platform and tokworks' code.
    pub fn for_url(url: &str, reason: &str) -> Self {
        ErrorDetails {
            url: Some(url.to_owned()),
            platform: Some(PLATFORM),
            reason: Some(reason.to_owned()),
            job_id: None,
        }
    }
}

/// An error of the compatibility endpoints: `{"code","message","details"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompatError {
    pub code: CompatErrorCode,
    pub message: String,
    pub details: Option<ErrorDetails>,
}

impl CompatError {
    pub fn new(code: CompatErrorCode, message: impl Into<String>) -> Self {
        CompatError {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: ErrorDetails) -> Self {
        self.details = Some(details);
        self
    }
}

/// `metadata.rate_limit`: the caller's URLs-per-minute budget after this request (the old
/// service sent a constant that limited nothing); `null` when Redis did not answer.
#[derive(Debug, Serialize)]
struct RateLimit {
    remaining: u64,
    reset_at: String,
}

/// `metadata` of both envelopes, keys in the old order.
#[derive(Debug, Serialize)]
struct ResponseMetadata {
    request_id: String,
    api_version: &'static str,
    timestamp: String,
    rate_limit: Option<RateLimit>,
    processing_time_ms: u64,
}

#[derive(Debug, Serialize)]
struct SuccessEnvelope<T> {
    success: bool,
    data: T,
    metadata: ResponseMetadata,
}

#[derive(Debug, Serialize)]
struct ErrorEnvelope {
    success: bool,
    error: CompatError,
    metadata: ResponseMetadata,
}

/// One compatibility request: its id (the `x-request-id` the middleware set) and start time.
#[derive(Debug, Clone)]
pub struct CompatRequest {
    request_id: String,
    started: Instant,
    charge: crate::rate_limits::RequestCharge,
}

impl CompatRequest {
    /// Starts timing a request; the id is the request's `x-request-id` (else a new UUID).
    pub fn start(headers: &HeaderMap) -> Self {
        let request_id = headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        CompatRequest {
            request_id,
            started: Instant::now(),
            charge: Default::default(),
        }
    }

    /// Reports the key's rate-limit budget in `metadata.rate_limit`.
    pub fn with_key(mut self, key: Option<&crate::auth::ApiKey>) -> Self {
        if let Some(key) = key {
            self.charge = key.charge.clone();
        }
        self
    }

    /// Milliseconds since the request started.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn metadata(&self) -> ResponseMetadata {
        ResponseMetadata {
            request_id: self.request_id.clone(),
            api_version: COMPAT_API_VERSION,
            timestamp: iso_timestamp_now(),
            rate_limit: crate::rate_limits::compat_rate_limit(&self.charge).map(
                |(remaining, until_full)| RateLimit {
                    remaining,
                    reset_at: (Utc::now()
                        + chrono::Duration::from_std(until_full).unwrap_or_default())
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
                },
            ),
            processing_time_ms: self.elapsed_ms(),
        }
    }

    /// 200 with the success envelope around `data`.
    pub fn success(&self, data: impl Serialize) -> Response {
        let body = SuccessEnvelope {
            success: true,
            data,
            metadata: self.metadata(),
        };
        (StatusCode::OK, Json(body)).into_response()
    }

    /// The error envelope with the code's old HTTP status.
    pub fn failure(&self, error: CompatError) -> Response {
        let status = error.code.http_status();
        let body = ErrorEnvelope {
            success: false,
            error,
            metadata: self.metadata(),
        };
        (status, Json(body)).into_response()
    }
}

/// Now, ISO 8601 UTC with microseconds.
pub fn iso_timestamp_now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}
