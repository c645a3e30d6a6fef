//! The dispatcher's queries (docs/fair-scheduling.md): items wait in Postgres without a queue
//! task until the workers' one active dispatcher hands a bounded window of them to Redis,
//! round-robin across API keys; the advisory lock that makes one dispatcher active at a time;
//! the `tokworks_items_ready` channel that wakes it.

use sqlx::{PgConnection, PgExecutor};

use crate::ids::{ApiKeyId, ItemId, JobId};

/// `NOTIFY` channel sent (empty payload) when items become ready to dispatch: by the submit's
/// insert, by a feed walk that creates enrichment items.
pub const ITEMS_READY_CHANNEL: &str = "tokworks_items_ready";

/// The session advisory lock held by the active dispatcher ("tokd", fits in 32 bits).
pub const DISPATCHER_LOCK_KEY: i64 = 0x746f_6b64;

/// An item just given its queue task; the caller pushes `task_id` to Redis.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DispatchedItem {
    pub item_id: ItemId,
    pub job_id: JobId,
    pub task_id: String,
    pub api_key_id: ApiKeyId,
}

/// Gives up to `task_ids.len()` queued, due, undispatched items their task ids (and
/// `enqueued_at`), in one statement, choosing round-robin across API keys: every key's oldest
/// item first, then every key's second oldest, and so on (ties by age). The update is guarded
/// (`task_id is null`, still `queued`), so two dispatchers racing never hand out one item twice.
/// Returns the dispatched items in the order chosen.
pub async fn dispatch_round_robin(
    executor: impl PgExecutor<'_>,
    task_ids: &[String],
) -> Result<Vec<DispatchedItem>, sqlx::Error> {
    if task_ids.is_empty() {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(task_ids.len()).unwrap_or(i64::MAX);
    sqlx::query_as(
        "with ready as (
             select i.item_id, i.not_before, jobs.api_key_id,
                    row_number() over (partition by jobs.api_key_id
                                       order by i.not_before, i.job_id, i.position) as turn
             from job_items i
             join jobs on jobs.job_id = i.job_id
             where i.status = 'queued' and i.task_id is null and i.duplicate_of is null
               and i.not_before <= now()
         ),
         chosen as (
             select item_id, api_key_id,
                    row_number() over (order by turn, not_before, item_id) as slot
             from ready
             order by turn, not_before, item_id
             limit $1
         ),
         dispatched as (
             update job_items i set task_id = t.task_id, enqueued_at = now()
             from chosen
             join unnest($2::text[]) with ordinality as t(task_id, slot) on t.slot = chosen.slot
             where i.item_id = chosen.item_id and i.status = 'queued' and i.task_id is null
             returning i.item_id, i.job_id, i.task_id, chosen.api_key_id, chosen.slot
         )
         select item_id, job_id, task_id, api_key_id from dispatched order by slot",
    )
    .bind(limit)
    .bind(task_ids)
    .fetch_all(executor)
    .await
}

/// Items waiting for the dispatcher (queued, due, no task yet).
pub async fn count_undispatched(executor: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from job_items
         where status = 'queued' and task_id is null and duplicate_of is null
           and not_before <= now()",
    )
    .fetch_one(executor)
    .await
}

/// Sends `NOTIFY tokworks_items_ready` (delivered when the caller's transaction commits).
pub async fn notify_items_ready(executor: impl PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, '')")
        .bind(ITEMS_READY_CHANNEL)
        .execute(executor)
        .await?;
    Ok(())
}

/// Tries to take the dispatcher's session advisory lock on `connection` (which must stay open
/// for as long as the lock is meant to be held; it is released when the session ends).
pub async fn try_lock_dispatcher(connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(DISPATCHER_LOCK_KEY)
        .fetch_one(connection)
        .await
}

/// Whether this session still holds the dispatcher's lock (an error: the session is gone).
pub async fn holds_dispatcher_lock(connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from pg_locks
                        where locktype = 'advisory' and pid = pg_backend_pid() and granted
                          and classid = 0 and objid = $1::int8::oid and objsubid = 1)",
    )
    .bind(DISPATCHER_LOCK_KEY)
    .fetch_one(connection)
    .await
}
