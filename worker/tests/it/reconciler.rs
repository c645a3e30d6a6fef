//! The reconciler: what Postgres says is unfinished but Redis does not carry is enqueued again.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tokworks_shared::db::item_claims;
use tokworks_worker::background::reconciler::reconcile_once;

use crate::support::{insert_job, item_row, unique_queue};

const NO_GRACE: Duration = Duration::ZERO;

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn queued_items_redis_lost_are_enqueued_again_once(pool: PgPool) {
    let queue = unique_queue().await;
    let (_, tasks) = insert_job(
        &pool,
        &[
            "https://www.tiktok.com/@a/video/7300000000000000001",
            "https://www.tiktok.com/@a/video/7300000000000000002",
        ],
        3,
        json!({}),
    )
    .await;
    // Item 0 was pushed and Redis still has it; item 1's task was lost (Redis restart).
    let kept = queue.push(&tasks[..1]).await.unwrap();
    sqlx::query("update job_items set task_id = $2, enqueued_at = now() where item_id = $1")
        .bind(tasks[0].item_id)
        .bind(&kept[0])
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update job_items set task_id = 'LOST', enqueued_at = now() where item_id = $1")
        .bind(tasks[1].item_id)
        .execute(&pool)
        .await
        .unwrap();

    let report = reconcile_once(&pool, &queue, NO_GRACE).await.unwrap();
    assert_eq!(report.reenqueued, 1);
    let lost = item_row(&pool, tasks[1].item_id).await;
    let new_task_id = lost.task_id.expect("new task recorded");
    assert_ne!(new_task_id, "LOST");
    assert!(queue.contains_task(&new_task_id).await.unwrap());
    assert_eq!(
        item_row(&pool, tasks[0].item_id).await.task_id.as_deref(),
        Some(kept[0].as_str())
    );

    let again = reconcile_once(&pool, &queue, NO_GRACE).await.unwrap();
    assert_eq!(again.reenqueued, 0, "a pending task is not duplicated");
    assert_eq!(queue.depth().await.unwrap().scheduled, 2);
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn undispatched_items_are_left_to_the_dispatcher(pool: PgPool) {
    let queue = unique_queue().await;
    insert_job(
        &pool,
        &["https://www.tiktok.com/@a/video/7300000000000000001"],
        3,
        json!({}),
    )
    .await;

    // No task id yet: the item waits for the dispatcher's fair turn, not for the reconciler.
    let report = reconcile_once(&pool, &queue, NO_GRACE).await.unwrap();

    assert_eq!(report.reenqueued, 0);
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn running_items_of_a_dead_worker_are_enqueued_again_after_the_lease(pool: PgPool) {
    let queue = unique_queue().await;
    let (_, tasks) = insert_job(
        &pool,
        &["https://www.tiktok.com/@a/video/7300000000000000001"],
        3,
        json!({}),
    )
    .await;
    item_claims::claim_item(
        &pool,
        tasks[0].item_id,
        "killed-worker",
        Duration::from_secs(60),
    )
    .await
    .unwrap()
    .expect("claimable");

    let live_lease = reconcile_once(&pool, &queue, NO_GRACE).await.unwrap();
    assert_eq!(live_lease.reenqueued, 0, "a live lease is left alone");

    sqlx::query(
        "update job_items set lease_expires_at = now() - interval '1 second' where item_id = $1",
    )
    .bind(tasks[0].item_id)
    .execute(&pool)
    .await
    .unwrap();
    let report = reconcile_once(&pool, &queue, NO_GRACE).await.unwrap();

    assert_eq!(report.reenqueued, 1);
    let item = item_row(&pool, tasks[0].item_id).await;
    assert!(
        queue
            .contains_task(item.task_id.as_deref().unwrap())
            .await
            .unwrap()
    );
    let claim = item_claims::claim_item(
        &pool,
        tasks[0].item_id,
        "new-worker",
        Duration::from_secs(10),
    )
    .await
    .unwrap()
    .expect("the expired lease can be taken over");
    assert!(claim.took_over_expired_lease);
    assert_eq!(claim.attempt, 2);
    queue.delete_all_keys().await.unwrap();
}
