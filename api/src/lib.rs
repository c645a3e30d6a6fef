//! tokworks-api: the HTTP front end. Authenticates, validates, writes Postgres, enqueues work;
//! never talks to TikTok. `router` serves tests in-process; `serve` runs the real server.

pub mod auth;
pub mod batch_request;
pub mod compat;
pub mod config;
pub mod item_view;
pub mod job_request;
pub mod job_view;
pub mod json_body;
pub mod keys_cli;
pub mod problem;
pub mod routes;
pub mod state;
pub mod thumbnail_analysis_view;
pub mod wait;

use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokworks_shared::db;

pub use routes::router;
pub use state::{ApiSettings, AppState, QueueHandle};

use crate::config::ServeArgs;

/// Why `serve` (or `migrate`) stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Database(#[from] db::ConnectError),
    #[error("cannot store the API_KEY bootstrap key: {0}")]
    BootstrapKey(#[source] sqlx::Error),
    #[error("cannot start the job-finished listener: {0}")]
    Listener(#[source] sqlx::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Server(#[source] std::io::Error),
}

impl From<&ServeArgs> for ApiSettings {
    fn from(args: &ServeArgs) -> Self {
        ApiSettings {
            item_max_attempts: args.http.item_max_attempts,
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
        }
    }
}

/// Connects, applies migrations, stores the bootstrap key, and serves until SIGINT/SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<(), ServeError> {
    let pool = db::connect(&args.database).await?;
    db::migrate(&pool).await?;
    auth::sync_bootstrap_key(&pool, args.http.api_key.as_ref())
        .await
        .map_err(ServeError::BootstrapKey)?;
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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Server)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
