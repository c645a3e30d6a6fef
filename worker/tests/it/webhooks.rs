//! The webhook deliverer against a receiver on 127.0.0.1 (an axum server in the test): every
//! signature is checked with the shipped verifier; retries until success (one success per
//! event, same webhook-id), 410 stops, redirects are not followed, an expired lease is
//! re-claimed, rotation signs with both secrets, and the guard refuses loopback at send time.

// Test helpers, not only `#[test]` fns: unwrap is fine here (the crate root is not `cfg(test)`).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokworks_shared::ids::{ApiKeyId, JobId};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use tokworks_shared::db::webhooks as webhook_db;
use tokworks_shared::webhooks::address_guard::AddressPolicy;
use tokworks_shared::webhooks::signature::verify_webhook;
use tokworks_worker::background::webhook_deliverer::{Deliverer, DeliverySettings};
use uuid::Uuid;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    webhook_id: String,
    signature: String,
    timestamp: String,
    body: Bytes,
    path: String,
}

/// What the receiver answers to the n-th request (0-based) for one webhook-id.
pub(crate) type Behaviour = Arc<dyn Fn(usize) -> Response + Send + Sync>;

#[derive(Clone)]
struct ReceiverState {
    behaviour: Behaviour,
    seen: Arc<Mutex<HashMap<String, usize>>>,
    sender: mpsc::UnboundedSender<Received>,
}

pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) received: mpsc::UnboundedReceiver<Received>,
}

pub(crate) async fn start_receiver(behaviour: Behaviour) -> Receiver {
    let (sender, received) = mpsc::unbounded_channel();
    let state = ReceiverState {
        behaviour,
        seen: Arc::default(),
        sender,
    };
    let app = Router::new().fallback(receive).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://127.0.0.1:{}/hook", address.port()),
        received,
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let received = Received {
        webhook_id: header("webhook-id"),
        signature: header("webhook-signature"),
        timestamp: header("webhook-timestamp"),
        body,
        path: uri.path().to_owned(),
    };
    let index = {
        let mut seen = state.seen.lock().unwrap();
        let count = seen.entry(received.webhook_id.clone()).or_insert(0);
        *count += 1;
        *count - 1
    };
    let _ = state.sender.send(received);
    (state.behaviour)(index)
}

impl Receiver {
    pub(crate) async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(20), self.received.recv())
            .await
            .expect("a webhook request in time")
            .expect("receiver running")
    }
}

/// Deliverer settings allowing the receiver's port (WEBHOOK_ALLOWED_PORTS).
pub(crate) fn settings(
    receiver: &Receiver,
    allow_private: bool,
    retry_schedule: Vec<Duration>,
) -> DeliverySettings {
    let port = url::Url::parse(&receiver.url).unwrap().port().unwrap();
    DeliverySettings {
        policy: AddressPolicy {
            allow_private_networks: allow_private,
            allowed_ports: vec![port],
        },
        retry_schedule,
        // Generous: the receiver shares a current-thread runtime with the test on a busy machine,
        // and a timed-out attempt would be retried (changing the attempt counts asserted below).
        timeout: Duration::from_secs(20),
    }
}

/// Starts a deliverer; dropping the returned sender stops it.
pub(crate) fn start_deliverer(pool: &PgPool, settings: DeliverySettings) -> watch::Sender<bool> {
    let (stop, shutdown) = watch::channel(false);
    let deliverer = Deliverer {
        pool: pool.clone(),
        worker_name: format!("test-deliverer-{}", Uuid::now_v7()),
        settings: Arc::new(settings),
    };
    tokio::spawn(deliverer.run(shutdown));
    stop
}

/// A key and a running job whose webhook is `url` with every event; returns (key id, job id).
pub(crate) async fn job_with_webhook(pool: &PgPool, url: &str) -> (ApiKeyId, JobId) {
    let api_key_id = tokworks_shared::test_fixtures::insert_key(pool).await;
    let job_id = JobId::new_v7();
    sqlx::query(
        "insert into jobs (job_id, api_key_id, kind, status, request, items_total, webhook_url,
                           webhook_events)
         values ($1, $2, 'video', 'running', '{}'::jsonb, 1, $3,
                 array['job.completed','job.failed','job.canceled','job.progress'])",
    )
    .bind(job_id)
    .bind(api_key_id)
    .bind(url)
    .execute(pool)
    .await
    .unwrap();
    (api_key_id, job_id)
}

pub(crate) async fn enqueue(pool: &PgPool, job_id: JobId, event_type: &str) -> u64 {
    let mut transaction = pool.begin().await.unwrap();
    let written = webhook_db::enqueue_job_event(&mut transaction, job_id, event_type, None)
        .await
        .unwrap();
    transaction.commit().await.unwrap();
    written
}

