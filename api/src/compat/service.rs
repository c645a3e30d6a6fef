//! The old analyzer's service endpoints, with true values: `GET /` (bare message), `GET /health`
//! (probes Postgres, Redis and worker heartbeats), `GET /stats` (service-wide figures from
//! Postgres) and `GET /supported-platforms` (tokworks' real limits). They need no key, so their
//! probes and aggregates are kept for SERVICE_STATS_REFRESH_SECONDS and served from memory.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use tokworks_shared::db::worker_heartbeats::{self, LiveWorkers};
use tokworks_shared::db::{self, stats};
use tokworks_shared::job_status::ItemStatus;

use crate::compat::envelope::{
    COMPAT_API_VERSION, CompatError, CompatErrorCode, CompatRequest, PLATFORM, iso_timestamp_now,
};
use crate::compat::extract::internal_error;
use crate::state::AppState;

/// How long each health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A worker whose heartbeat is this recent is alive (as `GET /v1/stats` counts them).
const LIVE_WORKER_WINDOW: Duration = Duration::from_secs(30);

/// When this process built its routes (the start of `uptime_seconds`).
static STARTED_AT: OnceLock<Instant> = OnceLock::new();

/// Records the process start (the first call wins).
pub fn record_start_time() {
    STARTED_AT.get_or_init(Instant::now);
}

/// `GET /` body.
#[derive(Debug, Serialize)]
pub struct RootResponse {
    pub message: &'static str,
}

/// `GET /`: the old bare message.
#[utoipa::path(
    get,
    path = "/",
    tag = "compatibility",
    operation_id = "compat_get_root",
    description = "The old analyzer's greeting.",
    responses((status = 200, description = "The old service's answer.", body = Object)),
)]
pub async fn get_root() -> Json<RootResponse> {
    Json(RootResponse {
        message: "Video Scraper Service is running",
    })
}

/// `dependencies` of `/health`: the old keys, then `postgres`.
#[derive(Debug, Serialize)]
pub struct HealthDependencies {
    pub yt_dlp: &'static str,
    pub openai: &'static str,
    pub redis: &'static str,
    pub postgres: &'static str,
}

/// `metrics` of `/health`.
#[derive(Debug, Serialize)]
pub struct HealthMetrics {
    pub uptime_seconds: u64,
    pub requests_processed: i64,
    pub cache_hit_rate: f64,
}

/// `GET /health` body (bare, keys in the old order).
#[derive(Debug, Serialize)]
pub struct CompatHealthResponse {
    pub status: &'static str,
    pub timestamp: String,
    pub version: &'static str,
    pub dependencies: HealthDependencies,
    pub metrics: HealthMetrics,
}

/// `GET /health`: always 200, as before; `status` is `healthy` only when Postgres and Redis
/// answer and a worker is alive, `degraded` otherwise, `unhealthy` without Postgres; `openai` is
/// `configured` when a live worker announced a vision key.
#[utoipa::path(
    get,
    path = "/health",
    tag = "compatibility",
    operation_id = "compat_get_health",
    description = "The old analyzer's health report (always 200).",
    responses((status = 200, description = "The old service's answer.", body = Object)),
)]
pub async fn get_health(State(state): State<AppState>) -> Json<CompatHealthResponse> {
    let probe = state
        .public_snapshots
        .health
        .get(|| probe_health(&state))
        .await;
    let HealthProbe {
        postgres_ok,
        redis_ok,
        workers,
        requests_processed,
        cache_hit_rate,
    } = *probe;
    let workers_alive = workers.live > 0;
    let status = match (postgres_ok, redis_ok && workers_alive) {
        (false, _) => "unhealthy",
        (true, false) => "degraded",
        (true, true) => "healthy",
    };
    let uptime = STARTED_AT.get_or_init(Instant::now).elapsed();
    Json(CompatHealthResponse {
        status,
        timestamp: iso_timestamp_now(),
        version: COMPAT_API_VERSION,
        dependencies: HealthDependencies {
            yt_dlp: if workers_alive { "healthy" } else { "unknown" },
            openai: if workers.vision_configured > 0 {
                "configured"
            } else {
                "not_configured"
            },
            redis: if redis_ok { "healthy" } else { "unhealthy" },
            postgres: if postgres_ok { "healthy" } else { "unhealthy" },
        },
        metrics: HealthMetrics {
            uptime_seconds: uptime.as_secs(),
            requests_processed,
            cache_hit_rate,
        },
    })
}

