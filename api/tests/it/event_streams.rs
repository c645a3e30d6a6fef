//! Event streams under load and at shutdown (in-process): the per-key and per-instance caps
//! (429 TOO_MANY_STREAMS, slots freed when a stream goes), one poller per job whatever the
//! number of streams, the final `shutdown` event, and the request timeout that spares streams
//! and waiting requests.

use std::time::Duration;
use tokworks_shared::ids::JobId;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::item_claims::ItemEnd;
use tokworks_shared::error_code::ErrorCode;
use tower::ServiceExt;

use crate::events::{SseEvent, SseReader};
use crate::support::{TestApp, TestResponse, VIDEO_URL};

const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

impl SseReader {
    /// Reads past `state` events to the next `item`.
    async fn next_item(&mut self) -> SseEvent {
        loop {
            let event = self.next().await.expect("the stream is open");
            match event.name.as_str() {
                "state" => continue,
                "item" => return event,
                other => panic!("unexpected event {other}"),
            }
        }
    }
}

/// GET the events of `job_id` with `key`: the stream (200) or the problem answer.
async fn open(app: &TestApp, job_id: JobId, key: &str) -> Result<SseReader, TestResponse> {
    let request = Request::get(format!("/v1/jobs/{job_id}/events"))
        .header("x-api-key", key)
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    if response.status() != StatusCode::OK {
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        return Err(TestResponse {
            status: parts.status,
            headers: parts.headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        });
    }
    Ok(SseReader::new(response.into_body()))
}

/// Opens a stream and reads its first (`state`) event.
async fn open_and_read_state(app: &TestApp, job_id: JobId, key: &str) -> SseReader {
    let mut stream = open(app, job_id, key).await.expect("a stream");
    assert_eq!(stream.next().await.unwrap().name, "state");
    stream
}

async fn submit_batch(app: &TestApp, count: u32) -> JobId {
    let urls: Vec<String> = (0..count)
        .map(|number| format!("https://www.tiktok.com/@creator/video/74100000000000{number:05}"))
        .collect();
    let response = app
        .post_json("/v1/jobs", &json!({"kind": "batch", "urls": urls}))
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
    response.body["id"].as_str().unwrap().parse().unwrap()
}

async fn fail_item(app: &TestApp, job_id: JobId, position: i32) {
    let end = ItemEnd::Failed {
        error_code: ErrorCode::VideoNotFound,
        message: "gone".to_owned(),
    };
    app.end_item_at(job_id, position, &end).await;
}

/// Waits (bounded) until `condition` holds.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    tokio::time::timeout(EVENT_TIMEOUT, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn streams_past_the_caps_get_429_too_many_streams_until_a_stream_goes(pool: PgPool) {
    let app = TestApp::with_settings(pool, |settings| {
        settings.server.max_streams_per_key = 2;
        settings.server.max_streams = 3;
    })
    .await;
    let job_id = submit_batch(&app, 1).await;
    // A failed request takes no slot: a 404 stays a 404.
    for _ in 0..3 {
        let missing = open(&app, JobId::new_v7(), &app.key)
            .await
            .err()
            .expect("404");
        missing.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    let first = open_and_read_state(&app, job_id, &app.key).await;
    let _second = open_and_read_state(&app, job_id, &app.key).await;
    let refused = open(&app, job_id, &app.key).await.err().expect("refused");
    let body = refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_STREAMS");
    assert_eq!(body["retryable"], true);
    assert!(
        refused
            .header("retry-after")
            .is_some_and(|value| value.parse::<u64>().unwrap() >= 1)
    );

    // Another key's streams count towards the instance cap.
    let other_key = app.other_key().await;
    let other_job = submit_batch_for(&app, &other_key).await;
    let _third = open_and_read_state(&app, other_job, &other_key).await;
    let refused = open(&app, other_job, &other_key)
        .await
        .err()
        .expect("refused");
    refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_STREAMS");

    // A client that goes away frees its slot at once.
    drop(first);
    let _again = open_and_read_state(&app, job_id, &app.key).await;
}

