//! Feed walks (ARCHITECTURE.md "Feed walks"): one upstream walk of a feed (`trending|30`,
//! `hashtag|food|30`, `user|name|30`) serves every job that asked for it while it was in flight
//! (coalescing: a partial unique index allows one queued/running walk per feed key) and every job
//! that asks within the cache TTL after it ended (the feed cache). This file holds the api's side
//! (submit in one transaction, the job view's lookup); `claims` the worker's (claim, lease, end);
//! `materialise` what both use to turn a finished walk into a job's items.

pub mod claims;
pub mod materialise;
pub mod sounds;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection};

use crate::ids::{ItemId, JobId, WalkId};

use super::FEED_WALK_READY_CHANNEL;
use super::jobs::{InsertJobOutcome, NewJob, insert_job_with_items};
use crate::job_status::{JobKind, JobStatus};
use materialise::{FinishedWalkRow, materialise_job};

/// Status of a walk (`feed_walks.status`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    sqlx::Type,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum WalkStatus {
    Queued,
    Running,
    /// The feed reached `count` or TikTok said there is no more.
    Succeeded,
    /// A request failed after some pages: the walk keeps their videos.
    Partial,
    /// A request failed before any video was gathered, with no attempt left.
    Failed,
}

impl WalkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WalkStatus::Queued => "queued",
            WalkStatus::Running => "running",
            WalkStatus::Succeeded => "succeeded",
            WalkStatus::Partial => "partial",
            WalkStatus::Failed => "failed",
        }
    }
}

/// The `stop_code` of a walk that was not stopped by an error (errors store their `ErrorCode`).
pub struct FeedStopCode;

impl FeedStopCode {
    /// `count` videos were gathered.
    pub const COUNT_REACHED: &'static str = "COUNT_REACHED";
    /// TikTok said there is no more.
    pub const NO_MORE: &'static str = "NO_MORE";

    /// Whether `code` is an error code (the feed stopped short), not a normal end.
    pub fn is_error(code: &str) -> bool {
        code != Self::COUNT_REACHED && code != Self::NO_MORE
    }
}

/// A walk to create when no cached or in-flight walk of the feed exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedWalk {
    pub walk_id: WalkId,
    /// The normalised feed key (see [`feed_key`]).
    pub feed_key: String,
    /// `trending`, `hashtag`, `user`, `search` or `sound`.
    pub kind: JobKind,
    /// The hashtag (lowercase, without `#`), the username (without `@`), the normalised search
    /// query or the music id.
    pub target: Option<String>,
    pub requested_count: i32,
    /// Walk attempts (retryable failures before any video) and the budget of enrichment items.
    pub max_attempts: i32,
}

/// The normalised key of a feed: `trending|30`, `hashtag|food|30`, `user|name|30`,
/// `search|spicy ramen|20` (the query trimmed, whitespace collapsed: see
/// `sound::normalise_search_query`), `sound|7454730076952459393|30`.
pub fn feed_key(kind: JobKind, target: Option<&str>, count: i32) -> String {
    match target {
        Some(target) => format!("{kind}|{}|{count}", target.to_lowercase()),
        None => format!("{kind}|{count}"),
    }
}

/// How a submitted feed job is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedService {
    /// From a walk that ended within the TTL: the job is finished (or, when it asks for
    /// enrichment, its items are queued for the workers' dispatcher).
    FromCache {
        walk_id: WalkId,
        job_status: JobStatus,
        items_to_enqueue: Vec<ItemId>,
    },
    /// Attached to the walk of the same feed already queued or running (coalescing).
    Attached { walk_id: WalkId },
    /// A new walk was created (and the workers woken by NOTIFY on commit).
    NewWalk { walk_id: WalkId },
}

/// What [`submit_feed_job`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitFeedOutcome {
    Created(FeedService),
    /// The key already has a job with this idempotency key; nothing was written.
    IdempotencyKeyExists {
        existing_job_id: JobId,
        same_request: bool,
    },
}

/// How often the submit looks again when the in-flight walk it wanted to join finished between
/// two statements (each time it then finds that walk in the cache or creates a new one).
const SUBMIT_ROUNDS: usize = 4;

