//! Requests that keep the raw body, and the worker's part played through the real claim and end.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokworks_shared::db::item_claims::ItemEnd;
use tokworks_shared::error_code::ErrorCode;
use tower::ServiceExt;

use super::ordered_json::Ordered;
use crate::support::TestApp;

pub struct RawResponse {
    pub status: StatusCode,
    pub body: Value,
    pub ordered: Ordered,
}

pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> RawResponse {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    };
    let response = app.router.clone().oneshot(request.unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    RawResponse {
        status,
        body: serde_json::from_str(&text).unwrap(),
        ordered: Ordered::parse(&text),
    }
}

pub async fn post_extract(app: &TestApp, path: &str, body: Value) -> RawResponse {
    call(app, Method::POST, path, Some(&app.key), Some(body)).await
}

/// Stores a complete `Video` record, as a worker would.
pub async fn store_video(app: &TestApp, video_id: &str, description: &str) {
    let data = crate::support::stored_video(
        video_id,
        json!({
            "schema_version": 1, "id": video_id, "kind": "video",
            "url": format!("https://www.tiktok.com/@scout2015/video/{video_id}"),
            "description": description, "created_at": "2019-07-30T23:59:30Z", "create_time": 1564531170,
            "duration_seconds": 15, "hashtags": [{"id": "1", "name": "foryoupage"}],
            "counts": {"play_count": 1500000, "like_count": 120000, "comment_count": 3400,
                       "share_count": 560, "collect_count": 77},
            "author": {"unique_id": "scout2015", "nickname": "Scout"},
            "music": {"title": "original sound", "author_name": "Scout", "original": false},
            "covers": {"cover": {"url": "https://cdn.example/cover.jpeg"},
                       "origin_cover": {"url": "https://cdn.example/origin.jpeg"}},
            "extracted_at": "2024-03-10T12:00:00Z"
        }),
    );
    sqlx::query(
        "insert into videos (video_id, data, source, fetched_at) values ($1, $2, 'web', now())
                 on conflict (video_id) do nothing",
    )
    .bind(video_id)
    .bind(data)
    .execute(&app.pool)
    .await
    .unwrap();
}

pub fn failed(error_code: ErrorCode) -> ItemEnd {
    ItemEnd::Failed {
        error_code,
        message: format!("{error_code:?} in a test"),
    }
}