async fn submit_batch_for(app: &TestApp, key: &str) -> JobId {
    let response = app
        .send(
            Request::post("/v1/jobs")
                .header("x-api-key", key)
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"kind": "video", "url": VIDEO_URL}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
    response.body["id"].as_str().unwrap().parse().unwrap()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn one_poller_serves_every_stream_of_a_job_and_stops_with_the_last(pool: PgPool) {
    let app = TestApp::with_settings(pool, |settings| {
        settings.events_and_metrics.events_poll_interval = Duration::from_millis(50);
    })
    .await;
    let busy_job = submit_batch(&app, 2).await;
    let quiet_job = submit_batch(&app, 1).await;
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(open_and_read_state(&app, busy_job, &app.key).await);
    }
    let quiet = open_and_read_state(&app, quiet_job, &app.key).await;
    assert_eq!(app.state.feeds.len(), 2, "one poller per job");
    assert!(
        app.state
            .metrics
            .render()
            .contains("tokworks_event_feed_pollers 2"),
        "{}",
        app.state.metrics.render()
    );

    fail_item(&app, busy_job, 0).await;
    for stream in &mut streams {
        assert_eq!(stream.next_item().await.data["position"], 0);
    }

    drop(streams);
    until("the busy job's poller to stop", || {
        app.state.feeds.len() == 1
    })
    .await;
    drop(quiet);
    until("every poller to stop", || app.state.feeds.is_empty()).await;
    assert!(
        app.state
            .metrics
            .render()
            .contains("tokworks_event_feed_pollers 0")
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn at_shutdown_every_stream_ends_with_a_shutdown_event_that_says_when_to_reconnect(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let job_id = submit_batch(&app, 2).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(open(&app, job_id, &app.key).await.unwrap());
    }
    let mut state_ids = Vec::new();
    for stream in &mut streams {
        state_ids.push(stream.next().await.unwrap().id);
    }

    app.state.shutdown.trigger();
    for (stream, state_id) in streams.iter_mut().zip(state_ids) {
        let last = stream.next().await.expect("a final event");
        assert_eq!(last.name, "shutdown");
        assert_eq!(last.id, state_id, "resumes where the stream was");
        assert!(last.retry.is_some_and(|retry| retry <= 1000), "{last:?}");
        assert_eq!(last.data["reason"], "server_shutdown");
        assert!(
            stream.next().await.is_none(),
            "closed after the final event"
        );
    }
    assert_eq!(app.state.stream_slots.open(), 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_request_past_request_timeout_gets_503_but_streams_and_waits_go_on(pool: PgPool) {
    let app = TestApp::with_settings(pool, |settings| {
        settings.server.request_timeout = Duration::from_millis(300);
        settings.wait_max = Duration::from_secs(1);
        settings.events_and_metrics.events_poll_interval = Duration::from_millis(50);
    })
    .await;
    let job_id = submit_batch(&app, 2).await;
    let mut stream = open_and_read_state(&app, job_id, &app.key).await;

    // A body that never comes: the handler waits for it past the timeout.
    let slow = tokio::time::timeout(
        EVENT_TIMEOUT,
        app.send(
            app.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .body(Body::from_stream(futures::stream::pending::<
                    Result<Vec<u8>, std::io::Error>,
                >()))
                .unwrap(),
        ),
    )
    .await
    .expect("answered within the request timeout");
    slow.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "REQUEST_TIMEOUT");
    assert_eq!(slow.header("retry-after"), Some("1"));

    // The stream outlived the request timeout.
    fail_item(&app, job_id, 0).await;
    assert_eq!(stream.next_item().await.data["position"], 0);

    // A waiting request gets WAIT_MAX_SECONDS on top of the timeout: 202 after its wait.
    let waited = app
        .send(
            app.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .header("prefer", "wait=1")
                .body(Body::from(
                    json!({"kind": "video", "url": VIDEO_URL}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(waited.status, StatusCode::ACCEPTED, "{:#}", waited.body);
}
