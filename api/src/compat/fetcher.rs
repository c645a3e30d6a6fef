//! The old Flask fetcher's endpoints: `GET /trending?count=N` and `GET /category?hashtag=NAME
//! &count=N`, answered with its plain JSON list (`fetcher_list`). Each request is a `trending` /
//! `hashtag` feed job over the job engine (so the feed cache and in-flight coalescing apply),
//! waited for up to WAIT_MAX_SECONDS.
//!
//! Beyond the old list (decisions; the fetcher's error shape was not documented): every answer
//! names its job in `x-tokworks-job-id`; a feed that stopped short is still a 200 with the videos
//! it has and the reason in `x-tokworks-partial`; failures are problem+json with the feed's
//! precise code (`HASHTAG_NOT_FOUND` 404, upstream trouble 502, a job still running 504).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokworks_shared::db::job_items::{self as item_db, JobItemListQuery};
use tokworks_shared::db::jobs::JobRow;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::job_status::{ItemStatus, JobStatus};

use crate::auth::ApiKey;
use crate::compat::extract::validation_limits;
use crate::compat::fetcher_list::FetcherVideo;
use crate::jobs::feed_request::DEFAULT_FEED_COUNT;
use crate::jobs::feed_submit::submit_feed_job;
use crate::jobs::lookup::wait_for_job;
use crate::jobs::request::{AcceptedJobRequest, CreateJobRequest, JobKindRequest};
use crate::problem::ApiError;
use crate::state::AppState;

/// The job that answered (every response).
pub const JOB_ID_HEADER: &str = "x-tokworks-job-id";
/// The reason a feed stopped short (only on partial answers), e.g. `UPSTREAM_RATE_LIMITED`.
pub const PARTIAL_HEADER: &str = "x-tokworks-partial";

