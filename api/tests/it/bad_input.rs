//! Bad input is a clear 4xx problem with a stable code, never a 500, and never creates a job.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{TestApp, VIDEO_URL};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn invalid_bodies_are_rejected_with_their_code_and_create_no_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("malformed JSON", r#"{"kind":"video","url":"#.to_owned(), StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        ("trailing garbage", format!(r#"{{"kind":"video","url":"{VIDEO_URL}"}} x"#), StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        ("empty body", String::new(), StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        ("unknown field", json!({"kind":"video","url":VIDEO_URL,"colour":"red"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "UNKNOWN_FIELD"),
        ("unknown option", json!({"kind":"video","url":VIDEO_URL,"options":{"turbo":true}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "UNKNOWN_FIELD"),
        ("wrong type", json!({"kind":"video","url":42}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("wrong option type", json!({"kind":"video","url":VIDEO_URL,"options":{"refresh":"yes"}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("unknown language", json!({"kind":"video","url":VIDEO_URL,"options":{"language":"fr"}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("unknown kind", json!({"kind":"podcast","url":VIDEO_URL}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("missing kind", json!({"url":VIDEO_URL}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("missing url", json!({"kind":"video"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("array body", json!([VIDEO_URL]).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("metadata not an object", json!({"kind":"video","url":VIDEO_URL,"metadata":[1]}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        // Postgres cannot store the NUL character: a 422, not a database error.
        ("NUL in metadata", json!({"kind":"video","url":VIDEO_URL,"metadata":{"note":"a\u{0}b"}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("NUL in a custom id", json!({"kind":"batch","urls":[{"url":VIDEO_URL,"custom_id":"x\u{0}"}]}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("batch without urls", json!({"kind":"batch"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("batch of no URL", json!({"kind":"batch","urls":[]}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("batch with url", json!({"kind":"batch","url":VIDEO_URL,"urls":[VIDEO_URL]}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("batch of only bad URLs", json!({"kind":"batch","urls":["hello","https://www.tiktok.com/@scout2015"]}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "NO_VALID_URLS"),
        ("feed count out of range", json!({"kind":"trending","count":0}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("analysis language", json!({"kind":"video","url":VIDEO_URL,"options":{"analyze_thumbnail":true,"language":"fr"}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("transcript language", json!({"kind":"video","url":VIDEO_URL,"options":{"transcript":true,"language":"fr"}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("webhook event", json!({"kind":"video","url":VIDEO_URL,"webhook":{"url":"https://[2001:db8::10]/hook","events":["job.unknown"]}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
        ("webhook loopback", json!({"kind":"video","url":VIDEO_URL,"webhook":{"url":"http://127.0.0.1/hook"}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "WEBHOOK_URL_NOT_ALLOWED"),
        ("non-TikTok URL", json!({"kind":"video","url":"https://www.youtube.com/watch?v=x"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_URL"),
        ("credentials in URL", json!({"kind":"video","url":"https://user:pass@www.tiktok.com/@a/video/6718335390845095173"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_URL"),
        ("IP host", json!({"kind":"video","url":"http://127.0.0.1/@a/video/6718335390845095173"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_URL"),
        ("not a URL", json!({"kind":"video","url":"hello"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_URL"),
        ("profile URL", json!({"kind":"video","url":"https://www.tiktok.com/@scout2015"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "UNSUPPORTED_URL"),
        ("hashtag URL", json!({"kind":"video","url":"https://www.tiktok.com/tag/food"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "UNSUPPORTED_URL"),
    ];
    for (name, body, status, code) in cases {
        let response = app
            .send(
                app.request(Method::POST, "/v1/jobs")
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status, status, "{name}: {:#}", response.body);
        response.assert_problem(status, code);
    }
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn field_problems_name_the_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let body = json!({"kind":"video","url":VIDEO_URL,"options":{"turbo":true}});
    let response = app.post_json("/v1/jobs", &body).await;
    let problem = response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "UNKNOWN_FIELD");
    assert_eq!(problem["errors"][0]["field"], "options.turbo");
    assert_eq!(problem["errors"][0]["code"], "UNKNOWN_FIELD");

    let body = json!({"kind":"video","url":"https://www.tiktok.com/@scout2015"});
    let response = app.post_json("/v1/jobs", &body).await;
    let problem = response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "UNSUPPORTED_URL");
    assert_eq!(problem["errors"][0]["field"], "url");
    assert!(
        problem["detail"].as_str().unwrap().contains("profile"),
        "{problem:#}"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_body_that_is_not_json_is_415(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let body = json!({"kind":"video","url":VIDEO_URL}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app.request(Method::POST, "/v1/jobs");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = app
            .send(request.body(Body::from(body.clone())).unwrap())
            .await;
        response.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
    }
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_body_over_the_limit_is_413_with_or_without_content_length(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let padding = "x".repeat(1024 * 1024);
    let body = json!({"kind":"video","url":VIDEO_URL,"metadata":{"padding":padding}}).to_string();
    let declared = app
        .send(
            app.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .header("content-length", body.len())
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await;
    declared.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE");
    // Streamed without a length: the limit is enforced while reading.
    let chunks: Vec<Result<String, std::io::Error>> = body
        .as_bytes()
        .chunks(64 * 1024)
        .map(|chunk| Ok(String::from_utf8_lossy(chunk).into_owned()))
        .collect();
    let streamed = app
        .send(
            app.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap(),
        )
        .await;
    streamed.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE");
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_invalid_idempotency_key_is_400(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .send(
            app.request(Method::POST, "/v1/jobs")
                .header("content-type", "application/json")
                .header("idempotency-key", "x".repeat(300))
                .body(Body::from(
                    json!({"kind":"video","url":VIDEO_URL}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    response.assert_problem(StatusCode::BAD_REQUEST, "INVALID_HEADER");
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn unknown_routes_and_methods_are_problems(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.get("/v1/nothing-here")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.send(
        app.request(Method::DELETE, "/v1/jobs")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .assert_problem(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
}
