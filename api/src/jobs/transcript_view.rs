//! Transcripts on the wire: the `transcript` of an item or of a video job's result (null unless
//! the job asked for one and its transcript stage ran), and the stored transcripts of a video.

use std::collections::HashMap;
use tokworks_shared::ids::ItemId;
use tokworks_shared::job_status::TranscriptStatus;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokworks_shared::db::transcripts::{self as transcript_db, ItemTranscriptRow, TranscriptRow};

/// The transcript of one item.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TranscriptResponse {
    /// `succeeded`, `unavailable` (no track in the language) or `failed`.
    pub status: TranscriptStatus,
    /// The requested language (`en`, `id`).
    pub language: String,
    /// The track used, as TikTok labels it (`eng-US`, `ind-ID`); null unless succeeded.
    pub track_language: Option<String>,
    /// `asr`, `mt` or `creator`; null unless succeeded.
    pub source: Option<String>,
    /// `[{start_ms, end_ms, text}]`; empty unless succeeded.
    #[schema(value_type = Vec<Object>)]
    pub cues: Value,
    /// The cue texts joined; null unless succeeded.
    pub text: Option<String>,
    /// The labels of every track the post has.
    pub available_languages: Vec<String>,
    pub error: Option<TranscriptErrorResponse>,
}

/// Why a transcript failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TranscriptErrorResponse {
    pub code: String,
    pub message: String,
}

impl TranscriptResponse {
    /// The view of a row; `None` when the job did not ask for a transcript or the stage has not
    /// run (the item is not finished, or failed).
    pub fn from_row(row: ItemTranscriptRow) -> Option<TranscriptResponse> {
        let status = row.status.filter(|_| row.requested)?;
        let error = row.error_code.map(|code| TranscriptErrorResponse {
            code,
            message: row.error_message.unwrap_or_default(),
        });
        Some(TranscriptResponse {
            status,
            language: row.requested_language,
            track_language: row.track_language,
            source: row.source,
            cues: row.cues.unwrap_or_else(|| Value::Array(Vec::new())),
            text: row.text,
            available_languages: row.available_languages.unwrap_or_default(),
            error,
        })
    }
}

/// The transcripts of `item_ids`, by item.
pub async fn item_transcripts(
    executor: impl sqlx::PgExecutor<'_>,
    item_ids: &[ItemId],
) -> Result<HashMap<ItemId, TranscriptResponse>, sqlx::Error> {
    let rows = transcript_db::list_item_transcripts(executor, item_ids).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let item_id = row.item_id;
            TranscriptResponse::from_row(row).map(|view| (item_id, view))
        })
        .collect())
}

/// One stored transcript of a video (`GET /v1/videos/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredTranscriptResponse {
    pub track_language: String,
    pub source: String,
    #[schema(value_type = Vec<Object>)]
    pub cues: Value,
    pub text: String,
    pub fetched_at: DateTime<Utc>,
}

impl From<TranscriptRow> for StoredTranscriptResponse {
    fn from(row: TranscriptRow) -> Self {
        StoredTranscriptResponse {
            track_language: row.language_code_name,
            source: row.source,
            cues: row.cues,
            text: row.text,
            fetched_at: row.fetched_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(requested: bool, status: Option<TranscriptStatus>) -> ItemTranscriptRow {
        ItemTranscriptRow {
            item_id: ItemId(uuid::Uuid::nil()),
            requested,
            requested_language: "id".to_owned(),
            status,
            track_language: None,
            available_languages: Some(vec!["eng-US".to_owned()]),
            error_code: None,
            error_message: None,
            source: None,
            cues: None,
            text: None,
        }
    }

    #[test]
    fn null_unless_requested_and_run() {
        assert_eq!(TranscriptResponse::from_row(row(false, None)), None);
        assert_eq!(TranscriptResponse::from_row(row(true, None)), None);
        let view =
            TranscriptResponse::from_row(row(true, Some(TranscriptStatus::Unavailable))).unwrap();
        assert_eq!(
            serde_json::to_value(view).unwrap(),
            serde_json::json!({
                "status": "unavailable", "language": "id", "track_language": null,
                "source": null, "cues": [], "text": null,
                "available_languages": ["eng-US"], "error": null
            })
        );
    }
}
