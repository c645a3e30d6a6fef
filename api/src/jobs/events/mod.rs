//! `GET /v1/jobs/{job_id}/events`: a job's progress as Server-Sent Events — `state` (status and
//! counts: first, then on every change), `item` (one per item that ended, in the order of
//! `(finished_at, item_id)`), `end` (the final job view; then the server closes the stream),
//! or `shutdown` (the api is stopping: reconnect, to another instance, after `retry`).
//!
//! Every event's `id:` is an opaque cursor into that item order; sending it back as
//! `Last-Event-ID` resumes after it (the current `state` is always sent first on connect).
//! The job is read by one poller per job and process ([`feed`]), however many streams watch it;
//! a stream lives at most EVENTS_MAX_SECONDS, holds one of the slots capped by
//! EVENTS_MAX_STREAMS(_PER_KEY) ([`stream_slots`]), and frees it as soon as it ends or the client
//! goes away.

pub mod feed;
pub mod stream_slots;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokworks_shared::ids::{ItemId, JobId};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, stream};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;
use tokworks_shared::db::job_events::{EndedItemCursor, EndedItemRow};
use tokworks_shared::db::jobs::JobRow;
use tokworks_shared::job_status::{ItemStatus, JobStatus};

use crate::auth::ApiKey;
use crate::jobs::events::feed::{FeedState, JobSnapshot};
use crate::jobs::events::stream_slots::StreamSlot;
use crate::jobs::lookup::{find_job, parse_job_id};
use crate::jobs::view::{JobCountsResponse, JobSummaryResponse};
use crate::problem::ApiError;
use crate::server::ShutdownSignal;
use crate::service::metrics::OpenEventStreamGuard;
use crate::state::AppState;

/// The request header a reconnecting client sends (the `id:` of the last event it received).
const LAST_EVENT_ID: &str = "last-event-id";
/// Interval of the keep-alive comments.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// How long a client waits before reconnecting (sent once, as `retry:`).
const CLIENT_RETRY: Duration = Duration::from_secs(1);
/// How soon a client reconnects after the `shutdown` event (to another instance).
const SHUTDOWN_RETRY: Duration = Duration::from_millis(250);
/// `Retry-After` of 429 TOO_MANY_STREAMS.
const TOO_MANY_STREAMS_RETRY_AFTER_SECONDS: u64 = 10;
const EVENT_ID_VERSION: &str = "v1:";

/// `GET /v1/jobs/{job_id}/events`.
/// One Server-Sent Event of the stream, as a client's SSE parser sees it (documentation only).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // reason: describes the wire format for the OpenAPI document
pub struct JobEventDocument {
    /// `state`, `item`, `end`, or `shutdown` (the api is stopping: reconnect after `retry`,
    /// with `Last-Event-ID` = this `id`).
    event: String,
    /// The resume cursor (send it back as `Last-Event-ID`).
    id: String,
    /// The event's JSON: the job's status and counts (`state`), the item that ended (`item`),
    /// the final job view (`end`), or `{"reason": "server_shutdown"}` (`shutdown`).
    data: String,
    /// The reconnection delay in milliseconds the server asks for.
    retry: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/v1/jobs/{job_id}/events",
    tag = "jobs",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("job_id" = uuid::Uuid, Path, description = "The job's id."),
        ("Last-Event-ID" = Option<String>, Header, description = "The `id` of the last event received: the stream resumes after it."),
    ),
    responses(
        (status = 200, description = "Server-Sent Events: `state`, `item`, then `end` with the job (or `shutdown` when the api stops: reconnect).", body = JobEventDocument, content_type = "text/event-stream"),
        (status = 400, description = "`INVALID_HEADER` (a bad `Last-Event-ID`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The job finished longer ago than the retention period: its items and results are deleted (`JOB_EXPIRED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`TOO_MANY_STREAMS`: the key's (EVENTS_MAX_STREAMS_PER_KEY) or the instance's (EVENTS_MAX_STREAMS) open streams; with `Retry-After`. Also `RATE_LIMITED`.", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
)]
pub async fn stream_job_events(
    State(state): State<AppState>,
    key: ApiKey,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let job_id = parse_job_id(path)?;
    let resume_after = last_event_cursor(&headers)?;
    // Taken before any read; dropped with the stream, or here on an error.
    let slot = match state.stream_slots.try_acquire(key.api_key_id) {
        Ok(slot) => slot,
        Err(reached) => {
            let mut response = ApiError::TooManyStreams(reached).into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(TOO_MANY_STREAMS_RETRY_AFTER_SECONDS),
            );
            return Ok(response);
        }
    };
    find_job(&state, &key, job_id).await?;
    let feed = state.feeds.watch(&state, job_id, key.api_key_id);
    let deadline = Instant::now() + state.settings.events_and_metrics.events_max;
    let open_stream = state.metrics.event_stream_opened();
    let job_stream = JobEventStream {
        shutdown: state.shutdown.clone(),
        job_id,
        feed,
        cursor: resume_after,
        last_state_sent: None,
        deadline,
        ended: false,
        _slot: slot,
        _open_stream: open_stream,
    };
    let events = stream::unfold(job_stream, JobEventStream::next_events)
        .flat_map(stream::iter)
        .map(Ok::<Event, Infallible>);
    Ok(event_stream_response(events))
}

