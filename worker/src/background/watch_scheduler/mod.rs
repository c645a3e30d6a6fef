//! The watch scheduler (docs/watches.md): a loop in every worker process that starts the runs of
//! due watches (claimed in Postgres, `FOR UPDATE SKIP LOCKED`: exactly one worker starts each
//! run) and evaluates the runs whose job ended (woken by `NOTIFY tokworks_job_finished`, with a
//! sweep every round so a missed notification or a crash between the two costs nothing). Every
//! step is one transaction in `shared::db::watches`, so a worker killed at any point neither
//! loses a run nor runs it twice.

mod settings;

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokworks_shared::db::JOB_FINISHED_CHANNEL;
use tokworks_shared::db::watches::WatchRunStatus;
use tokworks_shared::db::watches::evaluate::{self, EvaluationSettings, RunEvaluation};
use tokworks_shared::db::watches::schedule::{self, StartedRun};
use tokworks_shared::ids::{JobId, WatchRunId};

use crate::worker_metrics;
pub use settings::WatchArgs;

/// Most watches one round starts, and most finished runs one sweep evaluates.
const ROUND_LIMIT: i64 = 50;
/// Shortest wait between two rounds (a watch due but not startable never makes a hot loop).
const MIN_ROUND_GAP: Duration = Duration::from_millis(50);

/// How the scheduler works (from the worker's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchSchedulerSettings {
    /// Longest sleep between rounds (a due watch starts at most this late).
    pub poll_interval: Duration,
    pub evaluation: EvaluationSettings,
}

impl Default for WatchSchedulerSettings {
    fn default() -> Self {
        WatchSchedulerSettings {
            poll_interval: Duration::from_secs(1),
            evaluation: EvaluationSettings::default(),
        }
    }
}

/// The watch scheduler of one worker process.
#[derive(Debug, Clone)]
pub struct WatchScheduler {
    pub pool: PgPool,
    pub settings: WatchSchedulerSettings,
}

impl WatchScheduler {
    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => match listener.listen(JOB_FINISHED_CHANNEL).await {
                Ok(()) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "cannot LISTEN for finished jobs; watches poll only");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for finished jobs; watches poll only");
                None
            }
        };
        'rounds: loop {
            if *shutdown.borrow() {
                break;
            }
            self.round().await;
            let next_round = tokio::time::Instant::now() + self.sleep_until_next_due().await;
            // Until the next round, only the runs of jobs that finish are evaluated (one
            // look-up per notification; most finished jobs are not watch runs).
            loop {
                tokio::select! {
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            break 'rounds;
                        }
                    }
                    () = tokio::time::sleep_until(next_round) => continue 'rounds,
                    finished = next_finished_job(listener.as_mut()) => match finished {
                        Ok(Some(job_id)) => self.evaluate_job(job_id).await,
                        Ok(None) => {}
                        Err(error) => {
                            tracing::warn!(%error, "finished-job LISTEN connection failed; reconnecting");
                        }
                    },
                }
            }
        }
    }

    /// One round: start the due runs, then evaluate every run whose job ended.
    pub async fn round(&self) -> (Vec<StartedRun>, Vec<RunEvaluation>) {
        let started = match schedule::start_due_runs(&self.pool, ROUND_LIMIT).await {
            Ok(started) => started,
            Err(error) => {
                tracing::warn!(%error, "cannot start due watch runs");
                Vec::new()
            }
        };
        for run in &started {
            tracing::info!(
                watch_id = %run.watch_id,
                run_id = %run.run_id,
                job_id = %run.job_id,
                baseline = run.baseline,
                late_ms = (Utc::now() - run.scheduled_for).num_milliseconds(),
                "watch run started"
            );
        }
        let ready = evaluate::runs_ready_to_evaluate(&self.pool, ROUND_LIMIT)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "cannot list finished watch runs");
                Vec::new()
            });
        let mut evaluations = Vec::with_capacity(ready.len());
        for run_id in ready {
            if let Some(evaluation) = self.evaluate(run_id).await {
                evaluations.push(evaluation);
            }
        }
        (started, evaluations)
    }

    async fn evaluate_job(&self, job_id: JobId) {
        match evaluate::running_run_of_job(&self.pool, job_id).await {
            Ok(Some(run_id)) => {
                self.evaluate(run_id).await;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, %job_id, "cannot look up a watch run"),
        }
    }

    async fn evaluate(&self, run_id: WatchRunId) -> Option<RunEvaluation> {
        match evaluate::evaluate_run(&self.pool, run_id, &self.settings.evaluation).await {
            Ok(Some(evaluation)) => {
                tracing::info!(
                    watch_id = %evaluation.watch_id,
                    %run_id,
                    status = ?evaluation.status,
                    baseline = evaluation.baseline,
                    new_videos = evaluation.new_video_ids.len(),
                    reported = evaluation.reported,
                    paused = evaluation.paused,
                    "watch run evaluated"
                );
                worker_metrics::record_watch_run(
                    run_outcome(evaluation.status),
                    evaluation.new_video_ids.len(),
                );
                Some(evaluation)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, %run_id, "cannot evaluate a watch run");
                None
            }
        }
    }

    async fn sleep_until_next_due(&self) -> Duration {
        let poll = self.settings.poll_interval;
        match schedule::next_due_at(&self.pool).await {
            Ok(Some(due)) => (due - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(MIN_ROUND_GAP.min(poll), poll),
            Ok(None) | Err(_) => poll,
        }
    }
}

fn run_outcome(status: WatchRunStatus) -> &'static str {
    match status {
        WatchRunStatus::Running => "running",
        WatchRunStatus::Succeeded => "succeeded",
        WatchRunStatus::Partial => "partial",
        WatchRunStatus::Failed => "failed",
        WatchRunStatus::Canceled => "canceled",
    }
}

/// The next job-finished notification's job id (`None` for an unparsable payload); never
/// resolves without a listener.
async fn next_finished_job(
    listener: Option<&mut PgListener>,
) -> Result<Option<JobId>, sqlx::Error> {
    match listener {
        Some(listener) => listener
            .recv()
            .await
            .map(|notification| notification.payload().parse().ok()),
        None => std::future::pending().await,
    }
}
