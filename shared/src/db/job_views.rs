//! The whole view of one job in one query: the job with its first item, its stage timings, its
//! feed walk, and for a succeeded video job the stored video, transcript and thumbnail analysis.
//! `GET /v1/jobs/{id}` is one round trip whatever the job's kind.

use sqlx::types::Json;

use crate::ids::{ApiKeyId, JobId};

use super::comments::JobCommentsRow;
use super::feed_walks::JobFeedRow;
use super::jobs::{JobRow, StageTimingRow, StoredVideoRow, job_row_select};
use super::thumbnail_analyses::ItemAnalysisRow;
use super::transcripts::ItemTranscriptRow;

/// A job and everything its view shows. The parts other than the job are read as JSON by
/// subqueries of the same statement, so they are one consistent snapshot.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobViewRow {
    #[sqlx(flatten)]
    pub job: JobRow,
    /// Every stage timing of the job's items, by item position, attempt and recording order.
    pub timings: Json<Vec<StageTimingRow>>,
    /// The walk serving a feed job.
    pub feed: Option<Json<JobFeedRow>>,
    /// A comments job's video, TikTok's total and the comments fetched (once its walk ended
    /// with a resolved video).
    pub comments: Option<Json<JobCommentsRow>>,
    /// A succeeded video job's stored video.
    pub result_video: Option<Json<StoredVideoRow>>,
    /// A succeeded video job's transcript outcome.
    pub transcript: Option<Json<ItemTranscriptRow>>,
    /// A succeeded video job's thumbnail analysis outcome (absent when none was asked for).
    pub analysis: Option<Json<ItemAnalysisRow>>,
}

/// The view of job `job_id` if it belongs to `api_key_id` (another key's job is "not found").
pub async fn find_job_view_for_key(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
    api_key_id: ApiKeyId,
) -> Result<Option<JobViewRow>, sqlx::Error> {
    sqlx::query_as::<_, JobViewRow>(concat!(
        "select v.*,
        coalesce((
            select jsonb_agg(jsonb_build_object(
                       'item_id', t.item_id, 'attempt', t.attempt, 'stage', t.stage,
                       'duration_ms', t.duration_ms)
                   order by i.position, t.attempt, t.recorded_at, t.stage)
            from item_stage_timings t join job_items i on i.item_id = t.item_id
            where i.job_id = v.job_id
        ), '[]'::jsonb) as timings,
        (
            select jsonb_build_object(
                       'walk_id', w.walk_id, 'cache_hit', j.feed_cache_hit,
                       'walk_status', w.status, 'walk_attempts', w.attempts,
                       'stop_code', w.stop_code, 'stop_message', w.stop_message,
                       'pages_fetched', w.pages_fetched, 'walk_ms', w.walk_ms,
                       'walk_finished_at', w.finished_at, 'sound', w.sound)
            from jobs j join feed_walks w on w.walk_id = j.feed_walk_id
            where j.job_id = v.job_id
        ) as feed,
        (
            select jsonb_build_object(
                       'video_id', w.video_id, 'total', w.total,
                       'fetched', (select count(*) from comment_walk_items i
                                   where i.walk_id = w.walk_id))
            from jobs j join comment_walks w on w.walk_id = j.feed_walk_id
            where j.job_id = v.job_id and v.kind = 'comments'
        ) as comments,
        (
            select jsonb_build_object(
                       'video_id', d.video_id, 'data', d.data, 'source', d.source,
                       'fetched_at', d.fetched_at, 'updated_at', d.updated_at)
            from videos d
            where d.video_id = v.first_item_result_video_id
              and v.kind = 'video' and v.first_item_status = 'succeeded'
        ) as result_video,
        (
            select jsonb_build_object(
                       'item_id', i.item_id,
                       'requested', coalesce((j.options ->> 'transcript')::boolean, false),
                       'requested_language',
                           coalesce(i.transcript_language, j.options ->> 'language', 'en'),
                       'status', i.transcript_status,
                       'track_language', i.transcript_track_language,
                       'available_languages', i.transcript_available_languages,
                       'error_code', i.transcript_error_code,
                       'error_message', i.transcript_error_message,
                       'source', t.source, 'cues', t.cues, 'text', t.text)
            from job_items i
            join jobs j on j.job_id = i.job_id
            left join transcripts t
                   on t.video_id = i.result_video_id
                  and t.language_code_name = i.transcript_track_language
                  and i.transcript_status = 'succeeded'
            where i.item_id = v.first_item_id
              and v.kind = 'video' and v.first_item_status = 'succeeded'
        ) as transcript,
        (
            select jsonb_build_object(
                       'item_id', i.item_id, 'status', i.analysis_status,
                       'language', i.analysis_language, 'model', i.analysis_model,
                       'prompt_version', i.analysis_prompt_version,
                       'cached', i.analysis_cached, 'error_code', i.analysis_error_code,
                       'error_message', i.analysis_error_message, 'analysis', a.analysis,
                       'prompt_tokens', a.prompt_tokens,
                       'completion_tokens', a.completion_tokens,
                       'total_tokens', a.total_tokens, 'latency_ms', a.latency_ms)
            from job_items i
            left join thumbnail_analyses a on a.cache_key = i.analysis_key
            where i.item_id = v.first_item_id and i.analysis_status is not null
              and v.kind = 'video' and v.first_item_status = 'succeeded'
        ) as analysis
    from (",
        job_row_select!(),
        " where j.job_id = $1 and j.api_key_id = $2) v"
    ))
    .bind(job_id)
    .bind(api_key_id)
    .fetch_optional(executor)
    .await
}
