//! `GET /v1/stats` (per key, from Postgres) and `GET /v1/videos/{id}` (visible to the key whose
//! item produced the video).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sqlx::PgPool;
use tokworks_shared::error_code::ErrorCode;

use crate::support::{TestApp, VIDEO_ID, VIDEO_URL};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn stats_count_the_callers_jobs_items_errors_timings_and_cache(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let hit = app.create_video_job(VIDEO_URL).await;
    let miss = app.create_video_job(VIDEO_URL).await;
    let failed = app.create_video_job(VIDEO_URL).await;
    app.create_video_job(VIDEO_URL).await;
    app.finish_video_job(hit, VIDEO_ID, true).await;
    app.finish_video_job(miss, VIDEO_ID, false).await;
    app.fail_video_job(failed, ErrorCode::UpstreamBlocked).await;
    sqlx::query(
        "insert into worker_heartbeats (worker_name, hostname, pid, started_at, last_seen_at)
         values ('w-live', 'h', 1, now(), now()), ('w-gone', 'h', 2, now(), now() - interval '5 minutes')",
    )
    .execute(&pool)
    .await
    .unwrap();
    // Another key's jobs are not counted.
    let other = app.other_key().await;
    app.send(
        Request::builder()
            .method(Method::POST)
            .uri("/v1/jobs")
            .header("x-api-key", &other)
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({"kind":"video","url":VIDEO_URL}).to_string(),
            ))
            .unwrap(),
    )
    .await;

    // The api pushes nothing (the workers' dispatcher does): two tasks in the queue, as the
    // dispatcher would leave them, for the depth to report.
    let task = tokworks_shared::queue_tasks::ExtractItemTask::new(
        tokworks_shared::ids::JobId::new_v7(),
        tokworks_shared::ids::ItemId::new_v7(),
    );
    app.queue().await.push(&[task, task]).await.unwrap();

    let response = app.get("/v1/stats").await;
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    let stats = &response.body;
    assert_eq!(stats["jobs"]["total"], 4);
    assert_eq!(
        stats["jobs"]["by_status"],
        serde_json::json!({"succeeded":2,"failed":1,"queued":1})
    );
    assert_eq!(stats["items"]["total"], 4);
    assert_eq!(
        stats["items"]["by_error_code"],
        serde_json::json!({"UPSTREAM_BLOCKED":1})
    );
    assert_eq!(stats["stage_timings_ms"]["extract"]["samples"], 2);
    assert_eq!(stats["stage_timings_ms"]["extract"]["p50"], 120.0);
    assert_eq!(stats["stage_timings_ms"]["extract"]["p95"], 120.0);
    assert_eq!(
        stats["cache"],
        serde_json::json!({"hits":1,"misses":1,"hit_rate":0.5})
    );
    assert_eq!(stats["workers"]["live"], 1);
    assert!(stats["queue"]["depth"].is_object(), "{:#}", stats["queue"]);
    let depth = &stats["queue"]["depth"];
    let waiting = depth["pending"].as_u64().unwrap() + depth["scheduled"].as_u64().unwrap();
    assert_eq!(waiting, 2, "what Redis holds: {depth}");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn stats_report_an_unreachable_queue_instead_of_failing(pool: PgPool) {
    let app = TestApp::with_redis(pool, "redis://127.0.0.1:1").await;
    let response = app.get("/v1/stats").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["queue"]["depth"], serde_json::Value::Null);
    assert!(response.body["queue"]["error"].is_string());
    assert_eq!(response.body["cache"]["hit_rate"], serde_json::Value::Null);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_video_is_visible_only_to_a_key_whose_item_produced_it(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get(&format!("/v1/videos/{VIDEO_ID}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    let job_id = app.create_video_job(VIDEO_URL).await;
    app.finish_video_job(job_id, VIDEO_ID, false).await;

    let response = app.get(&format!("/v1/videos/{VIDEO_ID}")).await;
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    assert_eq!(response.body["object"], "video");
    assert_eq!(response.body["video_id"], VIDEO_ID);
    assert_eq!(response.body["video"]["id"], VIDEO_ID);
    assert!(response.body["fetched_at"].is_string());

    let other = app.other_key().await;
    let as_other = app
        .send(
            Request::builder()
                .uri(format!("/v1/videos/{VIDEO_ID}"))
                .header("x-api-key", other)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    as_other.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get("/v1/videos/abc")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}
