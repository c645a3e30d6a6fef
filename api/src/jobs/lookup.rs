//! Looking up the key's job for a handler: the job id of the path, the job row or its whole view
//! (410 `JOB_EXPIRED` past retention), its full wire view, and waiting until it is finished.

use std::time::Duration;

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use tokworks_shared::db::job_views::{self, JobViewRow};
use tokworks_shared::db::jobs::{self as job_db, JobRow};
use tokworks_shared::ids::JobId;
use tokworks_shared::job_status::JobStatus;

use crate::auth::ApiKey;
use crate::jobs::view::JobResponse;
use crate::problem::ApiError;
use crate::router::path_segment;
use crate::state::AppState;

pub(crate) fn parse_job_id(path: Result<Path<String>, PathRejection>) -> Result<JobId, ApiError> {
    path_segment(path, "job")?
        .parse()
        .map_err(|_| ApiError::NotFound { what: "job" })
}

pub(crate) async fn find_job(
    state: &AppState,
    key: &ApiKey,
    job_id: JobId,
) -> Result<JobRow, ApiError> {
    let row = job_db::find_job_for_key(&state.db, job_id, key.api_key_id)
        .await?
        .ok_or(ApiError::NotFound { what: "job" })?;
    reject_expired(job_id, row.status)?;
    Ok(row)
}

/// A job past retention (status `expired`: a tombstone without items or results) answers 410
/// `JOB_EXPIRED` on its own URL and every sub-resource (docs/retention.md).
pub(crate) fn reject_expired(job_id: JobId, status: JobStatus) -> Result<(), ApiError> {
    match status {
        JobStatus::Expired => Err(ApiError::JobExpired { job_id }),
        _ => Ok(()),
    }
}

/// The whole view of the key's job `job_id`, read in one query.
pub(crate) async fn find_job_view(
    state: &AppState,
    key: &ApiKey,
    job_id: JobId,
) -> Result<JobViewRow, ApiError> {
    let view = job_views::find_job_view_for_key(&state.db, job_id, key.api_key_id)
        .await?
        .ok_or(ApiError::NotFound { what: "job" })?;
    reject_expired(job_id, view.job.status)?;
    Ok(view)
}

/// The full view of a job already read: timings and, for a succeeded video job, the stored
/// video (read again with its parts in one query).
pub(crate) async fn job_response(state: &AppState, row: &JobRow) -> Result<JobResponse, ApiError> {
    let view = job_views::find_job_view_for_key(&state.db, row.job_id, row.api_key_id)
        .await?
        .ok_or(ApiError::NotFound { what: "job" })?;
    Ok(JobResponse::from_view(view))
}

/// Waits (LISTEN/NOTIFY, no polling) until the job is finished or `wait` has passed.
pub(crate) async fn wait_for_job(
    state: &AppState,
    key: &ApiKey,
    job_id: JobId,
    wait: Duration,
) -> Result<JobRow, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribe before reading, so that a NOTIFY between the read and the wait is not lost.
    let mut subscription = state.waiters.subscribe(job_id);
    loop {
        let row = find_job(state, key, job_id).await?;
        if row.is_finished() {
            return Ok(row);
        }
        if tokio::time::timeout_at(deadline, subscription.changed())
            .await
            .is_err()
        {
            return find_job(state, key, job_id).await;
        }
    }
}
