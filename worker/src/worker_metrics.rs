//! The worker's Prometheus metrics: their names, the helpers the code records them with (the
//! `metrics` macros; without an installed recorder they cost nothing), and the small HTTP
//! listener of `WORKER_METRICS_ADDR` serving `GET /metrics` and `GET /healthz`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics::{counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::extract_item::ExtractItemOutcome;

/// Histogram: seconds one extraction took, by `path` (`ytdlp`, `web`, `cache`).
pub const EXTRACTION_DURATION_SECONDS: &str = "tokworks_worker_extraction_duration_seconds";
/// Counter: extract task runs by `outcome` (`succeeded`, `failed`, `retry_scheduled`,
/// `not_claimable`, `lost_claim`, `error`) and `code` (the item error code, `none` otherwise).
pub const ITEM_OUTCOMES_TOTAL: &str = "tokworks_worker_item_outcomes_total";
/// Counter: yt-dlp helper processes killed and replaced (crash, failure or deadline).
pub const YTDLP_HELPER_RESTARTS_TOTAL: &str = "tokworks_worker_ytdlp_helper_restarts_total";
/// Counter: HTTP answers of TikTok to the native client (web extractor, feeds), by `status`.
pub const UPSTREAM_RESPONSES_TOTAL: &str = "tokworks_worker_upstream_responses_total";
/// Counter: webhook delivery attempts by `outcome` (`succeeded`, `retry_scheduled`, `failed`,
/// `stopped`).
pub const WEBHOOK_ATTEMPTS_TOTAL: &str = "tokworks_worker_webhook_attempts_total";
/// Counter: calls to the vision API by `outcome` (`ok`, `rate_limited`, `server_error`,
/// `rejected`, `network`, `unreadable`).
pub const VISION_CALLS_TOTAL: &str = "tokworks_worker_vision_calls_total";
/// Counter: tokens the vision API reported, by `kind` (`prompt`, `completion`).
pub const VISION_TOKENS_TOTAL: &str = "tokworks_worker_vision_tokens_total";
/// Counter: items the native extractor handed to yt-dlp (EXTRACTOR=auto), by `reason` (the
/// native client's error code) and `outcome` (`recovered`, `failed`).
pub const EXTRACTOR_FALLBACKS_TOTAL: &str = "tokworks_worker_extractor_fallbacks_total";
/// Counter: native-client requests refused for want of a token of the shared per-host budget
/// (TIKTOK_MAX_REQUESTS_PER_SECOND) within the bounded wait.
pub const REQUEST_BUDGET_EXHAUSTED_TOTAL: &str = "tokworks_worker_request_budget_exhausted_total";
/// Watch runs evaluated by this process, by outcome.
pub const WATCH_RUNS_TOTAL: &str = "tokworks_worker_watch_runs_total";
/// New videos the watch runs evaluated by this process reported.
pub const WATCH_NEW_VIDEOS_TOTAL: &str = "tokworks_worker_watch_new_videos_total";

/// Buckets of extraction durations, in seconds.
const EXTRACTION_BUCKETS: [f64; 12] = [
    0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0,
];

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the process-wide Prometheus recorder (once, at start) and describes every metric.
pub fn install_recorder() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(EXTRACTION_DURATION_SECONDS.to_owned()),
            &EXTRACTION_BUCKETS,
        )?
        .install_recorder()?;
    describe_all();
    Ok(handle)
}

/// Serves `GET /metrics` (the text of `handle`) and `GET /healthz` on `listener` until the
/// process ends; runs the recorder's upkeep meanwhile.
pub async fn serve(listener: TcpListener, handle: PrometheusHandle) -> std::io::Result<()> {
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            interval.tick().await;
            upkeep.run_upkeep();
        }
    });
    axum::serve(listener, router(handle)).await
}

/// Binds `address` (so a taken port stops the start) and serves on it in a task.
pub async fn spawn_listener(
    address: SocketAddr,
    handle: PrometheusHandle,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = serve(listener, handle).await {
            tracing::error!(%error, "the worker metrics listener stopped");
        }
    });
    tracing::info!(address = %bound, "worker metrics on /metrics");
    Ok(bound)
}

