//! The `thumbnail_analyses` cache (successful vision answers keyed by a content hash) and each
//! item's analysis outcome on `job_items` (written in the transaction that ends the item), plus
//! the reads the api's views need.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::ids::{ClaimId, ItemId};
use crate::job_status::AnalysisStatus;

/// One cached, validated analysis.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredAnalysis {
    pub cache_key: Vec<u8>,
    pub image_sha256: Vec<u8>,
    pub language: String,
    pub model: String,
    pub prompt_version: String,
    pub analysis: serde_json::Value,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub total_tokens: i32,
    pub latency_ms: i32,
    pub created_at: DateTime<Utc>,
}

/// A new analysis to cache.
#[derive(Debug, Clone)]
pub struct NewAnalysis<'a> {
    pub cache_key: &'a [u8],
    pub image_sha256: &'a [u8],
    pub language: &'a str,
    pub model: &'a str,
    pub prompt_version: &'a str,
    pub analysis: &'a serde_json::Value,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub total_tokens: i32,
    pub latency_ms: i32,
}

/// The cached analysis under `cache_key`, if any.
pub async fn cached_analysis(
    executor: impl PgExecutor<'_>,
    cache_key: &[u8],
) -> Result<Option<StoredAnalysis>, sqlx::Error> {
    sqlx::query_as(
        "select cache_key, image_sha256, language, model, prompt_version, analysis, prompt_tokens,
                completion_tokens, total_tokens, latency_ms, created_at
         from thumbnail_analyses where cache_key = $1",
    )
    .bind(cache_key)
    .fetch_optional(executor)
    .await
}

/// Caches an analysis; a concurrent writer of the same key wins silently (same content).
pub async fn insert_analysis(
    executor: impl PgExecutor<'_>,
    analysis: &NewAnalysis<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into thumbnail_analyses (cache_key, image_sha256, language, model, prompt_version,
             analysis, prompt_tokens, completion_tokens, total_tokens, latency_ms)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (cache_key) do nothing",
    )
    .bind(analysis.cache_key)
    .bind(analysis.image_sha256)
    .bind(analysis.language)
    .bind(analysis.model)
    .bind(analysis.prompt_version)
    .bind(analysis.analysis)
    .bind(analysis.prompt_tokens)
    .bind(analysis.completion_tokens)
    .bind(analysis.total_tokens)
    .bind(analysis.latency_ms)
    .execute(executor)
    .await?;
    Ok(())
}

/// How an item's analysis ended, as recorded on `job_items`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemAnalysisOutcome {
    /// `succeeded` or `failed`.
    pub status: AnalysisStatus,
    /// The cached analysis (successes only).
    pub cache_key: Option<Vec<u8>>,
    pub language: String,
    pub model: Option<String>,
    pub prompt_version: Option<String>,
    /// Whether the analysis came from the cache (no vision call by this item).
    pub cached: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Records `outcome` on the item held by `claim_id` and on its still-queued duplicates (which
/// share its result; a canceled duplicate keeps none), inside the transaction that ends the item.
pub async fn record_item_analysis(
    connection: &mut PgConnection,
    item_id: ItemId,
    claim_id: ClaimId,
    outcome: &ItemAnalysisOutcome,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update job_items
         set analysis_status = $3, analysis_key = $4, analysis_language = $5, analysis_model = $6,
             analysis_prompt_version = $7, analysis_cached = $8, analysis_error_code = $9,
             analysis_error_message = $10
         where (item_id = $1 and claim_id = $2 and status = 'running')
            or (duplicate_of = $1 and status = 'queued')",
    )
    .bind(item_id)
    .bind(claim_id)
    .bind(outcome.status)
    .bind(outcome.cache_key.as_deref())
    .bind(&outcome.language)
    .bind(outcome.model.as_deref())
    .bind(outcome.prompt_version.as_deref())
    .bind(outcome.cached)
    .bind(outcome.error_code.as_deref())
    .bind(outcome.error_message.as_deref())
    .execute(connection)
    .await?;
    Ok(())
}

/// An item's analysis outcome joined with its cached analysis, for the api's views.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct ItemAnalysisRow {
    pub item_id: ItemId,
    pub status: AnalysisStatus,
    pub language: Option<String>,
    pub model: Option<String>,
    pub prompt_version: Option<String>,
    pub cached: Option<bool>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub analysis: Option<serde_json::Value>,
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub total_tokens: Option<i32>,
    pub latency_ms: Option<i32>,
}

/// The analysis outcomes of `item_ids` (items without one are absent).
pub async fn item_analyses(
    executor: impl PgExecutor<'_>,
    item_ids: &[ItemId],
) -> Result<Vec<ItemAnalysisRow>, sqlx::Error> {
    sqlx::query_as(
        "select i.item_id, i.analysis_status as status, i.analysis_language as language,
                i.analysis_model as model, i.analysis_prompt_version as prompt_version,
                i.analysis_cached as cached, i.analysis_error_code as error_code,
                i.analysis_error_message as error_message, a.analysis, a.prompt_tokens,
                a.completion_tokens, a.total_tokens, a.latency_ms
         from job_items i
         left join thumbnail_analyses a on a.cache_key = i.analysis_key
         where i.item_id = any($1) and i.analysis_status is not null",
    )
    .bind(item_ids)
    .fetch_all(executor)
    .await
}

/// The latest successful analysis per language of the video's current cover (the stored
/// thumbnail's bytes), newest first.
pub async fn latest_analyses_of_video(
    executor: impl PgExecutor<'_>,
    video_id: &str,
) -> Result<Vec<StoredAnalysis>, sqlx::Error> {
    sqlx::query_as(
        "select cache_key, image_sha256, language, model, prompt_version, analysis, prompt_tokens,
                completion_tokens, total_tokens, latency_ms, created_at
         from (
             select distinct on (a.language) a.*
             from thumbnail_analyses a
             join thumbnails t on t.sha256 = a.image_sha256
             where t.video_id = $1
             order by a.language, a.created_at desc
         ) latest
         order by created_at desc",
    )
    .bind(video_id)
    .fetch_all(executor)
    .await
}
