//! The `thumbnail_analysis` object on the wire (items, the inline result of video jobs,
//! `GET /v1/videos/{id}`, and the compatibility `/extract`), built from
//! `shared::db::thumbnail_analyses` rows.

use std::collections::{BTreeMap, HashMap};
use tokworks_shared::ids::ItemId;
use tokworks_shared::job_status::AnalysisStatus;

use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use tokworks_shared::db::thumbnail_analyses::{self, ItemAnalysisRow, StoredAnalysis};

/// An item's thumbnail analysis; `null` on the wire when the job did not ask for one.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ThumbnailAnalysisResponse {
    /// `succeeded` or `failed`.
    pub status: AnalysisStatus,
    pub language: Option<String>,
    pub model: Option<String>,
    pub prompt_version: Option<String>,
    /// The 25 fields (prompts/thumbnail_analysis/schema.json); null when failed.
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<Value>,
    pub usage: Option<TokenUsageResponse>,
    /// Duration of the vision call that produced the analysis.
    pub latency_ms: Option<i32>,
    /// Served from the analysis cache (or an identical analysis in flight) without a new call.
    pub cached: bool,
    pub error: Option<AnalysisErrorResponse>,
}

/// Tokens the analysis cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenUsageResponse {
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub total_tokens: i32,
}

/// Why the analysis failed (`THUMBNAIL_ANALYSIS_FAILED`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AnalysisErrorResponse {
    pub code: String,
    pub message: String,
}

impl ThumbnailAnalysisResponse {
    /// The view of an item's recorded outcome.
    pub fn from_item_row(row: ItemAnalysisRow) -> Self {
        let succeeded = row.status == AnalysisStatus::Succeeded;
        let usage = match (row.prompt_tokens, row.completion_tokens, row.total_tokens) {
            (Some(prompt_tokens), Some(completion_tokens), Some(total_tokens)) if succeeded => {
                Some(TokenUsageResponse {
                    prompt_tokens,
                    completion_tokens,
                    total_tokens,
                })
            }
            _ => None,
        };
        let error = (!succeeded).then(|| AnalysisErrorResponse {
            code: row
                .error_code
                .unwrap_or_else(|| "THUMBNAIL_ANALYSIS_FAILED".to_owned()),
            message: row.error_message.unwrap_or_default(),
        });
        ThumbnailAnalysisResponse {
            status: row.status,
            language: row.language,
            model: row.model,
            prompt_version: row.prompt_version,
            analysis: if succeeded { row.analysis } else { None },
            usage,
            latency_ms: row.latency_ms.filter(|_| succeeded),
            cached: row.cached.unwrap_or(false),
            error,
        }
    }

    /// The view of a cached analysis (`GET /v1/videos/{id}`; `cached` is true).
    pub fn from_stored(row: StoredAnalysis) -> Self {
        ThumbnailAnalysisResponse {
            status: AnalysisStatus::Succeeded,
            language: Some(row.language),
            model: Some(row.model),
            prompt_version: Some(row.prompt_version),
            analysis: Some(row.analysis),
            usage: Some(TokenUsageResponse {
                prompt_tokens: row.prompt_tokens,
                completion_tokens: row.completion_tokens,
                total_tokens: row.total_tokens,
            }),
            latency_ms: Some(row.latency_ms),
            cached: true,
            error: None,
        }
    }
}

/// The analyses of `item_ids`, by item (items that asked for none are absent).
pub async fn analyses_of_items(
    pool: &PgPool,
    item_ids: &[ItemId],
) -> Result<HashMap<ItemId, ThumbnailAnalysisResponse>, sqlx::Error> {
    if item_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(thumbnail_analyses::item_analyses(pool, item_ids)
        .await?
        .into_iter()
        .map(|row| (row.item_id, ThumbnailAnalysisResponse::from_item_row(row)))
        .collect())
}

/// The latest successful analysis per language of the video's current cover, keyed by
/// language (`{"en": {...}, "id": {...}}`; `{}` when none).
pub async fn analyses_of_video(
    pool: &PgPool,
    video_id: &str,
) -> Result<BTreeMap<String, ThumbnailAnalysisResponse>, sqlx::Error> {
    Ok(thumbnail_analyses::latest_analyses_of_video(pool, video_id)
        .await?
        .into_iter()
        .map(|row| {
            (
                row.language.clone(),
                ThumbnailAnalysisResponse::from_stored(row),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: AnalysisStatus) -> ItemAnalysisRow {
        let failed = status == AnalysisStatus::Failed;
        ItemAnalysisRow {
            item_id: ItemId(uuid::Uuid::nil()),
            status,
            language: Some("id".to_owned()),
            model: Some("gpt-4o-mini".to_owned()),
            prompt_version: Some("sha256:ab".to_owned()),
            cached: Some(false),
            error_code: failed.then(|| "THUMBNAIL_ANALYSIS_FAILED".to_owned()),
            error_message: failed.then(|| "HTTP 500".to_owned()),
            analysis: (!failed).then(|| serde_json::json!({"setting": "dapur"})),
            prompt_tokens: Some(10),
            completion_tokens: Some(5),
            total_tokens: Some(15),
            latency_ms: Some(120),
        }
    }

    #[test]
    fn a_success_carries_the_analysis_and_usage_and_a_failure_only_its_error() {
        let success = serde_json::to_value(ThumbnailAnalysisResponse::from_item_row(row(
            AnalysisStatus::Succeeded,
        )))
        .unwrap();
        assert_eq!(success["analysis"]["setting"], "dapur");
        assert_eq!(success["usage"]["total_tokens"], 15);
        assert_eq!(success["error"], Value::Null);
        assert_eq!(success["prompt_version"], "sha256:ab");
        let failure = serde_json::to_value(ThumbnailAnalysisResponse::from_item_row(row(
            AnalysisStatus::Failed,
        )))
        .unwrap();
        assert_eq!(failure["status"], "failed");
        assert_eq!(failure["analysis"], Value::Null);
        assert_eq!(failure["usage"], Value::Null);
        assert_eq!(failure["error"]["code"], "THUMBNAIL_ANALYSIS_FAILED");
        assert_eq!(failure["error"]["message"], "HTTP 500");
        assert_eq!(failure["language"], "id");
    }
}
