//! Watches (docs/watches.md): a feed (user, hashtag, trending; search and sound once they
//! exist) that the workers run as an ordinary feed job every `every_seconds`, reporting once
//! what no earlier run of the watch found. This file holds the api's side (create within the
//! key's limit, read, list, change, pause, resume, run now, delete); `schedule` the workers'
//! claim of due watches, `evaluate` the end of a run, `listing` the runs and videos lists.

pub mod evaluate;
pub mod listing;
pub mod schedule;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Acquire, PgConnection};

use crate::db::jobs::NewJobWebhook;
use crate::ids::{ApiKeyId, WatchId};
use crate::job_options::StoredJobOptions;
use crate::job_status::JobKind;

/// The jitter of a new or resumed watch's first run: at most this many seconds.
pub const FIRST_RUN_JITTER_SECONDS: f64 = 5.0;

/// Whether a watch runs (`watches.status`).
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
pub enum WatchStatus {
    Active,
    Paused,
}

/// Why a watch is paused (`watches.paused_reason`).
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
pub enum WatchPausedReason {
    /// Its owner paused it.
    Requested,
    /// Its runs failed for `WATCH_PAUSE_AFTER_FAILING_SECONDS`.
    Failing,
}

/// The status of one run (`watch_runs.status`): `running` until its job ends, then the job's.
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
pub enum WatchRunStatus {
    Running,
    Succeeded,
    Partial,
    Failed,
    Canceled,
}

/// The target column's name in a feed job request and a watch: `username`, `hashtag`, `query`,
/// `sound` (`None` for trending).
pub fn target_field(kind: JobKind) -> Option<&'static str> {
    match kind {
        JobKind::User => Some("username"),
        JobKind::Hashtag => Some("hashtag"),
        JobKind::Search => Some("query"),
        JobKind::Sound => Some("sound"),
        JobKind::Trending | JobKind::Video | JobKind::Batch | JobKind::Comments => None,
    }
}

/// A watch to insert.
#[derive(Debug, Clone)]
pub struct NewWatch {
    pub watch_id: WatchId,
    pub api_key_id: ApiKeyId,
    /// A feed kind (`JobKind::is_feed`).
    pub kind: JobKind,
    /// The normalised target, as the feed job stores it.
    pub target: Option<String>,
    pub every_seconds: i32,
    pub count: i32,
    pub report_existing: bool,
    /// The options as asked (each run's job gets them with `refresh`).
    pub options: StoredJobOptions,
    pub metadata: Value,
    /// Walk attempts of each run (ITEM_MAX_ATTEMPTS).
    pub max_attempts: i32,
    pub webhook: Option<NewJobWebhook>,
}

/// A watch as read, with its counts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WatchRow {
    pub watch_id: WatchId,
    pub api_key_id: ApiKeyId,
    pub kind: JobKind,
    pub target: Option<String>,
    pub every_seconds: i32,
    pub count: i32,
    pub report_existing: bool,
    #[sqlx(json)]
    pub options: StoredJobOptions,
    pub metadata: Value,
    pub webhook_url: Option<String>,
    pub webhook_events: Option<Vec<String>>,
    pub status: WatchStatus,
    pub paused_reason: Option<WatchPausedReason>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub runs: i64,
    pub videos_seen: i64,
    pub run_in_flight: bool,
}

/// The columns of a [`WatchRow`] from `watches w` (a literal, so queries stay static strings).
macro_rules! watch_columns {
    () => {
        "w.watch_id, w.api_key_id, w.kind, w.target, w.every_seconds, w.count,
    w.report_existing, w.options, w.metadata, w.webhook_url, w.webhook_events, w.status,
    w.paused_reason, w.next_run_at, w.last_run_at, w.last_success_at, w.consecutive_failures,
    w.last_error_code, w.last_error_message, w.created_at, w.updated_at,
    (select count(*) from watch_runs r where r.watch_id = w.watch_id) as runs,
    (select count(*) from watch_videos v where v.watch_id = w.watch_id) as videos_seen,
    exists (select 1 from watch_runs r where r.watch_id = w.watch_id and r.status = 'running')
        as run_in_flight"
    };
}

/// What [`create_watch`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateWatchOutcome {
    Created(Box<WatchRow>),
    /// The key already has `max` watches; nothing was written.
    LimitReached {
        max: i64,
    },
}

