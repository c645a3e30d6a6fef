//! Authentication: missing, unknown, revoked keys; both header forms; and isolation between keys
//! (another key's job is a 404). The bootstrap key: `bootstrap_key.rs`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sqlx::PgPool;
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

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_verified_key_is_trusted_for_api_key_cache_seconds_without_asking_postgres(pool: PgPool) {
    let app = TestApp::with_settings(pool.clone(), |settings| {
        settings.api_key_cache_ttl = std::time::Duration::from_secs(300);
    })
    .await;
    assert_eq!(app.get("/v1/jobs").await.status, StatusCode::OK);
    api_keys::revoke_api_key(&pool, app.api_key_id)
        .await
        .unwrap()
        .unwrap();
    // Within the cache time the key is not looked up again: the revocation is not seen yet.
    assert_eq!(app.get("/v1/jobs").await.status, StatusCode::OK);
    // Keys never seen are looked up every time (a key created now works at once).
    let other = app.other_key().await;
    let status = app.send(get_jobs_with(("x-api-key", &other))).await.status;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_revoked_key_is_refused_once_its_cache_time_has_passed(pool: PgPool) {
    let app = TestApp::with_settings(pool.clone(), |settings| {
        settings.api_key_cache_ttl = std::time::Duration::from_millis(300);
    })
    .await;
    assert_eq!(app.get("/v1/jobs").await.status, StatusCode::OK);
    api_keys::revoke_api_key(&pool, app.api_key_id)
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while app.get("/v1/jobs").await.status != StatusCode::UNAUTHORIZED {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the revoked key is refused after the cache time");
}
