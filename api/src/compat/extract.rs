//! `POST /extract`: one URL, run as a `video` job over the job engine (the same validation,
//! insert as `POST /v1/jobs`), waited for up to WAIT_MAX_SECONDS, and answered in
//! the old envelope.

use std::collections::HashMap;
use tokworks_shared::ids::{ItemId, JobId};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tokworks_shared::db::jobs::{self as job_db, InsertJobOutcome, JobRow, NewJob};
use tokworks_shared::job_status::{ItemStatus, JobStatus};
use uuid::Uuid;

use crate::auth::ApiKey;
use crate::compat::envelope::{CompatError, CompatErrorCode, CompatRequest, ErrorDetails};
use crate::compat::error_map::{item_error, refused_url_error};
use crate::compat::video_metadata::{ItemFacts, VideoMetadata};
use crate::jobs::lookup::wait_for_job;
use crate::jobs::request::{
    AcceptedJobRequest, CreateJobRequest, JobKindRequest, JobOptionsRequest, ValidationLimits,
};
use crate::jobs::submit::new_video_job;
use crate::jobs::thumbnail_analysis_view::analyses_of_items;
use crate::jobs::transcript_view::item_transcripts;
use crate::json_body::JsonBody;
use crate::problem::ApiError;
use crate::state::AppState;
use tokworks_shared::job_options::Language;

/// `details.reason` of a job that had not finished when the wait ended.
pub const JOB_NOT_FINISHED: &str = "JOB_NOT_FINISHED";

/// The body of `POST /extract` (unknown fields are ignored, as pydantic did).
#[derive(Debug, Clone, Deserialize)]
pub struct ExtractRequest {
    pub url: String,
    /// Asks for the thumbnail analysis (default true, as the old service); it is made in
    /// Indonesian, the only language the old service used. `thumbnail_analysis` is the 25-field
    /// object, or null when not asked for or when the analysis failed (the reason is on the
    /// item: `GET /v1/jobs/{id}/items`, and in the worker's log).
    #[serde(default)]
    pub include_thumbnail_analysis: Option<bool>,
    /// Asks for the transcript (`options.transcript`, language `en`).
    #[serde(default)]
    pub include_transcript: Option<bool>,
    /// Ignored, as the old service ignored it (CACHE_TTL_SECONDS of the workers applies).
    #[serde(default)]
    pub cache_ttl: Option<i64>,
}

/// `POST /extract`.
#[utoipa::path(
    post,
    path = "/extract",
    tag = "compatibility",
    operation_id = "compat_extract",
    description = "The old analyzer's single-video extraction (a `video` job, waited for).",
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = Object, description = "The old service's request body."),
    responses(
        (status = 200, description = "The old service's answer.", body = Object),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed body or a bad URL.", body = Object),
        (status = 401, description = "`API_KEY_INVALID`: no, unknown or revoked key.", body = Object),
        (status = 408, description = "`TIMEOUT`: the extraction outlasted its deadline or the wait (`details.job_id` names the job).", body = Object),
        (status = 422, description = "`VIDEO_UNAVAILABLE`, `VIDEO_TOO_LONG`, `NOT_VIDEO_CONTENT`, `UNSUPPORTED_PLATFORM`.", body = Object),
        (status = 500, description = "`EXTRACTION_FAILED`, `THUMBNAIL_ANALYSIS_FAILED`.", body = Object),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: TikTok blocked, rate-limited or unreachable.", body = Object),
    ),
)]
pub async fn extract(
    State(state): State<AppState>,
    headers: HeaderMap,
    key: Result<ApiKey, ApiError>,
    body: Result<JsonBody<ExtractRequest>, ApiError>,
) -> Response {
    let request = CompatRequest::start(&headers).with_key(key.as_ref().ok());
    match run_extract(&state, key, body, &request).await {
        Ok(metadata) => request.success(metadata),
        Err(error) => request.failure(error),
    }
}

