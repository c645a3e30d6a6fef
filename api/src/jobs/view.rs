//! The JSON the API returns for jobs (wire DTOs, kept apart from the row types of `shared::db`).

use std::collections::BTreeMap;
use tokworks_shared::ids::{JobId, WalkId};

use crate::jobs::batch_request::RejectedUrl;
use crate::jobs::request::JobOptionsResponse;
use crate::jobs::transcript_view::{StoredTranscriptResponse, TranscriptResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokworks_shared::db::feed_walks::JobFeedRow;
use tokworks_shared::db::feed_walks::WalkStatus;
use tokworks_shared::db::job_views::JobViewRow;
use tokworks_shared::db::jobs::{JobRow, StageTimingRow, StoredVideoRow};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::job_status::{ItemStatus, JobKind, JobStatus};
use tokworks_shared::sound::SoundInfo;

use crate::jobs::result::{VideoResultResponse, serialize_video};
use crate::jobs::thumbnail_analysis_view::ThumbnailAnalysisResponse;
use tokworks_shared::video::Video;

/// A job as listed by `GET /v1/jobs` (and the common part of [`JobResponse`]).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobSummaryResponse {
    pub id: JobId,
    pub object: &'static str,
    pub kind: JobKind,
    pub status: JobStatus,
    pub input: JobInputResponse,
    pub options: JobOptionsResponse,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub counts: JobCountsResponse,
    pub error: Option<JobErrorResponse>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub links: JobLinksResponse,
    /// The job's webhook (`url`, `events`) when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<JobWebhookResponse>,
}

/// The webhook of a job, as accepted (the URL as sent, the event types in catalogue order).
/// Fields in alphabetical order: the order the stored request has always been echoed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobWebhookResponse {
    pub events: Vec<String>,
    pub url: String,
}

/// What a job's view reads back from its stored, normalised request (`jobs.request`): the feed's
/// target and count and the webhook. Other members are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
struct StoredRequestEcho {
    hashtag: Option<String>,
    username: Option<String>,
    query: Option<String>,
    /// A sound job's music id.
    sound: Option<String>,
    count: Option<u64>,
    webhook: Option<JobWebhookResponse>,
}

impl StoredRequestEcho {
    /// The echo of `row`'s request; a request that does not have this shape echoes nothing.
    fn of(row: &JobRow) -> StoredRequestEcho {
        StoredRequestEcho::deserialize(&row.request).unwrap_or_else(|error| {
            tracing::warn!(job_id = %row.job_id, %error, "a stored job request has an unexpected shape");
            StoredRequestEcho::default()
        })
    }
}

/// A job as returned by `POST /v1/jobs`, `GET /v1/jobs/{id}` and cancel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobResponse {
    #[serde(flatten)]
    pub summary: JobSummaryResponse,
    pub timings: JobTimingsResponse,
    /// For `video` jobs that succeeded: the stored `Video`'s fields plus `cache_hit`,
    /// `transcript` and `thumbnail_analysis`; else null (a batch's results are on its items).
    pub result: Option<VideoResultResponse>,
    /// `POST /v1/jobs` of a batch only: the URLs refused at submit time (not items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<RejectedUrl>>,
    /// Feed jobs (trending, hashtag, user, search, sound) only: the feed, the walk serving it,
    /// the cache hit, why the feed stopped, and a sound job's sound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed: Option<JobFeedResponse>,
    /// `comments` jobs only, once the video is resolved: the video, TikTok's `total` and the
    /// comments (with replies) fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<JobCommentsResponse>,
}

/// The comments side of a `comments` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobCommentsResponse {
    pub video_id: String,
    /// TikTok's `total` (comments and replies it counts), when it gave one.
    pub total: Option<i64>,
    /// Comments and replies stored for the job (its items).
    pub fetched: i64,
}

/// The feed of a feed job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobFeedResponse {
    /// `trending`, `hashtag`, `user`, `search` or `sound`.
    pub kind: JobKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashtag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A search job's query (normalised: trimmed, whitespace collapsed, lowercase).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// A sound job's music id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub music_id: Option<String>,
    /// A sound job's sound, once its walk read it (null before; absent for other kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SoundInfo>)]
    pub sound: Option<Option<SoundInfo>>,
    pub count: Option<u64>,
    /// The job was answered from a walk that had already finished (FEED_CACHE_TTL_SECONDS).
    pub cache_hit: bool,
    pub walk: JobFeedWalkResponse,
}

