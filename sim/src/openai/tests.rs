//! Unit tests of the simulated vision API: auth, request validation, determinism, language and
//! every knob.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use super::vocab::{ENUM_FIELDS, Language};
use super::*;
use crate::exchange::Scheme;

const ENGLISH_PROMPT: &str = "Analyse the attached thumbnail image. 1) visual_style: \
    [talking_head | flat_lay | product_demo] 2) setting: [indoor | outdoor | kitchen]";
const INDONESIAN_PROMPT: &str = "Analisis gambar thumbnail terlampir dan isi kolom di bawah ini. \
    1) visual_style: [berbicara_langsung | flat_lay | demo_produk] 2) setting: [dalam_ruangan | dapur]";

fn strict_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"visual_style": {"type": "string"}, "people_count": {"type": "integer"}},
        "required": ["visual_style", "people_count"],
        "additionalProperties": false
    })
}

fn data_url(bytes: &[u8]) -> String {
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn body_with(prompt: &str, image_url: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are an expert analyst."},
            {"role": "user", "content": [
                {"type": "text", "text": prompt},
                {"type": "image_url", "image_url": {"url": image_url, "detail": "low"}}
            ]}
        ],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "thumbnail_analysis", "strict": true, "schema": strict_schema()
        }}
    })
}

fn raw_request(method: Method, path: &str, key: Option<&str>, body: Bytes) -> SimRequest {
    let mut headers = HeaderMap::new();
    if let Some(key) = key {
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        );
    }
    SimRequest {
        method,
        scheme: Scheme::Http,
        host: "127.0.0.1".to_string(),
        path: path.to_string(),
        query: None,
        headers,
        body,
    }
}

fn post(body: &Value) -> SimRequest {
    raw_request(
        Method::POST,
        "/v1/chat/completions",
        Some("sk-test"),
        body.to_string().into(),
    )
}

fn json_of(response: &SimResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

fn content_of(response: &SimResponse) -> String {
    assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
    json_of(response)["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

fn analysis_of(response: &SimResponse) -> Value {
    serde_json::from_str(&content_of(response)).unwrap()
}

fn assert_error(response: &SimResponse, status: StatusCode, code: Option<&str>) -> Value {
    assert_eq!(response.status, status, "{:?}", response.body);
    let body = json_of(response);
    let error = body["error"].clone();
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(error["type"].is_string());
    assert!(error.as_object().unwrap().contains_key("param"));
    assert_eq!(error["code"].as_str(), code);
    error
}

#[test]
fn bearer_key_is_checked() {
    let body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    let mut no_key = post(&body);
    no_key.headers.clear();
    let knobs = OpenAiKnobs::default();
    let error = assert_error(
        &handle(&no_key, &knobs),
        StatusCode::UNAUTHORIZED,
        Some("invalid_api_key"),
    );
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["param"], Value::Null);
    assert_eq!(handle(&post(&body), &knobs).status, StatusCode::OK);

    let knobs = OpenAiKnobs {
        api_key: Some("sk-right-key-123".to_string()),
        ..OpenAiKnobs::default()
    };
    let error = assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::UNAUTHORIZED,
        Some("invalid_api_key"),
    );
    assert!(!error["message"].as_str().unwrap().contains("sk-test"));
    let right = raw_request(
        Method::POST,
        "/v1/chat/completions",
        Some("sk-right-key-123"),
        body.to_string().into(),
    );
    assert_eq!(handle(&right, &knobs).status, StatusCode::OK);
    let empty = raw_request(
        Method::POST,
        "/v1/chat/completions",
        Some(""),
        body.to_string().into(),
    );
    assert_eq!(
        handle(&empty, &OpenAiKnobs::default()).status,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn requests_without_an_image_are_refused() {
    let mut body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    body["messages"][1]["content"] = json!([{"type": "text", "text": ENGLISH_PROMPT}]);
    let error = assert_error(
        &handle(&post(&body), &OpenAiKnobs::default()),
        StatusCode::BAD_REQUEST,
        None,
    );
    assert_eq!(error["param"], "messages");
    body["messages"][1]["content"] = json!(ENGLISH_PROMPT);
    assert_error(
        &handle(&post(&body), &OpenAiKnobs::default()),
        StatusCode::BAD_REQUEST,
        None,
    );
}

#[test]
fn bad_images_are_refused() {
    let knobs = OpenAiKnobs::default();
    for (url, code) in [
        ("data:image/jpeg;base64,@@@", "invalid_image_url"),
        ("data:text/plain;base64,aGVsbG8=", "invalid_image_url"),
        ("data:image/heic;base64,aGVsbG8=", "invalid_image_format"),
        ("ftp://example.com/a.jpg", "invalid_image_url"),
        ("not a url", "invalid_image_url"),
    ] {
        let response = handle(&post(&body_with(ENGLISH_PROMPT, url)), &knobs);
        assert_error(&response, StatusCode::BAD_REQUEST, Some(code));
    }
    let mut body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    body["messages"][0]["content"] =
        json!([{"type": "image_url", "image_url": {"url": data_url(b"x")}}]);
    assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::BAD_REQUEST,
        Some("invalid_value"),
    );
}

#[test]
fn response_format_with_a_strict_json_schema_is_required() {
    let knobs = OpenAiKnobs::default();
    let mut body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    body.as_object_mut().unwrap().remove("response_format");
    let error = assert_error(&handle(&post(&body), &knobs), StatusCode::BAD_REQUEST, None);
    assert_eq!(error["param"], "response_format");

    body["response_format"] = json!({"type": "json_object"});
    assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::BAD_REQUEST,
        Some("invalid_value"),
    );

    body["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "a", "strict": true}});
    assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::BAD_REQUEST,
        Some("missing_required_parameter"),
    );

    body["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "a", "schema": strict_schema()}});
    assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::BAD_REQUEST,
        Some("invalid_value"),
    );
    let lenient = OpenAiKnobs {
        require_strict: false,
        ..OpenAiKnobs::default()
    };
    assert_eq!(handle(&post(&body), &lenient).status, StatusCode::OK);

    let mut loose = strict_schema();
    loose["required"] = json!(["visual_style"]);
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "a", "strict": true, "schema": loose}});
    let error = assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::BAD_REQUEST,
        Some("invalid_json_schema"),
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Missing 'people_count'")
    );

    let mut open = strict_schema();
    open.as_object_mut().unwrap().remove("additionalProperties");
    body["response_format"]["json_schema"]["schema"] = open;
    assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::BAD_REQUEST,
        Some("invalid_json_schema"),
    );
}

