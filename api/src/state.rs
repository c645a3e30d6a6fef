//! `AppState`: what every handler gets — the Postgres pool, the queue, the job-finished waiters
//! and the settings.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::sync::{OnceCell, mpsc};
use tokworks_shared::jobs::ExtractItemTask;
use tokworks_shared::queue::{ExtractQueue, QueueDepth, QueueError};
use tokworks_shared::webhooks::address_guard::AddressPolicy;

use crate::auth::VerifiedKeys;
use crate::metrics::ApiMetrics;
use crate::rate_limits::{KeyLimiter, KeyLimits};
use crate::wait::JobWaiters;

/// How long one queue operation (connect included) may take before the api gives up on it:
/// Redis is not on the path of correctness (the worker's reconciler enqueues from Postgres).
const QUEUE_OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// Settings handlers need.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub item_max_attempts: i32,
    /// How long a verified API key is trusted without asking Postgres again
    /// (API_KEY_CACHE_SECONDS; zero: not at all).
    pub api_key_cache_ttl: Duration,
    /// Most URLs in one `batch` job (BATCH_MAX_URLS).
    pub batch_max_urls: usize,
    pub max_request_body_bytes: usize,
    pub wait_max: Duration,
    /// The webhook SSRF guard (WEBHOOK_ALLOW_PRIVATE_NETWORKS, WEBHOOK_ALLOWED_PORTS).
    pub webhook_policy: AddressPolicy,
    /// How long a rotated webhook secret keeps signing (WEBHOOK_SECRET_ROTATION_GRACE_SECONDS).
    pub webhook_secret_rotation_grace: Duration,
    /// Most URLs in one `POST /extract/batch` (COMPAT_BATCH_MAX_URLS).
    pub compat_batch_max_urls: usize,
    /// The workers' video length limit in seconds, reported by the compatibility endpoints
    /// (MAX_VIDEO_DURATION_SECONDS).
    pub max_video_duration_seconds: u64,
    /// How long a finished feed walk answers identical feed jobs (FEED_CACHE_TTL_SECONDS);
    /// `None` = no feed cache.
    pub feed_cache_ttl: Option<Duration>,
    /// Largest `count` of a feed job (FEED_MAX_COUNT).
    pub feed_max_count: u32,
    /// Job event streams and `/metrics` (EVENTS_MAX_SECONDS, EVENTS_POLL_MILLISECONDS,
    /// METRICS_TOKEN).
    pub events_and_metrics: EventsAndMetricsSettings,
    /// Limits of keys without their own (KEY_REQUESTS_PER_SECOND, KEY_URLS_PER_MINUTE,
    /// KEY_MAX_ITEMS_IN_FLIGHT).
    pub key_limits: KeyLimits,
}

/// Settings of the job event streams and of `GET /metrics`.
#[derive(Debug, Clone)]
pub struct EventsAndMetricsSettings {
    /// Longest life of one event stream.
    pub events_max: Duration,
    /// How often an open event stream looks for items that ended.
    pub events_poll_interval: Duration,
    /// SHA-256 of METRICS_TOKEN; `None`: `/metrics` is open.
    pub metrics_token_sha256: Option<[u8; 32]>,
}

impl Default for EventsAndMetricsSettings {
    fn default() -> Self {
        EventsAndMetricsSettings {
            events_max: Duration::from_secs(3600),
            events_poll_interval: Duration::from_millis(500),
            metrics_token_sha256: None,
        }
    }
}

/// Shared state of the router (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: PgPool,
    pub queue: QueueHandle,
    pub waiters: JobWaiters,
    pub settings: Arc<ApiSettings>,
    /// The Prometheus registry of this instance.
    pub metrics: ApiMetrics,
    /// API keys verified recently (API_KEY_CACHE_SECONDS).
    pub verified_keys: VerifiedKeys,
    /// Per-key limits (Redis budget, items in flight).
    pub limiter: KeyLimiter,
}

impl AppState {
    /// Builds the state and starts the job-finished listener (LISTEN is active on return).
    pub async fn new(
        db: PgPool,
        queue: QueueHandle,
        settings: ApiSettings,
    ) -> Result<Self, sqlx::Error> {
        let waiters = JobWaiters::start(&db).await?;
        let limiter = KeyLimiter::new(queue.queue.redis_url.clone(), queue.queue.namespace.clone());
        Ok(AppState {
            limiter,
            db,
            queue,
            waiters,
            verified_keys: VerifiedKeys::new(settings.api_key_cache_ttl),
            settings: Arc::new(settings),
            metrics: ApiMetrics::start(),
        })
    }
}

/// The extraction queue, connected on first use (and retried on the next use after a failure),
/// so the api starts and accepts jobs while Redis is down; submitted tasks reach Redis through
/// one background pusher per process, which sends whatever has gathered in one script call.
#[derive(Clone)]
pub struct QueueHandle {
    queue: LazyQueue,
    pusher: mpsc::Sender<Vec<(String, ExtractItemTask)>>,
}

