//! Transcripts: the `transcripts` cache (one parsed subtitle track per video and track language,
//! shared across jobs) and the transcript columns of `job_items` (what the transcript stage of
//! one item gave), plus the reads the api's views need.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};

use crate::db::nul_free::{json_without_nul, text_without_nul};
use crate::ids::{ClaimId, ItemId};
use crate::job_status::TranscriptStatus;
use crate::video::Subtitle;

/// One stored transcript.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TranscriptRow {
    pub video_id: String,
    /// TikTok's track label, e.g. `eng-US`.
    pub language_code_name: String,
    /// `asr`, `mt` or `creator`.
    pub source: String,
    /// `[{start_ms, end_ms, text}]`.
    pub cues: Value,
    pub text: String,
    pub fetched_at: DateTime<Utc>,
}

/// A transcript to store.
#[derive(Debug, Clone)]
pub struct NewTranscript<'a> {
    pub video_id: &'a str,
    pub language_code_name: &'a str,
    pub source: &'a str,
    pub cues: &'a Value,
    pub text: &'a str,
}

/// What the transcript stage of one item gave, as stored on the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTranscript {
    /// `succeeded`, `unavailable` or `failed`.
    pub status: TranscriptStatus,
    /// The requested language (`en`, `id`).
    pub language: String,
    /// The track used (succeeded only).
    pub track_language: Option<String>,
    /// The language of every track of the post.
    pub available_languages: Vec<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// The subtitle tracks of the stored `Video` of `video_id` (`None` when no video is stored or it
/// has no `subtitles`).
pub async fn stored_subtitles(
    executor: impl PgExecutor<'_>,
    video_id: &str,
) -> Result<Option<Vec<Subtitle>>, sqlx::Error> {
    sqlx::query_scalar::<_, Option<Json<Vec<Subtitle>>>>(
        "select data -> 'subtitles' from videos where video_id = $1",
    )
    .bind(video_id)
    .fetch_optional(executor)
    .await
    .map(|subtitles| subtitles.flatten().map(|Json(subtitles)| subtitles))
}

/// The stored transcript of one track, if any.
pub async fn find_transcript(
    executor: impl PgExecutor<'_>,
    video_id: &str,
    language_code_name: &str,
) -> Result<Option<TranscriptRow>, sqlx::Error> {
    sqlx::query_as(
        "select video_id, language_code_name, source, cues, text, fetched_at
         from transcripts where video_id = $1 and language_code_name = $2",
    )
    .bind(video_id)
    .bind(language_code_name)
    .fetch_optional(executor)
    .await
}

/// Every stored transcript of a video, by track language.
pub async fn list_video_transcripts(
    executor: impl PgExecutor<'_>,
    video_id: &str,
) -> Result<Vec<TranscriptRow>, sqlx::Error> {
    sqlx::query_as(
        "select video_id, language_code_name, source, cues, text, fetched_at
         from transcripts where video_id = $1 order by language_code_name",
    )
    .bind(video_id)
    .fetch_all(executor)
    .await
}

/// Inserts or replaces the transcript of one track (the video row must exist).
pub async fn upsert_transcript(
    connection: &mut PgConnection,
    transcript: &NewTranscript<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into transcripts (video_id, language_code_name, source, cues, text, fetched_at)
         values ($1, $2, $3, $4, $5, now())
         on conflict (video_id, language_code_name) do update
         set source = excluded.source, cues = excluded.cues, text = excluded.text,
             fetched_at = excluded.fetched_at",
    )
    .bind(transcript.video_id)
    .bind(transcript.language_code_name)
    .bind(transcript.source)
    .bind(json_without_nul(transcript.cues).as_ref())
    .bind(text_without_nul(transcript.text).as_ref())
    .execute(connection)
    .await?;
    Ok(())
}

/// Writes the transcript columns of the running item held by `claim_id` and of its queued
/// duplicates (which `item_claims::end_item` then finishes with the same result). Call it in
/// the transaction that ends the item: a lost claim rolls it back with the rest.
pub async fn record_item_transcript(
    connection: &mut PgConnection,
    item_id: ItemId,
    claim_id: ClaimId,
    transcript: &ItemTranscript,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update job_items
         set transcript_status = $3, transcript_language = $4, transcript_track_language = $5,
             transcript_available_languages = $6, transcript_error_code = $7,
             transcript_error_message = $8
         where (item_id = $1 and claim_id = $2 and status = 'running')
            or (duplicate_of = $1 and status = 'queued')",
    )
    .bind(item_id)
    .bind(claim_id)
    .bind(transcript.status)
    .bind(&transcript.language)
    .bind(&transcript.track_language)
    .bind(&transcript.available_languages)
    .bind(&transcript.error_code)
    .bind(&transcript.error_message)
    .execute(connection)
    .await?;
    Ok(())
}

/// The transcript of one item as the views show it: whether the job asked for one, what the
/// stage recorded and, when it succeeded, the stored track.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct ItemTranscriptRow {
    pub item_id: ItemId,
    /// `options.transcript` of the item's job.
    pub requested: bool,
    /// `options.language` of the item's job (`en` when absent).
    pub requested_language: String,
    pub status: Option<TranscriptStatus>,
    pub track_language: Option<String>,
    pub available_languages: Option<Vec<String>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub source: Option<String>,
    pub cues: Option<Value>,
    pub text: Option<String>,
}

/// The transcripts of the given items (one row per existing item).
pub async fn list_item_transcripts(
    executor: impl PgExecutor<'_>,
    item_ids: &[ItemId],
) -> Result<Vec<ItemTranscriptRow>, sqlx::Error> {
    sqlx::query_as(
        "select i.item_id,
                coalesce((j.options ->> 'transcript')::boolean, false) as requested,
                coalesce(i.transcript_language, j.options ->> 'language', 'en') as requested_language,
                i.transcript_status as status, i.transcript_track_language as track_language,
                i.transcript_available_languages as available_languages,
                i.transcript_error_code as error_code, i.transcript_error_message as error_message,
                t.source, t.cues, t.text
         from job_items i
         join jobs j on j.job_id = i.job_id
         left join transcripts t
                on t.video_id = i.result_video_id
               and t.language_code_name = i.transcript_track_language
               and i.transcript_status = 'succeeded'
         where i.item_id = any($1)",
    )
    .bind(item_ids)
    .fetch_all(executor)
    .await
}
