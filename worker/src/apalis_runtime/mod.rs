//! apalis wiring, with the workaround set of docs/queue.md: `Value` payloads, a
//! tick poll strategy, `catch_panic`, `batch_size == concurrency`, 2 s × 5 heartbeats,
//! `lock_tasks(false)`, no apalis retries, a `Monitor` that restarts a worker after any backend
//! error (a Redis restart), and a unique apalis worker name per (re)start.

pub mod tick_strategy;

use std::future::Future;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, Monitor, MonitorError, WorkerBuilder};
use tokworks_shared::queue::ConsumerSettings;

use crate::apalis_runtime::tick_strategy::TickStrategy;
use crate::context::JobContext;
use crate::extract_item::extract_item_task;

/// How often an idle worker polls Redis (the floor of pickup latency,
/// docs/apalis-redis.md "Other pitfalls").
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// apalis heartbeat; with [`MISSED_HEARTBEATS`] a killed worker's fetched tasks go back to the
/// queue after about 10–14 s instead of 300 s
/// (docs/apalis-redis.md "Heartbeats and orphan recovery").
pub const APALIS_HEARTBEAT: Duration = Duration::from_secs(2);
pub const MISSED_HEARTBEATS: usize = 5;
/// Re-exported so the lease renewal period is documented next to the apalis heartbeat.
pub const MAINTENANCE_HEARTBEAT: Duration = crate::background::maintenance::HEARTBEAT_EVERY;

/// Runs the extraction workers until `shutdown_signal` resolves, then stops fetching, lets
/// running tasks finish (up to `shutdown_timeout`) and returns.
pub async fn run_extract_workers(
    context: JobContext,
    concurrency: usize,
    shutdown_timeout: Duration,
    shutdown_signal: impl Future<Output = std::io::Result<()>> + Send,
) -> Result<(), MonitorError> {
    let settings = ConsumerSettings {
        batch_size: concurrency,
        heartbeat_interval: APALIS_HEARTBEAT,
        missed_heartbeats: MISSED_HEARTBEATS,
    };
    let base_name = format!("{}-extract", context.identity.worker_name);
    Monitor::new()
        .register(move |restarts| {
            let storage = context.queue.consumer_storage(settings);
            // A new name per restart: apalis refuses a name seen within one heartbeat
            // (docs/apalis-redis.md "Bug 4: same-name restart").
            WorkerBuilder::new(format!("{base_name}-{restarts}"))
                .backend(storage.poll_with_strategy(TickStrategy::new(POLL_INTERVAL)))
                .catch_panic()
                .concurrency(concurrency)
                .data(context.clone())
                .build(extract_item_task)
        })
        .should_restart(|worker, error| {
            tracing::warn!(worker = worker.name(), %error, "apalis worker stopped; restarting it");
            true
        })
        .shutdown_timeout(shutdown_timeout)
        .run_with_signal(shutdown_signal)
        .await
}
