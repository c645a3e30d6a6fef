//! The OpenAI-compatible vision API the simulator serves on direct `/v1/...` requests:
//! `POST /v1/chat/completions` (bearer key, an image, strict `json_schema` structured output;
//! answers a schema-valid thumbnail analysis derived from the image bytes) and `GET /v1/models`,
//! with deterministic fault knobs.
//!
//! An independent model: it knows the 25 analysis fields and their English and Indonesian values
//! itself (`vocab`) and never reads `prompts/`.

mod answer;
mod knobs;
mod request;
mod response_format;
mod vocab;

#[cfg(test)]
mod tests;

use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::exchange::{SimRequest, SimResponse};

pub use knobs::{Countdown, OpenAiKnobs, latency_for};
pub use vocab::Language;

use request::{ChatRequest, RequestError};

/// Models listed by `GET /v1/models` (and accepted when `reject_unknown_models` is set).
pub const MODELS: [&str; 4] = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1"];

/// Fixed `created` of the listed models (2024-07-18, the gpt-4o-mini release).
const MODELS_CREATED: i64 = 1_721_172_741;

/// Answers one direct request to `/v1/...`. Never sleeps: the front door applies
/// [`latency_for`] itself.
pub fn handle(request: &SimRequest, knobs: &OpenAiKnobs) -> SimResponse {
    let path = request
        .path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    let route = match (&request.method, path) {
        (&Method::POST, "/v1/chat/completions") => Route::ChatCompletions,
        (&Method::GET, "/v1/models") => Route::Models,
        _ => {
            let message = format!("Invalid URL ({} {})", request.method, request.path);
            return error(
                StatusCode::NOT_FOUND,
                &message,
                "invalid_request_error",
                None,
                None,
            );
        }
    };
    if let Some(refused) = refuse_key(request, knobs) {
        return refused;
    }
    match route {
        Route::Models => models(),
        Route::ChatCompletions => chat_completion(request, knobs),
    }
}

enum Route {
    ChatCompletions,
    Models,
}

/// OpenAI's error body `{"error":{"message","type","param","code"}}`.
fn error(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> SimResponse {
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    SimResponse::json(status, &body)
}

/// The `401` for a missing or wrong bearer key, or `None` when the key is accepted.
fn refuse_key(request: &SimRequest, knobs: &OpenAiKnobs) -> Option<SimResponse> {
    let presented = request
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|key| !key.is_empty());
    let message = match (presented, knobs.api_key.as_deref()) {
        (Some(_), None) => return None,
        (Some(key), Some(expected)) if key == expected => return None,
        (Some(key), Some(_)) => format!(
            "Incorrect API key provided: {}. You can find your API key at \
             https://platform.openai.com/account/api-keys.",
            redact(key)
        ),
        (None, _) => "You didn't provide an API key. You need to provide your API key in an \
                      Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            .to_string(),
    };
    let kind = "invalid_request_error";
    Some(error(
        StatusCode::UNAUTHORIZED,
        &message,
        kind,
        None,
        Some("invalid_api_key"),
    ))
}

/// `sk-abc***wxyz`, as OpenAI echoes a wrong key.
fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}***{tail}")
}

fn models() -> SimResponse {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": MODELS_CREATED, "owned_by": "system"}))
        .collect();
    SimResponse::json(StatusCode::OK, &json!({"object": "list", "data": data}))
}

fn request_error(problem: &RequestError) -> SimResponse {
    let message = problem.to_string();
    let kind = "invalid_request_error";
    error(
        StatusCode::BAD_REQUEST,
        &message,
        kind,
        problem.param().as_deref(),
        problem.code(),
    )
}

