//! What every job handler of this process shares: Postgres, the queue, the extractor, the
//! process's worker identity and the extraction settings.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokworks_shared::queue::ExtractQueue;

use crate::active_claims::ActiveClaims;
use crate::extractor::VideoExtractor;
use crate::thumbnail_analysis::ThumbnailAnalyzer;
use crate::transcripts::SubtitleFetcher;

/// Lease of a claimed item; renewed every [`crate::apalis_runtime::MAINTENANCE_HEARTBEAT`]
/// while the process lives, so it only runs out when the process died or hung.
pub const ITEM_LEASE: Duration = Duration::from_secs(10);

/// Settings of the extraction handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractSettings {
    /// Longer videos fail with VIDEO_TOO_LONG; `None` = no limit.
    pub max_video_duration_seconds: Option<u32>,
    /// Serve a stored video fetched less than this long ago; `None` = never.
    pub cache_ttl: Option<Duration>,
    /// How long an item stays claimed without renewal.
    pub item_lease: Duration,
    /// Retry delays by attempt number (attempt 1 failed → first entry); the last repeats.
    pub retry_delays: Vec<Duration>,
}

impl ExtractSettings {
    /// 2 s, 8 s, 30 s, then 60 s (plus jitter, see `extract_item`).
    pub fn default_retry_delays() -> Vec<Duration> {
        [2, 8, 30, 60]
            .into_iter()
            .map(Duration::from_secs)
            .collect()
    }
}

/// Identity of this worker process (unique per start, docs/apalis-redis.md
/// "Bug 4: same-name restart").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerIdentity {
    /// `{prefix}-{host}-{pid}-{ulid}`: the name in `claimed_by`, `worker_heartbeats` and apalis.
    pub worker_name: String,
    pub hostname: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
}

impl WorkerIdentity {
    /// A fresh identity for this process.
    pub fn new(prefix: &str) -> WorkerIdentity {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown-host".to_owned());
        let pid = std::process::id();
        let worker_name = format!("{prefix}-{hostname}-{pid}-{}", ulid::Ulid::generate());
        WorkerIdentity {
            worker_name,
            hostname,
            pid,
            started_at: Utc::now(),
        }
    }
}

/// Shared by every handler invocation; cheap to clone.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub pool: PgPool,
    pub queue: ExtractQueue,
    pub extractor: Arc<dyn VideoExtractor>,
    pub identity: Arc<WorkerIdentity>,
    pub settings: Arc<ExtractSettings>,
    /// Downloads subtitle tracks for the transcript stage (the extractor's proxy and TLS).
    pub subtitles: SubtitleFetcher,
    /// The `analyze` stage (always set by the worker process; `None` only in tests of other
    /// stages, where a requested analysis fails saying it is not available).
    pub thumbnail_analyzer: Option<Arc<ThumbnailAnalyzer>>,
    /// The claims the handlers of this process work on: the heartbeat renews their leases.
    pub active_claims: ActiveClaims,
}
