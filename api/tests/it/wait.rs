//! `Prefer: wait=N`: 202 when the job does not finish in time, 200 as soon as it does
//! (woken by the NOTIFY of the finishing transaction, not by polling).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{TestApp, TestResponse, VIDEO_ID, VIDEO_URL};

async fn post_waiting(app: &TestApp, prefer: &str) -> TestResponse {
    app.send(
        app.request(Method::POST, "/v1/jobs")
            .header("content-type", "application/json")
            .header("prefer", prefer)
            .body(Body::from(
                json!({"kind":"video","url":VIDEO_URL}).to_string(),
            ))
            .unwrap(),
    )
    .await
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn waiting_on_a_job_that_does_not_finish_answers_202_after_the_wait(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let started = Instant::now();
    let response = post_waiting(&app, "wait=1").await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(response.header("preference-applied"), Some("wait=1"));
    assert!(response.header("location").is_some());
    assert_eq!(response.body["status"], "queued");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn waiting_answers_200_with_the_finished_job_as_soon_as_it_finishes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let started = Instant::now();
    let finisher = async {
        app.until_waiting(1).await;
        let job_id = app.only_job_id().await;
        app.finish_video_job(job_id, VIDEO_ID, false).await;
    };
    // A wait longer than WAIT_MAX_SECONDS is clamped to it (30 s in tests).
    let (response, ()) = tokio::join!(post_waiting(&app, "respond-async, wait=3600"), finisher);
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "woken by NOTIFY, not by the timeout"
    );
    assert_eq!(response.header("preference-applied"), Some("wait=30"));
    assert_eq!(response.body["status"], "succeeded");
    assert_eq!(response.body["result"]["id"], VIDEO_ID);
    assert_eq!(response.body["result"]["cache_hit"], false);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_cancel_wakes_a_waiting_request(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let canceler = async {
        app.until_waiting(1).await;
        let job_id = app.only_job_id().await;
        assert_eq!(
            app.post(&format!("/v1/jobs/{job_id}/cancel")).await.status,
            StatusCode::OK
        );
    };
    let (response, ()) = tokio::join!(post_waiting(&app, "wait=20"), canceler);
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    assert_eq!(response.body["status"], "canceled");
}
