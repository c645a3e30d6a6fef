//! The items of a job as `GET /v1/jobs/{id}/items` reads them: keyset pages by position, an
//! optional status filter, each item with its stored video (the result) when it succeeded.

use chrono::{DateTime, Utc};

use crate::ids::{ItemId, JobId};

use crate::job_status::ItemStatus;
use crate::video::Video;

/// One item with its result.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobItemRow {
    pub item_id: ItemId,
    pub position: i32,
    pub custom_id: Option<String>,
    pub input_url: String,
    pub canonical_url: Option<String>,
    pub video_id: Option<String>,
    pub status: ItemStatus,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_retryable: Option<bool>,
    pub cache_hit: Option<bool>,
    pub attempts: i32,
    /// The first item of the same video in this batch, when this one is its duplicate.
    pub duplicate_of: Option<ItemId>,
    /// The stored `Video`, for a succeeded item (`videos.data`, decoded).
    #[sqlx(json(nullable))]
    pub result: Option<Video>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Filter and keyset cursor of [`list_job_items`].
#[derive(Debug, Clone, Default)]
pub struct JobItemListQuery {
    pub status: Option<ItemStatus>,
    /// Only items after this position.
    pub after_position: Option<i32>,
    pub limit: i64,
}

/// The job's items in position order (the caller has checked that the job is the key's).
pub async fn list_job_items(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
    query: &JobItemListQuery,
) -> Result<Vec<JobItemRow>, sqlx::Error> {
    sqlx::query_as::<_, JobItemRow>(
        "select i.item_id, i.position, i.custom_id, i.input_url, i.canonical_url, i.video_id,
                i.status, i.error_code, i.error_message, i.error_retryable, i.cache_hit,
                i.attempts, i.duplicate_of,
                case when i.status = 'succeeded' then v.data end as result,
                i.created_at, i.finished_at
         from job_items i
         left join videos v on v.video_id = i.result_video_id
         where i.job_id = $1
           and ($2::text is null or i.status = $2)
           and ($3::int4 is null or i.position > $3)
         order by i.position
         limit $4",
    )
    .bind(job_id)
    .bind(query.status)
    .bind(query.after_position)
    .bind(query.limit)
    .fetch_all(executor)
    .await
}
