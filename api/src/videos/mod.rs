//! `/v1/videos/{video_id}`: the latest stored metadata of a video one of the key's jobs produced.

pub mod covers;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use tokworks_shared::db::jobs as job_db;
use tokworks_shared::db::transcripts as transcript_db;

use crate::auth::ApiKey;
use crate::jobs::thumbnail_analysis_view::analyses_of_video;
use crate::jobs::view::VideoResponse;
use crate::problem::ApiError;
use crate::router::path_segment;
use crate::state::AppState;

/// TikTok ids are decimal, 19 digits today; anything else cannot be stored.
const MAX_VIDEO_ID_DIGITS: usize = 32;

/// `GET /v1/videos/{video_id}`: 404 unless one of the caller's items resolved to this video.
#[utoipa::path(
    get,
    path = "/v1/videos/{video_id}",
    tag = "videos",
    security(("api_key" = []), ("bearer" = [])),
    params(("video_id" = String, Path, description = "TikTok's numeric video id.")),
    responses(
        (status = 200, description = "The latest stored metadata of a video one of the key's jobs extracted.", body = crate::jobs::view::VideoResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such video for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_video(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<VideoResponse>, ApiError> {
    let video_id = path_segment(path, "video")?;
    if video_id.is_empty()
        || video_id.len() > MAX_VIDEO_ID_DIGITS
        || !video_id.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err(ApiError::NotFound { what: "video" });
    }
    let row = job_db::find_stored_video_for_key(&state.db, &video_id, key.api_key_id)
        .await?
        .ok_or(ApiError::NotFound { what: "video" })?;
    let transcripts = transcript_db::list_video_transcripts(&state.db, &video_id).await?;
    let mut response = VideoResponse {
        transcripts: transcripts.into_iter().map(Into::into).collect(),
        ..VideoResponse::from(row)
    };
    response.thumbnail_analysis = analyses_of_video(&state.db, &video_id).await?;
    Ok(Json(response))
}
