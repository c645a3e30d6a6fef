//! `/v1/stats`: the caller's jobs and items from Postgres, plus global queue depth and workers.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tokworks_shared::db::stats;
use tokworks_shared::db::{extractor_fallbacks, worker_heartbeats};
use tokworks_shared::queue::QueueDepth;

use crate::auth::ApiKey;
use crate::problem::ApiError;
use crate::state::AppState;

/// A worker whose heartbeat is older than this is not counted as live.
const LIVE_WORKER_WINDOW: Duration = Duration::from_secs(30);

/// Body of `GET /v1/stats`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsResponse {
    pub object: &'static str,
    /// The caller's jobs.
    pub jobs: StatusCountsResponse,
    /// The caller's items, with the error-code breakdown.
    pub items: ItemStatsResponse,
    /// Stage name → p50/p95 over the caller's items (all attempts).
    pub stage_timings_ms: BTreeMap<String, StagePercentilesResponse>,
    pub cache: CacheStatsResponse,
    /// Global: the extraction queue (null with `error` when Redis does not answer).
    pub queue: QueueStatsResponse,
    /// Global: worker processes seen in the last 30 s.
    pub workers: WorkerStatsResponse,
    /// Global: items the native extractor handed to yt-dlp (EXTRACTOR=auto), by reason.
    pub extractor_fallbacks: BTreeMap<String, FallbackStatsResponse>,
    /// The caller's effective limits (its own, else the api's defaults; docs/rate-limits.md).
    pub limits: crate::rate_limits::KeyLimits,
    /// The caller's watches and their runs by outcome (docs/watches.md).
    pub watches: tokworks_shared::db::watches::listing::WatchStats,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusCountsResponse {
    pub total: i64,
    pub by_status: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemStatsResponse {
    pub total: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_error_code: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StagePercentilesResponse {
    pub samples: i64,
    pub p50: f64,
    pub p95: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CacheStatsResponse {
    pub hits: i64,
    pub misses: i64,
    /// hits / (hits + misses); null before any succeeded item.
    pub hit_rate: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueStatsResponse {
    #[schema(value_type = Option<Object>)]
    pub depth: Option<QueueDepth>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerStatsResponse {
    pub live: i64,
}

/// One reason (the native client's error code, e.g. `UPSTREAM_CHANGED`) of extractor fallbacks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FallbackStatsResponse {
    /// Items handed to yt-dlp for this reason.
    pub fallbacks: i64,
    /// Of those, items yt-dlp extracted.
    pub recovered: i64,
    pub last_fallback_at: chrono::DateTime<chrono::Utc>,
}

fn counts(rows: impl IntoIterator<Item = (String, i64)>) -> (i64, BTreeMap<String, i64>) {
    let by_name: Vec<(String, i64)> = rows.into_iter().collect();
    let total = by_name.iter().map(|(_, count)| count).sum();
    (total, by_name.into_iter().collect())
}

/// `GET /v1/stats`.
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "stats",
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The key's jobs and items, stage percentiles, cache, queue and workers.", body = StatsResponse),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "The key's requests per second are used up (`RATE_LIMITED`); `Retry-After` says when to retry.", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
)]
pub async fn get_stats(
    State(state): State<AppState>,
    key: ApiKey,
) -> Result<Json<StatsResponse>, ApiError> {
    let db = &state.db;
    let key_id = key.api_key_id;
    let (jobs, items, errors, stages, cache, live_workers, fallbacks, depth, watches) = tokio::join!(
        stats::count_jobs_by_status(db, key_id),
        stats::count_items_by_status(db, key_id),
        stats::count_item_errors_by_code(db, key_id),
        stats::stage_timing_percentiles(db, key_id),
        stats::count_cache_hits(db, key_id),
        worker_heartbeats::live_workers(db, LIVE_WORKER_WINDOW),
        extractor_fallbacks::fallback_counts(db),
        state.queue.depth(),
        tokworks_shared::db::watches::listing::watch_stats(db, key_id),
    );
    let (jobs_total, jobs_by_status) = counts(
        jobs?
            .into_iter()
            .map(|row| (row.status.as_str().to_owned(), row.count)),
    );
    let (items_total, items_by_status) = counts(
        items?
            .into_iter()
            .map(|row| (row.status.as_str().to_owned(), row.count)),
    );
    let (_, by_error_code) = counts(errors?.into_iter().map(|row| (row.name, row.count)));
    let cache = cache?;
    let looked_up = cache.hits + cache.misses;
    Ok(Json(StatsResponse {
        object: "stats",
        jobs: StatusCountsResponse {
            total: jobs_total,
            by_status: jobs_by_status,
        },
        items: ItemStatsResponse {
            total: items_total,
            by_status: items_by_status,
            by_error_code,
        },
        stage_timings_ms: stages?
            .into_iter()
            .map(|row| {
                let percentiles = StagePercentilesResponse {
                    samples: row.samples,
                    p50: row.p50_ms,
                    p95: row.p95_ms,
                };
                (row.stage, percentiles)
            })
            .collect(),
        cache: CacheStatsResponse {
            hits: cache.hits,
            misses: cache.misses,
            hit_rate: (looked_up > 0).then(|| cache.hits as f64 / looked_up as f64),
        },
        queue: match depth {
            Ok(depth) => QueueStatsResponse {
                depth: Some(depth),
                error: None,
            },
            Err(error) => QueueStatsResponse {
                depth: None,
                error: Some(error.to_string()),
            },
        },
        workers: WorkerStatsResponse {
            live: live_workers?.live,
        },
        extractor_fallbacks: fallbacks?
            .into_iter()
            .map(|row| {
                let counts = FallbackStatsResponse {
                    fallbacks: row.fallbacks,
                    recovered: row.recovered,
                    last_fallback_at: row.last_fallback_at,
                };
                (row.reason, counts)
            })
            .collect(),
        limits: key.limits,
        watches: watches?,
    }))
}
