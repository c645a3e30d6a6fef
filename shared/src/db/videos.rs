//! The `videos` cache (latest metadata of each post, with the raw itemStruct it came from) and
//! the `thumbnails` bytes stored next to it at extraction time (upstream cover URLs expire).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgExecutor};

use crate::db::nul_free::json_without_nul;
use crate::video::Video;

/// A stored video that is recent enough to serve from cache.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FreshVideo {
    pub video_id: String,
    pub fetched_at: DateTime<Utc>,
}

/// The stored video `video_id` if it was fetched less than `max_age` ago.
pub async fn fresh_video(
    executor: impl PgExecutor<'_>,
    video_id: &str,
    max_age: Duration,
) -> Result<Option<FreshVideo>, sqlx::Error> {
    sqlx::query_as(
        "select video_id, fetched_at from videos
         where video_id = $1 and fetched_at > now() - make_interval(secs => $2)",
    )
    .bind(video_id)
    .bind(max_age.as_secs_f64())
    .fetch_optional(executor)
    .await
}

/// The stored video `video_id` if it was fetched at or after `since` (for a job asking for
/// `refresh`: a copy fetched for it — by its feed walk, say — is as fresh as it asked).
pub async fn video_fetched_since(
    executor: impl PgExecutor<'_>,
    video_id: &str,
    since: DateTime<Utc>,
) -> Result<Option<FreshVideo>, sqlx::Error> {
    sqlx::query_as(
        "select video_id, fetched_at from videos where video_id = $1 and fetched_at >= $2",
    )
    .bind(video_id)
    .bind(since)
    .fetch_optional(executor)
    .await
}

/// A video to store: the `Video` result (its `id` and `source` are the row's), plus the raw item
/// it was mapped from.
#[derive(Debug, Clone)]
pub struct VideoRecord<'a> {
    pub video: &'a Video,
    pub raw_item: Option<&'a serde_json::Value>,
    pub fetched_at: DateTime<Utc>,
}

/// Inserts or replaces the stored video (the newest fetch wins).
pub async fn upsert_video(
    connection: &mut PgConnection,
    record: &VideoRecord<'_>,
) -> Result<(), sqlx::Error> {
    let data =
        serde_json::to_value(record.video).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    sqlx::query(
        "insert into videos (video_id, data, raw_item, source, fetched_at)
         values ($1, $2, $3, $4, $5)
         on conflict (video_id) do update
         set data = excluded.data, raw_item = excluded.raw_item, source = excluded.source,
             fetched_at = excluded.fetched_at, updated_at = now()
         where videos.fetched_at <= excluded.fetched_at",
    )
    .bind(record.video.id.as_str())
    .bind(json_without_nul(&data).as_ref())
    .bind(record.raw_item.map(json_without_nul).as_deref())
    .bind(record.video.source.as_str())
    .bind(record.fetched_at)
    .execute(connection)
    .await?;
    Ok(())
}

/// Inserts or replaces the cover bytes of `video_id` (the video row must exist).
pub async fn upsert_thumbnail(
    connection: &mut PgConnection,
    video_id: &str,
    content_type: &str,
    bytes: &[u8],
    source_url: &str,
) -> Result<(), sqlx::Error> {
    let sha256 = Sha256::digest(bytes).to_vec();
    sqlx::query(
        "insert into thumbnails (video_id, content_type, bytes, sha256, source_url, fetched_at)
         values ($1, $2, $3, $4, $5, now())
         on conflict (video_id) do update
         set content_type = excluded.content_type, bytes = excluded.bytes,
             sha256 = excluded.sha256, source_url = excluded.source_url, fetched_at = now()",
    )
    .bind(video_id)
    .bind(content_type)
    .bind(bytes)
    .bind(sha256)
    .bind(source_url)
    .execute(connection)
    .await?;
    Ok(())
}

/// Stored thumbnail of a video.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredThumbnail {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub source_url: String,
}

/// The stored thumbnail of `video_id`, if any.
pub async fn thumbnail(
    executor: impl PgExecutor<'_>,
    video_id: &str,
) -> Result<Option<StoredThumbnail>, sqlx::Error> {
    sqlx::query_as("select content_type, bytes, source_url from thumbnails where video_id = $1")
        .bind(video_id)
        .fetch_optional(executor)
        .await
}
