//! Authentication: missing, unknown, revoked keys; both header forms; the bootstrap key;
//! and isolation between keys (another key's job is a 404).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use secrecy::SecretString;
use sqlx::PgPool;
use tokworks_api::auth::sync_bootstrap_key;
use tokworks_shared::db::api_keys;

use crate::support::{TestApp, VIDEO_URL};

fn get_jobs_with(header: (&str, &str)) -> Request<Body> {
    Request::builder()
        .method(Method::GET)
        .uri("/v1/jobs")
        .header(header.0, header.1)
        .body(Body::empty())
        .unwrap()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_request_without_a_key_is_401_unauthenticated(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .send(
            Request::builder()
                .uri("/v1/jobs")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    response.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_unknown_key_is_401_in_either_header(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for header in [
        ("x-api-key", "tok_nope"),
        ("authorization", "Bearer tok_nope"),
    ] {
        app.send(get_jobs_with(header))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_key_is_accepted_in_x_api_key_and_as_a_bearer_token(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let bearer = format!("Bearer {}", app.key);
    for header in [
        ("x-api-key", app.key.as_str()),
        ("authorization", bearer.as_str()),
    ] {
        let response = app.send(get_jobs_with(header)).await;
        assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_bootstrap_key_authenticates_and_changing_it_revokes_the_old_one(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let first = "bootstrap-key-number-one-0123456789abcdef";
    let second = "bootstrap-key-number-two-0123456789abcdef";
    sync_bootstrap_key(&pool, Some(&SecretString::from(first)))
        .await
        .unwrap();
    // Starting twice with the same key keeps one row.
    sync_bootstrap_key(&pool, Some(&SecretString::from(first)))
        .await
        .unwrap();
    let status = app.send(get_jobs_with(("x-api-key", first))).await.status;
    assert_eq!(status, StatusCode::OK);

    sync_bootstrap_key(&pool, Some(&SecretString::from(second)))
        .await
        .unwrap();
    assert_eq!(
        app.send(get_jobs_with(("x-api-key", second))).await.status,
        StatusCode::OK
    );
    app.send(get_jobs_with(("x-api-key", first)))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    let bootstrap_rows: Vec<_> = api_keys::list_api_keys(&pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.is_bootstrap)
        .collect();
    assert_eq!(bootstrap_rows.len(), 2);
    assert_eq!(
        bootstrap_rows
            .iter()
            .filter(|row| row.revoked_at.is_none())
            .count(),
        1
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_revoked_key_is_rejected_on_the_next_request(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    assert_eq!(app.get("/v1/jobs").await.status, StatusCode::OK);
    api_keys::revoke_api_key(&pool, app.api_key_id)
        .await
        .unwrap()
        .unwrap();
    app.get("/v1/jobs")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn another_keys_job_is_404_everywhere(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    let other = app.other_key().await;
    let as_other = |method: Method, path: String| {
        Request::builder()
            .method(method)
            .uri(path)
            .header("x-api-key", &other)
            .body(Body::empty())
            .unwrap()
    };
    app.send(as_other(Method::GET, format!("/v1/jobs/{job_id}")))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.send(as_other(Method::POST, format!("/v1/jobs/{job_id}/cancel")))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    let listed = app.send(as_other(Method::GET, "/v1/jobs".to_owned())).await;
    assert_eq!(listed.body["data"], serde_json::json!([]));
    // The owner still sees it, not canceled.
    assert_eq!(
        app.get(&format!("/v1/jobs/{job_id}")).await.body["status"],
        "queued"
    );
}
