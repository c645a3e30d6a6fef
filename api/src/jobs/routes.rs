//! `/v1/jobs`: create (idempotent, optionally waiting), get, list, cancel.

use std::time::Duration;
use tokworks_shared::ids::JobId;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::types::Json as JsonColumn;
use tokworks_shared::db::job_views::JobViewRow;
use tokworks_shared::db::jobs::{
    self as job_db, CancelJobOutcome, InsertJobOutcome, JobListQuery, JobRow,
};
use tokworks_shared::db::webhooks as webhook_db;
use tokworks_shared::job_status::{JobKind, JobStatus};

use crate::auth::ApiKey;
use crate::cursor::{decode_cursor, encode_cursor, page_limit, query_problem};
use crate::jobs::batch_request::RejectedUrl;
use crate::jobs::feed_submit::submit_feed_job;
use crate::jobs::lookup::{find_job_view, parse_job_id, wait_for_job};
use crate::jobs::request::{AcceptedJobRequest, CreateJobRequest, ValidationLimits};
use crate::jobs::submit::{check_webhook_addresses, new_batch_job, new_video_job};
use crate::jobs::view::{JobListResponse, JobResponse, JobSummaryResponse, job_location};
use crate::json_body::JsonBody;
use crate::problem::ApiError;
use crate::state::AppState;

const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
const MAX_LIST_LIMIT: i64 = 100;
const DEFAULT_LIST_LIMIT: i64 = 20;