async fn run_extract(
    state: &AppState,
    key: Result<ApiKey, ApiError>,
    body: Result<JsonBody<ExtractRequest>, ApiError>,
    request: &CompatRequest,
) -> Result<VideoMetadata, CompatError> {
    let key = key.map_err(|error| compat_error_from_api(error, None))?;
    let JsonBody(body) = body.map_err(|error| compat_error_from_api(error, None))?;
    let url = body.url;
    let create = CreateJobRequest {
        kind: JobKindRequest::Video,
        url: Some(url.clone()),
        urls: None,
        count: None,
        hashtag: None,
        username: None,
        query: None,
        sound: None,
        replies: None,
        options: Some(JobOptionsRequest {
            transcript: body.include_transcript.unwrap_or(false),
            analyze_thumbnail: body.include_thumbnail_analysis.unwrap_or(true),
            // The old service's language: its analysis was always Indonesian and its transcript
            // preference was `id` first.
            language: Language::Id,
            ..JobOptionsRequest::default()
        }),
        webhook: None,
        metadata: Some(serde_json::json!({ "compat_endpoint": "/extract" })),
    };
    let accepted = create
        .validate_with(&validation_limits(state))
        .map_err(|error| compat_error_from_api(error, Some(&url)))?;
    let AcceptedJobRequest::Video(video_job) = accepted else {
        return Err(internal_error());
    };
    let new_job = new_video_job(&video_job, &key, None, state.settings.item_max_attempts);
    let row = submit_and_wait(state, &key, &new_job).await?;
    let Some(finished) = row.is_finished().then_some(&row) else {
        return Err(still_running(&url, row.job_id));
    };
    if finished.first_item_status != Some(ItemStatus::Succeeded) {
        let code = finished
            .first_item_error_code
            .as_deref()
            .or(finished.error_code.as_deref())
            .unwrap_or(if finished.status == JobStatus::Canceled {
                "CANCELED"
            } else {
                "INTERNAL"
            });
        return Err(item_error(
            &url,
            code,
            finished.first_item_error_message.as_deref(),
        ));
    }
    let video = match &finished.first_item_result_video_id {
        Some(video_id) => job_db::find_stored_video(&state.db, video_id)
            .await
            .map_err(|_| internal_error())?,
        None => None,
    };
    let video = video.ok_or_else(internal_error)?;
    let times = item_processing_times(state, finished.job_id).await?;
    let item_id = finished.first_item_id.unwrap_or(ItemId(Uuid::nil()));
    let transcript = item_transcripts(&state.db, &[item_id])
        .await
        .map_err(|_| internal_error())?
        .remove(&item_id);
    let facts = ItemFacts {
        input_url: &url,
        cache_hit: finished.first_item_cache_hit.unwrap_or(false),
        processing_time_ms: times
            .get(&item_id)
            .copied()
            .unwrap_or_else(|| request.elapsed_ms()),
        transcript_requested: body.include_transcript.unwrap_or(false),
        transcript: transcript.as_ref(),
    };
    let mut metadata = VideoMetadata::from_video(&video.data, facts);
    metadata.thumbnail_analysis = analyses_of_items(&state.db, &[item_id])
        .await
        .map_err(|_| internal_error())?
        .remove(&item_id)
        .and_then(|analysis| analysis.analysis);
    Ok(metadata)
}

/// The validation limits of the compatibility endpoints.
pub(crate) fn validation_limits(state: &AppState) -> ValidationLimits {
    ValidationLimits {
        webhook_policy: state.settings.webhook_policy.clone(),
        batch_max_urls: state.settings.compat_batch_max_urls,
        feed_max_count: state.settings.feed_max_count,
    }
}