impl std::fmt::Debug for QueueHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("QueueHandle")
            .field("namespace", &self.queue.namespace)
            .field("connected", &self.queue.queue.initialized())
            .finish_non_exhaustive()
    }
}

/// A queue operation that failed or took too long.
#[derive(Debug, thiserror::Error)]
pub enum QueueUnavailable {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("the queue did not answer within {0:?}")]
    Timeout(Duration),
}

/// Jobs' task lists waiting for the pusher. When it is full (Redis slow or down), further
/// tasks are left to the reconciler rather than making submits wait.
const PUSHER_BACKLOG: usize = 4096;
/// Most tasks in one push (one `batch_push.lua` call per 500 is made by the queue itself).
const PUSH_BATCH_MAX: usize = 2000;

impl QueueHandle {
    /// A handle on `{namespace}_extract` at `redis_url` (nothing is connected yet); starts the
    /// pusher task, so it must be called inside a Tokio runtime.
    pub fn new(redis_url: SecretString, namespace: String) -> Self {
        let queue = LazyQueue {
            redis_url,
            namespace,
            queue: Arc::new(OnceCell::new()),
        };
        let (pusher, backlog) = mpsc::channel(PUSHER_BACKLOG);
        tokio::spawn(run_pusher(queue.clone(), backlog));
        QueueHandle { queue, pusher }
    }

    /// Hands tasks whose ids are already stored in Postgres to the pusher; returns at once.
    /// Nothing is lost if they never reach Redis: the worker's reconciler pushes every queued
    /// item whose task Redis does not hold.
    pub async fn enqueue(&self, tasks: Vec<(String, ExtractItemTask)>) {
        if tasks.is_empty() {
            return;
        }
        if let Err(error) = self.pusher.try_send(tasks) {
            tracing::warn!(%error, "the queue pusher is behind; the reconciler will enqueue these items");
        }
    }

    /// Pushes tasks now (for items whose task ids are recorded after the push); returns their
    /// task ids in order.
    pub async fn push(&self, tasks: &[ExtractItemTask]) -> Result<Vec<String>, QueueUnavailable> {
        self.queue
            .with_queue(async |queue: &ExtractQueue| queue.push(tasks).await)
            .await
    }

    /// Queue counts.
    pub async fn depth(&self) -> Result<QueueDepth, QueueUnavailable> {
        self.queue
            .with_queue(async |queue: &ExtractQueue| queue.depth().await)
            .await
    }

    /// Round-trip to Redis.
    pub async fn ping(&self) -> Result<(), QueueUnavailable> {
        self.queue
            .with_queue(async |queue: &ExtractQueue| queue.ping().await)
            .await
    }
}

/// The queue connection, made on first use.
#[derive(Clone)]
struct LazyQueue {
    redis_url: SecretString,
    namespace: String,
    queue: Arc<OnceCell<ExtractQueue>>,
}

impl LazyQueue {
    async fn with_queue<T, F>(&self, operation: F) -> Result<T, QueueUnavailable>
    where
        F: AsyncFnOnce(&ExtractQueue) -> Result<T, QueueError>,
    {
        let attempt = async {
            let queue = self
                .queue
                .get_or_try_init(|| {
                    ExtractQueue::connect(self.redis_url.expose_secret(), &self.namespace)
                })
                .await?;
            operation(queue).await.map_err(QueueUnavailable::from)
        };
        tokio::time::timeout(QUEUE_OPERATION_TIMEOUT, attempt)
            .await
            .map_err(|_| QueueUnavailable::Timeout(QUEUE_OPERATION_TIMEOUT))?
    }
}

/// Pushes what submits hand over: waits for the first list, takes every list that gathered
/// meanwhile (up to [`PUSH_BATCH_MAX`] tasks), and pushes them in one call; so under load one
/// round trip carries many jobs' tasks, and an idle service pushes each job at once.
async fn run_pusher(queue: LazyQueue, mut backlog: mpsc::Receiver<Vec<(String, ExtractItemTask)>>) {
    let mut batch: Vec<(String, ExtractItemTask)> = Vec::new();
    while let Some(tasks) = backlog.recv().await {
        batch.extend(tasks);
        while batch.len() < PUSH_BATCH_MAX {
            match backlog.try_recv() {
                Ok(tasks) => batch.extend(tasks),
                Err(_) => break,
            }
        }
        let pushed = queue
            .with_queue(async |queue: &ExtractQueue| queue.push_with_ids(&batch, None).await)
            .await;
        if let Err(error) = pushed {
            tracing::warn!(tasks = batch.len(), %error, "enqueue failed; the reconciler will enqueue these items");
        }
        batch.clear();
    }
}
