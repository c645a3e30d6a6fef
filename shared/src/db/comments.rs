//! Comments (docs/comments.md): the `comments` of a finished `comments` walk (upserted in the
//! walk's ending transaction), the walk's ordered list (`comment_walk_items`), a comments job's
//! materialisation (counters and status, no `job_items`), the reads of `GET /v1/jobs/{id}/items`
//! and of the job view, and the retention pass over comments no walk lists any more.

use sqlx::PgConnection;

use crate::comment::Comment;
use crate::ids::{JobId, WalkId};

use super::feed_walks::materialise::{FinishedWalkRow, MaterialisedJob, terminal_status};
use super::feed_walks::{FeedStopCode, WalkStatus};
use super::item_claims::finish_open_job;
use super::nul_free::json_without_nul;

/// Rows written per statement when storing a walk's comments.
const STORE_CHUNK: usize = 1_000;

/// What a comments walk found, stored when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkComments<'a> {
    /// The video the walk's URL resolved to.
    pub video_id: &'a str,
    /// TikTok's `total` (first list page), when it gave one.
    pub total: Option<i64>,
    /// In job order: each top-level comment followed by its replies.
    pub comments: &'a [Comment],
}

/// Stores `found` for `walk_id` in the caller's transaction (before the walk is ended, so the
/// jobs materialised by that end see it): upserts every comment (newest fetch wins) and writes
/// the walk's ordered list. A comment listed twice keeps its first position only.
pub async fn store_walk_comments(
    connection: &mut PgConnection,
    walk_id: WalkId,
    found: &WalkComments<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into comment_walks (walk_id, video_id, total) values ($1, $2, $3)
         on conflict (walk_id) do update set video_id = excluded.video_id, total = excluded.total",
    )
    .bind(walk_id)
    .bind(found.video_id)
    .bind(found.total)
    .execute(&mut *connection)
    .await?;
    sqlx::query("delete from comment_walk_items where walk_id = $1")
        .bind(walk_id)
        .execute(&mut *connection)
        .await?;
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&Comment> = found
        .comments
        .iter()
        .filter(|comment| seen.insert(comment.id.as_str()))
        .collect();
    for (chunk_index, chunk) in unique.chunks(STORE_CHUNK).enumerate() {
        let mut ids = Vec::with_capacity(chunk.len());
        let mut video_ids = Vec::with_capacity(chunk.len());
        let mut parent_ids = Vec::with_capacity(chunk.len());
        let mut data = Vec::with_capacity(chunk.len());
        for comment in chunk {
            let value = serde_json::to_value(comment)
                .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
            ids.push(comment.id.clone());
            video_ids.push(comment.video_id.clone());
            parent_ids.push(comment.parent_id.clone());
            data.push(json_without_nul(&value).into_owned());
        }
        sqlx::query(
            "insert into comments (comment_id, video_id, parent_id, data, fetched_at)
             select * , now() from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
             on conflict (comment_id) do update
             set video_id = excluded.video_id, parent_id = excluded.parent_id,
                 data = excluded.data, fetched_at = excluded.fetched_at",
        )
        .bind(&ids)
        .bind(&video_ids)
        .bind(&parent_ids)
        .bind(&data)
        .execute(&mut *connection)
        .await?;
        let first = i32::try_from(chunk_index * STORE_CHUNK)
            .map_err(|_| sqlx::Error::Protocol("too many comments".into()))?;
        sqlx::query(
            "insert into comment_walk_items (walk_id, position, comment_id)
             select $1, $2 + (t.ordinal - 1)::int4, t.comment_id
             from unnest($3::text[]) with ordinality as t(comment_id, ordinal)",
        )
        .bind(walk_id)
        .bind(first)
        .bind(&ids)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Materialises a finished comments walk into job `job_id` (locked, open, by the caller's
/// `feed_walks::materialise::materialise_job`): counters = the walk's comments, status
/// `succeeded`, `partial` (stopped short by an error after some comments) or `failed` (an error
/// before any). A comments job has no `job_items`: its items are the walk's comments.
pub(crate) async fn materialise_comments_job(
    connection: &mut PgConnection,
    job_id: JobId,
    walk: &FinishedWalkRow,
    cache_hit: bool,
) -> Result<MaterialisedJob, sqlx::Error> {
    let count: i64 =
        sqlx::query_scalar("select count(*) from comment_walk_items where walk_id = $1")
            .bind(walk.walk_id)
            .fetch_one(&mut *connection)
            .await?;
    let count =
        i32::try_from(count).map_err(|_| sqlx::Error::Protocol("too many comments".into()))?;
    let walk_failed_early = matches!(walk.status, WalkStatus::Partial | WalkStatus::Failed);
    let stop_error = walk
        .stop_code
        .as_deref()
        .filter(|code| walk_failed_early && FeedStopCode::is_error(code));
    sqlx::query(
        "update jobs
         set items_total = $2, items_succeeded = $2, feed_walk_id = $3, feed_cache_hit = $4,
             status = 'running', started_at = coalesce(started_at, now()),
             error_code = coalesce($5, error_code), error_message = coalesce($6, error_message)
         where job_id = $1",
    )
    .bind(job_id)
    .bind(count)
    .bind(walk.walk_id)
    .bind(cache_hit)
    .bind(stop_error)
    .bind(stop_error.and(walk.stop_message.as_deref()))
    .execute(&mut *connection)
    .await?;
    let terminal_status = terminal_status(count > 0, stop_error.is_some());
    let status = finish_open_job(&mut *connection, job_id, terminal_status, None, None)
        .await?
        .unwrap_or(terminal_status);
    Ok(MaterialisedJob {
        job_id,
        job_status: status,
        items_to_enqueue: Vec::new(),
    })
}

/// A comment at its position in a job.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PositionedComment {
    pub position: i32,
    #[sqlx(json)]
    pub comment: Comment,
}

/// Up to `limit` comments of job `job_id` after position `after` (all from the start when
/// `None`), in position order. Empty for a job that is not a finished comments job.
pub async fn job_comments_page(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
    after: Option<i32>,
    limit: i64,
) -> Result<Vec<PositionedComment>, sqlx::Error> {
    sqlx::query_as(
        "select i.position, c.data as comment
         from jobs j
         join comment_walk_items i on i.walk_id = j.feed_walk_id
         join comments c on c.comment_id = i.comment_id
         where j.job_id = $1 and j.kind = 'comments' and j.items_total > 0
           and i.position > coalesce($2, -1)
         order by i.position
         limit $3",
    )
    .bind(job_id)
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// The comments side of a job, for its view.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct JobCommentsRow {
    pub video_id: String,
    /// TikTok's `total`.
    pub total: Option<i64>,
    /// Comments (and replies) stored for the job.
    pub fetched: i64,
}

/// The video, TikTok's total and the fetched count of comments job `job_id` once its walk has
/// resolved the video (`None` before, or for another kind of job).
pub async fn find_job_comments(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
) -> Result<Option<JobCommentsRow>, sqlx::Error> {
    sqlx::query_as(
        "select w.video_id, w.total,
                (select count(*) from comment_walk_items i where i.walk_id = w.walk_id) as fetched
         from jobs j join comment_walks w on w.walk_id = j.feed_walk_id
         where j.job_id = $1 and j.kind = 'comments'",
    )
    .bind(job_id)
    .fetch_optional(executor)
    .await
}

/// Deletes up to `limit` comments fetched more than `older_than` ago that no walk lists any
/// more (their walks expired with their jobs); returns how many.
pub async fn delete_unreferenced_comments_batch(
    executor: impl sqlx::PgExecutor<'_>,
    older_than: std::time::Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "delete from comments where comment_id in (
             select c.comment_id from comments c
             where c.fetched_at < now() - make_interval(secs => $1)
               and not exists (select 1 from comment_walk_items i where i.comment_id = c.comment_id)
             order by c.fetched_at
             limit $2
             for update of c skip locked)",
    )
    .bind(older_than.as_secs_f64())
    .bind(limit)
    .execute(executor)
    .await?
    .rows_affected())
}