async fn secret(pool: &PgPool, api_key_id: ApiKeyId) -> String {
    webhook_db::ensure_webhook_secret(pool, api_key_id)
        .await
        .unwrap()
        .secret
}

fn assert_verifies(secret: &str, received: &Received) {
    let now = chrono::Utc::now().timestamp();
    verify_webhook(
        secret,
        &received.webhook_id,
        &received.timestamp,
        &received.signature,
        &received.body,
        now,
    )
    .unwrap_or_else(|error| panic!("{error}: {received:?}"));
}

/// Waits until the job's deliveries all have a final status; returns (status, attempts) each.
pub(crate) async fn await_finished(
    pool: &PgPool,
    job_id: JobId,
) -> Vec<(String, i32, Option<i32>)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows: Vec<(String, i32, Option<i32>)> = sqlx::query_as(
            "select status, attempts, last_status_code from webhook_deliveries
             where job_id = $1 order by delivery_id",
        )
        .bind(job_id)
        .fetch_all(pool)
        .await
        .unwrap();
        if !rows.is_empty()
            && rows
                .iter()
                .all(|(status, ..)| !matches!(status.as_str(), "pending" | "delivering"))
        {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries unfinished: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_receiver_down_for_three_attempts_gets_each_event_exactly_once(pool: PgPool) {
    let mut receiver = start_receiver(Arc::new(|index| {
        if index < 3 {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else {
            (StatusCode::OK, "thanks").into_response()
        }
    }))
    .await;
    let (api_key_id, job_id) = job_with_webhook(&pool, &receiver.url).await;
    assert_eq!(enqueue(&pool, job_id, "job.progress").await, 1);
    assert_eq!(enqueue(&pool, job_id, "job.completed").await, 1);
    assert_eq!(
        enqueue(&pool, job_id, "item.failed").await,
        0,
        "not subscribed"
    );
    let _stop = start_deliverer(
        &pool,
        settings(&receiver, true, vec![Duration::from_millis(200); 4]),
    );

    let secret = secret(&pool, api_key_id).await;
    let mut per_event: HashMap<String, Vec<Received>> = HashMap::new();
    for _ in 0..8 {
        let received = receiver.next().await;
        assert_verifies(&secret, &received);
        per_event
            .entry(received.webhook_id.clone())
            .or_default()
            .push(received);
    }
    assert_eq!(
        per_event.len(),
        2,
        "two events, each retried under one webhook-id"
    );
    for requests in per_event.values() {
        assert_eq!(requests.len(), 4);
        assert!(
            requests
                .iter()
                .all(|request| request.body == requests[0].body)
        );
    }
    let rows = await_finished(&pool, job_id).await;
    assert_eq!(
        rows,
        vec![("succeeded".to_owned(), 4, Some(200)); 2],
        "exactly one success per event"
    );
    let attempts: Vec<(Option<i32>, String, Option<String>)> = sqlx::query_as(
        "select a.status_code, a.outcome, a.response_excerpt from webhook_delivery_attempts a
         join webhook_deliveries d using (delivery_id) where d.job_id = $1
         order by d.delivery_id, a.attempt",
    )
    .bind(job_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(attempts.len(), 8);
    assert_eq!(attempts[0].0, Some(503));
    assert_eq!(attempts[0].1, "retry_scheduled");
    assert_eq!(
        attempts[3],
        (Some(200), "succeeded".to_owned(), Some("thanks".to_owned()))
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), receiver.received.recv())
            .await
            .is_err(),
        "nothing after the successes"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn gone_stops_deliveries_to_that_url(pool: PgPool) {
    let mut receiver = start_receiver(Arc::new(|_| StatusCode::GONE.into_response())).await;
    let (api_key_id, job_id) = job_with_webhook(&pool, &receiver.url).await;
    enqueue(&pool, job_id, "job.progress").await;
    let _stop = start_deliverer(
        &pool,
        settings(&receiver, true, vec![Duration::from_millis(100); 4]),
    );
    assert_verifies(&secret(&pool, api_key_id).await, &receiver.next().await);
    let rows = await_finished(&pool, job_id).await;
    // The delivery ends `stopped` on the 410. (On a loaded machine an earlier attempt may time
    // out and be retried; the attempt count is not what this test is about.)
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].2),
        ("stopped", Some(410)),
        "{rows:?}"
    );
    assert_eq!(
        enqueue(&pool, job_id, "job.completed").await,
        0,
        "the URL is disabled"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn redirects_are_failures_and_not_followed(pool: PgPool) {
    let mut receiver = start_receiver(Arc::new(|_| {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, "/elsewhere")],
        )
            .into_response()
    }))
    .await;
    let (_, job_id) = job_with_webhook(&pool, &receiver.url).await;
    enqueue(&pool, job_id, "job.failed").await;
    let _stop = start_deliverer(
        &pool,
        settings(&receiver, true, vec![Duration::from_millis(100)]),
    );
    let rows = await_finished(&pool, job_id).await;
    assert_eq!(rows, vec![("failed".to_owned(), 2, Some(307))]);
    for _ in 0..2 {
        assert_eq!(receiver.next().await.path, "/hook");
    }
    assert!(
        receiver.received.try_recv().is_err(),
        "the redirect was never followed"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn rotation_signs_with_the_old_and_the_new_secret(pool: PgPool) {
    let mut receiver = start_receiver(Arc::new(|_| StatusCode::NO_CONTENT.into_response())).await;
    let (api_key_id, job_id) = job_with_webhook(&pool, &receiver.url).await;
    let old = secret(&pool, api_key_id).await;
    let rotated = webhook_db::rotate_webhook_secret(&pool, api_key_id, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_ne!(rotated.secret, old);
    enqueue(&pool, job_id, "job.canceled").await;
    let _stop = start_deliverer(&pool, settings(&receiver, true, vec![]));
    let received = receiver.next().await;
    assert_eq!(received.signature.split(' ').count(), 2);
    assert_verifies(&old, &received);
    assert_verifies(&rotated.secret, &received);
    assert_eq!(await_finished(&pool, job_id).await[0].0, "succeeded");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_expired_lease_is_reclaimed_with_the_same_webhook_id(pool: PgPool) {
    let mut receiver = start_receiver(Arc::new(|_| StatusCode::OK.into_response())).await;
    let (_, job_id) = job_with_webhook(&pool, &receiver.url).await;
    enqueue(&pool, job_id, "job.completed").await;
    // A worker claims it and dies mid-send: its lease (zero here) expires.
    let dead = webhook_db::claim_due_deliveries(&pool, "dead-worker", Duration::ZERO, 10, 5)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    let _stop = start_deliverer(&pool, settings(&receiver, true, vec![]));
    let received = receiver.next().await;
    assert_eq!(received.webhook_id, dead[0].webhook_id);
    assert_eq!(
        await_finished(&pool, job_id).await,
        vec![("succeeded".to_owned(), 2, Some(200))]
    );
    // The dead worker's late result is fenced off by the claim id.
    let late = webhook_db::end_delivery_attempt(
        &pool,
        &dead[0],
        webhook_db::AttemptOutcome::Failed,
        &webhook_db::AttemptRecord {
            worker_name: "dead-worker".to_owned(),
            started_at: chrono::Utc::now(),
            status_code: None,
            latency: Duration::ZERO,
            response_excerpt: None,
            error: Some("late".to_owned()),
        },
    )
    .await
    .unwrap();
    assert!(!late);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn loopback_is_refused_at_send_time_without_the_flag(pool: PgPool) {
    let mut receiver = start_receiver(Arc::new(|_| StatusCode::OK.into_response())).await;
    let (_, job_id) = job_with_webhook(&pool, &receiver.url).await;
    enqueue(&pool, job_id, "job.completed").await;
    let _stop = start_deliverer(
        &pool,
        settings(&receiver, false, vec![Duration::from_millis(100); 3]),
    );
    let rows = await_finished(&pool, job_id).await;
    assert_eq!(rows, vec![("failed".to_owned(), 1, None)]);
    let error: Option<String> =
        sqlx::query_scalar("select last_error from webhook_deliveries where job_id = $1")
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(error.unwrap_or_default().contains("loopback"));
    assert!(receiver.received.try_recv().is_err(), "nothing was sent");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn concurrent_first_uses_of_a_keys_secret_all_get_the_one_secret(pool: PgPool) {
    // The deliverer and the api may both be first to need a key's secret: every caller must get
    // the single secret that won, none an error.
    for round in 0..20u8 {
        let api_key_id = ApiKeyId::new_v7();
        sqlx::query(
            "insert into api_keys (api_key_id, name, key_prefix, key_sha256)
             values ($1, 'race', 'tok_race', $2)",
        )
        .bind(api_key_id)
        .bind(vec![round; 32])
        .execute(&pool)
        .await
        .unwrap();
        let callers = (0..8).map(|_| webhook_db::ensure_webhook_secret(&pool, api_key_id));
        let secrets: Vec<String> = futures::future::join_all(callers)
            .await
            .into_iter()
            .map(|row| row.expect("every caller gets the secret").secret)
            .collect();
        assert!(
            secrets.iter().all(|secret| *secret == secrets[0]),
            "one secret per key: {secrets:?}"
        );
    }
}
