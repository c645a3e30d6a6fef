//! `GET /v1/jobs/{id}/events`: live delivery while items end, resuming with `Last-Event-ID`,
//! the replay of a finished job, and auth. Events are read from the real response body.

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

use crate::support::{TestApp, stored_video};

/// How long a test waits for the next event (or the end of the stream).
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

fn video_id(number: u32) -> String {
    format!("73100000000000{number:05}")
}

fn video_url(number: u32) -> String {
    format!("https://www.tiktok.com/@creator/video/{}", video_id(number))
}

/// A test app whose streams look for ended items every 50 ms.
async fn quick_app(pool: PgPool) -> TestApp {
    TestApp::with_settings(pool, |settings| {
        settings.events_and_metrics.events_poll_interval = Duration::from_millis(50);
    })
    .await
}

/// Submits a batch of `count` videos (the second with a custom id); returns the job id.
async fn submit_batch(app: &TestApp, count: u32) -> JobId {
    let urls: Vec<Value> = (0..count)
        .map(|number| match number {
            1 => json!({"url": video_url(number), "custom_id": "row-1"}),
            _ => json!(video_url(number)),
        })
        .collect();
    let response = app
        .post_json("/v1/jobs", &json!({"kind": "batch", "urls": urls}))
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
    response.body["id"].as_str().unwrap().parse().unwrap()
}

/// Plays the worker: the item at `position` succeeds (its video stored first) or fails.
async fn end_item(app: &TestApp, job_id: JobId, position: i32, succeed: bool) {
    let end = if succeed {
        let video_id = video_id(u32::try_from(position).unwrap());
        sqlx::query(
            "insert into videos (video_id, data, source, fetched_at)
             values ($1, $2, 'web', now())
             on conflict (video_id) do nothing",
        )
        .bind(&video_id)
        .bind(stored_video(&video_id, json!({})))
        .execute(&app.pool)
        .await
        .unwrap();
        ItemEnd::Succeeded {
            video_id,
            cache_hit: false,
        }
    } else {
        ItemEnd::Failed {
            error_code: ErrorCode::VideoNotFound,
            message: "gone".to_owned(),
        }
    };
    app.end_item_at(job_id, position, &end).await;
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub(crate) struct SseEvent {
    pub(crate) name: String,
    pub(crate) id: String,
    /// The `retry:` field (milliseconds), when the event has one.
    pub(crate) retry: Option<u64>,
    pub(crate) data: Value,
}

/// Reads events from a streaming response body (also used by `event_streams.rs`).
pub(crate) struct SseReader {
    body: Body,
    buffer: String,
}

impl SseReader {
    /// A reader of `body`, a `text/event-stream` response body.
    pub(crate) fn new(body: Body) -> SseReader {
        SseReader {
            body,
            buffer: String::new(),
        }
    }

    /// The next event; `None` when the server closed the stream. Fails the test after
    /// [`EVENT_TIMEOUT`] without one.
    pub(crate) async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_event(&block) {
                    return Some(event);
                }
                continue;
            }
            let frame = tokio::time::timeout(EVENT_TIMEOUT, self.body.frame())
                .await
                .expect("an event (or the end of the stream) in time");
            match frame {
                None => {
                    assert!(self.buffer.trim().is_empty(), "unterminated event");
                    return None;
                }
                Some(frame) => {
                    if let Ok(data) = frame.unwrap().into_data() {
                        self.buffer.push_str(std::str::from_utf8(&data).unwrap());
                    }
                }
            }
        }
    }

    /// Reads until an event named `name` comes; returns every event read.
    async fn until(&mut self, name: &str) -> Vec<SseEvent> {
        let mut events = Vec::new();
        loop {
            let event = self.next().await.expect("the stream is still open");
            let done = event.name == name;
            events.push(event);
            if done {
                return events;
            }
        }
    }

    /// Reads until the server closes the stream; returns every event read.
    async fn until_closed(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

/// An event block; `None` for a comment-only block (keep-alive).
fn parse_event(block: &str) -> Option<SseEvent> {
    let (mut name, mut id, mut retry, mut data) = (None, None, None, String::new());
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("id:") {
            id = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("retry:") {
            retry = Some(value.trim().parse().expect("retry is milliseconds"));
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.trim_start());
        }
    }
    Some(SseEvent {
        name: name?,
        id: id.expect("every event has an id"),
        retry,
        data: serde_json::from_str(&data).expect("JSON data"),
    })
}

/// Opens the stream of `job_id` (optionally resuming); asserts 200 `text/event-stream`.
async fn open_stream(app: &TestApp, job_id: JobId, last_event_id: Option<&str>) -> SseReader {
    let mut request = app.request(Method::GET, &format!("/v1/jobs/{job_id}/events"));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    SseReader::new(response.into_body())
}

fn names(events: &[SseEvent]) -> Vec<&str> {
    events.iter().map(|event| event.name.as_str()).collect()
}