/// Inserts `watch` unless its key already has its maximum of watches (`api_keys.max_watches`,
/// else `default_max`). The key's row is locked for the count, so two concurrent creates
/// cannot both take the last place. The first run is due within [`FIRST_RUN_JITTER_SECONDS`].
pub async fn create_watch(
    connection: &mut PgConnection,
    watch: &NewWatch,
    default_max: i64,
) -> Result<CreateWatchOutcome, sqlx::Error> {
    let mut transaction = connection.begin().await?;
    let max: Option<i64> = sqlx::query_scalar(
        "select coalesce(max_watches::int8, $2) from api_keys where api_key_id = $1 for update",
    )
    .bind(watch.api_key_id)
    .bind(default_max)
    .fetch_optional(&mut *transaction)
    .await?;
    let max = max.unwrap_or(default_max);
    let existing: i64 = sqlx::query_scalar("select count(*) from watches where api_key_id = $1")
        .bind(watch.api_key_id)
        .fetch_one(&mut *transaction)
        .await?;
    if existing >= max {
        transaction.rollback().await?;
        return Ok(CreateWatchOutcome::LimitReached { max });
    }
    sqlx::query(
        "insert into watches (watch_id, api_key_id, kind, target, every_seconds, count,
                              report_existing, options, metadata, max_attempts, webhook_url,
                              webhook_events, next_run_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                 now() + make_interval(secs => random() * least($13, $5::float8)))",
    )
    .bind(watch.watch_id)
    .bind(watch.api_key_id)
    .bind(watch.kind)
    .bind(&watch.target)
    .bind(watch.every_seconds)
    .bind(watch.count)
    .bind(watch.report_existing)
    .bind(Json(&watch.options))
    .bind(&watch.metadata)
    .bind(watch.max_attempts)
    .bind(watch.webhook.as_ref().map(|webhook| webhook.url.as_str()))
    .bind(watch.webhook.as_ref().map(|webhook| webhook.events.clone()))
    .bind(FIRST_RUN_JITTER_SECONDS)
    .execute(&mut *transaction)
    .await?;
    let row = find_watch(&mut *transaction, watch.api_key_id, watch.watch_id)
        .await?
        .ok_or_else(|| sqlx::Error::Protocol("the inserted watch is not readable".into()))?;
    transaction.commit().await?;
    Ok(CreateWatchOutcome::Created(Box::new(row)))
}

/// Watch `watch_id` of key `api_key_id` (another key's watch is `None`).
pub async fn find_watch(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
    watch_id: WatchId,
) -> Result<Option<WatchRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "select ",
        watch_columns!(),
        " from watches w where w.watch_id = $1 and w.api_key_id = $2"
    ))
    .bind(watch_id)
    .bind(api_key_id)
    .fetch_optional(executor)
    .await
}

/// The key's watches, newest first, older than `before` when given; at most `limit`.
pub async fn list_watches(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
    before: Option<WatchId>,
    limit: i64,
) -> Result<Vec<WatchRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "select ",
        watch_columns!(),
        " from watches w
         where w.api_key_id = $1 and ($2::uuid is null or w.watch_id < $2)
         order by w.watch_id desc limit $3"
    ))
    .bind(api_key_id)
    .bind(before)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// The changes of a `PATCH`: `None` leaves a field alone; `webhook: Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct WatchChanges {
    pub every_seconds: Option<i32>,
    pub count: Option<i32>,
    pub report_existing: Option<bool>,
    pub options: Option<StoredJobOptions>,
    pub metadata: Option<Value>,
    pub webhook: Option<Option<NewJobWebhook>>,
}

