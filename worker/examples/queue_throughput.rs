//! The raw apalis-redis push + consume rate with the worker's own consumer settings (batch size
//! = concurrency, the tick poll strategy, no task locks) and a handler that does nothing: the
//! ceiling that `scripts/bench-submit.sh` compares end-to-end cache-hit video jobs with.
//!
//! Usage: `queue_throughput REDIS_URL [TASKS] [WORKERS] [CONCURRENCY]` (defaults 20000, 2, 4:
//! two worker processes at the default `WORKER_CONCURRENCY`). Uses a private queue namespace and
//! deletes its keys at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, BoxDynError, Data, Monitor, WorkerBuilder};
use tokio::sync::Notify;
use tokworks_shared::ids::{ItemId, JobId};
use tokworks_shared::queue::{ConsumerSettings, ExtractQueue};
use tokworks_shared::queue_tasks::ExtractItemTask;
use tokworks_worker::apalis_runtime::tick_strategy::TickStrategy;
use tokworks_worker::apalis_runtime::{APALIS_HEARTBEAT, MISSED_HEARTBEATS, POLL_INTERVAL};

/// Counts finished tasks and wakes `main` when all are done.
#[derive(Clone)]
struct Progress {
    done: Arc<AtomicUsize>,
    target: usize,
    all_done: Arc<Notify>,
}

async fn do_nothing(_task: serde_json::Value, progress: Data<Progress>) -> Result<(), BoxDynError> {
    if progress.done.fetch_add(1, Ordering::AcqRel) + 1 == progress.target {
        progress.all_done.notify_one();
    }
    Ok(())
}

fn argument(index: usize, default: usize) -> anyhow::Result<usize> {
    match std::env::args().nth(index) {
        Some(text) => Ok(text.parse()?),
        None => Ok(default),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis_url = std::env::args().nth(1).ok_or_else(|| {
        anyhow::anyhow!("usage: queue_throughput REDIS_URL [TASKS] [WORKERS] [CONCURRENCY]")
    })?;
    let tasks = argument(2, 20_000)?;
    let workers = argument(3, 2)?;
    let concurrency = argument(4, 4)?;
    let namespace = format!("bench_raw_{}", std::process::id());
    let queue = ExtractQueue::connect(&redis_url, &namespace).await?;
    let progress = Progress {
        done: Arc::new(AtomicUsize::new(0)),
        target: tasks,
        all_done: Arc::new(Notify::new()),
    };
    let settings = ConsumerSettings {
        batch_size: concurrency,
        heartbeat_interval: APALIS_HEARTBEAT,
        missed_heartbeats: MISSED_HEARTBEATS,
    };
    let stop = Arc::new(Notify::new());
    let mut monitor = Monitor::new();
    for worker in 0..workers {
        let queue = queue.clone();
        let progress = progress.clone();
        monitor = monitor.register(move |restarts| {
            WorkerBuilder::new(format!("raw-{worker}-{restarts}"))
                .backend(
                    queue
                        .consumer_storage(settings)
                        .poll_with_strategy(TickStrategy::new(POLL_INTERVAL)),
                )
                .catch_panic()
                .concurrency(concurrency)
                .data(progress.clone())
                .build(do_nothing)
        });
    }
    let stopped = stop.clone();
    let running = tokio::spawn(monitor.run_with_signal(async move {
        stopped.notified().await;
        Ok(())
    }));

    let batch: Vec<(String, ExtractItemTask)> = (0..tasks)
        .map(|_| {
            (
                ExtractQueue::new_task_id(),
                ExtractItemTask::new(JobId::new_v7(), ItemId::new_v7()),
            )
        })
        .collect();
    let started = Instant::now();
    queue.push_with_ids(&batch, None).await?;
    let pushed = started.elapsed();
    progress.all_done.notified().await;
    let elapsed = started.elapsed();
    println!(
        "raw apalis push+consume: {tasks} tasks, {workers} workers x {concurrency}: pushed in {:.2} s, all consumed in {:.2} s = {:.0} tasks/s",
        pushed.as_secs_f64(),
        elapsed.as_secs_f64(),
        tasks as f64 / elapsed.as_secs_f64()
    );
    stop.notify_one();
    let _ = running.await;
    queue.delete_all_keys().await?;
    Ok(())
}
