//! Aggregates behind `GET /v1/stats` (per key, except live workers), the service-wide ones
//! behind the compatibility `GET /stats` and `GET /health`, and the readiness ping.

use crate::ids::ApiKeyId;

use crate::job_status::{ItemStatus, JobStatus};

/// An error code and how many rows have it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CountRow {
    pub name: String,
    pub count: i64,
}

/// A job status and how many jobs have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct JobStatusCountRow {
    pub status: JobStatus,
    pub count: i64,
}

/// An item status and how many items have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemStatusCountRow {
    pub status: ItemStatus,
    pub count: i64,
}

/// The key's jobs by status.
pub async fn count_jobs_by_status(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
) -> Result<Vec<JobStatusCountRow>, sqlx::Error> {
    sqlx::query_as::<_, JobStatusCountRow>(
        "select status, count(*) as count from jobs where api_key_id = $1
         group by status order by status",
    )
    .bind(api_key_id)
    .fetch_all(executor)
    .await
}

/// The key's items by status.
pub async fn count_items_by_status(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
) -> Result<Vec<ItemStatusCountRow>, sqlx::Error> {
    sqlx::query_as::<_, ItemStatusCountRow>(
        "select i.status, count(*) as count
         from job_items i join jobs j on j.job_id = i.job_id
         where j.api_key_id = $1
         group by i.status order by i.status",
    )
    .bind(api_key_id)
    .fetch_all(executor)
    .await
}

/// The key's items with an error, by error code (most frequent first).
pub async fn count_item_errors_by_code(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
) -> Result<Vec<CountRow>, sqlx::Error> {
    sqlx::query_as::<_, CountRow>(
        "select i.error_code as name, count(*) as count
         from job_items i join jobs j on j.job_id = i.job_id
         where j.api_key_id = $1 and i.error_code is not null
         group by i.error_code order by count(*) desc, i.error_code",
    )
    .bind(api_key_id)
    .fetch_all(executor)
    .await
}

/// Percentiles of one stage's durations.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StagePercentilesRow {
    pub stage: String,
    pub samples: i64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

/// p50 and p95 (continuous) of every stage's duration over the key's items.
pub async fn stage_timing_percentiles(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
) -> Result<Vec<StagePercentilesRow>, sqlx::Error> {
    sqlx::query_as::<_, StagePercentilesRow>(
        "select t.stage, count(*) as samples,
                percentile_cont(0.5) within group (order by t.duration_ms) as p50_ms,
                percentile_cont(0.95) within group (order by t.duration_ms) as p95_ms
         from item_stage_timings t
         join job_items i on i.item_id = t.item_id
         join jobs j on j.job_id = i.job_id
         where j.api_key_id = $1
         group by t.stage order by t.stage",
    )
    .bind(api_key_id)
    .fetch_all(executor)
    .await
}

/// Succeeded items served from the cache, and fetched from TikTok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct CacheCountsRow {
    pub hits: i64,
    pub misses: i64,
}

/// Cache hits and misses among the key's succeeded items.
pub async fn count_cache_hits(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
) -> Result<CacheCountsRow, sqlx::Error> {
    sqlx::query_as::<_, CacheCountsRow>(
        "select count(*) filter (where i.cache_hit) as hits,
                count(*) filter (where not i.cache_hit) as misses
         from job_items i join jobs j on j.job_id = i.job_id
         where j.api_key_id = $1 and i.status = 'succeeded' and i.cache_hit is not null",
    )
    .bind(api_key_id)
    .fetch_one(executor)
    .await
}

/// Items of every key by status (a service-wide figure, for the compatibility `/stats`).
pub async fn count_all_items_by_status(
    executor: impl sqlx::PgExecutor<'_>,
) -> Result<Vec<ItemStatusCountRow>, sqlx::Error> {
    sqlx::query_as::<_, ItemStatusCountRow>(
        "select status, count(*) as count from job_items group by status order by status",
    )
    .fetch_all(executor)
    .await
}

/// Items of every key with an error, by error code (most frequent first; service-wide).
pub async fn count_all_item_errors_by_code(
    executor: impl sqlx::PgExecutor<'_>,
) -> Result<Vec<CountRow>, sqlx::Error> {
    sqlx::query_as::<_, CountRow>(
        "select error_code as name, count(*) as count from job_items
         where error_code is not null
         group by error_code order by count(*) desc, error_code",
    )
    .fetch_all(executor)
    .await
}

/// Mean duration of one stage over every key's items (`None` without samples; service-wide).
pub async fn average_stage_duration_ms(
    executor: impl sqlx::PgExecutor<'_>,
    stage: &str,
) -> Result<Option<f64>, sqlx::Error> {
    sqlx::query_scalar("select avg(duration_ms) from item_stage_timings where stage = $1")
        .bind(stage)
        .fetch_one(executor)
        .await
}

/// Cache hits and misses among every key's succeeded items (service-wide).
pub async fn count_all_cache_hits(
    executor: impl sqlx::PgExecutor<'_>,
) -> Result<CacheCountsRow, sqlx::Error> {
    sqlx::query_as::<_, CacheCountsRow>(
        "select count(*) filter (where cache_hit) as hits,
                count(*) filter (where not cache_hit) as misses
         from job_items where status = 'succeeded' and cache_hit is not null",
    )
    .fetch_one(executor)
    .await
}

/// The stored videos (the metadata cache): how many, and the table's size on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredVideoTotalsRow {
    pub videos: i64,
    pub total_bytes: i64,
}

/// How many videos are stored and how many bytes the `videos` table (with TOAST and indexes) takes.
pub async fn stored_video_totals(
    executor: impl sqlx::PgExecutor<'_>,
) -> Result<StoredVideoTotalsRow, sqlx::Error> {
    sqlx::query_as::<_, StoredVideoTotalsRow>(
        "select (select count(*) from videos) as videos,
                pg_total_relation_size('videos') as total_bytes",
    )
    .fetch_one(executor)
    .await
}

/// `select 1`: Postgres answers (readiness probe).
pub async fn ping(executor: impl sqlx::PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query("select 1").execute(executor).await?;
    Ok(())
}
