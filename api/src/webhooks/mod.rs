//! Webhooks: the key's signing secret (`GET /v1/webhook-secret`, `POST …/rotate`) and a job's
//! deliveries (`GET /v1/jobs/{id}/deliveries`, cursor-paginated, and
//! `POST …/deliveries/{delivery_id}/redeliver`, refused for a disabled webhook and limited per
//! event and hour).

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokworks_shared::db::jobs as job_db;
use tokworks_shared::db::webhooks::{
    self as webhook_db, DeliveryAttemptRow, DeliveryRow, RedeliverOutcome, WebhookSecretRow,
};
use tokworks_shared::ids::{DeliveryId, JobId};

use crate::auth::ApiKey;
use crate::cursor::{decode_cursor, encode_cursor, page_limit, query_problem};
use crate::problem::ApiError;
use crate::state::AppState;

const DEFAULT_DELIVERIES_LIMIT: i64 = 20;
const MAX_DELIVERIES_LIMIT: i64 = 100;
const DELIVERY_CURSOR_VERSION: &str = "v1:delivery:";
/// Most redeliveries of one event (one `webhook-id`) in any hour; more: 429 with `Retry-After`.
pub const MAX_REDELIVERIES_PER_HOUR: i64 = 5;

/// `GET /v1/webhook-secret` and rotate.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookSecretResponse {
    pub object: &'static str,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks `v1`).
    pub secret: String,
    /// The secret before the last rotation, while deliveries are still signed with it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<DateTime<Utc>>,
}

impl WebhookSecretResponse {
    fn from_row(row: WebhookSecretRow) -> Self {
        let previous_valid = row
            .previous_valid_until
            .is_some_and(|until| until > Utc::now());
        WebhookSecretResponse {
            object: "webhook_secret",
            secret: row.secret,
            previous_secret: row.previous_secret.filter(|_| previous_valid),
            previous_valid_until: row.previous_valid_until.filter(|_| previous_valid),
        }
    }
}

/// One recorded attempt of a delivery.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryAttemptResponse {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: f64,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
    pub outcome: String,
}

/// One delivery of one event (a redelivery is another delivery with the same `webhook_id`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryResponse {
    pub id: DeliveryId,
    pub object: &'static str,
    /// The `webhook-id` header: the same on every retry and redelivery of this event.
    pub webhook_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub url: String,
    /// `pending`, `delivering`, `succeeded`, `failed` or `stopped`.
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub redelivery_of: Option<DeliveryId>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The event as sent (the request body).
    #[schema(value_type = Object)]
    pub payload: Value,
    pub attempts: Vec<DeliveryAttemptResponse>,
}

impl DeliveryResponse {
    fn from_parts(row: DeliveryRow, attempts: &[DeliveryAttemptRow]) -> Self {
        let waiting = row.status == "pending";
        DeliveryResponse {
            id: row.delivery_id,
            object: "webhook_delivery",
            webhook_id: row.webhook_id,
            event_type: row.event_type,
            url: row.url,
            status: row.status,
            attempt_count: row.attempts,
            next_attempt_at: waiting.then_some(row.next_attempt_at),
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            redelivery_of: row.redelivery_of,
            created_at: row.created_at,
            finished_at: row.finished_at,
            payload: row.payload,
            attempts: attempts
                .iter()
                .filter(|attempt| attempt.delivery_id == row.delivery_id)
                .map(|attempt| DeliveryAttemptResponse {
                    attempt: attempt.attempt,
                    started_at: attempt.started_at,
                    finished_at: attempt.finished_at,
                    status_code: attempt.status_code,
                    latency_ms: attempt.latency_ms,
                    response_excerpt: attempt.response_excerpt.clone(),
                    error: attempt.error.clone(),
                    outcome: attempt.outcome.clone(),
                })
                .collect(),
        }
    }
}

/// `GET /v1/jobs/{id}/deliveries`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryListResponse {
    pub object: &'static str,
    pub data: Vec<DeliveryResponse>,
    pub has_more: bool,
    /// Pass as `cursor` for the next page (null on the last page).
    pub next_cursor: Option<String>,
}

/// Query string of `GET /v1/jobs/{job_id}/deliveries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDeliveriesQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/webhook-secret`: the key's signing secret (created now for keys older than webhooks).
#[utoipa::path(
    get,
    path = "/v1/webhook-secret",
    tag = "webhooks",
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The key's signing secret (and the previous one during a rotation's grace period).", body = WebhookSecretResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_webhook_secret(
    State(state): State<AppState>,
    key: ApiKey,
) -> Result<Json<WebhookSecretResponse>, ApiError> {
    let row = webhook_db::ensure_webhook_secret(&state.db, key.api_key_id).await?;
    Ok(Json(WebhookSecretResponse::from_row(row)))
}

/// `POST /v1/webhook-secret/rotate`: a new secret; the old one keeps signing (as a second `v1,`
/// entry) for WEBHOOK_SECRET_ROTATION_GRACE_SECONDS.
#[utoipa::path(
    post,
    path = "/v1/webhook-secret/rotate",
    tag = "webhooks",
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "A new secret; the old one keeps signing for the grace period.", body = WebhookSecretResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    key: ApiKey,
) -> Result<Json<WebhookSecretResponse>, ApiError> {
    let grace = state.settings.webhook_secret_rotation_grace;
    let row = webhook_db::rotate_webhook_secret(&state.db, key.api_key_id, grace).await?;
    tracing::info!(api_key_id = %key.api_key_id, "webhook secret rotated");
    Ok(Json(WebhookSecretResponse::from_row(row)))
}

