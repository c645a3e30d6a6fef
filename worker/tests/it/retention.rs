//! The retention loop (docs/retention.md) against Postgres: old finished jobs and everything
//! under them go in bounded batches while recent and unfinished ones stay; pending webhook
//! deliveries keep their job; old covers and raw items go while a referenced video stays; old
//! feed walks go once no job links to them; one runner at a time; the background loop does it
//! on its own.

// Test helpers, not only `#[test]` fns: unwrap is fine here (the crate root is not `cfg(test)`).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;
use tokworks_shared::ids::{ApiKeyId, DeliveryId, ItemId, JobId, WalkId};

use sqlx::{Connection, PgConnection, PgPool};
use tokworks_shared::db::retention as retention_db;
use tokworks_worker::background::retention::{Retention, RetentionSettings, RoundOutcome};
use uuid::Uuid;

fn runner(pool: &PgPool, batch_rows: i64, max_batches: u32) -> Retention {
    Retention {
        pool: pool.clone(),
        settings: Arc::new(RetentionSettings {
            batch_rows,
            max_batches,
            ..RetentionSettings::from_days(30, 30, Duration::from_secs(3600))
        }),
    }
}

async fn round(runner: &Retention) -> tokworks_worker::background::retention::RetentionReport {
    match runner.run_round().await.unwrap() {
        RoundOutcome::Ran(report) => report,
        RoundOutcome::Skipped => panic!("no other runner holds the lock"),
    }
}

async fn api_key(pool: &PgPool) -> ApiKeyId {
    tokworks_shared::test_fixtures::insert_key(pool).await
}

/// A job with `items` items in `status`, finished `age_days` ago (unfinished: created then),
/// each item with an execution and two stage timings.
async fn job(pool: &PgPool, key: ApiKeyId, status: &str, age_days: i32, items: i32) -> JobId {
    let job_id = JobId::new_v7();
    let finished = !matches!(status, "queued" | "running");
    sqlx::query(
        "insert into jobs (job_id, api_key_id, kind, status, request, items_total, items_succeeded,
                           created_at, finished_at)
         values ($1, $2, 'batch', $3, '{}'::jsonb, $4, $5,
                 now() - make_interval(days => $6),
                 case when $7 then now() - make_interval(days => $6) end)",
    )
    .bind(job_id)
    .bind(key)
    .bind(status)
    .bind(items)
    .bind(if finished { items } else { 0 })
    .bind(age_days)
    .bind(finished)
    .execute(pool)
    .await
    .unwrap();
    let item_status = if finished { "succeeded" } else { "running" };
    for position in 0..items {
        let item_id = ItemId::new_v7();
        sqlx::query(
            "insert into job_items (item_id, job_id, position, input_url, status, max_attempts)
             values ($1, $2, $3, 'https://www.tiktok.com/@a/video/1', $4, 4)",
        )
        .bind(item_id)
        .bind(job_id)
        .bind(position)
        .bind(item_status)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into item_executions (item_id, attempt, claim_id, worker_name)
             values ($1, 1, $2, 'w')",
        )
        .bind(item_id)
        .bind(Uuid::now_v7())
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into item_stage_timings (item_id, attempt, stage, duration_ms)
             values ($1, 1, 'extract', 10), ($1, 1, 'total', 12)",
        )
        .bind(item_id)
        .execute(pool)
        .await
        .unwrap();
    }
    job_id
}

/// A webhook delivery of the job in `status`, with one attempt.
async fn delivery(pool: &PgPool, job_id: JobId, status: &str) -> DeliveryId {
    let delivery_id = DeliveryId::new_v7();
    sqlx::query(
        "insert into webhook_deliveries (delivery_id, webhook_id, job_id, event_type, url, payload, status)
         values ($1, 'msg_1', $2, 'job.completed', 'https://example.com/hook', '{}'::jsonb, $3)",
    )
    .bind(delivery_id)
    .bind(job_id)
    .bind(status)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into webhook_delivery_attempts
             (delivery_id, attempt, claim_id, worker_name, started_at, latency_ms, outcome)
         values ($1, 1, $2, 'w', now(), 5, 'retry_scheduled')",
    )
    .bind(delivery_id)
    .bind(Uuid::now_v7())
    .execute(pool)
    .await
    .unwrap();
    delivery_id
}

