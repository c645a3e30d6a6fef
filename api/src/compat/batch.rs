//! `POST /extract/batch`: 1 to COMPAT_BATCH_MAX_URLS URLs run as ONE `batch` job over the job
//! engine, waited for, and answered as the old `{processed, failed, summary}` with each item's
//! own error code.

use std::collections::HashMap;
use tokworks_shared::ids::{ItemId, JobId};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokworks_shared::db::job_items::{self, JobItemListQuery, JobItemRow};
use tokworks_shared::job_status::ItemStatus;
use uuid::Uuid;

use crate::auth::ApiKey;
use crate::compat::envelope::{CompatError, CompatErrorCode, CompatRequest};
use crate::compat::error_map::item_error;
use crate::compat::extract::{
    compat_error_from_api, internal_error, item_processing_times, still_running, submit_and_wait,
    validation_limits,
};
use crate::compat::video_metadata::{ItemFacts, VideoMetadata};
use crate::jobs::request::{
    AcceptedJobRequest, CreateJobRequest, JobKindRequest, JobOptionsRequest, parse_video_url,
};
use crate::jobs::submit::new_batch_job;
use crate::jobs::thumbnail_analysis_view::analyses_of_items;
use crate::jobs::transcript_view::item_transcripts;
use crate::json_body::JsonBody;
use crate::problem::ApiError;
use crate::state::AppState;
use tokworks_shared::job_options::Language;

/// The body of `POST /extract/batch` (unknown fields are ignored, as pydantic did).
#[derive(Debug, Clone, Deserialize)]
pub struct ExtractBatchRequest {
    pub urls: Vec<String>,
    /// Default true: each item gets an Indonesian analysis, as in `POST /extract`.
    #[serde(default)]
    pub include_thumbnail_analysis: Option<bool>,
    #[serde(default)]
    pub include_transcript: Option<bool>,
    /// Accepted; the workers always run a batch's items in parallel.
    #[serde(default)]
    pub parallel_processing: Option<bool>,
}

/// One entry of `processed` or `failed`.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessedVideo {
    pub url: String,
    pub status: &'static str,
    pub data: Option<VideoMetadata>,
    pub error: Option<CompatError>,
}

impl ProcessedVideo {
    fn failed(url: &str, error: CompatError) -> Self {
        ProcessedVideo {
            url: url.to_owned(),
            status: "failed",
            data: None,
            error: Some(error),
        }
    }
}

/// `summary` of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct BatchSummary {
    pub total_requested: usize,
    pub successful: usize,
    pub failed: usize,
    pub processing_time_ms: u64,
}

/// `data` of `POST /extract/batch`.
#[derive(Debug, Clone, Serialize)]
pub struct BatchResult {
    pub processed: Vec<ProcessedVideo>,
    pub failed: Vec<ProcessedVideo>,
    pub summary: BatchSummary,
}

/// `POST /extract/batch`: 200 even when every item failed, as before.
#[utoipa::path(
    post,
    path = "/extract/batch",
    tag = "compatibility",
    operation_id = "compat_extract_batch",
    description = "The old analyzer's batch extraction (a `batch` job, waited for).",
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = Object, description = "The old service's request body."),
    responses(
        (status = 200, description = "The old service's answer.", body = Object),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed body, no URL or too many.", body = Object),
        (status = 401, description = "`API_KEY_INVALID`: no, unknown or revoked key.", body = Object),
        (status = 408, description = "`TIMEOUT`: the batch outlasted the wait (`details.job_id` names the job).", body = Object),
        (status = 500, description = "`EXTRACTION_FAILED`: tokworks itself failed.", body = Object),
    ),
)]
pub async fn extract_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    key: Result<ApiKey, ApiError>,
    body: Result<JsonBody<ExtractBatchRequest>, ApiError>,
) -> Response {
    let request = CompatRequest::start(&headers).with_key(key.as_ref().ok());
    match run_batch(&state, key, body).await {
        Ok(results) => {
            let (processed, failed): (Vec<_>, Vec<_>) = results
                .into_iter()
                .partition(|video| video.status == "success");
            let summary = BatchSummary {
                total_requested: processed.len() + failed.len(),
                successful: processed.len(),
                failed: failed.len(),
                processing_time_ms: request.elapsed_ms(),
            };
            request.success(BatchResult {
                processed,
                failed,
                summary,
            })
        }
        Err(error) => request.failure(error),
    }
}