/// Applies `changes` to the key's watch. A changed `every` reschedules an active watch from its
/// last run (due at once when that is already past); a watch that never ran keeps its due time.
pub async fn update_watch(
    connection: &mut PgConnection,
    api_key_id: ApiKeyId,
    watch_id: WatchId,
    changes: &WatchChanges,
) -> Result<Option<WatchRow>, sqlx::Error> {
    let mut transaction = connection.begin().await?;
    let webhook_set = changes.webhook.is_some();
    let webhook = changes.webhook.clone().flatten();
    let updated: Option<WatchId> = sqlx::query_scalar(
        "update watches
         set every_seconds = coalesce($3, every_seconds),
             count = coalesce($4, count),
             report_existing = coalesce($5, report_existing),
             options = coalesce($6, options),
             metadata = coalesce($7, metadata),
             webhook_url = case when $8 then $9 else webhook_url end,
             webhook_events = case when $8 then $10 else webhook_events end,
             next_run_at = case when $3 is not null and status = 'active'
                                     and last_run_at is not null
                                then last_run_at + make_interval(secs => $3)
                                else next_run_at end,
             updated_at = now()
         where watch_id = $1 and api_key_id = $2
         returning watch_id",
    )
    .bind(watch_id)
    .bind(api_key_id)
    .bind(changes.every_seconds)
    .bind(changes.count)
    .bind(changes.report_existing)
    .bind(changes.options.as_ref().map(Json))
    .bind(&changes.metadata)
    .bind(webhook_set)
    .bind(webhook.as_ref().map(|webhook| webhook.url.as_str()))
    .bind(webhook.as_ref().map(|webhook| webhook.events.clone()))
    .fetch_optional(&mut *transaction)
    .await?;
    if updated.is_none() {
        transaction.rollback().await?;
        return Ok(None);
    }
    let row = find_watch(&mut *transaction, api_key_id, watch_id).await?;
    transaction.commit().await?;
    Ok(row)
}

/// Deletes the key's watch with its runs and seen videos (the runs' jobs stay). `false` when
/// the key has no such watch.
pub async fn delete_watch(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
    watch_id: WatchId,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("delete from watches where watch_id = $1 and api_key_id = $2")
        .bind(watch_id)
        .bind(api_key_id)
        .execute(executor)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

/// Pauses the key's watch (`paused_reason: requested`; no due time). A run in flight still ends
/// and is evaluated.
pub async fn pause_watch(
    connection: &mut PgConnection,
    api_key_id: ApiKeyId,
    watch_id: WatchId,
) -> Result<Option<WatchRow>, sqlx::Error> {
    sqlx::query(
        "update watches
         set status = 'paused', paused_reason = 'requested', next_run_at = null, updated_at = now()
         where watch_id = $1 and api_key_id = $2",
    )
    .bind(watch_id)
    .bind(api_key_id)
    .execute(&mut *connection)
    .await?;
    find_watch(&mut *connection, api_key_id, watch_id).await
}

/// Resumes the key's watch: active, due within [`FIRST_RUN_JITTER_SECONDS`], failures reset.
/// An active watch is left as it is.
pub async fn resume_watch(
    connection: &mut PgConnection,
    api_key_id: ApiKeyId,
    watch_id: WatchId,
) -> Result<Option<WatchRow>, sqlx::Error> {
    sqlx::query(
        "update watches
         set status = 'active', paused_reason = null, consecutive_failures = 0,
             failing_since = null,
             next_run_at = now() + make_interval(secs => random() * least($3, every_seconds::float8)),
             updated_at = now()
         where watch_id = $1 and api_key_id = $2 and status = 'paused'",
    )
    .bind(watch_id)
    .bind(api_key_id)
    .bind(FIRST_RUN_JITTER_SECONDS)
    .execute(&mut *connection)
    .await?;
    find_watch(&mut *connection, api_key_id, watch_id).await
}

/// What [`run_watch_now`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum RunNowOutcome {
    /// Due now: the next scheduler round runs it.
    Scheduled(Box<WatchRow>),
    NotFound,
    Paused,
    /// A run is in flight; nothing changed.
    InFlight,
}

/// Makes the key's active watch due now, unless a run is in flight.
pub async fn run_watch_now(
    connection: &mut PgConnection,
    api_key_id: ApiKeyId,
    watch_id: WatchId,
) -> Result<RunNowOutcome, sqlx::Error> {
    let mut transaction = connection.begin().await?;
    let Some(row) = find_watch(&mut *transaction, api_key_id, watch_id).await? else {
        transaction.rollback().await?;
        return Ok(RunNowOutcome::NotFound);
    };
    let outcome = if row.status == WatchStatus::Paused {
        RunNowOutcome::Paused
    } else if row.run_in_flight {
        RunNowOutcome::InFlight
    } else {
        sqlx::query(
            "update watches set next_run_at = now(), updated_at = now()
             where watch_id = $1 and status = 'active'",
        )
        .bind(watch_id)
        .execute(&mut *transaction)
        .await?;
        match find_watch(&mut *transaction, api_key_id, watch_id).await? {
            Some(row) => RunNowOutcome::Scheduled(Box::new(row)),
            None => RunNowOutcome::NotFound,
        }
    };
    transaction.commit().await?;
    Ok(outcome)
}
