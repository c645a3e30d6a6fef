//! Counts of items the native extractor handed to yt-dlp (`EXTRACTOR=auto`), by reason: the
//! workers add to them, the api's `/v1/stats` and `/metrics` read them.

use chrono::{DateTime, Utc};

/// One reason's counts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FallbackCountRow {
    /// The error code the native client ended the item with (`UPSTREAM_CHANGED`, …).
    pub reason: String,
    /// Items handed to yt-dlp for this reason.
    pub fallbacks: i64,
    /// Of those, items yt-dlp then extracted.
    pub recovered: i64,
    pub last_fallback_at: DateTime<Utc>,
}

/// Counts one fallback for `reason`, and whether yt-dlp then extracted the item.
pub async fn record_fallback(
    executor: impl sqlx::PgExecutor<'_>,
    reason: &str,
    recovered: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into extractor_fallbacks (reason, fallbacks, recovered, last_fallback_at)
         values ($1, 1, $2, now())
         on conflict (reason) do update
         set fallbacks = extractor_fallbacks.fallbacks + 1,
             recovered = extractor_fallbacks.recovered + excluded.recovered,
             last_fallback_at = now()",
    )
    .bind(reason)
    .bind(i64::from(recovered))
    .execute(executor)
    .await?;
    Ok(())
}

/// Every reason's counts, by reason.
pub async fn fallback_counts(
    executor: impl sqlx::PgExecutor<'_>,
) -> Result<Vec<FallbackCountRow>, sqlx::Error> {
    sqlx::query_as::<_, FallbackCountRow>(
        "select reason, fallbacks, recovered, last_fallback_at
         from extractor_fallbacks order by reason",
    )
    .fetch_all(executor)
    .await
}
