//! `ApiError`, the one error type of every handler and extractor, rendered as RFC 9457
//! `application/problem+json` with a stable `code`, `retryable` and the request id.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokworks_shared::db;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::ids::JobId;

/// Header carrying the request id (set by tower-http, generated when the client sent none).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API key: send `x-api-key: KEY` or `Authorization: Bearer KEY`")]
    Unauthenticated,
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    #[error("the body is not valid JSON: {message}")]
    MalformedJson { message: String },
    #[error("the body must be JSON: send `Content-Type: application/json`")]
    UnsupportedMediaType,
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("unknown field `{field}`")]
    UnknownField { field: String },
    #[error("invalid field `{field}`: {message}")]
    InvalidField { field: String, message: String },
    #[error("invalid `{field}`: {message}")]
    InvalidUrl {
        field: String,
        code: ErrorCode,
        message: String,
    },
    #[error("`urls` lists {count} URLs; at most {max} are accepted in one batch")]
    TooManyUrls { count: usize, max: usize },
    #[error("none of the {count} URLs of the batch is a TikTok video URL (see `errors`)")]
    NoValidUrls {
        count: usize,
        rejected: Vec<FieldProblem>,
    },
    #[error("`webhook.url` is not allowed: {message}")]
    WebhookUrlNotAllowed { message: String },
    #[error("invalid query parameter `{name}`: {message}")]
    InvalidParameter { name: String, message: String },
    #[error("invalid header `{name}`: {message}")]
    InvalidHeader { name: &'static str, message: String },
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    #[error("not ready: {detail}")]
    NotReady { detail: String },
    /// The key's, or this instance's, cap on open event streams is reached (sent with
    /// `Retry-After`).
    #[error("{0}; close a stream or retry later")]
    TooManyStreams(#[from] crate::jobs::events::stream_slots::StreamCapReached),
    /// An ordinary request took longer than REQUEST_TIMEOUT_SECONDS (sent with `Retry-After`).
    #[error("the request took longer than {seconds} s and was abandoned; retry")]
    RequestTimeout { seconds: u64 },
    /// A synchronous compatibility request whose job was still running when the wait ended.
    #[error("job {job_id} did not finish within the wait; poll /v1/jobs/{job_id}")]
    JobNotFinished { job_id: JobId },
    /// A synchronous feed request whose job failed (e.g. `HASHTAG_NOT_FOUND`).
    #[error("{message} (job {job_id})")]
    FeedFailed {
        code: ErrorCode,
        message: String,
        job_id: JobId,
    },
    /// A redelivery to a job's webhook that its receiver disabled with 410 Gone.
    #[error(
        "the job's webhook is disabled (its receiver answered 410 Gone): nothing is sent to it"
    )]
    WebhookDisabled,
    /// A redelivery past the hourly limit of one event (sent with `Retry-After`).
    #[error(
        "this event was redelivered {limit} times in the last hour; retry after {retry_after_seconds} s"
    )]
    TooManyRedeliveries {
        limit: i64,
        retry_after_seconds: u64,
    },
    /// The key's requests per second or URLs per minute are used up (sent with `Retry-After`).
    #[error(
        "rate limit of this API key reached ({requests_per_second} requests per second, \
         {urls_per_minute} URLs per minute); retry after {retry_after_seconds} s"
    )]
    RateLimited {
        retry_after_seconds: u64,
        requests_per_second: u32,
        urls_per_minute: u32,
    },
    /// The job's items would take the key past its limit of items queued or running.
    #[error(
        "this API key has {in_flight} items queued or running and the job adds {items}: \
         at most {max} are allowed; retry when some have finished"
    )]
    TooManyItemsInFlight {
        in_flight: i64,
        items: u32,
        max: u32,
    },
    /// `/metrics` on a non-loopback listener without METRICS_TOKEN.
    #[error("GET /metrics is closed: the api listens beyond loopback and METRICS_TOKEN is unset")]
    MetricsTokenRequired,
    /// The job finished longer ago than the retention period: its items and results are gone
    /// (docs/retention.md).
    #[error("job {job_id} expired: it finished longer ago than the retention period")]
    JobExpired { job_id: JobId },
    /// The key has its maximum of watches.
    #[error("this API key already has {max} watches (WATCH_MAX_PER_KEY); delete one first")]
    WatchLimitReached { max: i64 },
    /// `POST /v1/watches/{id}/run` while a run of the watch is in flight.
    #[error("a run of this watch is in flight; run it again when it has ended")]
    WatchRunInFlight,
    /// `POST /v1/watches/{id}/run` on a paused watch.
    #[error("the watch is paused: resume it first")]
    WatchPaused,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("the server panicked while handling the request")]
    Panic,
}

