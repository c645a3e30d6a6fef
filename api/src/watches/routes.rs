//! `/v1/watches`: create (within the key's limit), list, get, change, delete, pause, resume and
//! run now. A key sees only its own watches: another key's watch is 404 `NOT_FOUND`.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokworks_shared::db::watches::{
    self as watch_db, CreateWatchOutcome, NewWatch, RunNowOutcome, WatchChanges,
};
use tokworks_shared::db::webhooks as webhook_db;
use tokworks_shared::ids::WatchId;

use crate::auth::ApiKey;
use crate::cursor::{decode_cursor, encode_cursor, page_limit, query_problem};
use crate::jobs::request::ValidationLimits;
use crate::jobs::submit::check_webhook_addresses;
use crate::json_body::JsonBody;
use crate::problem::ApiError;
use crate::router::path_segment;
use crate::state::AppState;
use crate::watches::request::{CreateWatchRequest, UpdateWatchRequest, WatchLimits, new_webhook};
use crate::watches::view::{WatchListResponse, WatchResponse, watch_location};

/// Cursor prefix of the watches list.
const WATCH_CURSOR: &str = "v1:watch:";
pub(crate) const MAX_LIST_LIMIT: i64 = 100;
pub(crate) const DEFAULT_LIST_LIMIT: i64 = 20;

pub(crate) fn watch_limits(state: &AppState) -> WatchLimits {
    WatchLimits {
        job: ValidationLimits {
            webhook_policy: state.settings.webhook_policy.clone(),
            batch_max_urls: state.settings.batch_max_urls,
            feed_max_count: state.settings.feed_max_count,
        },
        min_every_seconds: state.settings.watches.min_interval_seconds,
    }
}

/// The watch id of the path, or 404 when it is not one.
pub(crate) fn parse_watch_id(
    path: Result<Path<String>, PathRejection>,
) -> Result<WatchId, ApiError> {
    path_segment(path, "watch")?
        .parse()
        .map_err(|_| ApiError::NotFound { what: "watch" })
}

