//! Canceling a job while a feed walk ends: the walk materialises the job's items (enrichment
//! asked) in a transaction holding the job's row lock; a cancel waiting on that lock must still
//! cancel those items once they are committed, not leave them `queued` on a canceled job.

use std::time::Duration;
use tokworks_shared::job_options::StoredJobOptions;
use tokworks_shared::job_status::JobKind;

use sqlx::PgPool;
use tokworks_shared::db::jobs::{self, CancelJobOutcome};
use tokworks_shared::test_fixtures;
use uuid::Uuid;

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn items_committed_while_a_cancel_waits_for_the_job_are_canceled_too(pool: PgPool) {
    let api_key_id = test_fixtures::insert_key(&pool).await;
    let mut job = test_fixtures::job(api_key_id, JobKind::Trending, Vec::new());
    job.request = serde_json::json!({"kind": "trending", "count": 1});
    job.options = StoredJobOptions {
        transcript: true,
        ..StoredJobOptions::default()
    };
    test_fixtures::insert_job(&pool, &job).await;
    sqlx::query("update jobs set status = 'running' where job_id = $1")
        .bind(job.job_id)
        .execute(&pool)
        .await
        .unwrap();

    // The walk's ending transaction: job row locked, an item inserted, not yet committed.
    let mut walk_end = pool.begin().await.unwrap();
    sqlx::query("select 1 from jobs where job_id = $1 for update")
        .bind(job.job_id)
        .execute(&mut *walk_end)
        .await
        .unwrap();
    sqlx::query(
        "insert into job_items (item_id, job_id, position, input_url, video_id, status, max_attempts)
         values ($1, $2, 0, 'https://www.tiktok.com/@a/video/7300000000000000001',
                 '7300000000000000001', 'queued', 3)",
    )
    .bind(Uuid::now_v7())
    .bind(job.job_id)
    .execute(&mut *walk_end)
    .await
    .unwrap();
    sqlx::query("update jobs set items_total = 1 where job_id = $1")
        .bind(job.job_id)
        .execute(&mut *walk_end)
        .await
        .unwrap();

    let cancel = tokio::spawn({
        let pool = pool.clone();
        async move {
            let mut connection = pool.acquire().await.unwrap();
            jobs::cancel_job_for_key(&mut connection, job.job_id, api_key_id)
                .await
                .unwrap()
        }
    });
    // Wait until the cancel is blocked on the job's row lock.
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "select count(*) from pg_locks l join pg_stat_activity a using (pid)
                 where not l.granted and a.datname = current_database()",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the cancel waits for the walk's lock");
    walk_end.commit().await.unwrap();

    let outcome = cancel.await.unwrap();

    assert_eq!(outcome, CancelJobOutcome::Canceled { items_canceled: 1 });
    let statuses: Vec<String> =
        sqlx::query_scalar("select status from job_items where job_id = $1")
            .bind(job.job_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(statuses, ["canceled"]);
}