/// One problem with one field (`errors[]` of a problem).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// The RFC 9457 body. Kept in the response extensions so that the request-id middleware can
/// render it with the id (handlers and extractors do not see it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    pub retryable: bool,
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::NotFound { .. } | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MalformedJson { .. } | ApiError::InvalidHeader { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnknownField { .. }
            | ApiError::InvalidField { .. }
            | ApiError::InvalidUrl { .. }
            | ApiError::TooManyUrls { .. }
            | ApiError::NoValidUrls { .. }
            | ApiError::WebhookUrlNotAllowed { .. }
            | ApiError::InvalidParameter { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::IdempotencyKeyReused
            | ApiError::WebhookDisabled
            | ApiError::WatchLimitReached { .. }
            | ApiError::WatchRunInFlight
            | ApiError::WatchPaused => StatusCode::CONFLICT,
            ApiError::MetricsTokenRequired => StatusCode::FORBIDDEN,
            ApiError::TooManyRedeliveries { .. }
            | ApiError::RateLimited { .. }
            | ApiError::TooManyItemsInFlight { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::JobExpired { .. } => StatusCode::GONE,
            ApiError::JobNotFinished { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::FeedFailed { code, .. } => match code {
                ErrorCode::HashtagNotFound | ErrorCode::UserNotFound | ErrorCode::SoundNotFound => {
                    StatusCode::NOT_FOUND
                }
                ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_GATEWAY,
            },
            ApiError::Database(error) if db::is_unavailable(error) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Database(_) | ApiError::Panic => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> &str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::NotFound { .. } | ApiError::RouteNotFound => "NOT_FOUND",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::MalformedJson { .. } => "MALFORMED_JSON",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::BodyTooLarge { .. } => "BODY_TOO_LARGE",
            ApiError::UnknownField { .. } => "UNKNOWN_FIELD",
            ApiError::InvalidField { .. } => "INVALID_FIELD",
            ApiError::InvalidUrl { code, .. } => code.as_str(),
            ApiError::TooManyUrls { .. } => "TOO_MANY_URLS",
            ApiError::NoValidUrls { .. } => "NO_VALID_URLS",
            ApiError::WebhookUrlNotAllowed { .. } => "WEBHOOK_URL_NOT_ALLOWED",
            ApiError::InvalidParameter { .. } => "INVALID_PARAMETER",
            ApiError::InvalidHeader { .. } => "INVALID_HEADER",
            ApiError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::WebhookDisabled => "WEBHOOK_DISABLED",
            ApiError::WatchLimitReached { .. } => "WATCH_LIMIT_REACHED",
            ApiError::WatchRunInFlight => "WATCH_RUN_IN_FLIGHT",
            ApiError::WatchPaused => "WATCH_PAUSED",
            ApiError::MetricsTokenRequired => "METRICS_TOKEN_REQUIRED",
            ApiError::TooManyRedeliveries { .. } => "TOO_MANY_REDELIVERIES",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::TooManyItemsInFlight { .. } => "TOO_MANY_ITEMS_IN_FLIGHT",
            ApiError::NotReady { .. } => "NOT_READY",
            ApiError::JobNotFinished { .. } => "JOB_NOT_FINISHED",
            ApiError::JobExpired { .. } => "JOB_EXPIRED",
            ApiError::TooManyStreams(_) => "TOO_MANY_STREAMS",
            ApiError::RequestTimeout { .. } => "REQUEST_TIMEOUT",
            ApiError::FeedFailed { code, .. } => code.as_str(),
            ApiError::Database(error) if db::is_unavailable(error) => "NOT_READY",
            ApiError::Database(_) | ApiError::Panic => "INTERNAL",
        }
    }

    fn retryable(&self) -> bool {
        match self {
            ApiError::FeedFailed { code, .. } => code.is_retryable(),
            other => matches!(
                other,
                ApiError::NotReady { .. }
                    | ApiError::TooManyStreams(_)
                    | ApiError::RequestTimeout { .. }
                    | ApiError::JobNotFinished { .. }
                    | ApiError::TooManyRedeliveries { .. }
                    | ApiError::RateLimited { .. }
                    | ApiError::TooManyItemsInFlight { .. }
                    | ApiError::Database(_)
                    | ApiError::Panic
            ),
        }
    }

    fn field_problems(&self) -> Vec<FieldProblem> {
        let field = match self {
            ApiError::UnknownField { field }
            | ApiError::InvalidField { field, .. }
            | ApiError::InvalidUrl { field, .. } => field.clone(),
            ApiError::WebhookUrlNotAllowed { .. } => "webhook.url".to_owned(),
            ApiError::InvalidParameter { name, .. } => name.clone(),
            ApiError::TooManyUrls { .. } => "urls".to_owned(),
            ApiError::NoValidUrls { rejected, .. } => return rejected.clone(),
            _ => return Vec::new(),
        };
        vec![FieldProblem {
            field,
            code: self.code().to_owned(),
            message: self.to_string(),
        }]
    }

    /// The problem body (without request id: the middleware adds it).
    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let code = self.code().to_owned();
        Problem {
            problem_type: format!(
                "urn:tokworks:problem:{}",
                code.to_lowercase().replace('_', "-")
            ),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            // Internal causes are logged, never shown.
            detail: match self {
                ApiError::Database(error) if db::is_unavailable(error) => {
                    "the database is unavailable or overloaded; retry shortly".to_owned()
                }
                other => other.to_string(),
            },
            code,
            retryable: self.retryable(),
            request_id: None,
            errors: self.field_problems(),
        }
    }
}

