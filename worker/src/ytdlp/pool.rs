//! A pool of long-lived yt-dlp helper processes (docs/ytdlp.md "Cost per URL": 11 ms per URL warm
//! instead of 250 ms cold). Each request takes an idle process, runs under the overall deadline, and gives
//! the process back. A process that overruns the deadline is killed (its half-done request must
//! not leak into the next one) and a crashed one is dropped; replacements are spawned on demand.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};

use crate::ytdlp::process::{HelperProcess, HelperProcessError, HelperRequest, HelperResponse};

/// How to run the helpers.
#[derive(Debug, Clone, PartialEq)]
pub struct YtDlpPoolConfig {
    /// The Python interpreter that can `import yt_dlp`.
    pub interpreter: PathBuf,
    /// Extra `PYTHONPATH` entry (a zipapp `yt-dlp` binary), if any.
    pub python_path: Option<PathBuf>,
    /// The helper script on disk.
    pub helper_script: PathBuf,
    /// Number of processes (the worker's concurrency).
    pub size: usize,
    /// Overall deadline of one extraction, enforced here.
    pub deadline: Duration,
    /// How long a new helper may take to import yt-dlp and say it is ready.
    pub startup_timeout: Duration,
}

/// Failures of one pooled request.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("yt-dlp did not finish within {0:?}; the helper was killed")]
    DeadlineExceeded(Duration),
    #[error(transparent)]
    Helper(#[from] HelperProcessError),
    #[error("the yt-dlp pool is closed")]
    Closed,
}

/// The pool; share it behind an `Arc`.
#[derive(Debug)]
pub struct YtDlpPool {
    config: YtDlpPoolConfig,
    idle: Mutex<Vec<HelperProcess>>,
    permits: Semaphore,
    processes_started: AtomicU64,
    processes_killed: AtomicU64,
}

impl YtDlpPool {
    /// Starts `config.size` helpers concurrently; fails if any cannot start (bad interpreter,
    /// yt-dlp not installed), so a misconfigured worker stops at startup.
    pub async fn start(config: YtDlpPoolConfig) -> Result<Arc<YtDlpPool>, HelperProcessError> {
        let size = config.size.max(1);
        let pool = Arc::new(YtDlpPool {
            permits: Semaphore::new(size),
            idle: Mutex::new(Vec::with_capacity(size)),
            processes_started: AtomicU64::new(0),
            processes_killed: AtomicU64::new(0),
            config: YtDlpPoolConfig { size, ..config },
        });
        let spawned = futures::future::join_all((0..size).map(|_| pool.spawn_process())).await;
        let mut idle = pool.idle.lock().await;
        for process in spawned {
            idle.push(process?);
        }
        if let Some(first) = idle.first() {
            tracing::info!(
                processes = size,
                yt_dlp_version = first.yt_dlp_version(),
                impersonation = first.impersonation(),
                "yt-dlp helper pool ready"
            );
            if first.impersonation().is_none() {
                tracing::warn!(
                    "yt-dlp cannot impersonate a browser (curl_cffi is missing: run \
                     scripts/install-ytdlp.sh); TikTok walls plain Python TLS more often"
                );
            }
        }
        drop(idle);
        Ok(pool)
    }

    async fn spawn_process(&self) -> Result<HelperProcess, HelperProcessError> {
        let process = HelperProcess::spawn(
            &self.config.interpreter,
            self.config.python_path.as_deref(),
            &self.config.helper_script,
            self.config.startup_timeout,
        )
        .await?;
        self.processes_started.fetch_add(1, Ordering::Relaxed);
        Ok(process)
    }

    /// The configured overall deadline.
    pub fn deadline(&self) -> Duration {
        self.config.deadline
    }

    /// How many helper processes were started so far (initial ones and replacements).
    pub fn processes_started(&self) -> u64 {
        self.processes_started.load(Ordering::Relaxed)
    }

    /// How many helpers were killed for overrunning the deadline.
    pub fn processes_killed(&self) -> u64 {
        self.processes_killed.load(Ordering::Relaxed)
    }

    /// Process ids of the idle helpers (tests use them to crash one on purpose).
    pub async fn idle_process_ids(&self) -> Vec<u32> {
        self.idle
            .lock()
            .await
            .iter()
            .filter_map(HelperProcess::pid)
            .collect()
    }

    /// Runs one request on a pooled helper under the deadline. A helper found dead (it crashed
    /// while idle) is replaced and the request sent once more.
    pub async fn run(&self, request: &HelperRequest) -> Result<HelperResponse, PoolError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PoolError::Closed)?;
        let mut tried_fresh_process = false;
        loop {
            let pooled = self.idle.lock().await.pop();
            let (mut process, fresh) = match pooled {
                Some(process) => (process, false),
                None => (self.spawn_process().await?, true),
            };
            match tokio::time::timeout(self.config.deadline, process.request(request)).await {
                Ok(Ok(response)) => {
                    self.idle.lock().await.push(process);
                    return Ok(response);
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, pid = ?process.pid(), "yt-dlp helper failed; replacing it");
                    process.kill();
                    crate::worker_metrics::record_helper_restart();
                    if fresh || tried_fresh_process {
                        return Err(PoolError::Helper(error));
                    }
                    tried_fresh_process = true;
                }
                Err(_elapsed) => {
                    tracing::warn!(
                        pid = ?process.pid(),
                        deadline = ?self.config.deadline,
                        "yt-dlp overran its deadline; killing the helper"
                    );
                    process.kill();
                    self.processes_killed.fetch_add(1, Ordering::Relaxed);
                    crate::worker_metrics::record_helper_restart();
                    return Err(PoolError::DeadlineExceeded(self.config.deadline));
                }
            }
        }
    }
}
