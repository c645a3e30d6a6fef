//! The `tokworks-worker` binary: parse the configuration, set up logging (and the metrics
//! listener of WORKER_METRICS_ADDR), run until SIGTERM.

use anyhow::Context;
use clap::Parser;
use tokworks_worker::config::WorkerConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // First: a SIGTERM during start-up must end in a graceful stop, not the default kill.
    let termination = tokworks_worker::termination_signal()?;
    let config = WorkerConfig::parse();
    let observability = &config.observability;
    tokworks_shared::logging::init_logging(&observability.log_filter, observability.log_format);
    if let Some(address) = observability.worker_metrics_addr {
        let handle = tokworks_worker::worker_metrics::install_recorder()?;
        tokworks_worker::worker_metrics::spawn_listener(address, handle)
            .await
            .with_context(|| format!("cannot serve WORKER_METRICS_ADDR {address}"))?;
    }
    tokworks_worker::run_worker_process(config, termination).await?;
    Ok(())
}
