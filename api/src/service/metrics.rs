//! The api's Prometheus registry: one recorder per `AppState` (no global recorder, so routers in
//! one process keep apart), the HTTP request middleware that counts and times every request by
//! route template, and the names of every metric (`GET /metrics` is in `metrics_scrape`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::state::AppState;

/// Counter: HTTP requests answered, by `method`, `route` (template) and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "tokworks_http_requests_total";
/// Histogram: seconds from request to response head, by `method` and `route`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "tokworks_http_request_duration_seconds";
/// Gauge: jobs of every key by `status`.
pub const JOBS: &str = "tokworks_jobs";
/// Gauge: job items of every key by `status`.
pub const JOB_ITEMS: &str = "tokworks_job_items";
/// Gauge: worker processes with a recent heartbeat.
pub const LIVE_WORKERS: &str = "tokworks_live_workers";
/// Gauge: tasks in the Redis extraction queue by `state`.
pub const QUEUE_TASKS: &str = "tokworks_queue_tasks";
/// Gauge: 1 when the scrape could read `source` (`postgres`, `redis`), else 0.
pub const SCRAPE_SOURCE_UP: &str = "tokworks_scrape_source_up";
/// Gauge: job event streams (`/v1/jobs/{id}/events`) open now.
pub const EVENT_STREAMS_OPEN: &str = "tokworks_event_streams_open";
/// Counter: items of every worker that the native extractor handed to yt-dlp
/// (`EXTRACTOR=auto`), by `reason` (read from Postgres at scrape time).
pub const EXTRACTOR_FALLBACKS_TOTAL: &str = "tokworks_extractor_fallbacks_total";

/// The `route` label of a request that matched no route (keeps label values bounded).
const UNMATCHED_ROUTE: &str = "unmatched";

/// Histogram buckets of request durations, in seconds.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The recorder of one api instance and its render handle (cheap to clone).
#[derive(Clone)]
pub struct ApiMetrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for ApiMetrics {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("ApiMetrics").finish_non_exhaustive()
    }
}

impl ApiMetrics {
    /// A fresh registry with every metric described, and its upkeep task (needs a Tokio runtime).
    pub fn start() -> ApiMetrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HTTP_REQUEST_DURATION_SECONDS.to_owned()),
                &DURATION_BUCKETS,
            )
            // Only fails on an empty bucket list; the list above is not empty.
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        let metrics = ApiMetrics {
            recorder: Arc::new(recorder),
            handle,
        };
        metrics.with_recorder(describe_all);
        let upkeep = metrics.handle.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                interval.tick().await;
                upkeep.run_upkeep();
            }
        });
        metrics
    }

    /// Runs `record` with this instance's recorder as the current one (the `metrics` macros
    /// inside record here).
    pub fn with_recorder<T>(&self, record: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref(), record)
    }

    /// The Prometheus text exposition of everything recorded.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Counts an open event stream until the returned guard is dropped.
    pub fn event_stream_opened(&self) -> OpenEventStreamGuard {
        self.with_recorder(|| gauge!(EVENT_STREAMS_OPEN).increment(1.0));
        OpenEventStreamGuard {
            metrics: self.clone(),
        }
    }
}

/// Decrements [`EVENT_STREAMS_OPEN`] when the stream ends (or the client goes away).
#[derive(Debug)]
pub struct OpenEventStreamGuard {
    metrics: ApiMetrics,
}

impl Drop for OpenEventStreamGuard {
    fn drop(&mut self) {
        self.metrics
            .with_recorder(|| gauge!(EVENT_STREAMS_OPEN).decrement(1.0));
    }
}

fn describe_all() {
    describe_counter!(
        HTTP_REQUESTS_TOTAL,
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Seconds from request to response head, by method and route template."
    );
    describe_gauge!(
        JOBS,
        "Jobs of every key by status (read from Postgres at scrape time)."
    );
    describe_gauge!(
        JOB_ITEMS,
        "Job items of every key by status (read from Postgres at scrape time)."
    );
    describe_gauge!(LIVE_WORKERS, "Worker processes whose heartbeat is recent.");
    describe_gauge!(QUEUE_TASKS, "Tasks in the Redis extraction queue by state.");
    describe_gauge!(
        SCRAPE_SOURCE_UP,
        "1 when the last scrape could read the source, else 0."
    );
    describe_gauge!(EVENT_STREAMS_OPEN, "Job event streams open now.");
    describe_counter!(
        EXTRACTOR_FALLBACKS_TOTAL,
        "Items the native extractor handed to yt-dlp, by reason (read from Postgres at scrape time)."
    );
}

/// Middleware: counts and times every request by method, route template and status.
pub async fn record_http_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || UNMATCHED_ROUTE.to_owned(),
        |path| path.as_str().to_owned(),
    );
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    state.metrics.with_recorder(|| {
        counter!(HTTP_REQUESTS_TOTAL, "method" => method.clone(), "route" => route.clone(), "status" => status)
            .increment(1);
        histogram!(HTTP_REQUEST_DURATION_SECONDS, "method" => method, "route" => route)
            .record(elapsed);
    });
    response
}