/// The upstream walk that served (or serves) a feed job; shared by identical jobs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobFeedWalkResponse {
    pub id: WalkId,
    /// `queued`, `running`, `succeeded`, `partial` or `failed`.
    pub status: WalkStatus,
    pub attempts: i32,
    /// Why the feed stopped: `COUNT_REACHED`, `NO_MORE`, or an error code (`partial`/`failed`);
    /// null while it runs.
    pub stopped: Option<JobFeedStopResponse>,
    pub pages_fetched: Option<i32>,
    pub duration_ms: Option<f64>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Why a feed stopped.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobFeedStopResponse {
    pub code: String,
    pub message: Option<String>,
}

impl JobFeedResponse {
    /// The feed of `row` (its request names it) with its walk.
    pub fn from_parts(row: &JobRow, walk: &JobFeedRow) -> Self {
        let echo = StoredRequestEcho::of(row);
        let walk_finished = walk.walk_finished_at.is_some();
        JobFeedResponse {
            kind: row.kind,
            hashtag: echo.hashtag,
            username: echo.username,
            query: echo.query,
            sound: (row.kind == JobKind::Sound)
                .then(|| walk.sound.as_ref().map(|stored| stored.0.sound.clone())),
            music_id: echo.sound,
            count: echo.count,
            cache_hit: walk.cache_hit.unwrap_or(false),
            walk: JobFeedWalkResponse {
                id: walk.walk_id,
                status: walk.walk_status,
                attempts: walk.walk_attempts,
                stopped: walk
                    .stop_code
                    .clone()
                    .filter(|_| walk_finished)
                    .map(|code| JobFeedStopResponse {
                        code,
                        message: walk.stop_message.clone(),
                    }),
                pages_fetched: walk.pages_fetched,
                duration_ms: walk.walk_ms,
                finished_at: walk.walk_finished_at,
            },
        }
    }
}

/// What the job was asked to process (for `video` jobs: its URL; null fields for batches).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobInputResponse {
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub video_id: Option<String>,
}

/// Item counters.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct JobCountsResponse {
    pub total: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub canceled: i32,
    pub pending: i32,
}

/// Why a job failed (or that it was canceled).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobErrorResponse {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

/// Stage durations of the job's (latest) attempt, in milliseconds, and the wall time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobTimingsResponse {
    pub attempts: i32,
    /// Stage name → duration of the latest attempt that recorded it (e.g. `queue_wait`,
    /// `resolve`, `extract`, `thumbnail`, `store`, `total`).
    pub stages_ms: BTreeMap<String, f64>,
    /// `finished_at - created_at` once finished.
    pub elapsed_ms: Option<i64>,
}

/// Where to go next.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobLinksResponse {
    #[serde(rename = "self")]
    pub self_link: String,
    pub cancel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<String>,
    /// The webhook deliveries of the job (jobs with a webhook only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<String>,
    /// The job's items with their results (batches and feeds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
}

/// `GET /v1/jobs`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobListResponse {
    pub object: &'static str,
    pub data: Vec<JobSummaryResponse>,
    pub has_more: bool,
    /// Pass as `cursor` to get the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/videos/{video_id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VideoResponse {
    pub object: &'static str,
    pub video_id: String,
    pub source: String,
    pub fetched_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The stored `Video` (shared::video).
    #[serde(serialize_with = "serialize_video")]
    pub video: Video,
    /// The transcripts stored for this video, one per subtitle track fetched so far.
    pub transcripts: Vec<StoredTranscriptResponse>,
    /// The latest successful thumbnail analysis of the current cover per language
    /// (`{"en": {...}, "id": {...}}`, `{}` when none).
    pub thumbnail_analysis: BTreeMap<String, ThumbnailAnalysisResponse>,
}

impl From<StoredVideoRow> for VideoResponse {
    fn from(row: StoredVideoRow) -> Self {
        VideoResponse {
            object: "video",
            video_id: row.video_id,
            source: row.source,
            fetched_at: row.fetched_at,
            updated_at: row.updated_at,
            video: row.data,
            transcripts: Vec::new(),
            thumbnail_analysis: BTreeMap::new(),
        }
    }
}

/// The path of a job.
pub fn job_location(job_id: JobId) -> String {
    format!("/v1/jobs/{job_id}")
}