/// `GET /v1/jobs/{job_id}/deliveries`: the job's deliveries, oldest first, with their attempts;
/// `cursor`, `limit` ≤ 100 (default 20).
#[utoipa::path(
    get,
    path = "/v1/jobs/{job_id}/deliveries",
    tag = "webhooks",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("job_id" = uuid::Uuid, Path, description = "The job's id."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
        ("limit" = Option<u32>, Query, description = "Page size, at most 100 (default 20)."),
    ),
    responses(
        (status = 200, description = "One page of the job's webhook deliveries, oldest first, with every attempt.", body = DeliveryListResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The job finished longer ago than the retention period: its items and results are deleted (`JOB_EXPIRED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_PARAMETER` (`limit`, `cursor` or an unknown parameter).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ListDeliveriesQuery>, QueryRejection>,
) -> Result<Json<DeliveryListResponse>, ApiError> {
    let Path(job_id) = path.map_err(|_| ApiError::NotFound { what: "job" })?;
    let job_id = owned_job_id(&state, &key, &job_id).await?;
    let Query(query) = query.map_err(|rejection| query_problem(&rejection))?;
    let limit = page_limit(
        query.limit.as_deref(),
        DEFAULT_DELIVERIES_LIMIT,
        MAX_DELIVERIES_LIMIT,
    )?;
    let after = query
        .cursor
        .as_deref()
        .map(decode_delivery_cursor)
        .transpose()?;
    let mut rows = webhook_db::list_deliveries_for_job(&state.db, job_id, after, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if has_more {
        rows.last()
            .map(|row| encode_delivery_cursor(row.delivery_id))
    } else {
        None
    };
    let ids: Vec<DeliveryId> = rows.iter().map(|row| row.delivery_id).collect();
    let attempts = webhook_db::list_attempts_for_deliveries(&state.db, &ids).await?;
    Ok(Json(DeliveryListResponse {
        object: "list",
        data: rows
            .into_iter()
            .map(|row| DeliveryResponse::from_parts(row, &attempts))
            .collect(),
        has_more,
        next_cursor,
    }))
}

/// `POST /v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver`: queues the event again with the
/// same `webhook-id`; answers 202 with the new delivery, 409 `WEBHOOK_DISABLED` when the job's
/// receiver disabled its webhook (410 Gone), 429 `TOO_MANY_REDELIVERIES` (with `Retry-After`)
/// past [`MAX_REDELIVERIES_PER_HOUR`] redeliveries of the event in the last hour.
#[utoipa::path(
    post,
    path = "/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("job_id" = uuid::Uuid, Path, description = "The job's id."),
        ("delivery_id" = uuid::Uuid, Path, description = "The delivery to send again."),
    ),
    responses(
        (status = 202, description = "The new delivery (same `webhook-id`).", body = DeliveryResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job or delivery for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The job finished longer ago than the retention period: its items and results are deleted (`JOB_EXPIRED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job's webhook is disabled: its receiver answered 410 Gone (`WEBHOOK_DISABLED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "The event was redelivered 5 times in the last hour (`TOO_MANY_REDELIVERIES`); `Retry-After` says when the next one is allowed.", body = crate::problem::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until a redelivery of this event is allowed again."))),
    ),
)]
pub async fn redeliver(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((job_id, delivery_id)) = path.map_err(|_| ApiError::NotFound { what: "delivery" })?;
    let job_id = owned_job_id(&state, &key, &job_id).await?;
    let delivery_id: DeliveryId = delivery_id
        .parse()
        .map_err(|_| ApiError::NotFound { what: "delivery" })?;
    let mut connection = state.db.begin().await?;
    let outcome = webhook_db::redeliver(
        &mut connection,
        job_id,
        delivery_id,
        MAX_REDELIVERIES_PER_HOUR,
    )
    .await?;
    let row = match outcome {
        RedeliverOutcome::Queued(row) => row,
        RedeliverOutcome::NotFound => return Err(ApiError::NotFound { what: "delivery" }),
        RedeliverOutcome::WebhookDisabled => return Err(ApiError::WebhookDisabled),
        RedeliverOutcome::Limited { retry_after } => {
            let retry_after_seconds = retry_after.as_secs().max(1);
            let mut response = ApiError::TooManyRedeliveries {
                limit: MAX_REDELIVERIES_PER_HOUR,
                retry_after_seconds,
            }
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            return Ok(response);
        }
    };
    connection.commit().await?;
    tracing::info!(%job_id, %delivery_id, new_delivery_id = %row.delivery_id, "webhook redelivery queued");
    let body = DeliveryResponse::from_parts(row, &[]);
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// A cursor of the deliveries list: the last delivery id of a page.
fn encode_delivery_cursor(delivery_id: DeliveryId) -> String {
    encode_cursor(DELIVERY_CURSOR_VERSION, delivery_id)
}

fn decode_delivery_cursor(cursor: &str) -> Result<DeliveryId, ApiError> {
    decode_cursor(DELIVERY_CURSOR_VERSION, cursor)
}

/// The job id of the path, if the job belongs to the key (another key's job is "not found").
async fn owned_job_id(state: &AppState, key: &ApiKey, job_id: &str) -> Result<JobId, ApiError> {
    let job_id: JobId = job_id
        .parse()
        .map_err(|_| ApiError::NotFound { what: "job" })?;
    let row = job_db::find_job_for_key(&state.db, job_id, key.api_key_id)
        .await?
        .ok_or(ApiError::NotFound { what: "job" })?;
    crate::jobs::lookup::reject_expired(job_id, row.status)?;
    Ok(row.job_id)
}