/// `Retry-After` of a 503 (`NOT_READY`): the database or a dependency should be back, or the
/// pool less busy, by then.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 2;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Database(error) if db::is_unavailable(error) => {
                tracing::warn!(error = %error, "database unavailable")
            }
            ApiError::Database(error) => tracing::error!(error = %error, "database error"),
            ApiError::Panic => tracing::error!("handler panicked"),
            ApiError::NotReady { detail } => tracing::warn!(%detail, "not ready"),
            _ => tracing::debug!(code = self.code(), error = %self, "request rejected"),
        }
        let problem = self.to_problem();
        let mut response = render_problem(&problem);
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECONDS),
            );
        }
        response.extensions_mut().insert(problem);
        response
    }
}

fn render_problem(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Middleware: re-renders every problem response with the request id of the request.
pub async fn add_request_id_to_problems(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let Some(problem) = response.extensions().get::<Problem>().cloned() else {
        return response;
    };
    let (parts, _body) = response.into_parts();
    let mut rendered = render_problem(&Problem {
        request_id,
        ..problem
    });
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}

/// `CatchPanicLayer` handler: a panic becomes a 500 problem (the request id is added outside).
pub fn panic_to_problem(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Panic.into_response()
}

/// Fallback for paths no route matches.
pub async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

/// Fallback for a known path with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