async fn count(pool: &PgPool, sql: &'static str, job_id: JobId) -> i64 {
    sqlx::query_scalar(sql)
        .bind(job_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Rows under the job: items, executions, stage timings, deliveries, attempts.
async fn rows_under(pool: &PgPool, job_id: JobId) -> [i64; 5] {
    [
        count(pool, "select count(*) from job_items where job_id = $1", job_id).await,
        count(
            pool,
            "select count(*) from item_executions e join job_items i using (item_id) where i.job_id = $1",
            job_id,
        )
        .await,
        count(
            pool,
            "select count(*) from item_stage_timings t join job_items i using (item_id) where i.job_id = $1",
            job_id,
        )
        .await,
        count(pool, "select count(*) from webhook_deliveries where job_id = $1", job_id).await,
        count(
            pool,
            "select count(*) from webhook_delivery_attempts a join webhook_deliveries d using (delivery_id)
             where d.job_id = $1",
            job_id,
        )
        .await,
    ]
}

async fn status(pool: &PgPool, job_id: JobId) -> Option<String> {
    sqlx::query_scalar("select status from jobs where job_id = $1")
        .bind(job_id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn old_finished_jobs_are_expired_in_bounded_batches_and_tombstones_deleted_later(
    pool: PgPool,
) {
    let key = api_key(&pool).await;
    let oldest = job(&pool, key, "succeeded", 50, 5).await;
    delivery(&pool, oldest, "succeeded").await;
    let old = job(&pool, key, "failed", 40, 3).await;
    let recent = job(&pool, key, "succeeded", 29, 2).await;
    let unfinished = job(&pool, key, "running", 60, 2).await;
    // 4 items per batch, one batch per round: the first round takes only the oldest job.
    let retention = runner(&pool, 4, 1);

    let first = round(&retention).await;
    assert_eq!(
        (
            first.jobs_expired,
            first.items_deleted,
            first.deliveries_deleted
        ),
        (1, 5, 1)
    );
    assert!(first.more_left, "the round stopped at its bound");
    assert_eq!(status(&pool, oldest).await.as_deref(), Some("expired"));
    assert_eq!(rows_under(&pool, oldest).await, [0; 5]);
    assert_eq!(status(&pool, old).await.as_deref(), Some("failed"));
    assert_eq!(rows_under(&pool, old).await, [3, 3, 6, 0, 0]);

    let second = round(&retention).await;
    assert_eq!((second.jobs_expired, second.items_deleted), (1, 3));
    assert_eq!(status(&pool, old).await.as_deref(), Some("expired"));
    assert_eq!(rows_under(&pool, old).await, [0; 5]);

    let idle = round(&retention).await;
    assert!(!idle.any(), "{idle:?}");
    // Recent and unfinished jobs are untouched.
    assert_eq!(status(&pool, recent).await.as_deref(), Some("succeeded"));
    assert_eq!(rows_under(&pool, recent).await, [2, 2, 4, 0, 0]);
    assert_eq!(status(&pool, unfinished).await.as_deref(), Some("running"));
    assert_eq!(rows_under(&pool, unfinished).await, [2, 2, 4, 0, 0]);

    // A tombstone goes a second retention period after the job finished.
    sqlx::query("update jobs set finished_at = now() - interval '61 days' where job_id = $1")
        .bind(oldest)
        .execute(&pool)
        .await
        .unwrap();
    let purge = round(&retention).await;
    assert_eq!(purge.tombstones_deleted, 1);
    assert_eq!(status(&pool, oldest).await, None);
    assert_eq!(status(&pool, old).await.as_deref(), Some("expired"));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_job_with_pending_deliveries_keeps_them(pool: PgPool) {
    let key = api_key(&pool).await;
    let job_id = job(&pool, key, "succeeded", 45, 1).await;
    delivery(&pool, job_id, "succeeded").await;
    let pending = delivery(&pool, job_id, "pending").await;
    let retention = runner(&pool, 1000, 20);

    let report = round(&retention).await;
    assert_eq!(report.jobs_expired, 0);
    assert_eq!(status(&pool, job_id).await.as_deref(), Some("succeeded"));
    assert_eq!(rows_under(&pool, job_id).await, [1, 1, 2, 2, 2]);

    // Once the last delivery ended, the job expires and its finished deliveries go.
    sqlx::query("update webhook_deliveries set status = 'failed' where delivery_id = $1")
        .bind(pending)
        .execute(&pool)
        .await
        .unwrap();
    let report = round(&retention).await;
    assert_eq!((report.jobs_expired, report.deliveries_deleted), (1, 2));
    assert_eq!(rows_under(&pool, job_id).await, [0; 5]);

    // A redelivery queued on the tombstone keeps it past the second period until it is sent.
    delivery(&pool, job_id, "pending").await;
    sqlx::query("update jobs set finished_at = now() - interval '90 days' where job_id = $1")
        .bind(job_id)
        .execute(&pool)
        .await
        .unwrap();
    let report = round(&retention).await;
    assert_eq!(report.tombstones_deleted, 0);
    assert_eq!(rows_under(&pool, job_id).await[3], 1);
}

async fn video(pool: &PgPool, video_id: &str, age_days: i32) {
    sqlx::query(
        "insert into videos (video_id, data, raw_item, source, fetched_at)
         values ($1, '{\"id\": \"x\"}'::jsonb, '{\"itemStruct\": 1}'::jsonb, 'web',
                 now() - make_interval(days => $2))",
    )
    .bind(video_id)
    .bind(age_days)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into thumbnails (video_id, content_type, bytes, sha256, source_url, fetched_at)
         values ($1, 'image/jpeg', '\\x0102'::bytea, '\\x00'::bytea, 'https://p16.example/c.jpg',
                 now() - make_interval(days => $2))",
    )
    .bind(video_id)
    .bind(age_days)
    .execute(pool)
    .await
    .unwrap();
}

/// (video row exists, has raw item, has data, thumbnail exists)
async fn video_state(pool: &PgPool, video_id: &str) -> (bool, bool, bool, bool) {
    let row: Option<(bool, bool)> = sqlx::query_as(
        "select raw_item is not null, data is not null from videos where video_id = $1",
    )
    .bind(video_id)
    .fetch_optional(pool)
    .await
    .unwrap();
    let thumbnail: bool =
        sqlx::query_scalar("select exists (select 1 from thumbnails where video_id = $1)")
            .bind(video_id)
            .fetch_one(pool)
            .await
            .unwrap();
    match row {
        Some((raw, data)) => (true, raw, data, thumbnail),
        None => (false, false, false, thumbnail),
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn old_thumbnails_and_raw_items_go_but_a_referenced_video_stays(pool: PgPool) {
    let key = api_key(&pool).await;
    video(&pool, "7000000000000000001", 40).await; // old, referenced by a kept item
    video(&pool, "7000000000000000002", 40).await; // old, unreferenced
    video(&pool, "7000000000000000003", 1).await; // fresh
    let kept = job(&pool, key, "succeeded", 2, 1).await;
    sqlx::query("update job_items set result_video_id = '7000000000000000001' where job_id = $1")
        .bind(kept)
        .execute(&pool)
        .await
        .unwrap();

    let report = round(&runner(&pool, 1000, 20)).await;
    assert_eq!(
        (
            report.thumbnails_deleted,
            report.raw_items_cleared,
            report.videos_deleted
        ),
        (1, 1, 1),
        "{report:?}"
    );
    assert_eq!(
        video_state(&pool, "7000000000000000001").await,
        (true, false, true, false),
        "the referenced video keeps its row and result, without cover bytes or raw item"
    );
    assert_eq!(
        video_state(&pool, "7000000000000000002").await,
        (false, false, false, false)
    );
    assert_eq!(
        video_state(&pool, "7000000000000000003").await,
        (true, true, true, true)
    );
}

async fn feed_walk(pool: &PgPool, age_days: i32) -> WalkId {
    let walk_id = WalkId::new_v7();
    sqlx::query(
        "insert into feed_walks (walk_id, feed_key, kind, requested_count, status, max_attempts,
                                 finished_at)
         values ($1, 'trending|30', 'trending', 30, 'succeeded', 4,
                 now() - make_interval(days => $2))",
    )
    .bind(walk_id)
    .bind(age_days)
    .execute(pool)
    .await
    .unwrap();
    walk_id
}

async fn walk_exists(pool: &PgPool, walk_id: WalkId) -> bool {
    sqlx::query_scalar("select exists (select 1 from feed_walks where walk_id = $1)")
        .bind(walk_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn old_feed_walks_go_once_no_job_links_to_them(pool: PgPool) {
    let key = api_key(&pool).await;
    let unlinked = feed_walk(&pool, 40).await;
    let linked = feed_walk(&pool, 40).await;
    let recent = feed_walk(&pool, 3).await;
    let tombstone = job(&pool, key, "succeeded", 40, 0).await;
    sqlx::query("update jobs set feed_walk_id = $2 where job_id = $1")
        .bind(tombstone)
        .bind(linked)
        .execute(&pool)
        .await
        .unwrap();
    let retention = runner(&pool, 1000, 20);

    let report = round(&retention).await;
    assert_eq!((report.jobs_expired, report.feed_walks_deleted), (1, 1));
    assert!(!walk_exists(&pool, unlinked).await);
    assert!(
        walk_exists(&pool, linked).await,
        "its job's tombstone links to it"
    );
    assert!(walk_exists(&pool, recent).await);

    // Once the tombstone is deleted, its walk goes too.
    sqlx::query("update jobs set finished_at = now() - interval '61 days' where job_id = $1")
        .bind(tombstone)
        .execute(&pool)
        .await
        .unwrap();
    let report = round(&retention).await;
    assert_eq!(
        (report.tombstones_deleted, report.feed_walks_deleted),
        (1, 1)
    );
    assert!(!walk_exists(&pool, linked).await);
    assert!(walk_exists(&pool, recent).await);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn only_one_runner_works_at_a_time(pool: PgPool) {
    let key = api_key(&pool).await;
    let old = job(&pool, key, "succeeded", 40, 2).await;
    let retention = runner(&pool, 1000, 20);

    // Another worker in the middle of a round holds the lock: this one skips its round.
    let mut other = PgConnection::connect_with(&pool.connect_options())
        .await
        .unwrap();
    assert!(retention_db::try_lock(&mut other).await.unwrap());
    assert_eq!(retention.run_round().await.unwrap(), RoundOutcome::Skipped);
    assert_eq!(status(&pool, old).await.as_deref(), Some("succeeded"));
    assert_eq!(rows_under(&pool, old).await[0], 2);
    assert!(retention_db::unlock(&mut other).await.unwrap());

    // Two runners at once: whichever runs, each old job is expired once and neither fails.
    let more: Vec<JobId> = {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(job(&pool, key, "partial", 35, 3).await);
        }
        ids
    };
    let (first, second) = (runner(&pool, 2, 20), runner(&pool, 2, 20));
    let (a, b) = tokio::join!(first.run_round(), second.run_round());
    let expired: u64 = [a.unwrap(), b.unwrap()]
        .iter()
        .map(|outcome| match outcome {
            RoundOutcome::Ran(report) => report.jobs_expired,
            RoundOutcome::Skipped => 0,
        })
        .sum();
    assert_eq!(expired, 6);
    for job_id in more.into_iter().chain([old]) {
        assert_eq!(status(&pool, job_id).await.as_deref(), Some("expired"));
    }
    // The lock was released: the next round runs.
    assert!(matches!(
        retention.run_round().await.unwrap(),
        RoundOutcome::Ran(_)
    ));
    // While a runner holds it, the lock is not free for another session.
    assert!(retention_db::try_lock(&mut other).await.unwrap());
    let mut third = PgConnection::connect_with(&pool.connect_options())
        .await
        .unwrap();
    assert!(!retention_db::try_lock(&mut third).await.unwrap());
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_background_loop_expires_old_jobs_and_stops_on_shutdown(pool: PgPool) {
    let key = api_key(&pool).await;
    let old = job(&pool, key, "succeeded", 31, 1).await;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(runner(&pool, 1000, 20).run(shutdown));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while status(&pool, old).await.as_deref() != Some("expired") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loop did not expire the job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
}
