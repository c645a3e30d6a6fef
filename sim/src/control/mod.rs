//! The control API under `/_sim/` on the proxy port: health, CA, request log, counters, reset,
//! fault rules, latency knobs, corpus ground truth, cases, the OpenAI knobs and added posts (`posts`). JSON in and out.

pub mod counters;
pub mod posts;
pub mod request_log;

use http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::exchange::{SimRequest, SimResponse};
use crate::faults::cases::all_cases;
use crate::faults::{FaultRuleSpec, LatencyConfig, RuleOrigin};
use crate::openai::OpenAiKnobs;
use crate::server::state::SimState;
use request_log::LogFilter;

/// Default and largest `limit` of `GET /_sim/requests`.
const REQUEST_LOG_DEFAULT_LIMIT: usize = 10_000;
/// Default `limit` of `GET /_sim/videos`.
const VIDEOS_DEFAULT_LIMIT: usize = 100;

/// A JSON error body: `{"error": "…"}`.
pub fn error_response(status: StatusCode, message: &str) -> SimResponse {
    SimResponse::json(status, &json!({ "error": message }))
}

fn ok_json(value: &Value) -> SimResponse {
    SimResponse::json(StatusCode::OK, value)
}

fn method_not_allowed(allowed: &'static str) -> SimResponse {
    let mut response = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed here; allowed: {allowed}"),
    );
    response
        .headers
        .insert(header::ALLOW, http::HeaderValue::from_static(allowed));
    response
}

/// Answers one direct request whose path starts with `/_sim/`.
pub fn handle(state: &SimState, request: &SimRequest) -> SimResponse {
    let route = request.path.trim_end_matches('/');
    let method = &request.method;
    match route {
        "/_sim/health" => match *method {
            Method::GET | Method::HEAD => health(state),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/_sim/ca.pem" => match *method {
            Method::GET | Method::HEAD => SimResponse::with_body(
                StatusCode::OK,
                "application/x-pem-file",
                state.certificates.ca_pem().to_string(),
            ),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/_sim/requests" => match *method {
            Method::GET => requests(state, request),
            _ => method_not_allowed("GET"),
        },
        "/_sim/counters" => match *method {
            Method::GET => ok_json(&json!(state.counters.snapshot())),
            _ => method_not_allowed("GET"),
        },
        "/_sim/reset" => match *method {
            Method::POST => {
                state.request_log.clear();
                state.counters.clear();
                state.faults.reset();
                state.rate_limit.reset();
                state.site.corpus().clear_added_posts();
                ok_json(&json!({ "reset": true }))
            }
            _ => method_not_allowed("POST"),
        },
        "/_sim/faults" => match *method {
            Method::GET => ok_json(&json!({ "rules": state.faults.list() })),
            Method::POST => add_fault(state, request),
            Method::DELETE => ok_json(&json!({ "removed": state.faults.remove_runtime() })),
            _ => method_not_allowed("GET, POST, DELETE"),
        },
        "/_sim/config" => match *method {
            Method::GET => {
                let latency = state.faults.latency();
                ok_json(&json!({
                    "latency_ms": latency.latency_ms,
                    "jitter_ms": latency.jitter_ms,
                    "rate_limit_per_second": state.rate_limit.per_second(),
                }))
            }
            Method::POST | Method::PUT => set_config(state, request),
            _ => method_not_allowed("GET, POST, PUT"),
        },
        "/_sim/posts" => match *method {
            Method::POST => posts::add_posts(state, request),
            _ => method_not_allowed("POST"),
        },
        "/_sim/videos" => match *method {
            Method::GET => videos(state, request),
            _ => method_not_allowed("GET"),
        },
        "/_sim/comments" => match *method {
            Method::GET => comments_truth(state, request),
            _ => method_not_allowed("GET"),
        },
        "/_sim/cases" => match *method {
            Method::GET => ok_json(&json!({ "cases": all_cases(&state.site, &state.fault_cases) })),
            _ => method_not_allowed("GET"),
        },
        "/_sim/openai/knobs" => match *method {
            Method::GET => ok_json(&json!(state.openai_knobs())),
            Method::PUT | Method::POST => set_openai_knobs(state, request),
            _ => method_not_allowed("GET, PUT"),
        },
        _ => match route.strip_prefix("/_sim/faults/") {
            Some(id) => match *method {
                Method::DELETE => delete_fault(state, id),
                _ => method_not_allowed("DELETE"),
            },
            None => error_response(
                StatusCode::NOT_FOUND,
                &format!(
                    "unknown control endpoint {}; see /_sim/health, /_sim/requests, /_sim/counters, /_sim/reset, \
                     /_sim/faults, /_sim/config, /_sim/posts, /_sim/videos, /_sim/comments, /_sim/cases, /_sim/openai/knobs, /_sim/ca.pem",
                    request.path
                ),
            ),
        },
    }
}

fn health(state: &SimState) -> SimResponse {
    ok_json(&json!({
        "status": "ok",
        "addr": state.addr.to_string(),
        "seed": state.seed,
        "videos": state.video_count,
        "now_unix": state.now_unix,
        "uptime_ms": state.started.elapsed().as_millis() as u64,
        "fault_rules": state.faults.list().len(),
    }))
}