#[test]
fn malformed_bodies_get_openai_errors_not_panics() {
    let knobs = OpenAiKnobs::default();
    for body in [
        "",
        "{",
        "[1,2]",
        "null",
        "{\"model\":\"gpt-4o-mini\"}",
        "{\"messages\":[]}",
    ] {
        let request = raw_request(
            Method::POST,
            "/v1/chat/completions",
            Some("k"),
            Bytes::from(body),
        );
        let response = handle(&request, &knobs);
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(json_of(&response)["error"]["message"].is_string());
    }
    let mut body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    body["messages"] = json!("hello");
    assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::BAD_REQUEST,
        Some("invalid_type"),
    );
    body["messages"] = json!([]);
    assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::BAD_REQUEST,
        Some("empty_array"),
    );
}

#[test]
fn answers_are_chat_completions_derived_from_the_image() {
    let knobs = OpenAiKnobs::default();
    let first = handle(
        &post(&body_with(ENGLISH_PROMPT, &data_url(b"cover-a"))),
        &knobs,
    );
    let body = json_of(&first);
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["system_fingerprint"], "fp_sim");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["message"]["refusal"], Value::Null);
    let usage = &body["usage"];
    let (prompt, completion) = (
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    assert!(prompt > 2833 && completion > 50);
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), prompt + completion);

    let again = handle(
        &post(&body_with(ENGLISH_PROMPT, &data_url(b"cover-a"))),
        &knobs,
    );
    assert_eq!(content_of(&first), content_of(&again));
    assert_eq!(json_of(&again)["usage"], body["usage"]);
    let analysis = analysis_of(&first);
    assert_eq!(analysis.as_object().unwrap().len(), 25);

    let distinct: std::collections::HashSet<String> = (0..50_u32)
        .map(|n| {
            content_of(&handle(
                &post(&body_with(ENGLISH_PROMPT, &data_url(&n.to_be_bytes()))),
                &knobs,
            ))
        })
        .collect();
    assert!(distinct.len() >= 45, "{}", distinct.len());

    let remote = body_with(
        ENGLISH_PROMPT,
        "https://p16-sign.tiktokcdn.com/obj/cover.jpeg?x=1",
    );
    assert_eq!(
        content_of(&handle(&post(&remote), &knobs)),
        content_of(&handle(&post(&remote), &knobs))
    );
}

#[test]
fn language_follows_the_prompt() {
    let knobs = OpenAiKnobs::default();
    for n in 0..40_u32 {
        let image = data_url(&n.to_le_bytes());
        let english = analysis_of(&handle(&post(&body_with(ENGLISH_PROMPT, &image)), &knobs));
        let indonesian = analysis_of(&handle(
            &post(&body_with(INDONESIAN_PROMPT, &image)),
            &knobs,
        ));
        for field in ENUM_FIELDS {
            if let Some(value) = english[field.name].as_str() {
                assert!(field.values(Language::English).contains(&value), "{value}");
            }
            if let Some(value) = indonesian[field.name].as_str() {
                assert!(
                    field.values(Language::Indonesian).contains(&value),
                    "{value}"
                );
            }
        }
        assert_eq!(english["people_count"], indonesian["people_count"]);
    }
    assert_eq!(
        request::detect_language(&["no signal at all here"]),
        Language::English
    );
    assert_eq!(
        request::detect_language(&["Jawab dalam Bahasa Indonesia"]),
        Language::Indonesian
    );
}

