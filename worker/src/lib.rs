//! tokworks-worker: apalis workers that take extraction tasks from Redis, run the native web
//! extractor with yt-dlp (a pool of long-lived helper processes) as its fallback
//! (`EXTRACTOR=auto`), or either alone (`ytdlp`, `web`), map TikTok's item
//! to our `Video`, and store everything in Postgres — plus the dispatcher (Postgres backlog →
//! Redis window, fair across keys), the maintenance loop (promoter,
//! cleanup, heartbeats, leases, reconciler), the webhook deliverer, the feed walker, the
//! retention loop, and the thumbnail-analysis stage (vision API).

pub mod active_claims;
pub mod apalis_runtime;
pub mod auto_extractor;
pub mod background;
pub mod config;
pub mod context;
pub mod egress;
pub mod extract_item;
pub mod extractor;
pub mod observability;
pub mod retry_after;
pub mod thumbnail_analysis;
pub mod tiktok;
pub mod tiktok_web;
pub mod transcripts;
pub mod web_extractor;
pub mod worker_metrics;
pub mod ytdlp;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokworks_shared::db;
use tokworks_shared::queue::{ExtractQueue, QueueError};

use crate::active_claims::ActiveClaims;
use crate::auto_extractor::AutoExtractor;
use crate::background::dispatcher::{DispatchSettings, Dispatcher};
use crate::background::feed_walker::{FeedWalkRunner, FeedWalkSettings};
use crate::background::maintenance::Maintenance;
use crate::config::{ExtractorKind, WorkerConfig};
use crate::context::{ExtractSettings, ITEM_LEASE, JobContext, WorkerIdentity};
use crate::egress::{ClientSetupError, Egress};
use crate::extractor::VideoExtractor;
use crate::thumbnail_analysis::prompts::{PromptError, load_prompt_set};
use crate::thumbnail_analysis::{AnalyzerSetupError, ThumbnailAnalyzer};
use crate::tiktok_web::TiktokWebClient;
use crate::transcripts::SubtitleFetcher;
use crate::web_extractor::WebExtractor;
use crate::ytdlp::{YtDlpExtractor, YtDlpNetwork, YtDlpSetupError, locate_python};

