//! Retention (docs/retention.md): a job past retention is a tombstone (`expired`); its URL and
//! every sub-resource answer 410 `JOB_EXPIRED`, the job list still shows it, and a job not yet
//! past retention is unaffected.

use std::time::Duration;

use axum::http::StatusCode;
use sqlx::PgPool;
use tokworks_shared::db::retention;

use crate::support::{TestApp, VIDEO_ID, VIDEO_URL};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_expired_job_answers_410_job_expired_everywhere(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    app.finish_video_job(job_id, VIDEO_ID, false).await;
    let before = app.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(before.status, StatusCode::OK, "{:#}", before.body);
    assert_eq!(before.body["status"], "succeeded");

    // What the worker's retention loop does to a job past RETENTION_DAYS (here: any finished job).
    sqlx::query("update jobs set finished_at = now() - interval '40 days' where job_id = $1")
        .bind(job_id)
        .execute(&pool)
        .await
        .unwrap();
    let mut connection = pool.acquire().await.unwrap();
    let expired =
        retention::expire_jobs_batch(&mut connection, Duration::from_secs(30 * 86_400), 1000)
            .await
            .unwrap();
    drop(connection);
    assert_eq!((expired.jobs, expired.items), (1, 1));

    for path in [
        format!("/v1/jobs/{job_id}"),
        format!("/v1/jobs/{job_id}/items"),
        format!("/v1/jobs/{job_id}/events"),
        format!("/v1/jobs/{job_id}/deliveries"),
    ] {
        let response = app.get(&path).await;
        let problem = response.assert_problem(StatusCode::GONE, "JOB_EXPIRED");
        assert_eq!(problem["retryable"], false, "{path}");
    }
    app.post(&format!("/v1/jobs/{job_id}/cancel"))
        .await
        .assert_problem(StatusCode::GONE, "JOB_EXPIRED");

    // The list still shows the tombstone, with its counts, until it is deleted.
    let list = app.get("/v1/jobs?status=expired").await;
    assert_eq!(list.status, StatusCode::OK, "{:#}", list.body);
    assert_eq!(list.body["data"][0]["id"], job_id.to_string());
    assert_eq!(list.body["data"][0]["status"], "expired");

    // Another key's expired job, or an unknown one, stays "not found".
    let unknown = uuid::Uuid::now_v7();
    app.get(&format!("/v1/jobs/{unknown}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_job_within_retention_is_not_expired(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    app.finish_video_job(job_id, VIDEO_ID, false).await;
    let mut connection = pool.acquire().await.unwrap();
    let expired =
        retention::expire_jobs_batch(&mut connection, Duration::from_secs(30 * 86_400), 1000)
            .await
            .unwrap();
    drop(connection);
    assert_eq!(expired.jobs, 0);
    let response = app.get(&format!("/v1/jobs/{job_id}/items")).await;
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    assert_eq!(response.body["data"][0]["status"], "succeeded");
}
