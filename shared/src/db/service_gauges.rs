//! The service-wide figures `GET /metrics` reads at scrape time, in one query: jobs by status,
//! items by status, live workers and the extractor fallbacks by reason.

use std::time::Duration;

/// One figure: its family (`jobs`, `job_items`, `live_workers`, `extractor_fallbacks`), a label
/// (a status, a fallback reason; empty for `live_workers`) and the count.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GaugeRow {
    pub family: String,
    pub label: String,
    pub value: i64,
}

/// Jobs and items of every key by status, and the workers whose heartbeat is more recent than
/// `live_within`, and the items handed from the native extractor to yt-dlp by reason. Statuses
/// without rows are absent (the caller reports them as 0).
pub async fn read_service_gauges(
    executor: impl sqlx::PgExecutor<'_>,
    live_within: Duration,
) -> Result<Vec<GaugeRow>, sqlx::Error> {
    sqlx::query_as::<_, GaugeRow>(
        "select 'jobs' as family, status as label, count(*) as value from jobs group by status
         union all
         select 'job_items', status, count(*) from job_items group by status
         union all
         select 'live_workers', '', count(*) from worker_heartbeats
         where last_seen_at > now() - make_interval(secs => $1)
         union all
         select 'extractor_fallbacks', reason, fallbacks from extractor_fallbacks",
    )
    .bind(live_within.as_secs_f64())
    .fetch_all(executor)
    .await
}
