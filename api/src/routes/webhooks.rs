//! Webhooks: the key's signing secret (`GET /v1/webhook-secret`, `POST …/rotate`) and a job's
//! deliveries (`GET /v1/jobs/{id}/deliveries`, `POST …/deliveries/{delivery_id}/redeliver`).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokworks_shared::db::jobs as job_db;
use tokworks_shared::db::webhooks::{
    self as webhook_db, DeliveryAttemptRow, DeliveryRow, WebhookSecretRow,
};
use uuid::Uuid;

use crate::auth::ApiKey;
use crate::problem::ApiError;
use crate::state::AppState;

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
    pub id: Uuid,
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
    pub redelivery_of: Option<Uuid>,
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

/// `GET /v1/jobs/{job_id}/deliveries`: every delivery of the job's events, with attempts.
#[utoipa::path(
    get,
    path = "/v1/jobs/{job_id}/deliveries",
    tag = "webhooks",
    security(("api_key" = []), ("bearer" = [])),
    params(("job_id" = uuid::Uuid, Path, description = "The job's id.")),
    responses(
        (status = 200, description = "The job's webhook deliveries with every attempt.", body = DeliveryListResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<DeliveryListResponse>, ApiError> {
    let Path(job_id) = path.map_err(|_| ApiError::NotFound { what: "job" })?;
    let job_id = owned_job_id(&state, &key, &job_id).await?;
    let rows = webhook_db::list_deliveries_for_job(&state.db, job_id).await?;
    let attempts = webhook_db::list_attempts_for_job(&state.db, job_id).await?;
    Ok(Json(DeliveryListResponse {
        object: "list",
        data: rows
            .into_iter()
            .map(|row| DeliveryResponse::from_parts(row, &attempts))
            .collect(),
    }))
}

/// `POST /v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver`: queues the event again with the
/// same `webhook-id`; answers 202 with the new delivery.
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
    ),
)]
pub async fn redeliver(
    State(state): State<AppState>,
    key: ApiKey,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((job_id, delivery_id)) = path.map_err(|_| ApiError::NotFound { what: "delivery" })?;
    let job_id = owned_job_id(&state, &key, &job_id).await?;
    let delivery_id: Uuid = delivery_id
        .parse()
        .map_err(|_| ApiError::NotFound { what: "delivery" })?;
    let mut connection = state.db.begin().await?;
    let row = webhook_db::redeliver(&mut connection, job_id, delivery_id)
        .await?
        .ok_or(ApiError::NotFound { what: "delivery" })?;
    connection.commit().await?;
    let body = DeliveryResponse::from_parts(row, &[]);
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The job id of the path, if the job belongs to the key (another key's job is "not found").
async fn owned_job_id(state: &AppState, key: &ApiKey, job_id: &str) -> Result<Uuid, ApiError> {
    let job_id: Uuid = job_id
        .parse()
        .map_err(|_| ApiError::NotFound { what: "job" })?;
    job_db::find_job_for_key(&state.db, job_id, key.api_key_id)
        .await?
        .map(|row| row.job_id)
        .ok_or(ApiError::NotFound { what: "job" })
}