/// `POST /v1/jobs`: validates, stores the job and its items in one statement (the workers'
/// dispatcher enqueues them), and
/// answers 202 + `Location` (or, with `Prefer: wait=N`, 200 once the job has finished).
#[utoipa::path(
    post,
    path = "/v1/jobs",
    tag = "jobs",
    security(("api_key" = []), ("bearer" = [])),
    request_body = crate::jobs::request::CreateJobRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters: the same key with the same body answers the same job; with another body 409 `IDEMPOTENCY_KEY_REUSED`."),
        ("Prefer" = Option<String>, Header, description = "`wait=N` (seconds, at most `WAIT_MAX_SECONDS`): answer 200 once the job has finished, or 202 when it is still running after N seconds."),
    ),
    responses(
        (status = 202, description = "Accepted; `Location` names the job.", body = crate::jobs::view::JobResponse, headers(("Location" = String, description = "The job's URL."), ("Preference-Applied" = Option<String>, description = "`wait=N`, the wait applied (capped at `WAIT_MAX_SECONDS`), when `Prefer: wait` was sent."))),
        (status = 200, description = "The finished job (after `Prefer: wait=N`, or a replayed `Idempotency-Key`).", body = crate::jobs::view::JobResponse, headers(("Location" = String, description = "The job's URL."), ("Preference-Applied" = Option<String>, description = "`wait=N`, the wait applied (capped at `WAIT_MAX_SECONDS`), when `Prefer: wait` was sent."))),
        (status = 400, description = "`MALFORMED_JSON` or `INVALID_HEADER`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`IDEMPOTENCY_KEY_REUSED`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "An `Idempotency-Key` replay of a job past the retention period (`JOB_EXPIRED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`BODY_TOO_LARGE`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`UNKNOWN_FIELD`, `INVALID_FIELD`, `INVALID_URL`, `UNSUPPORTED_URL`, `WEBHOOK_URL_NOT_ALLOWED`, `TOO_MANY_URLS`, `NO_VALID_URLS`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create_job(
    State(state): State<AppState>,
    key: ApiKey,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateJobRequest>,
) -> Result<Response, ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    let wait = requested_wait(&headers).map(|wait| wait.min(state.settings.wait_max));
    let limits = ValidationLimits {
        webhook_policy: state.settings.webhook_policy.clone(),
        batch_max_urls: state.settings.batch_max_urls,
        feed_max_count: state.settings.feed_max_count,
    };
    let accepted = request.validate_with(&limits)?;
    if !matches!(accepted, AcceptedJobRequest::Feed(_)) {
        // Feed jobs are admitted by `submit_feed_job` (the compatibility endpoints call it too).
        crate::rate_limits::admit_submission(&state, &key, submit_cost(&accepted)).await?;
    }
    if let Some(webhook) = accepted.webhook() {
        check_webhook_addresses(&state, webhook).await?;
        webhook_db::ensure_webhook_secret(&state.db, key.api_key_id).await?;
    }
    let max_attempts = state.settings.item_max_attempts;
    let (new_job, rejected) = match &accepted {
        AcceptedJobRequest::Video(video_job) => (
            new_video_job(video_job, &key, idempotency_key, max_attempts),
            None,
        ),
        AcceptedJobRequest::Batch(batch_job) => (
            new_batch_job(batch_job, &key, idempotency_key, max_attempts),
            Some(batch_job.rejected.clone()),
        ),
        AcceptedJobRequest::Feed(feed_job) => {
            let submitted = submit_feed_job(&state, &key, feed_job, idempotency_key).await?;
            return job_created_response(
                &state,
                &key,
                submitted.job_id,
                submitted.replayed,
                wait,
                None,
            )
            .await;
        }
    };

    let mut connection = state.db.acquire().await?;
    let outcome = job_db::insert_job_with_items(&mut connection, &new_job).await?;
    drop(connection);
    let (job_id, replayed) = match outcome {
        InsertJobOutcome::Created { created_at } => {
            state.dispatch_wakeup.wake();
            if wait.is_none() {
                // The one round trip of a submit: the answer is the row the insert stored.
                let mut body = JobResponse::from_view(JobViewRow {
                    job: JobRow::just_created(&new_job, created_at),
                    timings: JsonColumn(Vec::new()),
                    feed: None,
                    comments: None,
                    result_video: None,
                    transcript: None,
                    analysis: None,
                });
                body.rejected = rejected;
                return Ok(job_answer(StatusCode::ACCEPTED, body, None));
            }
            (new_job.job_id, false)
        }
        InsertJobOutcome::IdempotencyKeyExists {
            existing_job_id,
            same_request: true,
        } => (existing_job_id, true),
        InsertJobOutcome::IdempotencyKeyExists {
            same_request: false,
            ..
        } => {
            return Err(ApiError::IdempotencyKeyReused);
        }
    };
    job_created_response(&state, &key, job_id, replayed, wait, rejected).await
}

/// What a job costs against the key's limits: a video 1 URL and 1 item, a batch its accepted
/// URLs (refused ones are free), a feed job its `count` URLs and 1 item (its walk;
/// docs/rate-limits.md).
pub(crate) fn submit_cost(accepted: &AcceptedJobRequest) -> crate::rate_limits::SubmitCost {
    let (urls, items) = match accepted {
        AcceptedJobRequest::Video(_) => (1, 1),
        AcceptedJobRequest::Batch(batch_job) => {
            let urls = u32::try_from(batch_job.entries.len()).unwrap_or(u32::MAX);
            (urls, urls)
        }
        AcceptedJobRequest::Feed(feed_job) => (feed_job.count, 1),
    };
    crate::rate_limits::SubmitCost { urls, items }
}

/// The answer to `POST /v1/jobs` once the job is stored: 202 + `Location`, or 200 with the
/// finished job (after `Prefer: wait=N`, or for a replayed Idempotency-Key).
async fn job_created_response(
    state: &AppState,
    key: &ApiKey,
    job_id: JobId,
    replayed: bool,
    wait: Option<Duration>,
    rejected: Option<Vec<RejectedUrl>>,
) -> Result<Response, ApiError> {
    let view = match wait {
        Some(wait) => {
            wait_for_job(state, key, job_id, wait).await?;
            find_job_view(state, key, job_id).await?
        }
        None => find_job_view(state, key, job_id).await?,
    };
    let status = if view.job.is_finished() && (wait.is_some() || replayed) {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut body = JobResponse::from_view(view);
    body.rejected = rejected;
    Ok(job_answer(status, body, wait))
}

/// A job answer of `POST /v1/jobs`: the body, `Location`, and `Preference-Applied` when a wait
/// was applied.
fn job_answer(status: StatusCode, body: JobResponse, wait: Option<Duration>) -> Response {
    let location = job_location(body.summary.id);
    let mut response = (status, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(wait) = wait
        && let Ok(applied) = HeaderValue::from_str(&format!("wait={}", wait.as_secs()))
    {
        response.headers_mut().insert(PREFERENCE_APPLIED, applied);
    }
    response
}

/// `GET /v1/jobs/{job_id}`: the job with its timings and, for a finished video job, its result.
#[utoipa::path(
    get,
    path = "/v1/jobs/{job_id}",
    tag = "jobs",
    security(("api_key" = []), ("bearer" = [])),
    params(("job_id" = uuid::Uuid, Path, description = "The job's id.")),
    responses(
        (status = 200, description = "The job.", body = crate::jobs::view::JobResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The job finished longer ago than the retention period: its items and results are deleted (`JOB_EXPIRED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_job(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<JobResponse>, ApiError> {
    let job_id = parse_job_id(path)?;
    let view = find_job_view(&state, &key, job_id).await?;
    Ok(Json(JobResponse::from_view(view)))
}

/// `POST /v1/jobs/{job_id}/cancel`: idempotent; a finished job is returned unchanged.
#[utoipa::path(
    post,
    path = "/v1/jobs/{job_id}/cancel",
    tag = "jobs",
    security(("api_key" = []), ("bearer" = [])),
    params(("job_id" = uuid::Uuid, Path, description = "The job's id.")),
    responses(
        (status = 200, description = "The job, with what had not started canceled (idempotent).", body = crate::jobs::view::JobResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The job finished longer ago than the retention period: its items and results are deleted (`JOB_EXPIRED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn cancel_job(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<JobResponse>, ApiError> {
    let job_id = parse_job_id(path)?;
    let mut connection = state.db.acquire().await?;
    let outcome = job_db::cancel_job_for_key(&mut connection, job_id, key.api_key_id).await?;
    drop(connection);
    if outcome == CancelJobOutcome::NotFound {
        return Err(ApiError::NotFound { what: "job" });
    }
    if let CancelJobOutcome::Canceled { items_canceled } = outcome {
        tracing::info!(%job_id, items_canceled, "job canceled");
    }
    let view = find_job_view(&state, &key, job_id).await?;
    Ok(Json(JobResponse::from_view(view)))
}

/// Query string of `GET /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListJobsQueryRequest {
    status: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/jobs`: the key's jobs, newest first; filters `status`, `kind`; `cursor`, `limit` ≤ 100.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "jobs",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "Only jobs with this status."),
        ("kind" = Option<String>, Query, description = "Only jobs of this kind."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
        ("limit" = Option<u32>, Query, description = "Page size, at most 100."),
    ),
    responses(
        (status = 200, description = "The key's jobs, newest first.", body = crate::jobs::view::JobListResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_PARAMETER`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    key: ApiKey,
    query: Result<Query<ListJobsQueryRequest>, QueryRejection>,
) -> Result<Json<JobListResponse>, ApiError> {
    let Query(query) = query.map_err(|rejection| query_problem(&rejection))?;
    let limit = page_limit(query.limit.as_deref(), DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
    let status = one_of("status", query.status, &JobStatus::ALL, JobStatus::as_str)?;
    let kind = one_of("kind", query.kind, &JobKind::ALL, JobKind::as_str)?;
    let before_job_id = query.cursor.as_deref().map(decode_job_cursor).transpose()?;
    let list_query = JobListQuery {
        status,
        kind,
        before_job_id,
        limit: limit + 1,
    };
    let mut rows = job_db::list_jobs_for_key(&state.db, key.api_key_id, &list_query).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if has_more {
        rows.last().map(|row| encode_job_cursor(row.job_id))
    } else {
        None
    };
    Ok(Json(JobListResponse {
        object: "list",
        data: rows.iter().map(JobSummaryResponse::from_row).collect(),
        has_more,
        next_cursor,
    }))
}

/// The value of `allowed` named by the query parameter `name`, if it was given.
pub(crate) fn one_of<T: Copy>(
    name: &str,
    value: Option<String>,
    allowed: &[T],
    wire_name: fn(T) -> &'static str,
) -> Result<Option<T>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    allowed
        .iter()
        .copied()
        .find(|allowed| wire_name(*allowed) == value)
        .map(Some)
        .ok_or_else(|| ApiError::InvalidParameter {
            name: name.to_owned(),
            message: format!(
                "must be one of {}",
                allowed
                    .iter()
                    .map(|allowed| wire_name(*allowed))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

const CURSOR_VERSION: &str = "v1:";

/// A cursor of `GET /v1/jobs`: the last job id of a page.
fn encode_job_cursor(job_id: JobId) -> String {
    encode_cursor(CURSOR_VERSION, job_id)
}

fn decode_job_cursor(cursor: &str) -> Result<JobId, ApiError> {
    decode_cursor(CURSOR_VERSION, cursor)
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let invalid = || ApiError::InvalidHeader {
        name: "Idempotency-Key",
        message: format!("must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"),
    };
    let key = value.to_str().map_err(|_| invalid())?.trim();
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_CHARS
        || !key.bytes().all(|byte| byte.is_ascii_graphic())
    {
        return Err(invalid());
    }
    Ok(Some(key.to_owned()))
}

/// `Prefer: wait=N` (RFC 7240; preferences not understood are ignored, as the RFC asks).
fn requested_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|preference| {
            let (name, value) = preference.split(';').next()?.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("wait") {
                return None;
            }
            value.trim().trim_matches('"').parse::<u64>().ok()
        })
        .map(Duration::from_secs)
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("prefer", value.parse().unwrap());
        headers
    }

    #[test]
    fn prefer_wait_is_parsed_among_other_preferences() {
        assert_eq!(
            requested_wait(&prefer("wait=5")),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            requested_wait(&prefer("respond-async, wait=10")),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            requested_wait(&prefer("wait=\"3\"")),
            Some(Duration::from_secs(3))
        );
        assert_eq!(requested_wait(&prefer("wait=soon")), None);
        assert_eq!(requested_wait(&HeaderMap::new()), None);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let job_id = JobId::new_v7();
        assert_eq!(
            decode_job_cursor(&encode_job_cursor(job_id)).unwrap(),
            job_id
        );
        assert!(decode_job_cursor("not-a-cursor").is_err());
    }
}