/// Inserts the job (no idempotency key, so it is always new; the dispatcher enqueues it), and waits for it up
/// to WAIT_MAX_SECONDS; returns the job as it is then.
pub(crate) async fn submit_and_wait(
    state: &AppState,
    key: &ApiKey,
    new_job: &NewJob,
) -> Result<JobRow, CompatError> {
    let items = u32::try_from(new_job.items.len()).unwrap_or(u32::MAX);
    let cost = crate::rate_limits::SubmitCost { urls: items, items };
    crate::rate_limits::admit_submission(state, key, cost)
        .await
        .map_err(|error| compat_error_from_api(error, None))?;
    let mut connection = state.db.acquire().await.map_err(|_| internal_error())?;
    let outcome = job_db::insert_job_with_items(&mut connection, new_job)
        .await
        .map_err(|_| internal_error())?;
    drop(connection);
    if !matches!(outcome, InsertJobOutcome::Created { .. }) {
        return Err(internal_error());
    }
    state.dispatch_wakeup.wake();
    wait_for_job(state, key, new_job.job_id, state.settings.wait_max)
        .await
        .map_err(|error| compat_error_from_api(error, None))
}

/// Each item's processing time: its `total` stage of its latest attempt, in whole ms.
pub(crate) async fn item_processing_times(
    state: &AppState,
    job_id: JobId,
) -> Result<HashMap<ItemId, u64>, CompatError> {
    let timings = job_db::list_stage_timings_for_job(&state.db, job_id)
        .await
        .map_err(|_| internal_error())?;
    let mut latest: HashMap<ItemId, (i32, u64)> = HashMap::new();
    for timing in timings.iter().filter(|timing| timing.stage == "total") {
        let milliseconds = timing.duration_ms.max(0.0).round() as u64;
        let entry = latest
            .entry(timing.item_id)
            .or_insert((timing.attempt, milliseconds));
        if timing.attempt >= entry.0 {
            *entry = (timing.attempt, milliseconds);
        }
    }
    Ok(latest
        .into_iter()
        .map(|(item_id, (_, milliseconds))| (item_id, milliseconds))
        .collect())
}

/// 408 `TIMEOUT` for a job still running when the wait ended; `details.job_id` names the job to
/// poll on `GET /v1/jobs/{id}`.
pub(crate) fn still_running(url: &str, job_id: JobId) -> CompatError {
    let mut details = ErrorDetails::for_url(url, JOB_NOT_FINISHED);
    details.job_id = Some(job_id);
    CompatError::new(
        CompatErrorCode::Timeout,
        format!("the extraction did not finish in time; poll /v1/jobs/{job_id}"),
    )
    .with_details(details)
}

/// 500 `EXTRACTION_FAILED` for a failure of tokworks itself (database, invariant).
pub(crate) fn internal_error() -> CompatError {
    CompatError::new(
        CompatErrorCode::ExtractionFailed,
        "internal error; retry later (see the server log by request id)",
    )
    .with_details(ErrorDetails {
        url: None,
        platform: None,
        reason: Some("INTERNAL".to_owned()),
        job_id: None,
    })
}

/// An `ApiError` of the shared validation or auth as an old-style error.
pub(crate) fn compat_error_from_api(error: ApiError, url: Option<&str>) -> CompatError {
    match error {
        ApiError::Unauthenticated => {
            CompatError::new(CompatErrorCode::ApiKeyInvalid, "Invalid or missing API key")
        }
        ApiError::InvalidUrl { code, message, .. } => {
            refused_url_error(url.unwrap_or_default(), code, &message)
        }
        ApiError::Database(_) | ApiError::Panic | ApiError::NotReady { .. } => internal_error(),
        limited @ (ApiError::RateLimited { .. } | ApiError::TooManyItemsInFlight { .. }) => {
            let reason = limited.code().to_owned();
            CompatError::new(CompatErrorCode::RateLimited, limited.to_string()).with_details(
                ErrorDetails {
                    url: url.map(str::to_owned),
                    platform: None,
                    reason: Some(reason),
                    job_id: None,
                },
            )
        }
        other => CompatError::new(CompatErrorCode::ValidationError, other.to_string()),
    }
}