/// What `/health` and `/supported-platforms` learn from Postgres, Redis and the workers'
/// heartbeats; kept for SERVICE_STATS_REFRESH_SECONDS (`AppState::public_snapshots`).
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthProbe {
    pub postgres_ok: bool,
    pub redis_ok: bool,
    pub workers: LiveWorkers,
    pub requests_processed: i64,
    pub cache_hit_rate: f64,
}

/// Probes everything `/health` reports, each probe bounded by [`PROBE_TIMEOUT`].
async fn probe_health(state: &AppState) -> HealthProbe {
    let db = &state.db;
    let (postgres, redis, workers, items, cache) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, stats::ping(db)),
        state.queue.ping(),
        tokio::time::timeout(
            PROBE_TIMEOUT,
            worker_heartbeats::live_workers(db, LIVE_WORKER_WINDOW)
        ),
        tokio::time::timeout(PROBE_TIMEOUT, stats::count_all_items_by_status(db)),
        tokio::time::timeout(PROBE_TIMEOUT, stats::count_all_cache_hits(db)),
    );
    let requests_processed = match items {
        Ok(Ok(rows)) => rows
            .iter()
            .filter(|row| row.status.is_finished())
            .map(|row| row.count)
            .sum(),
        _ => 0,
    };
    let cache_hit_rate = match cache {
        Ok(Ok(counts)) => ratio(counts.hits, counts.hits + counts.misses),
        _ => 0.0,
    };
    HealthProbe {
        postgres_ok: matches!(postgres, Ok(Ok(()))),
        redis_ok: redis.is_ok(),
        workers: match workers {
            Ok(Ok(workers)) => workers,
            _ => LiveWorkers::default(),
        },
        requests_processed,
        cache_hit_rate,
    }
}

/// `numerator / denominator`, 0 when there is nothing to divide.
fn ratio(numerator: i64, denominator: i64) -> f64 {
    if denominator <= 0 {
        return 0.0;
    }
    numerator as f64 / denominator as f64
}

/// `service_stats` of `/stats`.
#[derive(Debug, Serialize)]
pub struct ServiceStats {
    pub total_extractions: i64,
    pub successful_extractions: i64,
    pub failed_extractions: i64,
    pub success_rate: f64,
    pub avg_processing_time_ms: f64,
}

/// One platform of `platform_breakdown`.
#[derive(Debug, Serialize)]
pub struct PlatformStats {
    pub count: i64,
    pub success_rate: f64,
}

/// `platform_breakdown` of `/stats`.
#[derive(Debug, Serialize)]
pub struct PlatformBreakdown {
    pub tiktok: PlatformStats,
}

/// `cache_stats` of `/stats`: the stored videos in Postgres (the metadata cache).
#[derive(Debug, Serialize)]
pub struct CacheStats {
    pub total_items: i64,
    pub cache_size_mb: f64,
}

/// `GET /stats` body (bare, keys in the old order).
#[derive(Debug, Serialize)]
pub struct CompatStatsResponse {
    pub service_stats: ServiceStats,
    pub platform_breakdown: PlatformBreakdown,
    /// tokworks' item error codes with their counts.
    pub error_breakdown: Map<String, Value>,
    pub cache_stats: CacheStats,
}

/// `GET /stats`: service-wide finished items (succeeded + failed), mean `total` stage time,
/// error codes, and the stored-video cache; a database failure is a 500 envelope.
#[utoipa::path(
    get,
    path = "/stats",
    tag = "compatibility",
    operation_id = "compat_get_stats",
    description = "The old analyzer's service statistics.",
    responses((status = 200, description = "The old service's answer.", body = Object)),
)]
pub async fn get_stats(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let stats = state
        .public_snapshots
        .stats
        .get(|| async {
            load_stats(&state).await.map_err(|error| {
                tracing::warn!(%error, "compat /stats: cannot read the figures");
                db::is_unavailable(&error)
            })
        })
        .await;
    match stats.as_ref() {
        Ok(body) => Json(body).into_response(),
        Err(true) => CompatRequest::start(&headers).failure(service_unavailable()),
        Err(false) => CompatRequest::start(&headers).failure(internal_error()),
    }
}

/// The envelope of a database that is down or overloaded: 503, retry shortly.
fn service_unavailable() -> CompatError {
    CompatError::new(
        CompatErrorCode::ServiceUnavailable,
        "the service is temporarily unavailable; retry shortly",
    )
}

