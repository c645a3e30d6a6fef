//! Webhooks end to end: a video job with a webhook to a receiver on 127.0.0.1; the receiver
//! holds the first delivery open, the worker sending it is killed with `kill -9` mid-send, and
//! the other worker delivers the same event, with the same `webhook-id`, once its lease expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokworks_shared::webhooks::signature::verify_webhook;

use crate::ground_truth::canonical_url;
use crate::harness::{ServiceOptions, TestService, await_condition};

/// Covers the lease (timeout 5 s + 10 s margin), the retry and the extraction.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug)]
struct Received {
    webhook_id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
}

#[derive(Clone)]
struct ReceiverState {
    requests: Arc<AtomicUsize>,
    sender: mpsc::UnboundedSender<Received>,
}

/// Records every request; holds the first one open forever (until the sender goes away).
async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let _ = state.sender.send(Received {
        webhook_id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    if state.requests.fetch_add(1, Ordering::SeqCst) == 0 {
        std::future::pending::<()>().await;
    }
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_send_loses_no_webhook() {
    let (sender, mut received) = mpsc::unbounded_channel();
    let state = ReceiverState {
        requests: Arc::default(),
        sender,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let port = listener.local_addr().expect("receiver address").port();
    let app = Router::new().fallback(receive).with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let port_text = port.to_string();
    let options = ServiceOptions::new("webhook_kill")
        .api_env("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        .api_env("WEBHOOK_ALLOWED_PORTS", &port_text)
        .worker_env("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        .worker_env("WEBHOOK_ALLOWED_PORTS", &port_text)
        .worker_env("WEBHOOK_TIMEOUT_SECONDS", "5")
        .worker_env("WEBHOOK_RETRY_SCHEDULE_SECONDS", "1,1,1");
    let service = TestService::start(options).await;
    let truth = service.sim_plain_videos(1).await.remove(0);
    let hook = format!("http://127.0.0.1:{port}/hook");
    let job_id = service
        .submit_job(&json!({
            "kind": "video",
            "url": canonical_url(&truth),
            "webhook": {"url": hook, "events": ["job.completed"]},
        }))
        .await;

    let first = tokio::time::timeout(DELIVERY_TIMEOUT, received.recv())
        .await
        .expect("the first delivery in time")
        .expect("receiver running");
    let claimed_by: String = sqlx::query_scalar(
        "select claimed_by from webhook_deliveries where job_id = $1 and status = 'delivering'",
    )
    .bind(job_id)
    .fetch_one(&service.database.pool)
    .await
    .expect("the delivery is held by a worker");
    let victim = usize::from(claimed_by.starts_with("w2-"));
    service.kill_worker_hard(victim).await;

    let second = tokio::time::timeout(DELIVERY_TIMEOUT, received.recv())
        .await
        .expect("the redelivery by the surviving worker in time")
        .expect("receiver running");
    assert_eq!(
        second.webhook_id, first.webhook_id,
        "retries keep the webhook-id"
    );
    assert_eq!(second.body, first.body);

    let secret = service
        .http
        .get(format!("{}/v1/webhook-secret", service.api_url))
        .header("x-api-key", &service.api_key)
        .send()
        .await
        .expect("GET /v1/webhook-secret")
        .json::<Value>()
        .await
        .expect("secret JSON");
    let secret = secret["secret"].as_str().expect("a secret");
    for request in [&first, &second] {
        verify_webhook(
            secret,
            &request.webhook_id,
            &request.timestamp,
            &request.signature,
            &request.body,
            chrono::Utc::now().timestamp(),
        )
        .expect("the signature verifies with the shipped verifier");
    }
    let event: Value = serde_json::from_slice(&second.body).expect("JSON body");
    assert_eq!(event["type"], "job.completed");
    assert_eq!(event["data"]["id"], job_id.to_string());
    assert_eq!(event["data"]["status"], "succeeded");

    let deliveries = await_condition("the delivery to succeed", DELIVERY_TIMEOUT, || {
        let pool = service.database.pool.clone();
        async move {
            let rows: Vec<(String, i32)> =
                sqlx::query_as("select status, attempts from webhook_deliveries where job_id = $1")
                    .bind(job_id)
                    .fetch_all(&pool)
                    .await
                    .ok()?;
            rows.iter()
                .all(|(status, _)| status == "succeeded")
                .then_some(rows)
        }
    })
    .await;
    assert_eq!(
        deliveries,
        vec![("succeeded".to_owned(), 2)],
        "one event, claimed twice"
    );
    assert!(
        received.try_recv().is_err(),
        "exactly one successful delivery"
    );
}
