//! The webhook event catalogue (Standard Webhooks `type` values) a job can subscribe to.

use crate::job_status::JobStatus;

/// Every event type a job's webhook can subscribe to.
pub const ALL_EVENT_TYPES: [&str; 6] = [
    "job.completed",
    "job.failed",
    "job.canceled",
    "item.succeeded",
    "item.failed",
    "job.progress",
];

/// The events sent when a webhook names none: the terminal ones.
pub const DEFAULT_EVENT_TYPES: [&str; 3] = ["job.completed", "job.failed", "job.canceled"];

/// The event a watch sends when a run found videos it had never seen (docs/watches.md).
pub const WATCH_NEW_VIDEOS: &str = "watch.new_videos";
/// The event a watch sends when it paused itself (its runs failed for too long).
pub const WATCH_PAUSED: &str = "watch.paused";
/// Every event type a watch's webhook can subscribe to (the default when it names none).
pub const WATCH_EVENT_TYPES: [&str; 2] = [WATCH_NEW_VIDEOS, WATCH_PAUSED];

/// Smallest gap between two `job.progress` events of one job, in seconds.
pub const PROGRESS_THROTTLE_SECONDS: f64 = 2.0;

/// Whether `event_type` is in the catalogue.
pub fn is_known_event_type(event_type: &str) -> bool {
    ALL_EVENT_TYPES.contains(&event_type)
}

/// The terminal event of a job that ended with `status` (`job.completed` covers `partial`).
pub fn terminal_event_type(status: JobStatus) -> Option<&'static str> {
    match status {
        JobStatus::Succeeded | JobStatus::Partial => Some("job.completed"),
        JobStatus::Failed => Some("job.failed"),
        JobStatus::Canceled => Some("job.canceled"),
        JobStatus::Queued | JobStatus::Running | JobStatus::Expired => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_known_and_partial_counts_as_completed() {
        assert!(
            DEFAULT_EVENT_TYPES
                .iter()
                .all(|name| is_known_event_type(name))
        );
        assert!(!is_known_event_type("job.created"));
        assert_eq!(
            terminal_event_type(JobStatus::Partial),
            Some("job.completed")
        );
        assert_eq!(terminal_event_type(JobStatus::Running), None);
    }
}