/// The listener's routes.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(handle)
}

async fn render_metrics(State(handle): State<PrometheusHandle>) -> impl IntoResponse {
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}

/// Records one extraction's duration under its path.
pub fn record_extraction(path: &'static str, elapsed: Duration) {
    histogram!(EXTRACTION_DURATION_SECONDS, "path" => path).record(elapsed.as_secs_f64());
}

/// Counts one extract task run by its outcome.
pub fn record_item_outcome(outcome: &ExtractItemOutcome) {
    let (outcome, code) = match outcome {
        ExtractItemOutcome::NotClaimable => ("not_claimable", "none"),
        ExtractItemOutcome::Succeeded { .. } => ("succeeded", "none"),
        ExtractItemOutcome::Failed { error_code } => ("failed", error_code.as_str()),
        ExtractItemOutcome::RetryScheduled { error_code, .. } => {
            ("retry_scheduled", error_code.as_str())
        }
        ExtractItemOutcome::LostClaim => ("lost_claim", "none"),
    };
    counter!(ITEM_OUTCOMES_TOTAL, "outcome" => outcome, "code" => code).increment(1);
}

/// Counts an extract task the handler's own machinery failed (the reconciler repairs it).
pub fn record_item_error() {
    counter!(ITEM_OUTCOMES_TOTAL, "outcome" => "error", "code" => "none").increment(1);
}

/// Counts a yt-dlp helper killed and replaced.
pub fn record_helper_restart() {
    counter!(YTDLP_HELPER_RESTARTS_TOTAL).increment(1);
}

/// Counts one HTTP answer of TikTok.
pub fn record_upstream_response(status: u16) {
    counter!(UPSTREAM_RESPONSES_TOTAL, "status" => status.to_string()).increment(1);
}

/// Counts one webhook delivery attempt.
pub fn record_webhook_attempt(outcome: &'static str) {
    counter!(WEBHOOK_ATTEMPTS_TOTAL, "outcome" => outcome).increment(1);
}

/// Counts one vision API call and the tokens it reported.
pub fn record_vision_call(outcome: &'static str, prompt_tokens: i64, completion_tokens: i64) {
    counter!(VISION_CALLS_TOTAL, "outcome" => outcome).increment(1);
    let tokens = |count: i64| u64::try_from(count).unwrap_or(0);
    counter!(VISION_TOKENS_TOTAL, "kind" => "prompt").increment(tokens(prompt_tokens));
    counter!(VISION_TOKENS_TOTAL, "kind" => "completion").increment(tokens(completion_tokens));
}

/// Counts one item handed from the native extractor to yt-dlp.
pub fn record_extractor_fallback(reason: &'static str, recovered: bool) {
    let outcome = if recovered { "recovered" } else { "failed" };
    counter!(EXTRACTOR_FALLBACKS_TOTAL, "reason" => reason, "outcome" => outcome).increment(1);
}

/// Counts one evaluated watch run and the new videos it reported.
pub fn record_watch_run(outcome: &'static str, new_videos: usize) {
    counter!(WATCH_RUNS_TOTAL, "outcome" => outcome).increment(1);
    counter!(WATCH_NEW_VIDEOS_TOTAL).increment(u64::try_from(new_videos).unwrap_or(u64::MAX));
}

/// Counts one request that found no token of the per-host budget in time.
pub fn record_request_budget_exhausted() {
    counter!(REQUEST_BUDGET_EXHAUSTED_TOTAL).increment(1);
}