/// Why the worker could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum WorkerRunError {
    #[error(transparent)]
    Database(#[from] db::ConnectError),
    #[error("cannot reach Redis: {0}")]
    Queue(#[from] QueueError),
    #[error("request budget (TIKTOK_MAX_REQUESTS_PER_SECOND): {0}")]
    RequestBudget(#[source] redis::RedisError),
    #[error("yt-dlp: {0}")]
    YtDlp(#[from] YtDlpSetupError),
    #[error("TikTok client: {0}")]
    Egress(#[from] ClientSetupError),
    #[error("feed client: {0}")]
    FeedClient(#[from] crate::tiktok_web::TiktokWebSetupError),
    #[error("thumbnail-analysis prompts (PROMPTS_DIR): {0}")]
    Prompts(#[from] PromptError),
    #[error("thumbnail analyzer: {0}")]
    Analyzer(#[from] AnalyzerSetupError),
    #[error("apalis monitor: {0}")]
    Monitor(#[from] apalis::prelude::MonitorError),
}

/// How long to keep trying to reach Redis at startup (it may still be starting).
const REDIS_STARTUP_PATIENCE: Duration = Duration::from_secs(30);

/// Starts the worker process's parts and runs them until `shutdown_signal` resolves.
pub async fn run_worker_process(
    config: WorkerConfig,
    shutdown_signal: impl Future<Output = std::io::Result<()>> + Send,
) -> Result<(), WorkerRunError> {
    // First: a broken prompt template stops the worker before it connects to anything.
    let prompts = load_prompt_set(&config.prompts_dir)?;
    let identity = Arc::new(WorkerIdentity::new(&config.worker_name));
    tracing::info!(
        worker_name = identity.worker_name,
        "starting tokworks-worker"
    );

    let pool = db::connect(&config.database).await?;
    db::migrate(&pool).await?;
    let queue = connect_queue_patiently(
        config.redis.redis_url.expose_secret(),
        &config.redis.queue_namespace,
    )
    .await?;
    if let Some(per_second) = config.tiktok_max_requests_per_second {
        let budget = egress::budget::RequestBudget::connect(
            config.redis.redis_url.expose_secret(),
            &config.redis.queue_namespace,
            per_second,
        )
        .await
        .map_err(WorkerRunError::RequestBudget)?;
        egress::budget::install(budget);
        tracing::info!(per_second, "TikTok requests share a per-host budget");
    }
    // One egress (browser-grade client, proxy pool) for all TikTok traffic of the process.
    let egress = Egress::new(&config.egress_settings())?;
    let extractor = start_extractor(&config, &pool, &egress).await?;
    let subtitles = SubtitleFetcher::new(egress.clone());
    let thumbnail_analyzer = ThumbnailAnalyzer::start(
        prompts,
        config.analyzer_settings(),
        config.redis.redis_url.expose_secret(),
        &config.redis.queue_namespace,
    )
    .await?;

    let max_duration = config.max_video_duration_seconds;
    let context = JobContext {
        pool: pool.clone(),
        queue: queue.clone(),
        extractor,
        identity: identity.clone(),
        settings: Arc::new(ExtractSettings {
            max_video_duration_seconds: (max_duration > 0).then_some(max_duration),
            cache_ttl: (config.cache_ttl_seconds > 0)
                .then(|| Duration::from_secs(config.cache_ttl_seconds)),
            item_lease: ITEM_LEASE,
            retry_delays: ExtractSettings::default_retry_delays(),
        }),
        subtitles,
        thumbnail_analyzer: Some(thumbnail_analyzer),
        active_claims: ActiveClaims::default(),
    };

    let deliverer = background::webhook_deliverer::Deliverer {
        pool: pool.clone(),
        worker_name: identity.worker_name.clone(),
        settings: Arc::new(config.delivery_settings()),
    };
    let feed_walker = FeedWalkRunner {
        pool: pool.clone(),
        client: Arc::new(TiktokWebClient::new(
            config.tiktok_web_settings(),
            egress.clone(),
        )?),
        worker_name: identity.worker_name.clone(),
        settings: Arc::new(FeedWalkSettings {
            concurrency: usize::from(config.feed_walk_concurrency),
            ..FeedWalkSettings::default()
        }),
    };
    let watch_scheduler = background::watch_scheduler::WatchScheduler {
        pool: pool.clone(),
        settings: config.watches.scheduler_settings(),
    };
    let dispatcher = Dispatcher::new(
        pool.clone(),
        queue.clone(),
        DispatchSettings::new(config.dispatch_window, config.concurrency()),
    );
    let retention = background::retention::Retention {
        pool: pool.clone(),
        settings: Arc::new(config.retention_settings()),
    };
    let maintenance = Maintenance {
        pool,
        queue,
        identity,
        active_claims: context.active_claims.clone(),
        item_lease: ITEM_LEASE,
        vision_configured: config.analyzer_settings().openai_api_key.is_some(),
        concurrency: config.concurrency(),
    };
    // Promote before the first fetch: apalis' fetch dies on ≥ 8000 due ids
    // (docs/apalis-redis.md "Bug 1: backlogs of 8,000 due tasks").
    maintenance.promote().await;
    maintenance.heartbeat().await;
    let (stop_maintenance, maintenance_shutdown) = tokio::sync::watch::channel(false);
    // The walker stops claiming walks as soon as the stop signal comes (a walk claimed while
    // the extract workers drain could be cut off, costing one of its attempts); maintenance
    // (lease renewal) and the deliverer go on until the extract workers have drained.
    let (stop_walks, walks_shutdown) = tokio::sync::watch::channel(false);
    let deliverer_task = tokio::spawn(deliverer.run(maintenance_shutdown.clone()));
    // The dispatcher stops at the signal too, so another worker's dispatcher takes over.
    let dispatcher_task = tokio::spawn(dispatcher.run(walks_shutdown.clone()));
    let watch_scheduler_task = tokio::spawn(watch_scheduler.run(walks_shutdown.clone()));
    let feed_walker_task = tokio::spawn(feed_walker.run(walks_shutdown));
    let retention_task = tokio::spawn(retention.run(maintenance_shutdown.clone()));
    let maintenance_task = tokio::spawn(maintenance.run(maintenance_shutdown));

    // With EXTRACTOR=auto an item may run both paths, each under its own deadline.
    let paths_per_item = if config.extractor == ExtractorKind::Auto {
        2
    } else {
        1
    };
    let shutdown_timeout = config.extract_deadline() * paths_per_item + Duration::from_secs(15);
    let shutdown_signal = async move {
        let signal = shutdown_signal.await;
        let _ = stop_walks.send(true);
        signal
    };
    let result = apalis_runtime::run_extract_workers(
        context,
        config.concurrency(),
        shutdown_timeout,
        shutdown_signal,
    )
    .await;
    let _ = stop_maintenance.send(true);
    if let Err(error) = maintenance_task.await {
        tracing::warn!(%error, "maintenance task ended abnormally");
    }
    if let Err(error) = dispatcher_task.await {
        tracing::warn!(%error, "dispatcher ended abnormally");
    }
    if let Err(error) = feed_walker_task.await {
        tracing::warn!(%error, "feed walker ended abnormally");
    }
    if let Err(error) = watch_scheduler_task.await {
        tracing::warn!(%error, "watch scheduler ended abnormally");
    }
    if let Err(error) = deliverer_task.await {
        tracing::warn!(%error, "webhook deliverer ended abnormally");
    }
    if let Err(error) = retention_task.await {
        tracing::warn!(%error, "retention loop ended abnormally");
    }
    tracing::info!("tokworks-worker stopped");
    result.map_err(WorkerRunError::from)
}

async fn connect_queue_patiently(
    redis_url: &str,
    namespace: &str,
) -> Result<ExtractQueue, QueueError> {
    let started = tokio::time::Instant::now();
    loop {
        match ExtractQueue::connect(redis_url, namespace).await {
            Ok(queue) => return Ok(queue),
            Err(error) if started.elapsed() < REDIS_STARTUP_PATIENCE => {
                tracing::warn!(%error, "Redis not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

async fn start_extractor(
    config: &WorkerConfig,
    pool: &sqlx::PgPool,
    egress: &Egress,
) -> Result<Arc<dyn VideoExtractor>, WorkerRunError> {
    match config.extractor {
        ExtractorKind::Web => {
            tracing::info!("single videos are fetched by the web extractor (EXTRACTOR=web)");
            Ok(Arc::new(start_web_extractor(config, egress)))
        }
        ExtractorKind::Ytdlp => Ok(Arc::new(start_ytdlp_extractor(config, egress).await?)),
        ExtractorKind::Auto => {
            let native = Arc::new(start_web_extractor(config, egress));
            let fallback = Arc::new(start_ytdlp_extractor(config, egress).await?);
            tracing::info!(
                "single videos are fetched by the web extractor, yt-dlp as its fallback (EXTRACTOR=auto)"
            );
            Ok(Arc::new(AutoExtractor::new(
                native,
                fallback,
                Some(pool.clone()),
            )))
        }
    }
}

fn start_web_extractor(config: &WorkerConfig, egress: &Egress) -> WebExtractor {
    WebExtractor::new(egress.clone(), config.extract_deadline())
}

async fn start_ytdlp_extractor(
    config: &WorkerConfig,
    egress: &Egress,
) -> Result<YtDlpExtractor, WorkerRunError> {
    let python = locate_python(&config.ytdlp_path, config.ytdlp_python.as_deref())?;
    let deadline = config.extract_deadline();
    let network = YtDlpNetwork {
        egress: egress.clone(),
        socket_timeout: deadline.min(Duration::from_secs(20)),
    };
    Ok(YtDlpExtractor::start(python, config.ytdlp_helpers(), deadline, network).await?)
}

/// Installs the SIGTERM and SIGINT (Ctrl-C) handlers now, and returns a future that resolves
/// when either signal arrives. Call it first thing in `main`: a signal received while the worker
/// is still starting is then kept, and the worker stops gracefully as soon as it runs, instead of
/// being killed by the default action.
pub fn termination_signal()
-> std::io::Result<impl Future<Output = std::io::Result<()>> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down gracefully"),
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down gracefully"),
        }
        Ok(())
    })
}
