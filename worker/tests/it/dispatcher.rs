//! The dispatcher: a bounded window of tasks in Redis, filled round-robin across API keys from
//! the backlog in Postgres; one active dispatcher at a time; lost tasks pushed again.

use std::time::Duration;
use tokworks_shared::ids::JobId;

use serde_json::json;
use sqlx::PgPool;
use tokworks_shared::db::item_claims::dispatch;
use tokworks_worker::background::dispatcher::{DispatchSettings, Dispatcher};
use tokworks_worker::background::reconciler::reconcile_once;

use crate::support::{insert_job, item_row, unique_queue};

fn urls(prefix: u64, count: u64) -> Vec<String> {
    (0..count)
        .map(|n| format!("https://www.tiktok.com/@a/video/73{prefix:02}{n:015}"))
        .collect()
}

async fn job_of(pool: &PgPool, prefix: u64, count: u64) -> JobId {
    let urls = urls(prefix, count);
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    insert_job(pool, &refs, 3, json!({})).await.0
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_window_is_filled_round_robin_across_keys(pool: PgPool) {
    let queue = unique_queue().await;
    // Each job has its own key (insert_job makes one); A's 6 items are the oldest.
    let a = job_of(&pool, 1, 6).await;
    let b = job_of(&pool, 2, 2).await;
    let c = job_of(&pool, 3, 1).await;
    let mut dispatcher = Dispatcher::new(pool.clone(), queue.clone(), DispatchSettings::new(6, 4));

    let round = dispatcher.dispatch_once().await.unwrap();

    let jobs: Vec<JobId> = round.dispatched.iter().map(|item| item.job_id).collect();
    assert_eq!(jobs, [a, b, c, a, b, a], "one item per key per turn");
    assert_eq!(queue.depth().await.unwrap().pending, 6);
    for item in &round.dispatched {
        let row = item_row(&pool, item.item_id).await;
        assert_eq!(row.task_id.as_deref(), Some(item.task_id.as_str()));
        assert!(queue.contains_task(&item.task_id).await.unwrap());
    }
    // The window is full: nothing more until workers take tasks.
    assert!(
        dispatcher
            .dispatch_once()
            .await
            .unwrap()
            .dispatched
            .is_empty()
    );
    assert_eq!(dispatch::count_undispatched(&pool).await.unwrap(), 3);
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn only_one_dispatcher_is_active_at_a_time(pool: PgPool) {
    let queue = unique_queue().await;
    let settings = DispatchSettings::new(0, 4);
    let mut first = Dispatcher::new(pool.clone(), queue.clone(), settings);
    let mut second = Dispatcher::new(pool.clone(), queue.clone(), settings);

    assert!(first.try_lead().await);
    assert!(!second.try_lead().await, "the lock is held by the first");
    assert!(first.try_lead().await, "the first stays active");
    first.resign().await;
    assert!(second.try_lead().await, "the second takes over");
    assert!(!first.try_lead().await);
    second.resign().await;
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn running_dispatchers_dispatch_each_item_once(pool: PgPool) {
    let queue = unique_queue().await;
    job_of(&pool, 1, 5).await;
    job_of(&pool, 2, 5).await;
    let settings = DispatchSettings::new(100, 4);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let first =
        tokio::spawn(Dispatcher::new(pool.clone(), queue.clone(), settings).run(shutdown.clone()));
    let second = tokio::spawn(Dispatcher::new(pool.clone(), queue.clone(), settings).run(shutdown));

    tokio::time::timeout(Duration::from_secs(20), async {
        while dispatch::count_undispatched(&pool).await.unwrap() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the active dispatcher hands out every item");
    assert_eq!(queue.depth().await.unwrap().pending, 10, "each item once");
    let locks: i64 = sqlx::query_scalar(
        "select count(*) from pg_locks
         where locktype = 'advisory' and granted and objid = $1::int8::oid
           and database = (select oid from pg_database where datname = current_database())",
    )
    .bind(dispatch::DISPATCHER_LOCK_KEY)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(locks, 1, "one dispatcher holds the lock");

    // A new submit wakes the active dispatcher (NOTIFY), without waiting for the idle poll.
    job_of(&pool, 3, 1).await;
    dispatch::notify_items_ready(&pool).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while queue.depth().await.unwrap().pending < 11 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the new item is dispatched");

    stop.send(true).unwrap();
    first.await.unwrap();
    second.await.unwrap();
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_dispatched_task_redis_lost_is_pushed_again_and_undispatched_items_wait(pool: PgPool) {
    let queue = unique_queue().await;
    job_of(&pool, 1, 3).await;
    let mut dispatcher = Dispatcher::new(pool.clone(), queue.clone(), DispatchSettings::new(1, 4));
    let round = dispatcher.dispatch_once().await.unwrap();
    let lost = &round.dispatched[0];

    queue.delete_all_keys().await.unwrap(); // Redis restarted empty.
    let report = reconcile_once(&pool, &queue, Duration::ZERO).await.unwrap();

    assert_eq!(
        report.reenqueued, 1,
        "only the dispatched item; the others wait"
    );
    let row = item_row(&pool, lost.item_id).await;
    let new_task_id = row.task_id.expect("a new task recorded");
    assert_ne!(new_task_id, lost.task_id);
    assert!(queue.contains_task(&new_task_id).await.unwrap());
    assert_eq!(dispatch::count_undispatched(&pool).await.unwrap(), 2);
    queue.delete_all_keys().await.unwrap();
}