fn chat_completion(request: &SimRequest, knobs: &OpenAiKnobs) -> SimResponse {
    let chat = match request::parse(&request.body, knobs.require_strict) {
        Ok(chat) => chat,
        Err(problem) => return request_error(&problem),
    };
    if knobs.reject_unknown_models && !MODELS.contains(&chat.model.as_str()) {
        let message = format!(
            "The model `{}` does not exist or you do not have access to it.",
            chat.model
        );
        let kind = "invalid_request_error";
        return error(
            StatusCode::NOT_FOUND,
            &message,
            kind,
            None,
            Some("model_not_found"),
        );
    }
    if knobs.rate_limit_next.take() {
        return rate_limited(&chat, knobs.retry_after_secs);
    }
    if knobs.server_error_next.take() {
        return server_error(knobs.server_error_status);
    }
    let image = chat.image.seed_bytes();
    let analysis = answer::analyse(image, chat.language);
    let valid = answer::to_content(&analysis);
    let (content, refusal) = if knobs.refusal_next.take() {
        (
            None,
            Some("I'm sorry, but I can't help with analysing this image."),
        )
    } else if knobs.malformed_json_next.take() {
        (Some(answer::malformed_content(image, &valid)), None)
    } else if knobs.schema_violation_next.take() {
        (
            Some(answer::schema_violating_content(image, &analysis)),
            None,
        )
    } else {
        (Some(valid), None)
    };
    completion(request, &chat, content, refusal)
}

fn rate_limited(chat: &ChatRequest, retry_after_secs: u64) -> SimResponse {
    let message = format!(
        "Rate limit reached for {} in organization org-sim on requests per min (RPM): Limit 500, \
         Used 500, Requested 1. Please try again in {retry_after_secs}s. Visit \
         https://platform.openai.com/account/rate-limits to learn more.",
        chat.model
    );
    let kind = "requests";
    error(
        StatusCode::TOO_MANY_REQUESTS,
        &message,
        kind,
        None,
        Some("rate_limit_exceeded"),
    )
    .append_header(header::RETRY_AFTER, &retry_after_secs.to_string())
    .append_header(
        http::HeaderName::from_static("retry-after-ms"),
        &(retry_after_secs.saturating_mul(1000)).to_string(),
    )
    .append_header(
        http::HeaderName::from_static("x-ratelimit-limit-requests"),
        "500",
    )
    .append_header(
        http::HeaderName::from_static("x-ratelimit-remaining-requests"),
        "0",
    )
    .append_header(
        http::HeaderName::from_static("x-ratelimit-reset-requests"),
        &format!("{retry_after_secs}s"),
    )
}

fn server_error(status: u16) -> SimResponse {
    let status = match status {
        502 => StatusCode::BAD_GATEWAY,
        503 => StatusCode::SERVICE_UNAVAILABLE,
        504 => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = if status == StatusCode::SERVICE_UNAVAILABLE {
        "The engine is currently overloaded, please try again later."
    } else {
        "The server had an error while processing your request. Sorry about that!"
    };
    error(status, message, "server_error", None, None)
}

/// The `chat.completion` body. A `max_completion_tokens` below the answer's size truncates the
/// content and ends with `finish_reason: "length"`, as the real API does.
fn completion(
    request: &SimRequest,
    chat: &ChatRequest,
    content: Option<String>,
    refusal: Option<&str>,
) -> SimResponse {
    let text = content.as_deref().or(refusal).unwrap_or("");
    let mut completion_tokens = (text.chars().count() as u64).div_ceil(4).max(1);
    let mut finish_reason = "stop";
    let mut content = content;
    if let (Some(limit), Some(full)) = (chat.max_completion_tokens, content.as_ref())
        && completion_tokens > limit
    {
        let keep = usize::try_from(limit.saturating_mul(4)).unwrap_or(usize::MAX);
        content = Some(full.chars().take(keep).collect());
        completion_tokens = limit;
        finish_reason = "length";
    }
    let digest = Sha256::digest(&request.body);
    let id = format!("chatcmpl-sim{}", hex::encode(&digest[..12]));
    let created = chrono::Utc::now().timestamp();
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": chat.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
            "finish_reason": finish_reason,
            "logprobs": null,
        }],
        "usage": {
            "prompt_tokens": chat.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": chat.prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_sim",
    });
    let mut response = SimResponse::json(StatusCode::OK, &body);
    response.headers.insert(
        http::HeaderName::from_static("openai-processing-ms"),
        HeaderValue::from_static("1"),
    );
    response
}