impl JobSummaryResponse {
    /// Builds the summary of a job row.
    pub fn from_row(row: &JobRow) -> Self {
        let pending =
            (row.items_total - row.items_succeeded - row.items_failed - row.items_canceled).max(0);
        let is_video = row.kind == JobKind::Video;
        let webhook = StoredRequestEcho::of(row).webhook;
        let video_link = (is_video && row.first_item_status == Some(ItemStatus::Succeeded))
            .then(|| {
                row.first_item_result_video_id
                    .as_ref()
                    .map(|id| format!("/v1/videos/{id}"))
            })
            .flatten();
        JobSummaryResponse {
            id: row.job_id,
            object: "job",
            kind: row.kind,
            status: row.status,
            input: if is_video {
                JobInputResponse {
                    url: row.first_item_input_url.clone(),
                    canonical_url: row.first_item_canonical_url.clone(),
                    video_id: row.first_item_video_id.clone(),
                }
            } else {
                JobInputResponse {
                    url: None,
                    canonical_url: None,
                    video_id: None,
                }
            },
            options: row.options.into(),
            metadata: row.metadata.clone(),
            counts: JobCountsResponse {
                total: row.items_total,
                succeeded: row.items_succeeded,
                failed: row.items_failed,
                canceled: row.items_canceled,
                pending,
            },
            error: job_error(row),
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            links: JobLinksResponse {
                self_link: job_location(row.job_id),
                cancel: format!("{}/cancel", job_location(row.job_id)),
                video: video_link,
                deliveries: webhook
                    .as_ref()
                    .map(|_| format!("{}/deliveries", job_location(row.job_id))),
                items: (!is_video).then(|| format!("{}/items", job_location(row.job_id))),
            },
            webhook,
        }
    }
}

/// The job's error: for `failed` (the job's own error, else its first item's), `partial` feeds
/// (why the feed stopped short) and `canceled`.
fn job_error(row: &JobRow) -> Option<JobErrorResponse> {
    match row.status {
        JobStatus::Failed => {}
        // A feed that stopped short: the reason it stopped.
        JobStatus::Partial if row.error_code.is_some() => {}
        JobStatus::Canceled => {
            return Some(JobErrorResponse {
                code: ErrorCode::Canceled.as_str().to_owned(),
                message: row
                    .error_message
                    .clone()
                    .unwrap_or_else(|| "The job was canceled.".to_owned()),
                retryable: false,
            });
        }
        _ => return None,
    }
    let (code, message, retryable) = match &row.error_code {
        Some(code) => (code.clone(), row.error_message.clone(), None),
        None => (
            row.first_item_error_code
                .clone()
                .unwrap_or_else(|| ErrorCode::Internal.to_string()),
            row.first_item_error_message.clone(),
            row.first_item_error_retryable,
        ),
    };
    let known = ErrorCode::from_wire(&code);
    Some(JobErrorResponse {
        message: message
            .or_else(|| known.map(|known| known.description().to_owned()))
            .unwrap_or_default(),
        retryable: retryable.unwrap_or_else(|| known.is_some_and(ErrorCode::is_retryable)),
        code,
    })
}

impl JobResponse {
    /// Builds the full view from one read of the job and its parts; a succeeded video job's
    /// result carries its `transcript` and `thumbnail_analysis`.
    pub fn from_view(view: JobViewRow) -> Self {
        let JobViewRow {
            job,
            timings,
            feed,
            comments,
            result_video,
            transcript,
            analysis,
        } = view;
        let result = result_video.map(|video| VideoResultResponse {
            video: video.0.data,
            cache_hit: job.first_item_cache_hit.unwrap_or(false),
            transcript: transcript
                .and_then(|transcript| TranscriptResponse::from_row(transcript.0)),
            thumbnail_analysis: analysis
                .map(|analysis| ThumbnailAnalysisResponse::from_item_row(analysis.0)),
        });
        let mut response = JobResponse::from_parts(&job, &timings.0, result);
        response.feed = feed.map(|feed| JobFeedResponse::from_parts(&job, &feed.0));
        response.comments = comments.map(|comments| JobCommentsResponse {
            video_id: comments.0.video_id,
            total: comments.0.total,
            fetched: comments.0.fetched,
        });
        response
    }

    /// Builds the full view: the summary, the timings of the latest attempts, and the result.
    pub fn from_parts(
        row: &JobRow,
        timings: &[StageTimingRow],
        result: Option<VideoResultResponse>,
    ) -> Self {
        let mut stages_ms = BTreeMap::new();
        let mut attempts = row.first_item_attempts.unwrap_or(0);
        // Rows come ordered by attempt: a later attempt's duration replaces an earlier one.
        for timing in timings {
            attempts = attempts.max(timing.attempt);
            stages_ms.insert(timing.stage.clone(), timing.duration_ms);
        }
        let elapsed_ms = row
            .finished_at
            .map(|finished_at| (finished_at - row.created_at).num_milliseconds().max(0));
        JobResponse {
            summary: JobSummaryResponse::from_row(row),
            timings: JobTimingsResponse {
                attempts,
                stages_ms,
                elapsed_ms,
            },
            result,
            rejected: None,
            feed: None,
            comments: None,
        }
    }
}
