//! Shared test fixtures: the simulator, the real yt-dlp pool pointed at it, an extractor that
//! replays the simulator's pages in-process (`replay`: handler tests need no Python), a per-test
//! Redis namespace, job rows in Postgres, and extractor wrappers that count or fail.

pub mod replay;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokworks_shared::ids::{ItemId, JobId};

use futures::future::BoxFuture;
use sqlx::PgPool;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::queue::ExtractQueue;
use tokworks_shared::queue_tasks::ExtractItemTask;
use tokworks_shared::test_fixtures;
use tokworks_shared::video::VideoSource;
use tokworks_sim::server::{SimConfig, SimHandle};
use tokworks_worker::context::{ExtractSettings, JobContext, WorkerIdentity};
use tokworks_worker::egress::{Egress, EgressSettings};
use tokworks_worker::extractor::{Extraction, ExtractionFailure, VideoExtractor};
use tokworks_worker::transcripts::SubtitleFetcher;
use tokworks_worker::ytdlp::{YtDlpExtractor, YtDlpNetwork, locate_python};

pub const REDIS_URL: &str = "redis://127.0.0.1:6379/";

/// The repository's yt-dlp (scripts/install-ytdlp.sh), or YTDLP_PATH.
pub fn ytdlp_path() -> String {
    std::env::var("YTDLP_PATH").unwrap_or_else(|_| {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        repo.join(".venv/ytdlp/bin/yt-dlp").display().to_string()
    })
}

/// The egress through the simulator's proxy (certificate checks off: it re-signs TLS). A
/// refused proxy is back at once: only the pool's own tests (`egress.rs`) cool it down for long.
pub fn egress_through(sim: &SimHandle) -> Egress {
    Egress::new(&EgressSettings {
        proxy_cooldown: Duration::from_millis(1),
        ..EgressSettings::single(Some(sim.proxy_url()), true)
    })
    .expect("client builds")
}

pub async fn start_sim() -> SimHandle {
    tokworks_sim::server::start(SimConfig::default())
        .await
        .expect("simulator starts")
}

/// A real yt-dlp pool of `size` helpers going through the simulator's proxy.
pub async fn start_ytdlp(sim: &SimHandle, size: usize, deadline: Duration) -> YtDlpExtractor {
    let python =
        locate_python(&ytdlp_path(), None).expect("yt-dlp installed (scripts/install-ytdlp.sh)");
    YtDlpExtractor::start(
        python,
        size,
        deadline,
        YtDlpNetwork {
            egress: egress_through(sim),
            socket_timeout: Duration::from_secs(10),
        },
    )
    .await
    .expect("helpers start")
}

/// A queue under a namespace no other test uses.
pub async fn unique_queue() -> ExtractQueue {
    let namespace = format!("test_{}", ulid::Ulid::generate().to_string().to_lowercase());
    ExtractQueue::connect(REDIS_URL, &namespace)
        .await
        .expect("redis reachable")
}

pub fn context(
    pool: PgPool,
    queue: ExtractQueue,
    extractor: Arc<dyn VideoExtractor>,
) -> JobContext {
    JobContext {
        pool,
        queue,
        extractor,
        identity: Arc::new(WorkerIdentity::new("test")),
        settings: Arc::new(ExtractSettings {
            max_video_duration_seconds: Some(600),
            cache_ttl: Some(Duration::from_secs(3600)),
            item_lease: Duration::from_secs(10),
            retry_delays: vec![Duration::from_secs(2), Duration::from_secs(8)],
        }),
        // A proxy that refuses connections: a test that wants subtitles sets `subtitles_through`.
        subtitles: SubtitleFetcher::new(
            Egress::new(&EgressSettings::single(
                Some("http://127.0.0.1:9".to_owned()),
                false,
            ))
            .expect("client builds"),
        ),
        thumbnail_analyzer: None,
        active_claims: Default::default(),
    }
}

/// A subtitle downloader going through the simulator's proxy.
pub fn subtitles_through(sim: &SimHandle) -> SubtitleFetcher {
    SubtitleFetcher::new(egress_through(sim))
}

/// Inserts a job with one queued item per URL; returns the job id and the tasks.
pub async fn insert_job(
    pool: &PgPool,
    urls: &[&str],
    max_attempts: i32,
    options: serde_json::Value,
) -> (JobId, Vec<ExtractItemTask>) {
    let options = serde_json::from_value(options).expect("stored job options");
    let (job_id, item_ids) =
        test_fixtures::insert_key_and_job(pool, urls, max_attempts, options).await;
    let tasks = item_ids
        .into_iter()
        .map(|item_id| ExtractItemTask::new(job_id, item_id))
        .collect();
    (job_id, tasks)
}

#[derive(Debug, sqlx::FromRow)]
pub struct ItemRow {
    pub status: String,
    pub attempts: i32,
    pub error_code: Option<String>,
    pub cache_hit: Option<bool>,
    pub result_video_id: Option<String>,
    pub task_id: Option<String>,
    pub claimed_by: Option<String>,
}

pub async fn item_row(pool: &PgPool, item_id: ItemId) -> ItemRow {
    sqlx::query_as(
        "select status, attempts, error_code, cache_hit, result_video_id, task_id, claimed_by
         from job_items where item_id = $1",
    )
    .bind(item_id)
    .fetch_one(pool)
    .await
    .expect("row exists")
}

#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    pub status: String,
    pub items_succeeded: i32,
    pub items_failed: i32,
    pub error_code: Option<String>,
}

