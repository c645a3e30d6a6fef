//! What the job event stream (`GET /v1/jobs/{id}/events`) reads: the items of a job that ended,
//! in `(finished_at, item_id)` order after a cursor, and the commit horizon below which that
//! order can no longer gain rows.
//!
//! `finished_at` is the `now()` of the transaction that ended the item, i.e. its *start* time:
//! a slow transaction can commit an item whose `finished_at` is older than items already read.
//! Reading only items finished before [`settled_horizon`] (the start of the oldest transaction
//! still open in this database, bounded by a maximum lag) keeps the order append-only, so a
//! cursor never skips an item that commits late.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ids::{ItemId, JobId};

use crate::job_status::ItemStatus;

/// An item that ended (succeeded, failed or canceled), without its result.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EndedItemRow {
    pub item_id: ItemId,
    pub position: i32,
    pub status: ItemStatus,
    pub error_code: Option<String>,
    pub custom_id: Option<String>,
    pub video_id: Option<String>,
    pub finished_at: DateTime<Utc>,
}

/// A position in the `(finished_at, item_id)` order of a job's ended items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedItemCursor {
    pub finished_at: DateTime<Utc>,
    pub item_id: ItemId,
}

impl EndedItemRow {
    /// The cursor just after this item.
    pub fn cursor(&self) -> EndedItemCursor {
        EndedItemCursor {
            finished_at: self.finished_at,
            item_id: self.item_id,
        }
    }
}

/// The ended items of `job_id` after `after` (all when `None`) that finished strictly before
/// `before`, oldest first, at most `limit` (the caller has checked that the job is the key's).
pub async fn list_ended_items(
    executor: impl sqlx::PgExecutor<'_>,
    job_id: JobId,
    after: Option<EndedItemCursor>,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<EndedItemRow>, sqlx::Error> {
    sqlx::query_as::<_, EndedItemRow>(
        "select item_id, position, status, error_code, custom_id, video_id, finished_at
         from job_items
         where job_id = $1
           and status in ('succeeded', 'failed', 'canceled')
           and finished_at is not null
           and finished_at < $4
           and ($2::timestamptz is null or (finished_at, item_id) > ($2, $3))
         order by finished_at, item_id
         limit $5",
    )
    .bind(job_id)
    .bind(after.map(|cursor| cursor.finished_at))
    .bind(after.map(|cursor| cursor.item_id))
    .bind(before)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// The time before which every item end has committed: `now()`, or the start of the oldest
/// transaction still open in this database (another session's), but never more than `max_lag`
/// before `now()` (so an idle-in-transaction session cannot stall streams).
///
/// Run it as its own statement *before* [`list_ended_items`]: a transaction open now started
/// no earlier than the horizon, and one that starts later gets a later `now()`.
/// Sessions of other roles show no `xact_start` to an unprivileged role; the horizon is then
/// `now()` and an item end that commits late (rare: the worker's end transaction is short) can
/// be missed by a stream that has already passed it; it is still listed by `/items`.
pub async fn settled_horizon(
    executor: impl sqlx::PgExecutor<'_>,
    max_lag: Duration,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "select least(now(), greatest(now() - make_interval(secs => $1),
                      coalesce((select min(xact_start) from pg_stat_activity
                                where datname = current_database()
                                  and pid <> pg_backend_pid()
                                  and xact_start is not null), now())))",
    )
    .bind(max_lag.as_secs_f64())
    .fetch_one(executor)
    .await
}
