//! The worker's logging and metrics settings (`RUST_LOG`, `LOG_FORMAT`, `WORKER_METRICS_ADDR`),
//! flattened into `WorkerConfig`.

use std::net::SocketAddr;

use clap::Args;
use tokworks_shared::logging::LogFormat;

/// Logs and the metrics listener.
#[derive(Debug, Clone, Args)]
pub struct ObservabilityArgs {
    /// Log filter (tracing EnvFilter syntax), e.g. `info,tokworks_worker=debug`.
    #[arg(long = "log-filter", env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,

    /// Log line format: `text` (colours only on a terminal) or `json` (one object per line).
    #[arg(
        long = "log-format",
        env = "LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// Address of the worker's own HTTP listener serving `GET /metrics` (Prometheus text) and
    /// `GET /healthz`, e.g. 127.0.0.1:9465 (unset: no listener). It needs no token: bind it to
    /// loopback or a private network.
    #[arg(long = "worker-metrics-addr", env = "WORKER_METRICS_ADDR")]
    pub worker_metrics_addr: Option<SocketAddr>,
}
