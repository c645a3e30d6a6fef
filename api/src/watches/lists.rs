//! `GET /v1/watches/{id}/runs` and `GET /v1/watches/{id}/videos` (`since=`): newest first,
//! keyset paginated like `GET /v1/jobs`.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokworks_shared::db::watches as watch_db;
use tokworks_shared::db::watches::listing::{self, WatchVideoCursor};
use tokworks_shared::ids::{WatchId, WatchRunId};

use crate::auth::ApiKey;
use crate::cursor::{decode_cursor, encode_cursor, page_limit, query_problem};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::watches::routes::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, parse_watch_id};
use crate::watches::view::{
    WatchRunListResponse, WatchRunResponse, WatchVideoListResponse, WatchVideoResponse,
};

const RUN_CURSOR: &str = "v1:watch-run:";
const VIDEO_CURSOR: &str = "v1:watch-video:";

/// The key's watch, or 404.
async fn own_watch(state: &AppState, key: &ApiKey, watch_id: WatchId) -> Result<(), ApiError> {
    watch_db::find_watch(&state.db, key.api_key_id, watch_id)
        .await?
        .map(|_| ())
        .ok_or(ApiError::NotFound { what: "watch" })
}

/// Query string of the runs list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRunsQueryRequest {
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/watches/{watch_id}/runs`: the watch's runs, newest first.
#[utoipa::path(
    get,
    path = "/v1/watches/{watch_id}/runs",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("watch_id" = String, Path, description = "The watch id."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
        ("limit" = Option<u32>, Query, description = "Page size, at most 100."),
    ),
    responses(
        (status = 200, description = "The runs, newest first.", body = WatchRunListResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such watch for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_PARAMETER`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_runs(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ListRunsQueryRequest>, QueryRejection>,
) -> Result<Json<WatchRunListResponse>, ApiError> {
    let watch_id = parse_watch_id(path)?;
    let Query(query) = query.map_err(|rejection| query_problem(&rejection))?;
    let limit = page_limit(query.limit.as_deref(), DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
    let before = query
        .cursor
        .as_deref()
        .map(|cursor| decode_cursor::<WatchRunId>(RUN_CURSOR, cursor))
        .transpose()?;
    own_watch(&state, &key, watch_id).await?;
    let mut rows = listing::list_runs(&state.db, watch_id, before, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if has_more {
        rows.last().map(|row| encode_cursor(RUN_CURSOR, row.run_id))
    } else {
        None
    };
    Ok(Json(WatchRunListResponse {
        object: "list",
        data: rows.into_iter().map(WatchRunResponse::from_row).collect(),
        has_more,
        next_cursor,
    }))
}

/// Query string of the videos list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListVideosQueryRequest {
    since: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/watches/{watch_id}/videos`: the videos the watch has seen, newest first.
#[utoipa::path(
    get,
    path = "/v1/watches/{watch_id}/videos",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("watch_id" = String, Path, description = "The watch id."),
        ("since" = Option<String>, Query, description = "RFC 3339: only videos first seen at or after it."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
        ("limit" = Option<u32>, Query, description = "Page size, at most 100."),
    ),
    responses(
        (status = 200, description = "The seen videos, newest first.", body = WatchVideoListResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such watch for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_PARAMETER`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_videos(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ListVideosQueryRequest>, QueryRejection>,
) -> Result<Json<WatchVideoListResponse>, ApiError> {
    let watch_id = parse_watch_id(path)?;
    let Query(query) = query.map_err(|rejection| query_problem(&rejection))?;
    let limit = page_limit(query.limit.as_deref(), DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
    let since = query.since.as_deref().map(parse_since).transpose()?;
    let after = query
        .cursor
        .as_deref()
        .map(decode_video_cursor)
        .transpose()?;
    own_watch(&state, &key, watch_id).await?;
    let mut rows =
        listing::list_videos(&state.db, watch_id, since, after.as_ref(), limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if has_more {
        rows.last().map(|row| {
            encode_cursor(
                VIDEO_CURSOR,
                format!("{}|{}", row.first_seen_at.to_rfc3339(), row.video_id),
            )
        })
    } else {
        None
    };
    Ok(Json(WatchVideoListResponse {
        object: "list",
        data: rows.into_iter().map(WatchVideoResponse::from_row).collect(),
        has_more,
        next_cursor,
    }))
}

fn parse_since(since: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(since)
        .map(|since| since.with_timezone(&Utc))
        .map_err(|_| ApiError::InvalidParameter {
            name: "since".to_owned(),
            message: "must be an RFC 3339 time, e.g. 2026-12-07T10:00:00Z".to_owned(),
        })
}

fn decode_video_cursor(cursor: &str) -> Result<WatchVideoCursor, ApiError> {
    let text: String = decode_cursor(VIDEO_CURSOR, cursor)?;
    text.split_once('|')
        .and_then(|(seen, video_id)| {
            let first_seen_at = DateTime::parse_from_rfc3339(seen).ok()?.with_timezone(&Utc);
            Some(WatchVideoCursor {
                first_seen_at,
                video_id: video_id.to_owned(),
            })
        })
        .ok_or_else(|| ApiError::InvalidParameter {
            name: "cursor".to_owned(),
            message: "not a cursor returned by this API".to_owned(),
        })
}
