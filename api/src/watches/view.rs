//! The wire shapes of watches: the Watch object, a run, a seen video, and their lists.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokworks_shared::db::watches::listing::{WatchRunRow, WatchVideoRow};
use tokworks_shared::db::watches::{
    WatchPausedReason, WatchRow, WatchRunStatus, WatchStatus, target_field,
};
use tokworks_shared::ids::{JobId, WatchId, WatchRunId};
use tokworks_shared::job_status::JobKind;

use crate::jobs::request::JobOptionsResponse;

/// `{"code", "message"}` of a failure.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchErrorResponse {
    pub code: String,
    pub message: String,
}

impl WatchErrorResponse {
    fn of(code: Option<&str>, message: Option<&str>) -> Option<WatchErrorResponse> {
        code.map(|code| WatchErrorResponse {
            code: code.to_owned(),
            message: message.unwrap_or_default().to_owned(),
        })
    }
}

/// The webhook of a watch.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchWebhookResponse {
    pub url: String,
    /// `watch.new_videos`, `watch.paused`.
    pub events: Vec<String>,
}

/// A watch (`"object": "watch"`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchResponse {
    pub id: WatchId,
    pub object: &'static str,
    /// `user`, `hashtag`, `trending` (later `search`, `sound`).
    pub kind: JobKind,
    /// `user` watches: the username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `hashtag` watches: the hashtag, lowercase, without `#`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashtag: Option<String>,
    /// `search` watches: the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `sound` watches: the music id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
    /// Seconds between two runs.
    pub every: i32,
    pub count: i32,
    pub report_existing: bool,
    /// The options of every run's job (`refresh` is implied for runs).
    pub options: JobOptionsResponse,
    pub webhook: Option<WatchWebhookResponse>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub status: WatchStatus,
    pub paused_reason: Option<WatchPausedReason>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the next run is due (null while paused).
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub last_error: Option<WatchErrorResponse>,
    /// Runs so far.
    pub runs: i64,
    /// Distinct videos its runs have found.
    pub videos_seen: i64,
}

impl WatchResponse {
    pub fn from_row(row: &WatchRow) -> WatchResponse {
        let target = |field: &str| {
            (target_field(row.kind) == Some(field))
                .then(|| row.target.clone())
                .flatten()
        };
        WatchResponse {
            id: row.watch_id,
            object: "watch",
            kind: row.kind,
            username: target("username"),
            hashtag: target("hashtag"),
            query: target("query"),
            sound: target("sound"),
            every: row.every_seconds,
            count: row.count,
            report_existing: row.report_existing,
            options: JobOptionsResponse::from(row.options),
            webhook: row.webhook_url.clone().map(|url| WatchWebhookResponse {
                url,
                events: row.webhook_events.clone().unwrap_or_default(),
            }),
            metadata: row.metadata.clone(),
            status: row.status,
            paused_reason: row.paused_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
            next_run_at: row.next_run_at,
            last_run_at: row.last_run_at,
            last_success_at: row.last_success_at,
            consecutive_failures: row.consecutive_failures,
            last_error: WatchErrorResponse::of(
                row.last_error_code.as_deref(),
                row.last_error_message.as_deref(),
            ),
            runs: row.runs,
            videos_seen: row.videos_seen,
        }
    }
}

/// A page of watches.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchListResponse {
    pub object: &'static str,
    pub data: Vec<WatchResponse>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// One run of a watch (`"object": "watch_run"`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchRunResponse {
    pub id: WatchRunId,
    pub object: &'static str,
    /// The run's ordinary feed job (null once retention deleted it).
    pub job_id: Option<JobId>,
    pub status: WatchRunStatus,
    /// The watch's first successful run: it reports nothing (unless `report_existing`).
    pub baseline: bool,
    pub scheduled_for: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub videos_found: i32,
    /// The videos this run reported: found by no earlier run of the watch.
    pub new_video_ids: Vec<String>,
    pub error: Option<WatchErrorResponse>,
}

impl WatchRunResponse {
    pub fn from_row(row: WatchRunRow) -> WatchRunResponse {
        WatchRunResponse {
            id: row.run_id,
            object: "watch_run",
            job_id: row.job_id,
            status: row.status,
            baseline: row.baseline,
            scheduled_for: row.scheduled_for,
            started_at: row.started_at,
            finished_at: row.finished_at,
            videos_found: row.videos_found,
            error: WatchErrorResponse::of(row.error_code.as_deref(), row.error_message.as_deref()),
            new_video_ids: row.new_video_ids,
        }
    }
}

/// A page of runs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchRunListResponse {
    pub object: &'static str,
    pub data: Vec<WatchRunResponse>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// A video a watch has seen.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchVideoResponse {
    pub video_id: String,
    pub url: String,
    pub first_seen_at: DateTime<Utc>,
    /// The run that found it first.
    pub run_id: WatchRunId,
    /// Reported as new (false for the baseline's videos, unless `report_existing`).
    pub reported: bool,
}

impl WatchVideoResponse {
    pub fn from_row(row: WatchVideoRow) -> WatchVideoResponse {
        WatchVideoResponse {
            video_id: row.video_id,
            url: row.url,
            first_seen_at: row.first_seen_at,
            run_id: row.run_id,
            reported: row.reported,
        }
    }
}

/// A page of seen videos.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchVideoListResponse {
    pub object: &'static str,
    pub data: Vec<WatchVideoResponse>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// The watch's URL.
pub fn watch_location(watch_id: WatchId) -> String {
    format!("/v1/watches/{watch_id}")
}