fn event_stream_response(
    events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> Response {
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE_INTERVAL));
    // Ask buffering reverse proxies (nginx) to pass events through at once.
    (
        [(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        )],
        sse,
    )
        .into_response()
}

/// The `data` of a `state` event.
#[derive(Debug, Clone, Serialize)]
struct StateEventData {
    job_id: JobId,
    status: JobStatus,
    counts: JobCountsResponse,
}

impl StateEventData {
    fn from_row(row: &JobRow) -> Self {
        StateEventData {
            job_id: row.job_id,
            status: row.status,
            counts: JobSummaryResponse::from_row(row).counts,
        }
    }

    /// What a client can see change: the status and every counter.
    fn key(&self) -> (JobStatus, [i32; 5]) {
        let counts = &self.counts;
        (
            self.status,
            [
                counts.total,
                counts.succeeded,
                counts.failed,
                counts.canceled,
                counts.pending,
            ],
        )
    }
}

/// The `data` of an `item` event: what identifies the item and how it ended (the result itself
/// is at `/v1/jobs/{id}/items`).
#[derive(Debug, Clone, Serialize)]
struct ItemEventData {
    item_id: ItemId,
    position: i32,
    status: ItemStatus,
    error_code: Option<String>,
    custom_id: Option<String>,
    video_id: Option<String>,
    finished_at: DateTime<Utc>,
}

impl From<EndedItemRow> for ItemEventData {
    fn from(row: EndedItemRow) -> Self {
        ItemEventData {
            item_id: row.item_id,
            position: row.position,
            status: row.status,
            error_code: row.error_code,
            custom_id: row.custom_id,
            video_id: row.video_id,
            finished_at: row.finished_at,
        }
    }
}

/// The state of one open stream (dropped, with its feed subscription and its slot, when the
/// client goes away).
struct JobEventStream {
    shutdown: ShutdownSignal,
    job_id: JobId,
    /// The job's shared poller.
    feed: watch::Receiver<FeedState>,
    /// The last item sent (or the client's `Last-Event-ID`).
    cursor: Option<EndedItemCursor>,
    last_state_sent: Option<StateEventData>,
    deadline: Instant,
    /// The `end` (or `shutdown`) event was sent: the stream closes.
    ended: bool,
    _slot: StreamSlot,
    _open_stream: OpenEventStreamGuard,
}

impl JobEventStream {
    /// The next events to send, or `None` to close the stream (after `end` or `shutdown`, at
    /// the deadline, when the job is gone, or when Postgres fails: the client then resumes with
    /// `Last-Event-ID`).
    async fn next_events(mut self) -> Option<(Vec<Event>, Self)> {
        loop {
            if self.ended {
                return None;
            }
            if self.shutdown.is_triggered() {
                return Some((vec![self.shutdown_event()], self));
            }
            let feed = self.feed.borrow_and_update().clone();
            match feed {
                FeedState::Pending => {}
                FeedState::Ready(snapshot) => {
                    let events = self.new_events(&snapshot);
                    if !events.is_empty() {
                        return Some((events, self));
                    }
                }
                FeedState::Gone => return None,
                FeedState::Failed => {
                    tracing::warn!(job_id = %self.job_id, "job event stream closed: read failed");
                    return None;
                }
            }
            if self.ended || Instant::now() >= self.deadline {
                return None;
            }
            let shutdown = self.shutdown.clone();
            tokio::select! {
                changed = self.feed.changed() => {
                    if changed.is_err() {
                        // The poller is gone without a last word: let the client resume.
                        return None;
                    }
                }
                () = shutdown.triggered() => {}
                () = tokio::time::sleep_until(self.deadline) => {}
            }
        }
    }

