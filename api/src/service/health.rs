//! `/healthz` (the process answers) and `/readyz` (Postgres and Redis answer).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tokworks_shared::db::stats;

use crate::problem::ApiError;
use crate::state::AppState;

/// How long each readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Body of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthResponse {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<ReadinessChecksResponse>,
}

/// Each dependency's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadinessChecksResponse {
    pub postgres: &'static str,
    pub redis: &'static str,
}

/// `GET /healthz`: liveness, no dependency checked.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process is alive.", body = HealthResponse)),
)]
pub async fn get_health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok",
        checks: None,
    })
}

/// `GET /readyz`: `select 1` on Postgres and a Redis ping; 503 `NOT_READY` naming what failed.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Postgres and Redis answer.", body = HealthResponse),
        (status = 503, description = "A dependency does not answer (`NOT_READY`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_readiness(
    State(state): State<AppState>,
) -> Result<Json<HealthResponse>, ApiError> {
    let (postgres, redis) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, stats::ping(&state.db)),
        state.queue.ping(),
    );
    let mut failures = Vec::new();
    match postgres {
        Ok(Ok(())) => {}
        Ok(Err(error)) => failures.push(format!("postgres: {error}")),
        Err(_) => failures.push(format!("postgres: no answer within {CHECK_TIMEOUT:?}")),
    }
    if let Err(error) = redis {
        failures.push(format!("redis: {error}"));
    }
    if !failures.is_empty() {
        return Err(ApiError::NotReady {
            detail: failures.join("; "),
        });
    }
    Ok(Json(HealthResponse {
        status: "ok",
        checks: Some(ReadinessChecksResponse {
            postgres: "ok",
            redis: "ok",
        }),
    }))
}