fn describe_all() {
    describe_histogram!(
        EXTRACTION_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Seconds one extraction took, by path (ytdlp, web, cache)."
    );
    describe_counter!(
        ITEM_OUTCOMES_TOTAL,
        "Extract task runs by outcome and item error code."
    );
    describe_counter!(
        YTDLP_HELPER_RESTARTS_TOTAL,
        "yt-dlp helper processes killed and replaced."
    );
    describe_counter!(
        UPSTREAM_RESPONSES_TOTAL,
        "HTTP answers of TikTok to the native client, by status."
    );
    describe_counter!(
        WEBHOOK_ATTEMPTS_TOTAL,
        "Webhook delivery attempts by outcome."
    );
    describe_counter!(
        crate::egress::proxy_pool::PROXY_REQUESTS_TOTAL,
        "TikTok answers per proxy of the pool (position and host), by outcome."
    );
    metrics::describe_gauge!(
        crate::egress::proxy_pool::PROXY_COOLING,
        "1 while the proxy cools down after TikTok refused it, else 0."
    );
    describe_counter!(VISION_CALLS_TOTAL, "Vision API calls by outcome.");
    describe_counter!(
        VISION_TOKENS_TOTAL,
        "Tokens reported by the vision API, by kind (prompt, completion)."
    );
    describe_counter!(
        EXTRACTOR_FALLBACKS_TOTAL,
        "Items the native extractor handed to yt-dlp, by reason and outcome."
    );
    describe_counter!(WATCH_RUNS_TOTAL, "Watch runs evaluated, by outcome.");
    describe_counter!(
        WATCH_NEW_VIDEOS_TOTAL,
        "New videos reported by the watch runs evaluated."
    );
    describe_counter!(
        REQUEST_BUDGET_EXHAUSTED_TOTAL,
        "TikTok requests refused: no token of the shared per-host budget in time."
    );
}

#[cfg(test)]
mod tests {
    use tokworks_shared::error_code::ErrorCode;

    use super::*;

    #[tokio::test]
    async fn the_listener_serves_what_the_helpers_record() {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(EXTRACTION_DURATION_SECONDS.to_owned()),
                &EXTRACTION_BUCKETS,
            )
            .unwrap()
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe_all();
            record_extraction("cache", Duration::from_millis(3));
            record_extraction("ytdlp", Duration::from_millis(1500));
            record_item_outcome(&ExtractItemOutcome::Failed {
                error_code: ErrorCode::VideoPrivate,
            });
            record_helper_restart();
            record_upstream_response(429);
            record_webhook_attempt("succeeded");
            record_vision_call("ok", 1200, 80);
            record_extractor_fallback("UPSTREAM_CHANGED", true);
            let proxies = crate::egress::ProxyPool::new(
                &["http://user:secret@127.0.0.1:9000".to_owned()],
                Duration::from_secs(60),
            )
            .unwrap();
            proxies.record(0, crate::egress::ProxyOutcome::Ok);
            proxies.record(0, crate::egress::ProxyOutcome::Blocked);
        });
        let address = spawn_listener("127.0.0.1:0".parse().unwrap(), handle)
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let health = client
            .get(format!("http://{address}/healthz"))
            .send()
            .await
            .unwrap();
        assert!(health.status().is_success());
        let text = client
            .get(format!("http://{address}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for expected in [
            "tokworks_worker_extraction_duration_seconds_bucket{path=\"cache\",le=\"0.005\"} 1",
            "tokworks_worker_extraction_duration_seconds_count{path=\"ytdlp\"} 1",
            "tokworks_worker_item_outcomes_total{outcome=\"failed\",code=\"VIDEO_PRIVATE\"} 1",
            "tokworks_worker_ytdlp_helper_restarts_total 1",
            "tokworks_worker_upstream_responses_total{status=\"429\"} 1",
            "tokworks_worker_webhook_attempts_total{outcome=\"succeeded\"} 1",
            "tokworks_worker_proxy_requests_total{proxy=\"0:127.0.0.1:9000\",outcome=\"ok\"} 1",
            "tokworks_worker_proxy_requests_total{proxy=\"0:127.0.0.1:9000\",outcome=\"blocked\"} 1",
            "tokworks_worker_proxy_cooling{proxy=\"0:127.0.0.1:9000\"} 1",
            "tokworks_worker_vision_calls_total{outcome=\"ok\"} 1",
            "tokworks_worker_vision_tokens_total{kind=\"prompt\"} 1200",
            "tokworks_worker_vision_tokens_total{kind=\"completion\"} 80",
            "tokworks_worker_extractor_fallbacks_total{reason=\"UPSTREAM_CHANGED\",outcome=\"recovered\"} 1",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
        assert!(
            !text.contains("secret"),
            "a proxy credential leaked:\n{text}"
        );
    }
}