    /// The final event on shutdown: the client reconnects after `retry` (the load balancer
    /// sends it to another instance) and resumes after `id`.
    fn shutdown_event(&mut self) -> Event {
        self.ended = true;
        sse_event(
            "shutdown",
            self.cursor,
            &serde_json::json!({"reason": "server_shutdown"}),
        )
        .retry(SHUTDOWN_RETRY)
    }

    /// The events a snapshot makes for this stream: the state when it changed, the items after
    /// the cursor, and `end` once the job's end is settled.
    fn new_events(&mut self, snapshot: &JobSnapshot) -> Vec<Event> {
        let mut events = Vec::new();
        let state_now = StateEventData::from_row(&snapshot.row);
        let state_changed = self
            .last_state_sent
            .as_ref()
            .is_none_or(|sent| sent.key() != state_now.key());
        if state_changed {
            let mut event = sse_event("state", self.cursor, &state_now);
            if self.last_state_sent.is_none() {
                event = event.retry(CLIENT_RETRY);
            }
            events.push(event);
            self.last_state_sent = Some(state_now);
        }
        for item in snapshot.items_after(self.cursor) {
            self.cursor = Some(item.cursor());
            events.push(sse_event(
                "item",
                self.cursor,
                &ItemEventData::from(item.clone()),
            ));
        }
        if let Some(end) = &snapshot.end {
            events.push(raw_sse_event("end", self.cursor, end));
            self.ended = true;
        }
        events
    }
}

/// An event whose data is JSON already.
fn raw_sse_event(name: &str, cursor: Option<EndedItemCursor>, json: &Arc<str>) -> Event {
    Event::default()
        .event(name)
        .id(encode_event_id(cursor))
        .data(json.as_ref())
}

fn sse_event(name: &str, cursor: Option<EndedItemCursor>, data: &impl Serialize) -> Event {
    let data = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    Event::default()
        .event(name)
        .id(encode_event_id(cursor))
        .data(data)
}

/// The `id:` of an event: the position after the last item sent, versioned and base64url
/// encoded (`v1:` alone before any item).
pub fn encode_event_id(cursor: Option<EndedItemCursor>) -> String {
    let text = match cursor {
        None => EVENT_ID_VERSION.to_owned(),
        Some(cursor) => format!(
            "{EVENT_ID_VERSION}{}:{}",
            cursor.finished_at.timestamp_micros(),
            cursor.item_id
        ),
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// Decodes an event id written by [`encode_event_id`] (`Some(None)`: before any item; `None`:
/// not an id this API writes). Public for the fuzz target.
pub fn decode_event_id(id: &str) -> Option<Option<EndedItemCursor>> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix(EVENT_ID_VERSION)?;
    if rest.is_empty() {
        return Some(None);
    }
    let (micros, item_id) = rest.split_once(':')?;
    let finished_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some(Some(EndedItemCursor {
        finished_at,
        item_id: item_id.parse().ok()?,
    }))
}

/// The cursor of `Last-Event-ID` (none, or empty: from the start); 400 INVALID_HEADER when it
/// is not an id this API sent.
fn last_event_cursor(headers: &HeaderMap) -> Result<Option<EndedItemCursor>, ApiError> {
    let Some(value) = headers.get(LAST_EVENT_ID) else {
        return Ok(None);
    };
    let invalid = || ApiError::InvalidHeader {
        name: "Last-Event-ID",
        message: "not an event id sent by this stream".to_owned(),
    };
    let id = value.to_str().map_err(|_| invalid())?.trim();
    if id.is_empty() {
        return Ok(None);
    }
    decode_event_id(id).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_start_id_and_garbage() {
        assert_eq!(decode_event_id(&encode_event_id(None)), Some(None));
        assert_eq!(decode_event_id("not an id"), None);
        assert_eq!(decode_event_id(&URL_SAFE_NO_PAD.encode("v1:12:nope")), None);
        assert_eq!(decode_event_id(&URL_SAFE_NO_PAD.encode("v2:")), None);
    }

    proptest! {
        #[test]
        fn event_ids_round_trip(micros in 0_i64..4_102_444_800_000_000, id in any::<u128>()) {
            let cursor = EndedItemCursor {
                finished_at: DateTime::from_timestamp_micros(micros).unwrap(),
                item_id: ItemId(uuid::Uuid::from_u128(id)),
            };
            prop_assert_eq!(decode_event_id(&encode_event_id(Some(cursor))), Some(Some(cursor)));
        }

        #[test]
        fn arbitrary_ids_never_panic(id in ".{0,80}") {
            let _ = decode_event_id(&id);
        }
    }
}