fn item_positions(events: &[SseEvent]) -> Vec<i64> {
    events
        .iter()
        .filter(|event| event.name == "item")
        .map(|event| event.data["position"].as_i64().unwrap())
        .collect()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_listening_client_gets_state_then_each_item_as_it_ends_then_end(pool: PgPool) {
    let app = quick_app(pool).await;
    let job_id = submit_batch(&app, 3).await;
    let mut stream = open_stream(&app, job_id, None).await;

    let first = stream.next().await.unwrap();
    assert_eq!(first.name, "state");
    assert_eq!(first.data["job_id"], job_id.to_string());
    assert_eq!(first.data["status"], "queued");
    assert_eq!(first.data["counts"]["pending"], 3);

    let mut events = vec![first];
    for (position, succeed) in [(0, true), (1, false), (2, true)] {
        end_item(&app, job_id, position, succeed).await;
        let read = stream.until("item").await;
        assert_eq!(
            read.last().unwrap().data["position"],
            position,
            "items arrive as they end"
        );
        events.extend(read);
    }
    let rest = stream.until_closed().await;
    assert_eq!(
        rest.last().map(|event| event.name.as_str()),
        Some("end"),
        "{rest:?}"
    );
    events.extend(rest);

    assert_eq!(item_positions(&events), vec![0, 1, 2]);
    let failed = events
        .iter()
        .find(|event| event.name == "item" && event.data["position"] == 1)
        .unwrap();
    assert_eq!(failed.data["status"], "failed");
    assert_eq!(failed.data["error_code"], "VIDEO_NOT_FOUND");
    assert_eq!(failed.data["custom_id"], "row-1");
    assert!(failed.data.get("result").is_none(), "no result in events");
    let states: Vec<&SseEvent> = events.iter().filter(|e| e.name == "state").collect();
    assert_eq!(states.last().unwrap().data["status"], "partial");
    assert_eq!(states.last().unwrap().data["counts"]["succeeded"], 2);
    let end = events.last().unwrap();
    assert_eq!(end.data["id"], job_id.to_string());
    assert_eq!(end.data["status"], "partial");
    assert_eq!(end.data["counts"]["failed"], 1);
    assert_eq!(events.iter().filter(|event| event.name == "end").count(), 1);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn resuming_with_last_event_id_sends_exactly_the_missed_events(pool: PgPool) {
    let app = quick_app(pool).await;
    let job_id = submit_batch(&app, 3).await;
    let mut stream = open_stream(&app, job_id, None).await;
    end_item(&app, job_id, 0, true).await;
    let seen = stream.until("item").await;
    let last_id = seen.last().unwrap().id.clone();
    drop(stream);

    end_item(&app, job_id, 1, true).await;
    end_item(&app, job_id, 2, false).await;
    let mut resumed = open_stream(&app, job_id, Some(&last_id)).await;
    let events = resumed.until_closed().await;
    assert_eq!(names(&events), vec!["state", "item", "item", "end"]);
    assert_eq!(item_positions(&events), vec![1, 2]);
    assert_eq!(events[0].data["status"], "partial");

    // Resuming after the end: the current state and the end again, no item.
    let end_id = events.last().unwrap().id.clone();
    let mut after_end = open_stream(&app, job_id, Some(&end_id)).await;
    assert_eq!(names(&after_end.until_closed().await), vec!["state", "end"]);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_finished_job_replays_state_every_ended_item_and_end_then_closes(pool: PgPool) {
    let app = quick_app(pool).await;
    let job_id = submit_batch(&app, 3).await;
    end_item(&app, job_id, 0, true).await;
    assert_eq!(
        app.post(&format!("/v1/jobs/{job_id}/cancel")).await.status,
        StatusCode::OK
    );

    let events = open_stream(&app, job_id, None).await.until_closed().await;
    assert_eq!(names(&events), vec!["state", "item", "item", "item", "end"]);
    assert_eq!(events[0].data["status"], "canceled");
    assert_eq!(events[0].data["counts"]["canceled"], 2);
    assert_eq!(item_positions(&events), vec![0, 1, 2]);
    assert_eq!(events[1].data["status"], "succeeded");
    assert_eq!(events[1].data["video_id"], video_id(0));
    assert_eq!(events[2].data["status"], "canceled");
    assert_eq!(events[2].data["error_code"], "CANCELED");
    assert_eq!(events[4].data["status"], "canceled");
    // Ids are distinct and a replay from an item's id gives only what follows it.
    let second_id = events[2].id.clone();
    let rest = open_stream(&app, job_id, Some(&second_id))
        .await
        .until_closed()
        .await;
    assert_eq!(names(&rest), vec!["state", "item", "end"]);
    assert_eq!(item_positions(&rest), vec![2]);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn another_keys_job_is_404_no_key_is_401_and_a_forged_id_is_400(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = app.create_video_job(crate::support::VIDEO_URL).await;
    let path = format!("/v1/jobs/{job_id}/events");

    let other_key = app.other_key().await;
    let response = app
        .send(
            Request::get(&path)
                .header("x-api-key", other_key)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    response.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");

    let response = app
        .send(Request::get(&path).body(Body::empty()).unwrap())
        .await;
    response.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    let response = app
        .send(
            app.request(Method::GET, &path)
                .header("last-event-id", "forged")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    response.assert_problem(StatusCode::BAD_REQUEST, "INVALID_HEADER");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_stream_closes_at_events_max_without_an_end_and_resumes(pool: PgPool) {
    let app = TestApp::with_settings(pool, |settings| {
        settings.events_and_metrics.events_max = Duration::from_millis(300);
        settings.events_and_metrics.events_poll_interval = Duration::from_millis(50);
    })
    .await;
    let job_id = submit_batch(&app, 2).await;
    let events = open_stream(&app, job_id, None).await.until_closed().await;
    assert_eq!(
        names(&events),
        vec!["state"],
        "closed by the server, no end"
    );
    let open_streams = app.state.metrics.render();
    assert!(
        open_streams.contains("tokworks_event_streams_open 0"),
        "{open_streams}"
    );

    end_item(&app, job_id, 0, true).await;
    let resumed = open_stream(&app, job_id, Some(&events[0].id))
        .await
        .until_closed()
        .await;
    assert_eq!(names(&resumed), vec!["state", "item"]);
}
