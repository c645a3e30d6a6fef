//! tokworks-api: the HTTP front end. Authenticates, validates, writes Postgres, enqueues work;
//! never talks to TikTok. `router` serves tests in-process; `serve` runs the real server.

pub mod access_log;
pub mod auth;
pub mod compat;
pub mod config;
mod cursor;
pub mod jobs;
pub mod json_body;
pub mod keys_cli;
pub mod openapi;
pub mod problem;
pub mod rate_limits;
pub mod router;
pub mod server;
pub mod service;
pub mod state;
pub mod ui;
pub mod unavailable_docs;
pub mod videos;
pub mod watches;
pub mod webhooks;

use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokworks_shared::db;

pub use router::router;
pub use state::{ApiSettings, AppState, EventsAndMetricsSettings, QueueHandle};

use crate::config::ServeArgs;

/// Why `serve` (or `migrate`) stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Database(#[from] db::ConnectError),
    #[error(transparent)]
    BootstrapKey(#[from] auth::BootstrapKeyError),
    #[error("cannot start the job-finished listener: {0}")]
    Listener(#[source] sqlx::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot install the SIGTERM/SIGINT handlers: {0}")]
    Signals(#[source] std::io::Error),
}

impl From<&ServeArgs> for ApiSettings {
    fn from(args: &ServeArgs) -> Self {
        ApiSettings {
            item_max_attempts: args.http.item_max_attempts,
            api_key_cache_ttl: Duration::from_secs(args.http.api_key_cache_seconds),
            service_stats_refresh: Duration::from_secs(args.http.service_stats_refresh_seconds),
            batch_max_urls: usize::try_from(args.http.batch_max_urls).unwrap_or(usize::MAX),
            max_request_body_bytes: args.http.max_request_body_bytes,
            wait_max: Duration::from_secs(args.http.wait_max_seconds),
            webhook_policy: args.webhook_guard.policy(),
            webhook_secret_rotation_grace: Duration::from_secs(
                args.webhook_secret_rotation_grace_seconds,
            ),
            compat_batch_max_urls: usize::try_from(args.http.compat_batch_max_urls)
                .unwrap_or(usize::MAX),
            max_video_duration_seconds: args.http.max_video_duration_seconds,
            feed_cache_ttl: (args.http.feed_cache_ttl_seconds > 0)
                .then(|| Duration::from_secs(args.http.feed_cache_ttl_seconds)),
            feed_max_count: args.http.feed_max_count,
            key_limits: rate_limits::KeyLimits {
                requests_per_second: args.key_limits.key_requests_per_second,
                urls_per_minute: args.key_limits.key_urls_per_minute,
                max_items_in_flight: args.key_limits.key_max_items_in_flight,
            },
            server: server::ServerSettings::from(&args.server),
            watches: watches::settings::WatchSettings::from(&args.watches),
            events_and_metrics: EventsAndMetricsSettings {
                events_max: Duration::from_secs(args.events_and_metrics.events_max_seconds),
                events_poll_interval: Duration::from_millis(
                    args.events_and_metrics.events_poll_milliseconds,
                ),
                metrics_token_sha256: args
                    .events_and_metrics
                    .metrics_token
                    .as_ref()
                    .map(|token| token.expose_secret().trim())
                    .filter(|token| !token.is_empty())
                    .map(service::metrics_scrape::metrics_token_sha256),
                metrics_open_without_token: args.http.bind_addr.ip().is_loopback(),
            },
        }
    }
}

/// Connects, applies migrations, stores the bootstrap key, and serves until SIGINT/SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<(), ServeError> {
    // First: a SIGTERM during start-up is kept and ends in a graceful stop once serving.
    let shutdown = shutdown_signal().map_err(ServeError::Signals)?;
    // A too-short API_KEY stops the start before anything is connected.
    auth::checked_bootstrap_key(args.http.api_key.as_ref())?;
    let pool = db::connect(&args.database).await?;
    db::migrate(&pool).await?;
    auth::sync_bootstrap_key(&pool, args.http.api_key.as_ref()).await?;
    let queue = QueueHandle::new(
        args.redis.redis_url.expose_secret().into(),
        args.redis.queue_namespace.clone(),
    );
    if let Err(error) = queue.ping().await {
        tracing::warn!(%error, "Redis is not reachable yet: jobs are accepted and enqueued later");
    }
    let state = AppState::new(pool, queue, ApiSettings::from(&args))
        .await
        .map_err(ServeError::Listener)?;
    let address = args.http.bind_addr;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })?;
    tracing::info!(%address, "tokworks-api listening");
    let timeouts = server::ServerTimeouts::from(&args.server);
    let stopping = state.shutdown.clone();
    match server::run_server(listener, router(state), timeouts, shutdown, stopping).await {
        server::ShutdownOutcome::Drained => tracing::info!("stopped: every request finished"),
        server::ShutdownOutcome::TimedOut { open_connections } => tracing::warn!(
            open_connections,
            timeout = ?timeouts.shutdown,
            "stopped: SHUTDOWN_TIMEOUT_SECONDS passed with connections still open"
        ),
    }
    Ok(())
}

/// Installs the SIGINT (Ctrl-C) and SIGTERM handlers now; the returned future resolves when
/// either arrives.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutting down");
    })
}