/// `POST /v1/watches`: 201 with the watch and `Location`; its first run is due within seconds.
#[utoipa::path(
    post,
    path = "/v1/watches",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    request_body = crate::watches::request::CreateWatchRequest,
    responses(
        (status = 201, description = "Created; `Location` names the watch.", body = WatchResponse, headers(("Location" = String, description = "The watch's URL."))),
        (status = 400, description = "`MALFORMED_JSON`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`WATCH_LIMIT_REACHED`: the key has WATCH_MAX_PER_KEY watches (or its own limit).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`UNKNOWN_FIELD`, `INVALID_FIELD` (e.g. `every` below WATCH_MIN_INTERVAL_SECONDS), `WEBHOOK_URL_NOT_ALLOWED`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create_watch(
    State(state): State<AppState>,
    key: ApiKey,
    JsonBody(request): JsonBody<CreateWatchRequest>,
) -> Result<Response, ApiError> {
    let accepted = request.validate(&watch_limits(&state))?;
    if let Some(webhook) = &accepted.webhook {
        check_webhook_addresses(&state, webhook).await?;
        webhook_db::ensure_webhook_secret(&state.db, key.api_key_id).await?;
    }
    let new_watch = NewWatch {
        watch_id: WatchId::new_v7(),
        api_key_id: key.api_key_id,
        kind: accepted.kind(),
        target: accepted.feed.feed.target().map(str::to_owned),
        every_seconds: i32::try_from(accepted.every_seconds).unwrap_or(i32::MAX),
        count: i32::try_from(accepted.feed.count).unwrap_or(i32::MAX),
        report_existing: accepted.report_existing,
        options: accepted.feed.options.stored(),
        metadata: accepted.feed.metadata.clone(),
        max_attempts: state.settings.item_max_attempts,
        webhook: accepted.webhook.as_ref().map(new_webhook),
    };
    let mut connection = state.db.acquire().await?;
    let outcome = watch_db::create_watch(
        &mut connection,
        &new_watch,
        i64::from(state.settings.watches.max_per_key),
    )
    .await?;
    drop(connection);
    match outcome {
        CreateWatchOutcome::LimitReached { max } => Err(ApiError::WatchLimitReached { max }),
        CreateWatchOutcome::Created(row) => {
            tracing::info!(watch_id = %row.watch_id, kind = %row.kind, "watch created");
            let mut response =
                (StatusCode::CREATED, Json(WatchResponse::from_row(&row))).into_response();
            if let Ok(location) = HeaderValue::from_str(&watch_location(new_watch.watch_id)) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
    }
}

/// Query string of `GET /v1/watches`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListWatchesQueryRequest {
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/watches`: the key's watches, newest first.
#[utoipa::path(
    get,
    path = "/v1/watches",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
        ("limit" = Option<u32>, Query, description = "Page size, at most 100."),
    ),
    responses(
        (status = 200, description = "The key's watches, newest first.", body = WatchListResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_PARAMETER`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_watches(
    State(state): State<AppState>,
    key: ApiKey,
    query: Result<Query<ListWatchesQueryRequest>, QueryRejection>,
) -> Result<Json<WatchListResponse>, ApiError> {
    let Query(query) = query.map_err(|rejection| query_problem(&rejection))?;
    let limit = page_limit(query.limit.as_deref(), DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
    let before = query
        .cursor
        .as_deref()
        .map(|cursor| decode_cursor::<WatchId>(WATCH_CURSOR, cursor))
        .transpose()?;
    let mut rows = watch_db::list_watches(&state.db, key.api_key_id, before, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if has_more {
        rows.last()
            .map(|row| encode_cursor(WATCH_CURSOR, row.watch_id))
    } else {
        None
    };
    Ok(Json(WatchListResponse {
        object: "list",
        data: rows.iter().map(WatchResponse::from_row).collect(),
        has_more,
        next_cursor,
    }))
}

/// `GET /v1/watches/{watch_id}`.
#[utoipa::path(
    get,
    path = "/v1/watches/{watch_id}",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(("watch_id" = String, Path, description = "The watch id.")),
    responses(
        (status = 200, description = "The watch.", body = WatchResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such watch for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_watch(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<WatchResponse>, ApiError> {
    let watch_id = parse_watch_id(path)?;
    let row = watch_db::find_watch(&state.db, key.api_key_id, watch_id)
        .await?
        .ok_or(ApiError::NotFound { what: "watch" })?;
    Ok(Json(WatchResponse::from_row(&row)))
}

/// `PATCH /v1/watches/{watch_id}`: changes `every`, `count`, `report_existing`, `options`,
/// `metadata`, `webhook` (null removes it). A changed `every` reschedules from the last run.
#[utoipa::path(
    patch,
    path = "/v1/watches/{watch_id}",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(("watch_id" = String, Path, description = "The watch id.")),
    request_body = crate::watches::request::UpdateWatchRequest,
    responses(
        (status = 200, description = "The changed watch.", body = WatchResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such watch for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`UNKNOWN_FIELD`, `INVALID_FIELD`, `WEBHOOK_URL_NOT_ALLOWED`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn update_watch(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
    JsonBody(request): JsonBody<UpdateWatchRequest>,
) -> Result<Json<WatchResponse>, ApiError> {
    let watch_id = parse_watch_id(path)?;
    let accepted = request.validate(&watch_limits(&state))?;
    if let Some(Some(webhook)) = &accepted.webhook {
        check_webhook_addresses(&state, webhook).await?;
        webhook_db::ensure_webhook_secret(&state.db, key.api_key_id).await?;
    }
    let changes = WatchChanges {
        every_seconds: accepted
            .every_seconds
            .map(|every| i32::try_from(every).unwrap_or(i32::MAX)),
        count: accepted
            .count
            .map(|count| i32::try_from(count).unwrap_or(i32::MAX)),
        report_existing: accepted.report_existing,
        options: accepted.options.as_ref().map(|options| options.stored()),
        metadata: accepted.metadata,
        webhook: accepted
            .webhook
            .as_ref()
            .map(|webhook| webhook.as_ref().map(new_webhook)),
    };
    let mut connection = state.db.acquire().await?;
    let row = watch_db::update_watch(&mut connection, key.api_key_id, watch_id, &changes)
        .await?
        .ok_or(ApiError::NotFound { what: "watch" })?;
    Ok(Json(WatchResponse::from_row(&row)))
}

/// `DELETE /v1/watches/{watch_id}`: 204; no further runs (the runs' jobs stay).
#[utoipa::path(
    delete,
    path = "/v1/watches/{watch_id}",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(("watch_id" = String, Path, description = "The watch id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such watch for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn delete_watch(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let watch_id = parse_watch_id(path)?;
    if watch_db::delete_watch(&state.db, key.api_key_id, watch_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound { what: "watch" })
    }
}

/// `POST /v1/watches/{watch_id}/pause`: no further runs until resumed.
#[utoipa::path(
    post,
    path = "/v1/watches/{watch_id}/pause",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(("watch_id" = String, Path, description = "The watch id.")),
    responses(
        (status = 200, description = "The paused watch (`paused_reason: requested`).", body = WatchResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such watch for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn pause_watch(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<WatchResponse>, ApiError> {
    let watch_id = parse_watch_id(path)?;
    let mut connection = state.db.acquire().await?;
    let row = watch_db::pause_watch(&mut connection, key.api_key_id, watch_id)
        .await?
        .ok_or(ApiError::NotFound { what: "watch" })?;
    Ok(Json(WatchResponse::from_row(&row)))
}

/// `POST /v1/watches/{watch_id}/resume`: active again, due within seconds, failures reset.
#[utoipa::path(
    post,
    path = "/v1/watches/{watch_id}/resume",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(("watch_id" = String, Path, description = "The watch id.")),
    responses(
        (status = 200, description = "The active watch.", body = WatchResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such watch for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn resume_watch(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<WatchResponse>, ApiError> {
    let watch_id = parse_watch_id(path)?;
    let mut connection = state.db.acquire().await?;
    let row = watch_db::resume_watch(&mut connection, key.api_key_id, watch_id)
        .await?
        .ok_or(ApiError::NotFound { what: "watch" })?;
    Ok(Json(WatchResponse::from_row(&row)))
}

/// `POST /v1/watches/{watch_id}/run`: 202, the watch runs as soon as possible.
#[utoipa::path(
    post,
    path = "/v1/watches/{watch_id}/run",
    tag = "watches",
    security(("api_key" = []), ("bearer" = [])),
    params(("watch_id" = String, Path, description = "The watch id.")),
    responses(
        (status = 202, description = "Due now: the next scheduler round runs it.", body = WatchResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such watch for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`WATCH_RUN_IN_FLIGHT` or `WATCH_PAUSED`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn run_watch(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let watch_id = parse_watch_id(path)?;
    let mut connection = state.db.acquire().await?;
    match watch_db::run_watch_now(&mut connection, key.api_key_id, watch_id).await? {
        RunNowOutcome::Scheduled(row) => {
            Ok((StatusCode::ACCEPTED, Json(WatchResponse::from_row(&row))).into_response())
        }
        RunNowOutcome::NotFound => Err(ApiError::NotFound { what: "watch" }),
        RunNowOutcome::Paused => Err(ApiError::WatchPaused),
        RunNowOutcome::InFlight => Err(ApiError::WatchRunInFlight),
    }
}
