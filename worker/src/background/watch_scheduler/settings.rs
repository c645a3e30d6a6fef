//! The watch scheduler's settings on the worker's command line (flattened into `WorkerConfig`).

use std::time::Duration;

use clap::Args;
use tokworks_shared::db::watches::evaluate::EvaluationSettings;

use super::WatchSchedulerSettings;

/// Watch settings of the worker.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct WatchArgs {
    /// A watch whose runs have failed for this many seconds in a row pauses itself
    /// (`paused_reason: failing`, a `watch.paused` event).
    #[arg(long, env = "WATCH_PAUSE_AFTER_FAILING_SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub watch_pause_after_failing_seconds: u64,

    /// Longest wait between two scheduler rounds, in milliseconds (a due watch starts at most
    /// this late).
    #[arg(long, env = "WATCH_POLL_MILLISECONDS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub watch_poll_milliseconds: u64,
}

impl WatchArgs {
    /// The scheduler's settings.
    pub fn scheduler_settings(&self) -> WatchSchedulerSettings {
        WatchSchedulerSettings {
            poll_interval: Duration::from_millis(self.watch_poll_milliseconds),
            evaluation: EvaluationSettings {
                pause_after_failing: Duration::from_secs(self.watch_pause_after_failing_seconds),
                ..EvaluationSettings::default()
            },
        }
    }
}
