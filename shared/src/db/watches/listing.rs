//! The api's lists of one watch: its runs and the videos it has seen, newest first, keyset
//! paginated.

use chrono::{DateTime, Utc};

use crate::ids::{ApiKeyId, JobId, WatchId, WatchRunId};

use super::WatchRunStatus;

/// One run as listed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WatchRunRow {
    pub run_id: WatchRunId,
    pub watch_id: WatchId,
    pub job_id: Option<JobId>,
    pub status: WatchRunStatus,
    pub baseline: bool,
    pub scheduled_for: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub videos_found: i32,
    pub new_video_ids: Vec<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// The runs of `watch_id`, newest first, older than `before` when given; at most `limit`.
pub async fn list_runs(
    executor: impl sqlx::PgExecutor<'_>,
    watch_id: WatchId,
    before: Option<WatchRunId>,
    limit: i64,
) -> Result<Vec<WatchRunRow>, sqlx::Error> {
    sqlx::query_as(
        "select run_id, watch_id, job_id, status, baseline, scheduled_for, started_at,
                finished_at, videos_found, new_video_ids, error_code, error_message
         from watch_runs
         where watch_id = $1 and ($2::uuid is null or run_id < $2)
         order by run_id desc limit $3",
    )
    .bind(watch_id)
    .bind(before)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// One video a watch has seen.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WatchVideoRow {
    pub video_id: String,
    pub url: String,
    pub first_seen_at: DateTime<Utc>,
    pub run_id: WatchRunId,
    pub reported: bool,
}

/// A position in the videos list: the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchVideoCursor {
    pub first_seen_at: DateTime<Utc>,
    pub video_id: String,
}

/// The videos `watch_id` has seen, newest first (first seen at or after `since` when given),
/// after `after` when given; at most `limit`.
pub async fn list_videos(
    executor: impl sqlx::PgExecutor<'_>,
    watch_id: WatchId,
    since: Option<DateTime<Utc>>,
    after: Option<&WatchVideoCursor>,
    limit: i64,
) -> Result<Vec<WatchVideoRow>, sqlx::Error> {
    sqlx::query_as(
        "select video_id, url, first_seen_at, run_id, reported from watch_videos
         where watch_id = $1
           and ($2::timestamptz is null or first_seen_at >= $2)
           and ($3::timestamptz is null or (first_seen_at, video_id) < ($3, $4))
         order by first_seen_at desc, video_id desc
         limit $5",
    )
    .bind(watch_id)
    .bind(since)
    .bind(after.map(|cursor| cursor.first_seen_at))
    .bind(after.map(|cursor| cursor.video_id.as_str()))
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// One key's watches and their runs by outcome, for `/v1/stats`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema,
)]
pub struct WatchStats {
    pub watches_active: i64,
    pub watches_paused: i64,
    pub runs_succeeded: i64,
    pub runs_partial: i64,
    pub runs_failed: i64,
    pub videos_reported: i64,
}

/// The watch figures of key `api_key_id`.
pub async fn watch_stats(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
) -> Result<WatchStats, sqlx::Error> {
    sqlx::query_as(
        "with own as (select watch_id, status from watches where api_key_id = $1)
         select (select count(*) from own where status = 'active') as watches_active,
                (select count(*) from own where status = 'paused') as watches_paused,
                (select count(*) from watch_runs r join own using (watch_id)
                 where r.status = 'succeeded') as runs_succeeded,
                (select count(*) from watch_runs r join own using (watch_id)
                 where r.status = 'partial') as runs_partial,
                (select count(*) from watch_runs r join own using (watch_id)
                 where r.status = 'failed') as runs_failed,
                (select count(*) from watch_videos v join own using (watch_id)
                 where v.reported) as videos_reported",
    )
    .bind(api_key_id)
    .fetch_one(executor)
    .await
}