async fn load_stats(state: &AppState) -> Result<CompatStatsResponse, sqlx::Error> {
    let db = &state.db;
    let (items, errors, average, videos) = tokio::try_join!(
        stats::count_all_items_by_status(db),
        stats::count_all_item_errors_by_code(db),
        stats::average_stage_duration_ms(db, "total"),
        stats::stored_video_totals(db),
    )?;
    let count_of = |status: ItemStatus| {
        items
            .iter()
            .filter(|row| row.status == status)
            .map(|row| row.count)
            .sum::<i64>()
    };
    let (successful, failed) = (
        count_of(ItemStatus::Succeeded),
        count_of(ItemStatus::Failed),
    );
    let total = successful + failed;
    let success_rate = round_to(ratio(successful, total), 4);
    let error_breakdown = errors
        .into_iter()
        .map(|row| (row.name, Value::from(row.count)))
        .collect();
    Ok(CompatStatsResponse {
        service_stats: ServiceStats {
            total_extractions: total,
            successful_extractions: successful,
            failed_extractions: failed,
            success_rate,
            avg_processing_time_ms: round_to(average.unwrap_or(0.0), 1),
        },
        platform_breakdown: PlatformBreakdown {
            tiktok: PlatformStats {
                count: total,
                success_rate,
            },
        },
        error_breakdown,
        cache_stats: CacheStats {
            total_items: videos.videos,
            cache_size_mb: round_to(videos.total_bytes as f64 / (1024.0 * 1024.0), 3),
        },
    })
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// One platform of `/supported-platforms`.
#[derive(Debug, Serialize)]
pub struct SupportedPlatform {
    pub name: &'static str,
    pub domain: &'static str,
    pub supported_features: Vec<&'static str>,
    pub url_patterns: Vec<&'static str>,
}

/// `limitations` of `/supported-platforms`.
#[derive(Debug, Serialize)]
pub struct Limitations {
    pub max_urls_per_batch: usize,
    /// `POST /extract` calls per minute a key gets by default: the smaller of
    /// KEY_REQUESTS_PER_SECOND × 60 and KEY_URLS_PER_MINUTE (one URL each).
    pub rate_limit_per_minute: Option<u32>,
    /// MAX_VIDEO_DURATION_SECONDS as configured on the api (reported; workers enforce theirs).
    pub max_video_duration: u64,
}

/// `GET /supported-platforms` body.
#[derive(Debug, Serialize)]
pub struct SupportedPlatformsResponse {
    pub platforms: Vec<SupportedPlatform>,
    pub limitations: Limitations,
}

/// `GET /supported-platforms`: the URL shapes `POST /extract` accepts, the features the live
/// workers offer (`thumbnail_analysis` only when one has a vision key) and the real limits.
#[utoipa::path(
    get,
    path = "/supported-platforms",
    tag = "compatibility",
    operation_id = "compat_get_supported_platforms",
    description = "The old analyzer's supported platforms and limits.",
    responses((status = 200, description = "The old service's answer.", body = Object)),
)]
pub async fn get_supported_platforms(
    State(state): State<AppState>,
) -> Json<SupportedPlatformsResponse> {
    let probe = state
        .public_snapshots
        .health
        .get(|| probe_health(&state))
        .await;
    let mut supported_features = vec!["metadata_extraction", "engagement_metrics"];
    if probe.workers.vision_configured > 0 {
        supported_features.insert(1, "thumbnail_analysis");
    }
    supported_features.push("transcripts");
    Json(SupportedPlatformsResponse {
        platforms: vec![SupportedPlatform {
            name: PLATFORM,
            domain: "tiktok.com",
            supported_features,
            url_patterns: vec![
                "https://www.tiktok.com/@{username}/video/{video_id}",
                "https://www.tiktok.com/@{username}/photo/{video_id}",
                "https://vm.tiktok.com/{short_id}",
                "https://vt.tiktok.com/{short_id}",
                "https://www.tiktok.com/t/{short_id}",
                "https://m.tiktok.com/v/{video_id}.html",
            ],
        }],
        limitations: Limitations {
            max_urls_per_batch: state.settings.compat_batch_max_urls,
            rate_limit_per_minute: Some(
                state
                    .settings
                    .key_limits
                    .requests_per_second
                    .saturating_mul(60)
                    .min(state.settings.key_limits.urls_per_minute),
            ),
            max_video_duration: state.settings.max_video_duration_seconds,
        },
    })
}
