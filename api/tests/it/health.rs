//! `/healthz` needs nothing; `/readyz` checks Postgres and Redis.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sqlx::PgPool;

use crate::support::TestApp;

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn healthz_answers_without_a_key(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .send(
            Request::builder()
                .uri("/healthz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["status"], "ok");
    assert!(response.header("x-request-id").is_some());
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn readyz_is_ok_when_postgres_and_redis_answer(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .send(
            Request::builder()
                .uri("/readyz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    assert_eq!(
        response.body["checks"],
        serde_json::json!({"postgres":"ok","redis":"ok"})
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn readyz_is_a_503_problem_naming_redis_when_redis_is_down(pool: PgPool) {
    let app = TestApp::with_redis(pool, "redis://127.0.0.1:1").await;
    let response = app
        .send(
            Request::builder()
                .uri("/readyz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let problem = response.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "NOT_READY");
    assert!(
        problem["detail"].as_str().unwrap().contains("redis"),
        "{problem:#}"
    );
    assert_eq!(problem["retryable"], true);
}
