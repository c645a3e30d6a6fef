//! Turning a finished feed walk into the items of one job attached to it: one item per video
//! (succeeded, from the `videos` cache) or, when the job asks for enrichment, one queued item
//! per video for the ordinary extract path; counters, terminal status, webhook outbox and NOTIFY
//! in the caller's transaction.

use sqlx::PgConnection;
use sqlx::types::Json;

use crate::ids::{ItemId, JobId, WalkId};

use crate::db::comments::materialise_comments_job;
use crate::db::item_claims::finish_open_job;
use crate::db::webhooks;
use crate::job_options::StoredJobOptions;
use crate::job_status::{JobKind, JobStatus};

use super::{FeedStopCode, WalkStatus};

/// A finished walk, as far as its jobs need it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FinishedWalkRow {
    pub walk_id: WalkId,
    pub status: WalkStatus,
    pub video_ids: Vec<String>,
    pub stop_code: Option<String>,
    pub stop_message: Option<String>,
}

/// What materialising did to one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialisedJob {
    pub job_id: JobId,
    /// The job's status afterwards (`running` when its items wait for enrichment).
    pub job_status: JobStatus,
    /// Queued items made for enrichment; the workers' dispatcher enqueues them (woken by the
    /// `tokworks_items_ready` notification sent in the same transaction).
    pub items_to_enqueue: Vec<ItemId>,
}

/// Whether the job's options ask for a stage that runs per item in the extract handler.
/// The status a walk's job ends with: `failed` when nothing came and the walk stopped on an
/// error, `partial` when it stopped short after some, else `succeeded`.
pub(crate) fn terminal_status(found_any: bool, stopped_on_error: bool) -> JobStatus {
    match (found_any, stopped_on_error) {
        (false, true) => JobStatus::Failed,
        (true, true) => JobStatus::Partial,
        (_, false) => JobStatus::Succeeded,
    }
}

fn wants_enrichment(options: &StoredJobOptions) -> bool {
    options.analyze_thumbnail || options.transcript
}

/// Materialises `walk` into job `job_id` if the job is still open (else `None`, nothing written).
/// Lock order: the walk row (held by the caller), then the job row, then new item rows.
pub async fn materialise_job(
    connection: &mut PgConnection,
    job_id: JobId,
    walk: &FinishedWalkRow,
    cache_hit: bool,
    max_attempts: i32,
) -> Result<Option<MaterialisedJob>, sqlx::Error> {
    let open: Option<(JobKind, Json<StoredJobOptions>)> = sqlx::query_as(
        "select kind, options from jobs
         where job_id = $1 and status in ('queued', 'running') for update",
    )
    .bind(job_id)
    .fetch_optional(&mut *connection)
    .await?;
    let Some((kind, Json(options))) = open else {
        return Ok(None);
    };
    if kind == JobKind::Comments {
        // Its items are the walk's comments (`db::comments`), not videos.
        return materialise_comments_job(connection, job_id, walk, cache_hit)
            .await
            .map(Some);
    }
    let enrich = wants_enrichment(&options);
    let item_ids: Vec<ItemId> = walk.video_ids.iter().map(|_| ItemId::new_v7()).collect();
    let inserted: Vec<ItemId> = sqlx::query_scalar(
        "insert into job_items (item_id, job_id, position, input_url, canonical_url, video_id,
                                status, max_attempts, cache_hit, result_video_id, started_at,
                                finished_at)
         select t.item_id, $1, (t.ordinal - 1)::int4, v.data->>'url', v.data->>'url', v.video_id,
                case when $4 then 'queued' else 'succeeded' end, $5,
                case when $4 then null else $6 end,
                case when $4 then null else v.video_id end,
                case when $4 then null else now() end,
                case when $4 then null else now() end
         from unnest($2::uuid[], $3::text[]) with ordinality as t(item_id, video_id, ordinal)
         join videos v on v.video_id = t.video_id
         order by t.ordinal
         returning item_id",
    )
    .bind(job_id)
    .bind(&item_ids)
    .bind(&walk.video_ids)
    .bind(enrich)
    .bind(max_attempts)
    .bind(cache_hit)
    .fetch_all(&mut *connection)
    .await?;
    let count = i32::try_from(inserted.len())
        .map_err(|_| sqlx::Error::Protocol("too many feed items".into()))?;
    let walk_failed_early = matches!(walk.status, WalkStatus::Partial | WalkStatus::Failed);
    let stop_error = walk
        .stop_code
        .as_deref()
        .filter(|code| walk_failed_early && FeedStopCode::is_error(code));
    sqlx::query(
        "update jobs
         set items_total = $2, items_succeeded = case when $3 then 0 else $2 end,
             feed_walk_id = $4, feed_cache_hit = $5,
             status = 'running', started_at = coalesce(started_at, now()),
             error_code = coalesce($6, error_code), error_message = coalesce($7, error_message)
         where job_id = $1",
    )
    .bind(job_id)
    .bind(count)
    .bind(enrich)
    .bind(walk.walk_id)
    .bind(cache_hit)
    .bind(stop_error)
    .bind(stop_error.and(walk.stop_message.as_deref()))
    .execute(&mut *connection)
    .await?;

    if enrich && count > 0 {
        // The items wait for the workers' dispatcher, woken when this transaction commits.
        crate::db::item_claims::dispatch::notify_items_ready(&mut *connection).await?;
        return Ok(Some(MaterialisedJob {
            job_id,
            job_status: JobStatus::Running,
            items_to_enqueue: inserted,
        }));
    }
    for item_id in &inserted {
        webhooks::enqueue_job_event(&mut *connection, job_id, "item.succeeded", Some(*item_id))
            .await?;
    }
    let terminal_status = terminal_status(count > 0, stop_error.is_some());
    let status = finish_open_job(&mut *connection, job_id, terminal_status, None, None)
        .await?
        .unwrap_or(terminal_status);
    Ok(Some(MaterialisedJob {
        job_id,
        job_status: status,
        items_to_enqueue: Vec::new(),
    }))
}
