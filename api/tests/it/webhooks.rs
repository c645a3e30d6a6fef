//! Webhooks through the api: submit-time validation and the SSRF refusal, the webhook in the job
//! view, the outbox row written by cancel, the deliveries endpoints and the signing secret.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{TestApp, VIDEO_URL};

/// A public IPv6 literal (global unicast, not a documentation range: those are refused): no DNS
/// lookup, and no api test sends anything to it.
const PUBLIC_HOOK: &str = "https://[2600::10]/hooks/tokworks";

fn job_with_webhook(webhook: &Value) -> Value {
    json!({"kind": "video", "url": VIDEO_URL, "webhook": webhook})
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn loopback_and_private_targets_are_refused_at_submit_time(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for url in [
        "http://127.0.0.1/hook",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/hook",
        "http://hooks.internal/",
        "https://user:pw@[2600::10]/",
        "https://[2600::10]:8443/",
        "https://[2001:db8::10]/",
    ] {
        let response = app
            .post_json("/v1/jobs", &job_with_webhook(&json!({"url": url})))
            .await;
        let problem =
            response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "WEBHOOK_URL_NOT_ALLOWED");
        assert_eq!(problem["errors"][0]["field"], "webhook.url", "{url}");
    }
    let response = app
        .post_json(
            "/v1/jobs",
            &job_with_webhook(&json!({"url": PUBLIC_HOOK, "events": ["job.done"]})),
        )
        .await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD");
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn cancel_writes_the_event_and_deliveries_can_be_listed_and_redelivered(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let webhook = json!({"url": PUBLIC_HOOK, "events": ["job.canceled", "item.failed"]});
    let created = app.post_json("/v1/jobs", &job_with_webhook(&webhook)).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{:#}", created.body);
    assert_eq!(
        created.body["webhook"],
        json!({"url": PUBLIC_HOOK, "events": ["job.canceled", "item.failed"]})
    );
    let job_id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body["links"]["deliveries"],
        format!("/v1/jobs/{job_id}/deliveries")
    );

    let empty = app.get(&format!("/v1/jobs/{job_id}/deliveries")).await;
    assert_eq!(empty.body["data"], json!([]));

    app.post(&format!("/v1/jobs/{job_id}/cancel")).await;
    app.post(&format!("/v1/jobs/{job_id}/cancel")).await;
    let listed = app.get(&format!("/v1/jobs/{job_id}/deliveries")).await;
    assert_eq!(listed.status, StatusCode::OK, "{:#}", listed.body);
    let deliveries = listed.body["data"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "one event for one (idempotent) cancel");
    let delivery = &deliveries[0];
    assert_eq!(delivery["type"], "job.canceled");
    assert_eq!(delivery["status"], "pending");
    assert!(delivery["webhook_id"].as_str().unwrap().starts_with("msg_"));
    let payload = &delivery["payload"];
    assert_eq!(payload["type"], "job.canceled");
    assert_eq!(payload["data"]["id"], job_id.as_str());
    assert_eq!(payload["data"]["status"], "canceled");
    assert_eq!(payload["data"]["counts"]["canceled"], 1);
    assert_eq!(
        payload["data"]["links"]["self"],
        format!("/v1/jobs/{job_id}")
    );
    assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));

    let delivery_id = delivery["id"].as_str().unwrap();
    let again = app
        .post(&format!(
            "/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver"
        ))
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{:#}", again.body);
    assert_eq!(again.body["webhook_id"], delivery["webhook_id"]);
    assert_eq!(again.body["redelivery_of"], delivery["id"]);
    assert_ne!(again.body["id"], delivery["id"]);

    let missing = app
        .post(&format!(
            "/v1/jobs/{job_id}/deliveries/00000000-0000-0000-0000-000000000000/redeliver"
        ))
        .await;
    missing.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    let other = TestApp::new(pool).await;
    other
        .get(&format!("/v1/jobs/{job_id}/deliveries"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_job_without_webhook_writes_no_event(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    let view = app.get(&format!("/v1/jobs/{job_id}")).await;
    assert!(view.body.get("webhook").is_none());
    app.post(&format!("/v1/jobs/{job_id}/cancel")).await;
    let count: i64 = sqlx::query_scalar("select count(*) from webhook_deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_secret_exists_with_the_key_and_rotation_keeps_the_old_one_for_a_while(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let stored: i64 =
        sqlx::query_scalar("select count(*) from webhook_secrets where api_key_id = $1")
            .bind(app.api_key_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, 1, "created with the key");
    let first = app.get("/v1/webhook-secret").await;
    assert_eq!(first.status, StatusCode::OK);
    let secret = first.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert!(first.body.get("previous_secret").is_none());
    assert_eq!(
        app.get("/v1/webhook-secret").await.body["secret"],
        secret.as_str()
    );

    let rotated = app.post("/v1/webhook-secret/rotate").await;
    assert_eq!(rotated.status, StatusCode::OK, "{:#}", rotated.body);
    assert_ne!(rotated.body["secret"], secret.as_str());
    assert_eq!(rotated.body["previous_secret"], secret.as_str());
    assert!(rotated.body["previous_valid_until"].is_string());

    // A key from before webhooks (no secret row) gets one on first read.
    sqlx::query("delete from webhook_secrets where api_key_id = $1")
        .bind(app.api_key_id)
        .execute(&pool)
        .await
        .unwrap();
    let lazy = app.get("/v1/webhook-secret").await;
    assert!(lazy.body["secret"].as_str().unwrap().starts_with("whsec_"));
}
