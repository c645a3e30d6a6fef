//! The `tokworks-worker` binary: parse the configuration, set up logging, run until SIGTERM.

use clap::Parser;
use tokworks_worker::config::WorkerConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // First: a SIGTERM during start-up must end in a graceful stop, not the default kill.
    let termination = tokworks_worker::termination_signal()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = WorkerConfig::parse();
    tokworks_worker::run_worker_process(config, termination).await?;
    Ok(())
}
