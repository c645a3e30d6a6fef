//! The HTTP server around the router: an HTTP/1.1 accept loop with a header-read timeout
//! (slow-header clients are cut off), the request timeout of ordinary requests (event streams
//! and waiting requests are bounded by their own settings), and a bounded graceful shutdown in
//! which every job event stream ends with a final `shutdown` event.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clap::Args;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::problem::ApiError;
use crate::state::AppState;

/// The route template of the job event stream (no request timeout: EVENTS_MAX_SECONDS).
pub const EVENT_STREAM_ROUTE: &str = "/v1/jobs/{job_id}/events";
/// Routes of the old services that wait for their job like `Prefer: wait`.
const WAITING_COMPAT_ROUTES: [&str; 4] = ["/extract", "/extract/batch", "/trending", "/category"];
/// `Retry-After` of a request that ran out of time.
const REQUEST_TIMEOUT_RETRY_AFTER_SECONDS: u64 = 1;

/// Timeouts of the server and the caps on event streams.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// How long a client may take to send a request's headers, in seconds; slower connections
    /// are closed.
    #[arg(long = "header-read-timeout-seconds", env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_seconds: u64,

    /// Longest time of an ordinary request, in seconds (longer: 503 REQUEST_TIMEOUT). Event
    /// streams are bounded by EVENTS_MAX_SECONDS instead, and waiting requests (`Prefer: wait`,
    /// the old services' synchronous endpoints) get WAIT_MAX_SECONDS on top.
    #[arg(long = "request-timeout-seconds", env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_seconds: u64,

    /// After SIGTERM/SIGINT, how long open requests get to finish, in seconds (event streams
    /// end at once with a `shutdown` event); the api then exits anyway.
    #[arg(long = "shutdown-timeout-seconds", env = "SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub shutdown_timeout_seconds: u64,

    /// Most job event streams open at once in this api process (more: 429 TOO_MANY_STREAMS).
    #[arg(long = "events-max-streams", env = "EVENTS_MAX_STREAMS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub events_max_streams: u32,

    /// Most job event streams of one API key open at once in this api process (more: 429
    /// TOO_MANY_STREAMS).
    #[arg(long = "events-max-streams-per-key", env = "EVENTS_MAX_STREAMS_PER_KEY", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub events_max_streams_per_key: u32,
}

/// What handlers need of the server settings.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// REQUEST_TIMEOUT_SECONDS.
    pub request_timeout: Duration,
    /// EVENTS_MAX_STREAMS.
    pub max_streams: usize,
    /// EVENTS_MAX_STREAMS_PER_KEY.
    pub max_streams_per_key: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            request_timeout: Duration::from_secs(30),
            max_streams: 1000,
            max_streams_per_key: 100,
        }
    }
}

impl From<&ServerArgs> for ServerSettings {
    fn from(args: &ServerArgs) -> Self {
        ServerSettings {
            request_timeout: Duration::from_secs(args.request_timeout_seconds),
            max_streams: usize::try_from(args.events_max_streams).unwrap_or(usize::MAX),
            max_streams_per_key: usize::try_from(args.events_max_streams_per_key)
                .unwrap_or(usize::MAX),
        }
    }
}

/// The shutdown of this process, observable by event streams (cheap to clone).
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for ShutdownSignal {
    fn default() -> Self {
        ShutdownSignal {
            sender: Arc::new(watch::channel(false).0),
        }
    }
}

impl ShutdownSignal {
    /// Starts the shutdown: every event stream sends its final event and ends.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once the shutdown has started.
    pub async fn triggered(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`: the channel cannot close while this waits.
        let _ = receiver.wait_for(|triggered| *triggered).await;
    }
}

/// How the server's graceful shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// Every connection finished.
    Drained,
    /// The timeout passed with this many connections still open (they are dropped).
    TimedOut { open_connections: usize },
}

/// Server timeouts.
#[derive(Debug, Clone, Copy)]
pub struct ServerTimeouts {
    pub header_read: Duration,
    pub shutdown: Duration,
}

impl From<&ServerArgs> for ServerTimeouts {
    fn from(args: &ServerArgs) -> Self {
        ServerTimeouts {
            header_read: Duration::from_secs(args.header_read_timeout_seconds),
            shutdown: Duration::from_secs(args.shutdown_timeout_seconds),
        }
    }
}

/// Serves `app` on `listener` until `signal` resolves, then triggers `shutdown` (event streams
/// end), stops accepting, lets open requests finish, and returns when every connection has
/// closed or `timeouts.shutdown` has passed.
pub async fn run_server(
    listener: TcpListener,
    app: Router,
    timeouts: ServerTimeouts,
    signal: impl Future<Output = ()>,
    shutdown: ShutdownSignal,
) -> ShutdownOutcome {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    // Every connection task holds a receiver: the sender sees when all have ended.
    let (connections, connection_token) = watch::channel(());
    let mut signal = pin!(signal);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _remote)) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let shutdown = shutdown.clone();
        let token = connection_token.clone();
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            let mut closing = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        break;
                    }
                    () = shutdown.triggered(), if !closing => {
                        // Finishes the response in flight (a stream's final event), then closes.
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(token);
        });
    }
    drop(listener);
    shutdown.trigger();
    drop(connection_token);
    tracing::info!(
        open_connections = connections.receiver_count(),
        "stopped accepting; waiting for open requests"
    );
    match tokio::time::timeout(timeouts.shutdown, connections.closed()).await {
        Ok(()) => ShutdownOutcome::Drained,
        Err(_) => ShutdownOutcome::TimedOut {
            open_connections: connections.receiver_count(),
        },
    }
}

/// Like axum's serve: per-connection errors are ignored; others (e.g. out of file
/// descriptors) pause accepting for a second.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Middleware: answers 503 `REQUEST_TIMEOUT` (with `Retry-After`) when a request takes longer
/// than REQUEST_TIMEOUT_SECONDS (plus WAIT_MAX_SECONDS for a waiting request); event streams
/// are not limited here.
pub async fn limit_request_time(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    if route.as_deref() == Some(EVENT_STREAM_ROUTE) {
        return next.run(request).await;
    }
    let mut limit = state.settings.server.request_timeout;
    let waits = route
        .as_deref()
        .is_some_and(|route| WAITING_COMPAT_ROUTES.contains(&route))
        || asks_to_wait(&request);
    if waits {
        limit += state.settings.wait_max;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = ApiError::RequestTimeout {
                seconds: limit.as_secs(),
            }
            .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(REQUEST_TIMEOUT_RETRY_AFTER_SECONDS),
            );
            response
        }
    }
}

/// The request has a `Prefer: wait=…` preference.
fn asks_to_wait(request: &Request) -> bool {
    request
        .headers()
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| {
            preference
                .split(['=', ';'])
                .next()
                .is_some_and(|name| name.trim().eq_ignore_ascii_case("wait"))
        })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn defaults() {
        let args = Cli::parse_from(["api"]).server;
        assert_eq!(args.header_read_timeout_seconds, 10);
        assert_eq!(args.request_timeout_seconds, 30);
        assert_eq!(args.shutdown_timeout_seconds, 10);
        assert_eq!(args.events_max_streams, 1000);
        assert_eq!(args.events_max_streams_per_key, 100);
    }

    #[test]
    fn prefer_wait_is_recognised() {
        let with = |value: &str| {
            Request::builder()
                .header("prefer", value)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert!(asks_to_wait(&with("wait=5")));
        assert!(asks_to_wait(&with("respond-async, Wait = 10")));
        assert!(!asks_to_wait(&with("return=minimal")));
    }
}