/// Every URL's outcome, in submitted order.
async fn run_batch(
    state: &AppState,
    key: Result<ApiKey, ApiError>,
    body: Result<JsonBody<ExtractBatchRequest>, ApiError>,
) -> Result<Vec<ProcessedVideo>, CompatError> {
    let key = key.map_err(|error| compat_error_from_api(error, None))?;
    let JsonBody(body) = body.map_err(|error| compat_error_from_api(error, None))?;
    let max_urls = state.settings.compat_batch_max_urls;
    if body.urls.is_empty() {
        return Err(CompatError::new(
            CompatErrorCode::ValidationError,
            "No URLs provided",
        ));
    }
    if body.urls.len() > max_urls {
        return Err(CompatError::new(
            CompatErrorCode::ValidationError,
            format!("Too many URLs. Max: {max_urls}"),
        ));
    }
    let refused: HashMap<usize, CompatError> = body
        .urls
        .iter()
        .enumerate()
        .filter_map(|(position, url)| match parse_video_url("url", url) {
            Ok(_) => None,
            Err(error) => Some((position, compat_error_from_api(error, Some(url)))),
        })
        .collect();
    let mut items_by_position: HashMap<usize, JobItemRow> = HashMap::new();
    let mut times = HashMap::new();
    let mut unfinished_job = None;
    let transcript_requested = body.include_transcript.unwrap_or(false);
    let mut transcripts = HashMap::new();
    if refused.len() < body.urls.len() {
        let analyze = body.include_thumbnail_analysis.unwrap_or(true);
        let job = run_batch_job(state, &key, &body.urls, transcript_requested, analyze).await?;
        times = item_processing_times(state, job.job_id).await?;
        if transcript_requested {
            let item_ids: Vec<ItemId> = job.items.iter().map(|item| item.item_id).collect();
            transcripts = item_transcripts(&state.db, &item_ids)
                .await
                .map_err(|_| internal_error())?;
        }
        if !job.finished {
            unfinished_job = Some(job.job_id);
        }
        for item in job.items {
            if let Ok(position) = usize::try_from(item.position) {
                items_by_position.insert(position, item);
            }
        }
    }
    let item_ids: Vec<ItemId> = items_by_position
        .values()
        .map(|item| item.item_id)
        .collect();
    let mut analyses = analyses_of_items(&state.db, &item_ids)
        .await
        .map_err(|_| internal_error())?;
    let mut results = Vec::with_capacity(body.urls.len());
    for (position, url) in body.urls.iter().enumerate() {
        let outcome = match (refused.get(&position), items_by_position.get(&position)) {
            (Some(error), _) => ProcessedVideo::failed(url, error.clone()),
            (None, Some(item)) => {
                let facts = ItemFacts {
                    input_url: url,
                    cache_hit: item.cache_hit.unwrap_or(false),
                    processing_time_ms: times.get(&item.item_id).copied().unwrap_or(0),
                    transcript_requested,
                    transcript: transcripts.get(&item.item_id),
                };
                let mut outcome = item_outcome(url, item, facts, unfinished_job);
                if let Some(data) = &mut outcome.data {
                    data.thumbnail_analysis = analyses
                        .remove(&item.item_id)
                        .and_then(|analysis| analysis.analysis);
                }
                outcome
            }
            (None, None) => ProcessedVideo::failed(url, internal_error()),
        };
        results.push(outcome);
    }
    Ok(results)
}

/// The batch job as it was when the wait ended.
struct BatchJobOutcome {
    job_id: JobId,
    finished: bool,
    items: Vec<JobItemRow>,
}

async fn run_batch_job(
    state: &AppState,
    key: &ApiKey,
    urls: &[String],
    transcript: bool,
    analyze_thumbnail: bool,
) -> Result<BatchJobOutcome, CompatError> {
    let create = CreateJobRequest {
        kind: JobKindRequest::Batch,
        url: None,
        urls: Some(Value::Array(
            urls.iter().cloned().map(Value::String).collect(),
        )),
        count: None,
        hashtag: None,
        username: None,
        query: None,
        sound: None,
        replies: None,
        options: Some(JobOptionsRequest {
            transcript,
            analyze_thumbnail,
            // The old service's language: its analysis was always Indonesian and its transcript
            // preference was `id` first.
            language: Language::Id,
            ..JobOptionsRequest::default()
        }),
        webhook: None,
        metadata: Some(serde_json::json!({ "compat_endpoint": "/extract/batch" })),
    };
    let accepted = create
        .validate_with(&validation_limits(state))
        .map_err(|error| compat_error_from_api(error, None))?;
    let AcceptedJobRequest::Batch(batch_job) = accepted else {
        return Err(internal_error());
    };
    let new_job = new_batch_job(&batch_job, key, None, state.settings.item_max_attempts);
    let row = submit_and_wait(state, key, &new_job).await?;
    let query = JobItemListQuery {
        status: None,
        after_position: None,
        limit: i64::try_from(urls.len()).unwrap_or(i64::MAX),
    };
    let items = job_items::list_job_items(&state.db, row.job_id, &query)
        .await
        .map_err(|_| internal_error())?;
    Ok(BatchJobOutcome {
        job_id: row.job_id,
        finished: row.is_finished(),
        items,
    })
}

fn item_outcome(
    url: &str,
    item: &JobItemRow,
    facts: ItemFacts<'_>,
    unfinished_job: Option<JobId>,
) -> ProcessedVideo {
    match (item.status, &item.result) {
        (ItemStatus::Succeeded, Some(video)) => ProcessedVideo {
            url: url.to_owned(),
            status: "success",
            data: Some(VideoMetadata::from_video(video, facts)),
            error: None,
        },
        (ItemStatus::Queued | ItemStatus::Running, _) => ProcessedVideo::failed(
            url,
            still_running(url, unfinished_job.unwrap_or(JobId(Uuid::nil()))),
        ),
        (status, _) => {
            let fallback = if status == ItemStatus::Canceled {
                "CANCELED"
            } else {
                "INTERNAL"
            };
            let code = item.error_code.as_deref().unwrap_or(fallback);
            ProcessedVideo::failed(url, item_error(url, code, item.error_message.as_deref()))
        }
    }
}