/// `GET /trending?count=N` (default 30).
#[utoipa::path(
    get,
    path = "/trending",
    tag = "compatibility",
    operation_id = "compat_get_trending",
    description = "The old fetcher's trending list (a `trending` job, waited for).",
    security(("api_key" = []), ("bearer" = [])),
    params(("count" = Option<u32>, Query, description = "How many videos (default 30).")),
    responses(
        (status = 200, description = "The old service's answer.", body = Object),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`HASHTAG_NOT_FOUND` (`/category`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_PARAMETER` / `INVALID_FIELD`: a missing hashtag or a bad `count`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Upstream trouble: `UPSTREAM_EMPTY`, `UPSTREAM_RATE_LIMITED`, `UPSTREAM_BLOCKED`, `UPSTREAM_UNAVAILABLE`, `UPSTREAM_CHANGED`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 504, description = "`JOB_NOT_FINISHED`: the walk outlasted the wait (the detail names the job to poll).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_trending(
    State(state): State<AppState>,
    key: Result<ApiKey, ApiError>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let key = key?;
    let count = count_parameter(&query)?;
    fetch_feed(&state, &key, JobKindRequest::Trending, None, count).await
}

/// `GET /category?hashtag=NAME&count=N` (default 30; the hashtag with or without `#`).
#[utoipa::path(
    get,
    path = "/category",
    tag = "compatibility",
    operation_id = "compat_get_category",
    description = "The old fetcher's hashtag list (a `hashtag` job, waited for).",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("hashtag" = String, Query, description = "The hashtag, with or without `#`."),
        ("count" = Option<u32>, Query, description = "How many videos (default 30)."),
    ),
    responses(
        (status = 200, description = "The old service's answer.", body = Object),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`HASHTAG_NOT_FOUND` (`/category`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_PARAMETER` / `INVALID_FIELD`: a missing hashtag or a bad `count`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Upstream trouble: `UPSTREAM_EMPTY`, `UPSTREAM_RATE_LIMITED`, `UPSTREAM_BLOCKED`, `UPSTREAM_UNAVAILABLE`, `UPSTREAM_CHANGED`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 504, description = "`JOB_NOT_FINISHED`: the walk outlasted the wait (the detail names the job to poll).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_category(
    State(state): State<AppState>,
    key: Result<ApiKey, ApiError>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let key = key?;
    let count = count_parameter(&query)?;
    let Some(hashtag) = query.get("hashtag") else {
        return Err(ApiError::InvalidParameter {
            name: "hashtag".to_owned(),
            message: "the hashtag is required: /category?hashtag=food".to_owned(),
        });
    };
    fetch_feed(
        &state,
        &key,
        JobKindRequest::Hashtag,
        Some(hashtag.clone()),
        count,
    )
    .await
}

/// `count` as a JSON number for the shared validation (which checks the range).
fn count_parameter(query: &HashMap<String, String>) -> Result<serde_json::Value, ApiError> {
    match query.get("count") {
        None => Ok(DEFAULT_FEED_COUNT.into()),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .map(serde_json::Value::from)
            .map_err(|_| ApiError::InvalidParameter {
                name: "count".to_owned(),
                message: format!("count must be a whole number, got {text:?}"),
            }),
    }
}

async fn fetch_feed(
    state: &AppState,
    key: &ApiKey,
    kind: JobKindRequest,
    hashtag: Option<String>,
    count: serde_json::Value,
) -> Result<Response, ApiError> {
    let endpoint = match kind {
        JobKindRequest::Hashtag => "/category",
        _ => "/trending",
    };
    let create = CreateJobRequest {
        kind,
        url: None,
        urls: None,
        count: Some(count),
        hashtag: hashtag.map(serde_json::Value::String),
        username: None,
        query: None,
        sound: None,
        replies: None,
        options: None,
        webhook: None,
        metadata: Some(serde_json::json!({ "compat_endpoint": endpoint })),
    };
    let AcceptedJobRequest::Feed(feed_job) = create.validate_with(&validation_limits(state))?
    else {
        return Err(ApiError::InvalidParameter {
            name: "kind".to_owned(),
            message: "not a feed".to_owned(),
        });
    };
    let submitted = submit_feed_job(state, key, &feed_job, None).await?;
    let job = wait_for_job(state, key, submitted.job_id, state.settings.wait_max).await?;
    if !job.is_finished() {
        return Err(ApiError::JobNotFinished { job_id: job.job_id });
    }
    let failure_code = job_error_code(&job);
    if !matches!(job.status, JobStatus::Succeeded | JobStatus::Partial) {
        return Err(ApiError::FeedFailed {
            code: failure_code.unwrap_or(ErrorCode::Internal),
            message: job
                .error_message
                .clone()
                .unwrap_or_else(|| format!("the feed job ended {}", job.status)),
            job_id: job.job_id,
        });
    }
    let videos = finished_videos(state, &job, feed_job.count).await?;
    let mut response = Json(videos).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&job.job_id.to_string()) {
        headers.insert(HeaderName::from_static(JOB_ID_HEADER), value);
    }
    if job.status == JobStatus::Partial
        && let Some(code) = failure_code
    {
        headers.insert(
            HeaderName::from_static(PARTIAL_HEADER),
            HeaderValue::from_static(code.as_str()),
        );
    }
    Ok(response)
}

/// The job's error code, when it has a known one.
fn job_error_code(job: &JobRow) -> Option<ErrorCode> {
    job.error_code.as_deref().and_then(ErrorCode::from_wire)
}

/// The succeeded items' videos in feed order, as list entries.
async fn finished_videos(
    state: &AppState,
    job: &JobRow,
    count: u32,
) -> Result<Vec<FetcherVideo>, ApiError> {
    let items = item_db::list_job_items(
        &state.db,
        job.job_id,
        &JobItemListQuery {
            status: Some(ItemStatus::Succeeded),
            after_position: None,
            limit: i64::from(count),
        },
    )
    .await?;
    Ok(items
        .iter()
        .filter_map(|item| item.result.as_ref())
        .map(FetcherVideo::from_video)
        .collect())
}