/// Parses a numeric query parameter; `Err` carries the message of the 400.
fn number_param<T: std::str::FromStr>(
    request: &SimRequest,
    name: &str,
) -> Result<Option<T>, String> {
    match request.query_param(name) {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            format!("query parameter {name} must be a non-negative integer, got {text:?}")
        }),
    }
}

fn requests(state: &SimState, request: &SimRequest) -> SimResponse {
    let parsed = (|| -> Result<LogFilter, String> {
        let non_empty = |name: &str| request.query_param(name).filter(|value| !value.is_empty());
        Ok(LogFilter {
            host: non_empty("host"),
            path_prefix: non_empty("path_prefix"),
            method: non_empty("method"),
            status: number_param(request, "status")?,
            since: number_param(request, "since")?.unwrap_or(0),
            limit: number_param(request, "limit")?.unwrap_or(REQUEST_LOG_DEFAULT_LIMIT),
        })
    })();
    let filter = match parsed {
        Ok(filter) => filter,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, &message),
    };
    let (entries, last_seq) = state.request_log.query(&filter);
    ok_json(
        &json!({ "entries": entries, "last_seq": last_seq, "dropped": state.request_log.dropped() }),
    )
}

/// Decodes a JSON body; `Err` carries the message of the 400.
fn parse_json_body<T: serde::de::DeserializeOwned>(
    request: &SimRequest,
    what: &str,
) -> Result<T, String> {
    serde_json::from_slice(&request.body).map_err(|error| format!("bad JSON for {what}: {error}"))
}

fn add_fault(state: &SimState, request: &SimRequest) -> SimResponse {
    let text = String::from_utf8_lossy(&request.body);
    match FaultRuleSpec::from_json(&text) {
        Ok(spec) => {
            let id = state.faults.add(spec, RuleOrigin::Runtime);
            SimResponse::json(StatusCode::CREATED, &json!({ "id": id }))
        }
        Err(error) => error_response(StatusCode::BAD_REQUEST, &error.to_string()),
    }
}

fn delete_fault(state: &SimState, id: &str) -> SimResponse {
    let Ok(id) = id.parse::<u64>() else {
        return error_response(
            StatusCode::BAD_REQUEST,
            &format!("fault rule id must be an integer, got {id:?}"),
        );
    };
    if state.faults.remove(id) {
        ok_json(&json!({ "removed": 1 }))
    } else {
        error_response(
            StatusCode::NOT_FOUND,
            &format!("no fault rule with id {id}"),
        )
    }
}

fn set_config(state: &SimState, request: &SimRequest) -> SimResponse {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ConfigChange {
        latency_ms: Option<u64>,
        jitter_ms: Option<u64>,
        rate_limit_per_second: Option<u32>,
    }
    let change: ConfigChange = match parse_json_body(
        request,
        "/_sim/config {latency_ms, jitter_ms, rate_limit_per_second}",
    ) {
        Ok(change) => change,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, &message),
    };
    let current = state.faults.latency();
    let updated = LatencyConfig {
        latency_ms: change.latency_ms.unwrap_or(current.latency_ms),
        jitter_ms: change.jitter_ms.unwrap_or(current.jitter_ms),
    };
    state.faults.set_latency(updated);
    if let Some(per_second) = change.rate_limit_per_second {
        state.rate_limit.set(Some(per_second));
    }
    ok_json(&json!({
        "latency_ms": updated.latency_ms,
        "jitter_ms": updated.jitter_ms,
        "rate_limit_per_second": state.rate_limit.per_second(),
    }))
}

fn videos(state: &SimState, request: &SimRequest) -> SimResponse {
    let (limit, offset) = match (
        number_param::<usize>(request, "limit"),
        number_param::<usize>(request, "offset"),
    ) {
        (Ok(limit), Ok(offset)) => (limit.unwrap_or(VIDEOS_DEFAULT_LIMIT), offset.unwrap_or(0)),
        (Err(message), _) | (_, Err(message)) => {
            return error_response(StatusCode::BAD_REQUEST, &message);
        }
    };
    let videos = state.site.ground_truth_videos(offset, limit);
    ok_json(
        &json!({ "offset": offset, "limit": limit, "total": state.video_count, "videos": videos }),
    )
}

/// `GET /_sim/comments?video_id=`: the ground truth of a post's comments.
fn comments_truth(state: &SimState, request: &SimRequest) -> SimResponse {
    let video_id = request.query_param("video_id").unwrap_or_default();
    match crate::site::comments::truth(&state.site, &video_id) {
        Some(truth) => ok_json(&truth),
        None => error_response(
            StatusCode::NOT_FOUND,
            &format!("no viewable post has id `{video_id}`"),
        ),
    }
}

fn set_openai_knobs(state: &SimState, request: &SimRequest) -> SimResponse {
    match parse_json_body::<OpenAiKnobs>(request, "OpenAI knobs") {
        Ok(knobs) => {
            state.set_openai_knobs(knobs);
            ok_json(&json!(state.openai_knobs()))
        }
        Err(message) => error_response(StatusCode::BAD_REQUEST, &message),
    }
}
