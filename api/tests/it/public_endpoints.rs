//! The endpoints that need no key stay cheap and honest under trouble: their figures are served
//! from memory for SERVICE_STATS_REFRESH_SECONDS, a database outage answers 503 `NOT_READY`
//! with `Retry-After` (never 500), `/metrics` beyond loopback needs METRICS_TOKEN, and every
//! pooled connection carries DATABASE_STATEMENT_TIMEOUT_SECONDS.

use std::time::Duration;

use axum::http::StatusCode;
use secrecy::SecretString;
use sqlx::PgPool;
use tokworks_shared::config::DatabaseArgs;
use tokworks_shared::db;

use crate::support::{TestApp, VIDEO_ID, VIDEO_URL};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn public_figures_are_served_from_memory_within_the_refresh_interval(pool: PgPool) {
    let cached = TestApp::with_settings(pool.clone(), |settings| {
        settings.service_stats_refresh = Duration::from_secs(300);
    })
    .await;
    let before = cached.get("/stats").await;
    assert_eq!(before.status, StatusCode::OK, "{:#}", before.body);
    assert_eq!(before.body["service_stats"]["total_extractions"], 0);
    let health = cached.get("/health").await.body;
    assert_eq!(health["metrics"]["requests_processed"], 0);

    let job_id = cached.create_video_job(VIDEO_URL).await;
    cached.finish_video_job(job_id, VIDEO_ID, false).await;

    // Within the interval: the figures this process read before, without asking Postgres.
    let stats = cached.get("/stats").await.body;
    assert_eq!(stats["service_stats"]["total_extractions"], 0);
    let health = cached.get("/health").await.body;
    assert_eq!(health["metrics"]["requests_processed"], 0);
    // A process whose figures are read on every call sees the finished item.
    let fresh = TestApp::new(pool).await;
    let stats = fresh.get("/stats").await.body;
    assert_eq!(stats["service_stats"]["total_extractions"], 1);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_database_outage_answers_503_not_ready_with_retry_after(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    assert_eq!(app.get("/v1/jobs").await.status, StatusCode::OK);
    // The pool gives no connection any more: what a Postgres outage looks like to a handler.
    app.state.db.close().await;

    for response in [
        app.get("/v1/jobs").await,
        app.post_json(
            "/v1/jobs",
            &serde_json::json!({"kind": "video", "url": VIDEO_URL}),
        )
        .await,
    ] {
        let problem = response.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "NOT_READY");
        assert_eq!(problem["retryable"], true);
        assert_eq!(response.header("retry-after"), Some("2"));
    }
    let stats = app.get("/stats").await;
    assert_eq!(
        stats.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:#}",
        stats.body
    );
    assert_eq!(stats.body["error"]["code"], "SERVICE_UNAVAILABLE");
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "unhealthy");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn metrics_beyond_loopback_need_metrics_token(pool: PgPool) {
    let app = TestApp::with_settings(pool, |settings| {
        settings.events_and_metrics.metrics_open_without_token = false;
    })
    .await;
    app.get("/metrics")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "METRICS_TOKEN_REQUIRED");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn every_pooled_connection_carries_the_statement_timeout(_pool: PgPool) {
    let database_url = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
    let args = DatabaseArgs {
        database_url: SecretString::from(database_url),
        database_max_connections: 2,
        database_statement_timeout_seconds: 1,
    };
    let pool = db::connect(&args).await.unwrap();
    let setting: String = sqlx::query_scalar("show statement_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(setting, "1s");
    let error = sqlx::query("select pg_sleep(5)")
        .execute(&pool)
        .await
        .expect_err("a statement past the timeout is canceled");
    assert!(db::is_unavailable(&error), "{error}");
    // The pool stays usable afterwards.
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
}
