//! `AppState`: what every handler gets — the Postgres pool, the queue, the job-finished waiters
//! and the settings.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use tokworks_shared::queue::{ExtractQueue, QueueDepth, QueueError};
use tokworks_shared::webhooks::address_guard::AddressPolicy;

use crate::auth::VerifiedKeys;
use crate::compat::service::{CompatStatsResponse, HealthProbe};
use crate::jobs::dispatch_wakeup::DispatchWakeup;
use crate::jobs::events::feed::JobEventFeeds;
use crate::jobs::events::stream_slots::StreamSlots;
use crate::jobs::wait::JobWaiters;
use crate::rate_limits::{KeyLimiter, KeyLimits};
use crate::server::{ServerSettings, ShutdownSignal};
use crate::service::metrics::ApiMetrics;
use crate::service::metrics_scrape::ScrapeProbe;
use crate::service::snapshots::Snapshot;

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
    /// How long the figures of the unauthenticated endpoints are served from memory
    /// (SERVICE_STATS_REFRESH_SECONDS; zero: read on every call).
    pub service_stats_refresh: Duration,
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
    /// The request timeout and the event stream caps (REQUEST_TIMEOUT_SECONDS,
    /// EVENTS_MAX_STREAMS, EVENTS_MAX_STREAMS_PER_KEY).
    pub server: ServerSettings,
    /// Watch limits (WATCH_MAX_PER_KEY, WATCH_MIN_INTERVAL_SECONDS).
    pub watches: crate::watches::settings::WatchSettings,
}

/// Settings of the job event streams and of `GET /metrics`.
#[derive(Debug, Clone)]
pub struct EventsAndMetricsSettings {
    /// Longest life of one event stream.
    pub events_max: Duration,
    /// How often an open event stream looks for items that ended.
    pub events_poll_interval: Duration,
    /// SHA-256 of METRICS_TOKEN; `None`: `/metrics` needs no token (see below).
    pub metrics_token_sha256: Option<[u8; 32]>,
    /// Without METRICS_TOKEN, whether `/metrics` is served: only when the api listens on a
    /// loopback address (else 403 `METRICS_TOKEN_REQUIRED`).
    pub metrics_open_without_token: bool,
}

impl Default for EventsAndMetricsSettings {
    fn default() -> Self {
        EventsAndMetricsSettings {
            events_max: Duration::from_secs(3600),
            events_poll_interval: Duration::from_millis(500),
            metrics_token_sha256: None,
            metrics_open_without_token: true,
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
    /// Service-wide figures of the unauthenticated endpoints (SERVICE_STATS_REFRESH_SECONDS).
    pub public_snapshots: Arc<PublicSnapshots>,
    /// The job pollers shared by event streams.
    pub feeds: JobEventFeeds,
    /// The open event streams and their caps.
    pub stream_slots: StreamSlots,
    /// Set on SIGTERM: event streams send their final event and end.
    pub shutdown: ShutdownSignal,
    /// Wakes the workers' dispatcher after a submit committed.
    pub dispatch_wakeup: DispatchWakeup,
}

/// The figures `/health`, `/supported-platforms`, `/stats` and `/metrics` read, each kept for
/// SERVICE_STATS_REFRESH_SECONDS.
#[derive(Debug)]
pub struct PublicSnapshots {
    pub health: Snapshot<HealthProbe>,
    /// The compat `/stats` body, or whether the database was unavailable (else: a fault).
    pub stats: Snapshot<Result<CompatStatsResponse, bool>>,
    pub metrics: Snapshot<ScrapeProbe>,
}

impl PublicSnapshots {
    fn new(refresh_every: Duration) -> Self {
        PublicSnapshots {
            health: Snapshot::new(refresh_every),
            stats: Snapshot::new(refresh_every),
            metrics: Snapshot::new(refresh_every),
        }
    }
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
        let stream_slots = StreamSlots::new(
            settings.server.max_streams,
            settings.server.max_streams_per_key,
        );
        Ok(AppState {
            limiter,
            feeds: JobEventFeeds::default(),
            stream_slots,
            shutdown: ShutdownSignal::default(),
            dispatch_wakeup: DispatchWakeup::start(db.clone()),
            db,
            queue,
            waiters,
            verified_keys: VerifiedKeys::new(settings.api_key_cache_ttl),
            public_snapshots: Arc::new(PublicSnapshots::new(settings.service_stats_refresh)),
            settings: Arc::new(settings),
            metrics: ApiMetrics::start(),
        })
    }
}

/// The extraction queue, connected on first use (and retried on the next use after a failure),
/// so the api starts and accepts jobs while Redis is down. The api pushes nothing: submitted
/// items wait in Postgres until the workers' dispatcher enqueues them (docs/fair-scheduling.md);
/// the api reads the queue's depth and pings it.
#[derive(Clone)]
pub struct QueueHandle {
    queue: LazyQueue,
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

impl QueueHandle {
    /// A handle on `{namespace}_extract` at `redis_url` (nothing is connected yet).
    pub fn new(redis_url: SecretString, namespace: String) -> Self {
        let queue = LazyQueue {
            redis_url,
            namespace,
            queue: Arc::new(OnceCell::new()),
        };
        QueueHandle { queue }
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
