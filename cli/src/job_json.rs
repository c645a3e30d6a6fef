//! The typed parts of a job as the api sends it (`GET /v1/jobs/{id}`, the `state` event): its
//! status as `tokworks_shared`'s `JobStatus` and its item counts, instead of string keys.

use serde::Deserialize;
use serde_json::Value;
use tokworks_shared::job_status::JobStatus;

/// `counts` of a job; a missing count reads as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct JobCounts {
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub canceled: i64,
    pub pending: i64,
}

impl JobCounts {
    /// Items that ended, whichever way.
    pub fn done(&self) -> i64 {
        self.succeeded + self.failed + self.canceled
    }
}

/// The job's `status`, when it is one the api sends.
pub fn job_status(job: &Value) -> Option<JobStatus> {
    JobStatus::deserialize(&job["status"]).ok()
}

/// The job's `counts` (all 0 when absent or malformed).
pub fn job_counts(job: &Value) -> JobCounts {
    JobCounts::deserialize(&job["counts"]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_and_counts_are_read_from_the_job() {
        let job = json!({"status": "partial", "counts": {"total": 3, "succeeded": 1, "failed": 1, "canceled": 1}});
        assert_eq!(job_status(&job), Some(JobStatus::Partial));
        let counts = job_counts(&job);
        assert_eq!((counts.total, counts.done(), counts.pending), (3, 3, 0));
        assert_eq!(job_status(&json!({"status": "dancing"})), None);
        assert_eq!(job_counts(&json!({})), JobCounts::default());
    }
}