pub async fn job_row(pool: &PgPool, job_id: JobId) -> JobRow {
    sqlx::query_as(
        "select status, items_succeeded, items_failed, error_code from jobs where job_id = $1",
    )
    .bind(job_id)
    .fetch_one(pool)
    .await
    .expect("row exists")
}

/// Wraps an extractor and counts its calls.
#[derive(Debug)]
pub struct CountingExtractor {
    pub inner: Arc<dyn VideoExtractor>,
    pub calls: AtomicUsize,
}

impl CountingExtractor {
    pub fn new(inner: Arc<dyn VideoExtractor>) -> Arc<CountingExtractor> {
        Arc::new(CountingExtractor {
            inner,
            calls: AtomicUsize::new(0),
        })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl VideoExtractor for CountingExtractor {
    fn source(&self) -> VideoSource {
        self.inner.source()
    }

    fn extract<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Extraction, ExtractionFailure>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.extract(url)
    }
}

/// Always fails with `code`.
#[derive(Debug)]
pub struct FailingExtractor {
    pub code: ErrorCode,
    pub calls: AtomicUsize,
}

impl FailingExtractor {
    pub fn new(code: ErrorCode) -> Arc<FailingExtractor> {
        Arc::new(FailingExtractor {
            code,
            calls: AtomicUsize::new(0),
        })
    }
}

impl VideoExtractor for FailingExtractor {
    fn source(&self) -> VideoSource {
        VideoSource::Ytdlp
    }

    fn extract<'a>(
        &'a self,
        _url: &'a str,
    ) -> BoxFuture<'a, Result<Extraction, ExtractionFailure>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Err(ExtractionFailure::new(self.code, "injected failure")) })
    }
}

/// `GET /_sim/requests` filtered by host (direct, not through the proxy), tunnels left out.
pub async fn logged_requests(sim: &SimHandle, host: &str) -> Vec<serde_json::Value> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("plain client builds");
    let answer: serde_json::Value = client
        .get(format!("{}/_sim/requests", sim.base_url()))
        .query(&[("host", host)])
        .send()
        .await
        .expect("the simulator answers /_sim/requests")
        .json()
        .await
        .expect("the request log is JSON");
    let entries = answer["entries"].as_array().cloned().unwrap_or_default();
    entries
        .into_iter()
        .filter(|entry| entry["method"] != "CONNECT")
        .collect()
}

/// The first `count` public regular videos of the simulator's ground truth.
pub fn sim_videos(sim: &SimHandle, count: usize) -> Vec<serde_json::Value> {
    sim.site().ground_truth_videos(0, count)
}

/// The error code every extractor must give for each simulator case (`GET /_sim/cases`):
/// yt-dlp and the native web extractor classify TikTok's answers the same way.
pub const CASE_ERROR_CODES: [(&str, ErrorCode); 16] = [
    ("deleted", ErrorCode::VideoNotFound),
    ("video_not_found", ErrorCode::VideoNotFound),
    ("private_post", ErrorCode::VideoPrivate),
    ("private_account", ErrorCode::VideoPrivate),
    ("under_review", ErrorCode::VideoUnderReview),
    ("region_blocked", ErrorCode::VideoRegionBlocked),
    ("age_restricted", ErrorCode::AgeRestricted),
    ("short_link_unknown", ErrorCode::VideoNotFound),
    ("fault_http_429", ErrorCode::UpstreamRateLimited),
    ("fault_http_403", ErrorCode::UpstreamBlocked),
    ("fault_http_500", ErrorCode::UpstreamUnavailable),
    ("fault_reset", ErrorCode::UpstreamUnavailable),
    ("fault_truncate", ErrorCode::UpstreamUnavailable),
    ("fault_empty_200", ErrorCode::UpstreamEmpty),
    ("fault_login_wall", ErrorCode::LoginRequired),
    ("fault_layout_change", ErrorCode::UpstreamChanged),
];

/// The URL of the simulator case `name`.
pub fn sim_case_url(sim: &SimHandle, name: &str) -> String {
    sim.cases()
        .into_iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("the simulator has no case {name}"))
        .url
}

/// The answer of a carcabot-style sign server (`POST /signature {"url"}`): the URL with fixed
/// `msToken`, `X-Bogus` and `X-Gnarly`, plus cookies and a browser UA the client must adopt.
pub fn sign_server_answer(body: &serde_json::Value) -> serde_json::Value {
    let Ok(mut url) = url::Url::parse(body["url"].as_str().unwrap_or_default()) else {
        return serde_json::json!({"status": "error", "message": "URL is required"});
    };
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(name, _)| !matches!(name.as_str(), "X-Bogus" | "X-Gnarly" | "msToken"))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(
            "msToken",
            "signerMsToken_0123456789abcdefghijklmnopqrstuvwxyz==",
        )
        .append_pair("X-Bogus", "DFSzswVLsignedBySignServer01")
        .append_pair("X-Gnarly", "gnarlySignedBySignServer0123456789");
    serde_json::json!({
        "status": "ok",
        "data": {
            "signed_url": url.as_str(),
            "x-bogus": "DFSzswVLsignedBySignServer01",
            "x-gnarly": "gnarlySignedBySignServer0123456789",
            "cookies": "tt_chain_token=fromSigner; ttwid=signerTtwid",
            "navigator": { "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) SignerBrowser/1.0" }
        }
    })
}

/// Serves `app` on a free loopback port; returns `http://127.0.0.1:PORT` and the server task.
pub async fn serve_on_loopback(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the test server binds");
    let address = listener.local_addr().expect("a bound address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), task)
}
