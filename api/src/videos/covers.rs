//! `/v1/videos/{video_id}/cover`: the cover bytes stored at extraction time, for a key whose item
//! resolved to that video (the dashboard shows them through blob URLs: `<img>` sends no key).

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokworks_shared::db::covers as cover_db;

use crate::auth::ApiKey;
use crate::problem::ApiError;
use crate::router::path_segment;
use crate::state::AppState;

/// TikTok ids are decimal, 19 digits today (same bound as `GET /v1/videos/{id}`).
const MAX_VIDEO_ID_DIGITS: usize = 32;

/// Covers never change under an id for long; the key decides who sees them, so only the
/// browser may keep a copy.
const CACHE_CONTROL: &str = "private, max-age=300";

/// `GET /v1/videos/{video_id}/cover`: 404 unless one of the caller's items resolved to this video
/// and its cover is stored.
#[utoipa::path(
    get,
    path = "/v1/videos/{video_id}/cover",
    tag = "videos",
    security(("api_key" = []), ("bearer" = [])),
    params(("video_id" = String, Path, description = "TikTok's numeric video id.")),
    responses(
        (status = 200, description = "The cover image stored at extraction time, with the content type it was served with (an `image/*` type; anything else is sent as `application/octet-stream`).", content_type = "image/*", body = Vec<u8>),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such video for this key, or no stored cover (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_video_cover(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let video_id = path_segment(path, "video")?;
    if video_id.is_empty()
        || video_id.len() > MAX_VIDEO_ID_DIGITS
        || !video_id.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err(ApiError::NotFound { what: "video" });
    }
    let cover = cover_db::cover_for_key(&state.db, &video_id, key.api_key_id)
        .await?
        .ok_or(ApiError::NotFound { what: "cover" })?;
    let mut response = (StatusCode::OK, Body::from(cover.bytes)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        image_content_type(&cover.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The stored content type when it is a well-formed `image/*` type; otherwise (say an upstream
/// that answered `text/html`) `application/octet-stream`, so the api never serves a page.
fn image_content_type(stored: &str) -> HeaderValue {
    let stored = stored.trim();
    let essence = stored.split(';').next().unwrap_or_default().trim();
    let is_image = essence
        .strip_prefix("image/")
        .is_some_and(|subtype| !subtype.is_empty() && !subtype.contains("svg"));
    match HeaderValue::from_str(stored) {
        Ok(value) if is_image => value,
        _ => HeaderValue::from_static("application/octet-stream"),
    }
}

#[cfg(test)]
mod tests {
    use super::image_content_type;

    #[test]
    fn only_raster_image_types_are_served_as_such() {
        assert_eq!(image_content_type("image/jpeg"), "image/jpeg");
        assert_eq!(image_content_type("image/webp"), "image/webp");
        for stored in [
            "text/html",
            "image/svg+xml",
            "image/",
            "",
            "image/jpeg\r\nx: y",
        ] {
            assert_eq!(
                image_content_type(stored),
                "application/octet-stream",
                "{stored:?}"
            );
        }
    }
}