#[test]
fn rate_limit_knob_answers_429_with_retry_after_then_recovers() {
    let knobs: OpenAiKnobs =
        serde_json::from_value(json!({"rate_limit_next": 2, "retry_after_secs": 7})).unwrap();
    let body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    for _ in 0..2 {
        let response = handle(&post(&body), &knobs);
        let error = assert_error(
            &response,
            StatusCode::TOO_MANY_REQUESTS,
            Some("rate_limit_exceeded"),
        );
        assert_eq!(error["type"], "requests");
        assert_eq!(response.headers[header::RETRY_AFTER], "7");
        assert_eq!(response.headers["retry-after-ms"], "7000");
    }
    assert_eq!(handle(&post(&body), &knobs).status, StatusCode::OK);
    assert_eq!(serde_json::to_value(&knobs).unwrap()["rate_limit_next"], 0);
}

#[test]
fn invalid_requests_do_not_consume_faults() {
    let knobs = OpenAiKnobs {
        server_error_next: Countdown::new(1),
        ..OpenAiKnobs::default()
    };
    let mut body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    body.as_object_mut().unwrap().remove("response_format");
    assert_eq!(handle(&post(&body), &knobs).status, StatusCode::BAD_REQUEST);
    assert_eq!(knobs.server_error_next.remaining(), 1);
}

#[test]
fn server_error_knob_answers_5xx() {
    let knobs = OpenAiKnobs {
        server_error_next: Countdown::new(1),
        server_error_status: 503,
        ..OpenAiKnobs::default()
    };
    let body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    let error = assert_error(
        &handle(&post(&body), &knobs),
        StatusCode::SERVICE_UNAVAILABLE,
        None,
    );
    assert_eq!(error["type"], "server_error");
    assert_eq!(handle(&post(&body), &knobs).status, StatusCode::OK);
    let knobs = OpenAiKnobs {
        server_error_next: Countdown::new(1),
        ..OpenAiKnobs::default()
    };
    assert_eq!(
        handle(&post(&body), &knobs).status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[test]
fn malformed_and_schema_violation_and_refusal_knobs() {
    let body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    let valid = content_of(&handle(&post(&body), &OpenAiKnobs::default()));
    let knobs = OpenAiKnobs {
        malformed_json_next: Countdown::new(1),
        schema_violation_next: Countdown::new(1),
        refusal_next: Countdown::new(1),
        ..OpenAiKnobs::default()
    };
    let refusal = json_of(&handle(&post(&body), &knobs));
    assert_eq!(refusal["choices"][0]["message"]["content"], Value::Null);
    assert!(refusal["choices"][0]["message"]["refusal"].is_string());
    let malformed = content_of(&handle(&post(&body), &knobs));
    assert!(serde_json::from_str::<Value>(&malformed).is_err());
    let violating = content_of(&handle(&post(&body), &knobs));
    assert!(serde_json::from_str::<Value>(&violating).is_ok());
    assert_ne!(violating, valid);
    assert_eq!(content_of(&handle(&post(&body), &knobs)), valid);
}

#[test]
fn max_completion_tokens_truncates_with_finish_reason_length() {
    let mut body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    body["max_completion_tokens"] = json!(10);
    let response = json_of(&handle(&post(&body), &OpenAiKnobs::default()));
    assert_eq!(response["choices"][0]["finish_reason"], "length");
    assert_eq!(response["usage"]["completion_tokens"], 10);
    let content = response["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();
    assert!(serde_json::from_str::<Value>(content).is_err());
}

#[test]
fn models_and_unknown_paths() {
    let knobs = OpenAiKnobs::default();
    let models = handle(
        &raw_request(Method::GET, "/v1/models", Some("k"), Bytes::new()),
        &knobs,
    );
    let body = json_of(&models);
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][0]["id"], "gpt-4o-mini");
    assert_eq!(body["data"][0]["object"], "model");
    let unknown = handle(
        &raw_request(Method::GET, "/v1/engines", Some("k"), Bytes::new()),
        &knobs,
    );
    assert_error(&unknown, StatusCode::NOT_FOUND, None);
    let wrong_method = handle(
        &raw_request(Method::GET, "/v1/chat/completions", Some("k"), Bytes::new()),
        &knobs,
    );
    assert_error(&wrong_method, StatusCode::NOT_FOUND, None);

    let strict = OpenAiKnobs {
        reject_unknown_models: true,
        ..OpenAiKnobs::default()
    };
    let mut body = body_with(ENGLISH_PROMPT, &data_url(b"cover"));
    body["model"] = json!("gpt-9-vision");
    assert_error(
        &handle(&post(&body), &strict),
        StatusCode::NOT_FOUND,
        Some("model_not_found"),
    );
}
