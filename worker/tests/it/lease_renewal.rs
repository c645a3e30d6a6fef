//! Lease renewal has its own task (issue #12 point 10): while the maintenance loop is stuck (here:
//! its heartbeat write and reconcile round wait on a lock held by the test), the leases of the
//! items this process works on are still renewed.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

use std::sync::Arc;
use std::time::Duration;
use tokworks_shared::ids::ItemId;

use serde_json::json;
use sqlx::PgPool;
use tokworks_shared::db::item_claims;
use tokworks_worker::active_claims::ActiveClaims;
use tokworks_worker::background::maintenance::Maintenance;
use tokworks_worker::context::WorkerIdentity;

use crate::support::{insert_job, unique_queue};

async fn lease_seconds_left(pool: &PgPool, item_id: ItemId) -> f64 {
    sqlx::query_scalar(
        "select extract(epoch from lease_expires_at - now())::float8 from job_items
         where item_id = $1",
    )
    .bind(item_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn leases_are_renewed_while_the_maintenance_loop_is_stuck(pool: PgPool) {
    let url = "https://www.tiktok.com/@someone/video/7300000000000000009";
    let (_job_id, tasks) = insert_job(&pool, &[url], 3, json!({})).await;
    let item_id = tasks[0].item_id;
    let claim = item_claims::claim_item(&pool, item_id, "w", Duration::from_secs(5))
        .await
        .unwrap()
        .expect("claimable");
    let active_claims = ActiveClaims::default();
    let _working_on = active_claims.hold(claim.claim_id);

    // Every heartbeat write and reconcile round (which prunes heartbeat rows) waits on this lock
    // until the test ends: the maintenance loop is stuck in its first such round.
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query("lock table worker_heartbeats in access exclusive mode")
        .execute(&mut *blocker)
        .await
        .unwrap();

    let maintenance = Maintenance {
        pool: pool.clone(),
        queue: unique_queue().await,
        identity: Arc::new(WorkerIdentity::new("lease-test")),
        active_claims,
        item_lease: Duration::from_secs(60),
        vision_configured: false,
        concurrency: 4,
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(maintenance.run(shutdown));

    // Renewed (to the 60 s lease) twice, about RENEW_LEASES_EVERY apart: not a lucky first tick.
    let mut renewals = 0;
    let mut last_left = lease_seconds_left(&pool, item_id).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while renewals < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lease was renewed {renewals} times while the maintenance loop was stuck"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let left = lease_seconds_left(&pool, item_id).await;
        if left > last_left + 0.5 {
            renewals += 1;
        }
        last_left = left;
    }
    assert!(last_left > 50.0, "renewed with the 60 s lease: {last_left}");

    blocker.rollback().await.unwrap();
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(15), running)
        .await
        .expect("maintenance stops on the signal")
        .unwrap();
}
