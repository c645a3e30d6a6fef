//! `GET /metrics`: the Prometheus text exposition. With METRICS_TOKEN set it needs
//! `Authorization: Bearer <token>`; without it, it is open only when the api listens on a
//! loopback address (elsewhere 403 `METRICS_TOKEN_REQUIRED`). Job, item and worker gauges (one
//! Postgres query) and the queue depth (Redis) are read at most once per
//! SERVICE_STATS_REFRESH_SECONDS.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge};
use sha2::{Digest, Sha256};
use tokworks_shared::db::service_gauges::{self, GaugeRow};
use tokworks_shared::job_status::{ItemStatus, JobStatus};
use tokworks_shared::queue::QueueDepth;

use crate::problem::ApiError;
use crate::service::metrics::{
    EXTRACTOR_FALLBACKS_TOTAL, JOB_ITEMS, JOBS, LIVE_WORKERS, QUEUE_TASKS, SCRAPE_SOURCE_UP,
};
use crate::state::AppState;

/// What a scrape reads from Postgres and Redis; kept for SERVICE_STATS_REFRESH_SECONDS
/// (`AppState::public_snapshots`), so frequent or anonymous scrapes cost one read per interval.
#[derive(Debug)]
pub struct ScrapeProbe {
    gauges: Result<Vec<GaugeRow>, String>,
    depth: Result<QueueDepth, String>,
}

/// The Prometheus text format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A worker whose heartbeat is older than this is not counted as live (as in `/v1/stats`).
const LIVE_WORKER_WINDOW: Duration = Duration::from_secs(30);

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text format (with `METRICS_TOKEN` set: `Authorization: Bearer <token>`).", body = String, content_type = "text/plain"),
        (status = 401, description = "A wrong or missing token when `METRICS_TOKEN` is set.", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`METRICS_TOKEN_REQUIRED`: the api listens on a non-loopback address and `METRICS_TOKEN` is unset.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    match state.settings.events_and_metrics.metrics_token_sha256 {
        Some(expected_sha256) if presented_token_sha256(&headers) != Some(expected_sha256) => {
            return Err(ApiError::Unauthenticated);
        }
        Some(_) => {}
        None if !state.settings.events_and_metrics.metrics_open_without_token => {
            return Err(ApiError::MetricsTokenRequired);
        }
        None => {}
    }
    let probe = state
        .public_snapshots
        .metrics
        .get(|| async {
            let (gauges, depth) = tokio::join!(
                service_gauges::read_service_gauges(&state.db, LIVE_WORKER_WINDOW),
                state.queue.depth()
            );
            ScrapeProbe {
                gauges: gauges.map_err(|error| error.to_string()),
                depth: depth.map_err(|error| error.to_string()),
            }
        })
        .await;
    state.metrics.with_recorder(|| {
        match &probe.gauges {
            Ok(rows) => {
                record_database_gauges(rows);
                gauge!(SCRAPE_SOURCE_UP, "source" => "postgres").set(1.0);
            }
            Err(error) => {
                tracing::warn!(%error, "metrics scrape: cannot read Postgres gauges");
                gauge!(SCRAPE_SOURCE_UP, "source" => "postgres").set(0.0);
            }
        }
        match &probe.depth {
            Ok(depth) => {
                record_queue_depth(depth);
                gauge!(SCRAPE_SOURCE_UP, "source" => "redis").set(1.0);
            }
            Err(error) => {
                tracing::warn!(%error, "metrics scrape: cannot read the queue depth");
                gauge!(SCRAPE_SOURCE_UP, "source" => "redis").set(0.0);
            }
        }
    });
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_TEXT),
    );
    Ok(response)
}

/// SHA-256 of the bearer token sent (digests are compared, so the comparison time does not
/// depend on how much of the token matches).
fn presented_token_sha256(headers: &HeaderMap) -> Option<[u8; 32]> {
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| Sha256::digest(token.as_bytes()).into())
}

/// SHA-256 of METRICS_TOKEN, as kept in the settings.
pub fn metrics_token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn count_of(rows: &[GaugeRow], family: &str, label: &str) -> f64 {
    rows.iter()
        .filter(|row| row.family == family && row.label == label)
        .map(|row| row.value as f64)
        .fold(0.0, |total, value| total + value)
}

fn record_database_gauges(rows: &[GaugeRow]) {
    for status in JobStatus::ALL.map(JobStatus::as_str) {
        gauge!(JOBS, "status" => status).set(count_of(rows, "jobs", status));
    }
    for status in ItemStatus::ALL.map(ItemStatus::as_str) {
        gauge!(JOB_ITEMS, "status" => status).set(count_of(rows, "job_items", status));
    }
    gauge!(LIVE_WORKERS).set(count_of(rows, "live_workers", ""));
    for row in rows
        .iter()
        .filter(|row| row.family == "extractor_fallbacks")
    {
        counter!(EXTRACTOR_FALLBACKS_TOTAL, "reason" => row.label.clone())
            .absolute(u64::try_from(row.value).unwrap_or(0));
    }
}

fn record_queue_depth(depth: &QueueDepth) {
    for (queue_state, count) in [
        ("pending", depth.pending),
        ("scheduled", depth.scheduled),
        ("running", depth.running),
        ("done", depth.done),
        ("dead", depth.dead),
    ] {
        gauge!(QUEUE_TASKS, "state" => queue_state).set(count as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_token_is_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_token_sha256(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented_token_sha256(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  s3cret "),
        );
        assert_eq!(
            presented_token_sha256(&headers),
            Some(metrics_token_sha256("s3cret"))
        );
    }
}
