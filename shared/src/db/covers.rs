//! The stored cover (thumbnail bytes) of a video, as a key may see it: only when one of the key's
//! items resolved to that video (the rule of `GET /v1/videos/{id}`).

use sqlx::PgExecutor;

use crate::ids::ApiKeyId;

/// A cover's bytes and the content type it was stored with.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CoverRow {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The stored cover of `video_id`, if there is one and an item of one of `api_key_id`'s jobs
/// resolved to that video; `None` otherwise (no such video, not the key's, no stored cover).
pub async fn cover_for_key(
    executor: impl PgExecutor<'_>,
    video_id: &str,
    api_key_id: ApiKeyId,
) -> Result<Option<CoverRow>, sqlx::Error> {
    sqlx::query_as::<_, CoverRow>(
        "select t.content_type, t.bytes
         from thumbnails t
         where t.video_id = $1
           and exists (select 1 from job_items i join jobs j on j.job_id = i.job_id
                       where i.result_video_id = t.video_id and j.api_key_id = $2)",
    )
    .bind(video_id)
    .bind(api_key_id)
    .fetch_optional(executor)
    .await
}
