//! Fair scheduling across API keys (docs/fair-scheduling.md): while key A's large batch runs,
//! key B's single video is dispatched within about one window, not after A's whole backlog.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;
use uuid::Uuid;

use crate::ground_truth::canonical_url;
use crate::harness::{ServiceOptions, TestService, await_condition};

/// A's batch: far more items than the dispatch window (2 × 2 workers × 4 slots = 16) plus the
/// slots, so that a FIFO queue would run B's video after every one of them.
const BATCH_SIZE: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_keys_video_is_not_stuck_behind_a_first_keys_large_batch() {
    let service = TestService::start(ServiceOptions::new("fairness")).await;
    let videos = service.sim_plain_videos(BATCH_SIZE + 1).await;
    // Every upstream answer takes a while, so A's batch runs for many seconds.
    service
        .sim_add_fault(&json!({"match": {"all": true}, "fault": "latency", "latency_ms": 150}))
        .await;
    let key_b = add_api_key(&service, "key-b").await;

    let urls: Vec<&str> = videos[..BATCH_SIZE].iter().map(canonical_url).collect();
    let batch = service
        .submit_job(&json!({"kind": "batch", "urls": urls}))
        .await;
    await_condition("A's batch to be running", Duration::from_secs(60), || {
        let pool = &service.database.pool;
        async move {
            let succeeded: i64 = sqlx::query_scalar(
                "select count(*) from job_items where job_id = $1 and status = 'succeeded'",
            )
            .bind(batch)
            .fetch_one(pool)
            .await
            .expect("count A's items");
            (succeeded > 0).then_some(())
        }
    })
    .await;

    let single = submit_as(
        &service,
        &key_b,
        &json!({"kind": "video", "url": canonical_url(&videos[BATCH_SIZE])}),
    )
    .await;
    let status = await_condition("B's video to finish", Duration::from_secs(120), || {
        let pool = &service.database.pool;
        async move {
            let status: String = sqlx::query_scalar("select status from jobs where job_id = $1")
                .bind(single)
                .fetch_one(pool)
                .await
                .expect("B's job");
            (status != "queued" && status != "running").then_some(status)
        }
    })
    .await;
    assert_eq!(status, "succeeded");
    let batch_job = service
        .await_job_finished(batch, Duration::from_secs(300))
        .await;
    assert_eq!(batch_job["status"], "succeeded", "{batch_job}");

    let b_finished: DateTime<Utc> =
        sqlx::query_scalar("select finished_at from job_items where job_id = $1")
            .bind(single)
            .fetch_one(&service.database.pool)
            .await
            .expect("B's item");
    let (queued_before_b, a_after_b): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where created_at < $2),
                count(*) filter (where finished_at > $3)
         from job_items where job_id = $1",
    )
    .bind(batch)
    .bind(
        sqlx::query_scalar::<_, DateTime<Utc>>("select created_at from jobs where job_id = $1")
            .bind(single)
            .fetch_one(&service.database.pool)
            .await
            .expect("B's job"),
    )
    .bind(b_finished)
    .fetch_one(&service.database.pool)
    .await
    .expect("A's items around B");
    eprintln!("{a_after_b} of A's {BATCH_SIZE} items finished after B's video");
    assert_eq!(queued_before_b, BATCH_SIZE as i64);
    // FIFO would finish B after all of A's items; fair dispatch runs it within about one window
    // (16) plus the running slots (8) of A's items.
    assert!(
        a_after_b >= (BATCH_SIZE as i64) / 2,
        "B's video finished after {} of A's {BATCH_SIZE} items",
        BATCH_SIZE as i64 - a_after_b
    );
}

/// Creates another API key in the service's database; returns the key.
async fn add_api_key(service: &TestService, name: &str) -> String {
    let key = format!("tok_e2e_{}", Uuid::new_v4().simple());
    let hash: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
    tokworks_shared::db::api_keys::insert_api_key(
        &service.database.pool,
        tokworks_shared::ids::ApiKeyId::new_v7(),
        name,
        &key[..12],
        &hash,
    )
    .await
    .expect("insert the second key");
    key
}

/// `POST /v1/jobs` with `key`; asserts 202 and returns the job id.
async fn submit_as(service: &TestService, key: &str, body: &Value) -> Uuid {
    let response = service
        .http
        .post(format!("{}/v1/jobs", service.api_url))
        .header("x-api-key", key)
        .json(body)
        .send()
        .await
        .expect("POST /v1/jobs");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("Location")
        .to_str()
        .expect("ASCII")
        .to_owned();
    location
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("Location {location} ends with a job id"))
}
