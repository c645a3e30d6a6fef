//! The `API_KEY` bootstrap key: setting it makes that key exist and work without revoking any
//! other key (replicas with different values, or none, leave each other's keys alone); a key an
//! operator revoked stays revoked; a key shorter than 32 characters stops the start.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use secrecy::SecretString;
use sqlx::PgPool;
use tokworks_api::auth::{BootstrapKeyError, sync_bootstrap_key};
use tokworks_shared::db::api_keys;

use crate::support::TestApp;

const FIRST: &str = "bootstrap-key-number-one-0123456789abcdef";
const SECOND: &str = "bootstrap-key-number-two-0123456789abcdef";

async fn status_with(app: &TestApp, key: &str) -> StatusCode {
    let request = Request::builder()
        .method(Method::GET)
        .uri("/v1/jobs")
        .header("x-api-key", key)
        .body(Body::empty())
        .unwrap();
    app.send(request).await.status
}

async fn sync(pool: &PgPool, key: Option<&str>) -> Result<(), BootstrapKeyError> {
    let secret = key.map(SecretString::from);
    sync_bootstrap_key(pool, secret.as_ref()).await
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn replicas_with_different_or_no_api_key_do_not_revoke_each_others_keys(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sync(&pool, Some(FIRST)).await.unwrap();
    // A second start with the same key keeps one row.
    sync(&pool, Some(FIRST)).await.unwrap();
    assert_eq!(status_with(&app, FIRST).await, StatusCode::OK);
    // A replica with another value, then one without API_KEY.
    sync(&pool, Some(SECOND)).await.unwrap();
    sync(&pool, None).await.unwrap();
    sync(&pool, Some("   ")).await.unwrap();
    assert_eq!(status_with(&app, FIRST).await, StatusCode::OK);
    assert_eq!(status_with(&app, SECOND).await, StatusCode::OK);
    assert_eq!(status_with(&app, &app.key).await, StatusCode::OK);
    let keys = api_keys::list_api_keys(&pool).await.unwrap();
    assert_eq!(keys.iter().filter(|row| row.is_bootstrap).count(), 2);
    assert!(keys.iter().all(|row| row.revoked_at.is_none()), "{keys:?}");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_operator_retires_a_bootstrap_key_with_keys_revoke(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sync(&pool, Some(FIRST)).await.unwrap();
    let first_id = api_keys::list_api_keys(&pool)
        .await
        .unwrap()
        .into_iter()
        .find(|row| row.is_bootstrap)
        .unwrap()
        .api_key_id;
    api_keys::revoke_api_key(&pool, first_id)
        .await
        .unwrap()
        .unwrap();
    // A replica still configured with the retired key does not bring it back.
    sync(&pool, Some(FIRST)).await.unwrap();
    assert_eq!(status_with(&app, FIRST).await, StatusCode::UNAUTHORIZED);
    sync(&pool, Some(SECOND)).await.unwrap();
    assert_eq!(status_with(&app, SECOND).await, StatusCode::OK);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_short_api_key_is_refused_and_not_stored(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let short = "only-31-characters-long-0123456";
    assert_eq!(short.len(), 31);
    let error = sync(&pool, Some(short)).await.unwrap_err();
    assert!(
        matches!(error, BootstrapKeyError::TooShort { length: 31 }),
        "{error}"
    );
    assert_eq!(status_with(&app, short).await, StatusCode::UNAUTHORIZED);
    let keys = api_keys::list_api_keys(&pool).await.unwrap();
    assert!(keys.iter().all(|row| !row.is_bootstrap), "{keys:?}");
}

#[tokio::test]
async fn the_api_exits_with_a_clear_message_on_a_short_api_key() {
    let database_url = std::env::var("DATABASE_URL").expect("DATABASE_URL must be set");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokworks-api"))
        .arg("serve")
        .env("API_KEY", "tok_local")
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", crate::support::redis_url())
        .env("BIND_ADDR", "127.0.0.1:0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the api stops at once instead of serving")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("API_KEY is 9 characters long; at least 32 are required"),
        "{stderr}"
    );
}