/// Inserts a feed job (`new_job`, without items) and, in the same transaction, serves it: from
/// the newest finished walk of the feed that ended less than `cache_ttl` ago (unless `refresh`
/// or no TTL), else by attaching it to the feed's in-flight walk, else by creating `walk`.
///
/// Race-free across api processes: the insert of a walk conflicts on the partial unique index
/// (one queued/running walk per key), and attaching takes `FOR SHARE` on the in-flight walk, so
/// the worker's end of that walk (an `UPDATE` of the same row) waits for this commit and then
/// sees the job — or this select waits for the worker's commit and finds the walk finished.
pub async fn submit_feed_job(
    connection: &mut PgConnection,
    new_job: &NewJob,
    walk: &NewFeedWalk,
    cache_ttl: Option<Duration>,
    refresh: bool,
) -> Result<SubmitFeedOutcome, sqlx::Error> {
    let mut transaction = connection.begin().await?;
    if let InsertJobOutcome::IdempotencyKeyExists {
        existing_job_id,
        same_request,
    } = insert_job_with_items(&mut transaction, new_job).await?
    {
        transaction.rollback().await?;
        return Ok(SubmitFeedOutcome::IdempotencyKeyExists {
            existing_job_id,
            same_request,
        });
    }
    let job_id = new_job.job_id;
    for _ in 0..SUBMIT_ROUNDS {
        if let (Some(ttl), false) = (cache_ttl, refresh)
            && let Some(cached) = fresh_walk(&mut transaction, &walk.feed_key, ttl).await?
        {
            let materialised =
                materialise_job(&mut transaction, job_id, &cached, true, walk.max_attempts).await?;
            transaction.commit().await?;
            // The job was inserted `queued` by this transaction, so it is still open.
            let (job_status, items_to_enqueue) = materialised
                .map(|job| (job.job_status, job.items_to_enqueue))
                .unwrap_or((JobStatus::Queued, Vec::new()));
            return Ok(SubmitFeedOutcome::Created(FeedService::FromCache {
                walk_id: cached.walk_id,
                job_status,
                items_to_enqueue,
            }));
        }
        let created: Option<WalkId> = sqlx::query_scalar(
            "insert into feed_walks (walk_id, feed_key, kind, target, requested_count, status,
                                     max_attempts)
             values ($1, $2, $3, $4, $5, 'queued', $6)
             on conflict (feed_key) where status in ('queued', 'running') do nothing
             returning walk_id",
        )
        .bind(walk.walk_id)
        .bind(&walk.feed_key)
        .bind(walk.kind)
        .bind(&walk.target)
        .bind(walk.requested_count)
        .bind(walk.max_attempts)
        .fetch_optional(&mut *transaction)
        .await?;
        if let Some(walk_id) = created {
            attach(&mut transaction, job_id, walk_id, false).await?;
            sqlx::query("select pg_notify($1, $2)")
                .bind(FEED_WALK_READY_CHANNEL)
                .bind(walk_id.to_string())
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            return Ok(SubmitFeedOutcome::Created(FeedService::NewWalk { walk_id }));
        }
        let in_flight: Option<(WalkId, WalkStatus)> = sqlx::query_as(
            "select walk_id, status from feed_walks
             where feed_key = $1 and status in ('queued', 'running')
             for share",
        )
        .bind(&walk.feed_key)
        .fetch_optional(&mut *transaction)
        .await?;
        if let Some((walk_id, status)) = in_flight {
            attach(
                &mut transaction,
                job_id,
                walk_id,
                status == WalkStatus::Running,
            )
            .await?;
            transaction.commit().await?;
            return Ok(SubmitFeedOutcome::Created(FeedService::Attached {
                walk_id,
            }));
        }
    }
    transaction.rollback().await?;
    Err(sqlx::Error::Protocol(
        "the feed's walk kept finishing while the job was submitted".into(),
    ))
}

async fn fresh_walk(
    connection: &mut PgConnection,
    feed_key: &str,
    ttl: Duration,
) -> Result<Option<FinishedWalkRow>, sqlx::Error> {
    sqlx::query_as(
        "select walk_id, status, video_ids, stop_code, stop_message from feed_walks
         where feed_key = $1 and status in ('succeeded', 'partial')
           and finished_at > now() - make_interval(secs => $2)
         order by finished_at desc
         limit 1",
    )
    .bind(feed_key)
    .bind(ttl.as_secs_f64())
    .fetch_optional(connection)
    .await
}

async fn attach(
    connection: &mut PgConnection,
    job_id: JobId,
    walk_id: WalkId,
    walk_running: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update jobs
         set feed_walk_id = $2, feed_cache_hit = false,
             status = case when $3 then 'running' else status end,
             started_at = case when $3 then coalesce(started_at, now()) else started_at end
         where job_id = $1",
    )
    .bind(job_id)
    .bind(walk_id)
    .bind(walk_running)
    .execute(connection)
    .await?;
    Ok(())
}

/// The feed side of a job, for its view.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct JobFeedRow {
    pub walk_id: WalkId,
    pub cache_hit: Option<bool>,
    pub walk_status: WalkStatus,
    pub walk_attempts: i32,
    pub stop_code: Option<String>,
    pub stop_message: Option<String>,
    pub pages_fetched: Option<i32>,
    pub walk_ms: Option<f64>,
    pub walk_finished_at: Option<DateTime<Utc>>,
    /// A `sound` walk's sound, once the walk read it.
    #[serde(default)]
    pub sound: Option<sqlx::types::Json<sounds::StoredSound>>,
}

/// The walk serving job `job_id`, if it is a feed job.
pub async fn find_job_feed(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
) -> Result<Option<JobFeedRow>, sqlx::Error> {
    sqlx::query_as(
        "select w.walk_id, j.feed_cache_hit as cache_hit, w.status as walk_status,
                w.attempts as walk_attempts, w.stop_code, w.stop_message, w.pages_fetched,
                w.walk_ms, w.finished_at as walk_finished_at, w.sound
         from jobs j join feed_walks w on w.walk_id = j.feed_walk_id
         where j.job_id = $1",
    )
    .bind(job_id)
    .fetch_optional(executor)
    .await
}
