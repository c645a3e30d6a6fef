//! The web dashboard's server side: `/ui` and its files (no key, outside the per-key limiter,
//! a strict Content-Security-Policy) and `GET /v1/videos/{id}/cover` (the stored cover bytes, for
//! a key whose item produced the video).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sqlx::PgPool;
use tower::ServiceExt;

use crate::support::{TestApp, VIDEO_ID, VIDEO_URL};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// GETs `uri` with `key` (if any): status, headers and body bytes.
async fn get_bytes(
    app: &TestApp,
    uri: &str,
    key: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().uri(uri);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes.to_vec())
}

fn problem_code(body: &[u8]) -> String {
    let problem: serde_json::Value = serde_json::from_slice(body).unwrap();
    problem["code"].as_str().unwrap_or_default().to_owned()
}

async fn store_cover(pool: &PgPool, content_type: &str, bytes: &[u8]) {
    let mut connection = pool.acquire().await.unwrap();
    tokworks_shared::db::videos::upsert_thumbnail(
        &mut connection,
        VIDEO_ID,
        content_type,
        bytes,
        "https://p16-sign.tiktokcdn.com/cover.png",
    )
    .await
    .unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_cover_is_served_only_to_a_key_whose_item_produced_the_video(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let cover = format!("/v1/videos/{VIDEO_ID}/cover");
    let (status, _, body) = get_bytes(&app, &cover, Some(&app.key)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem_code(&body), "NOT_FOUND");

    let job_id = app.create_video_job(VIDEO_URL).await;
    app.finish_video_job(job_id, VIDEO_ID, false).await;
    let (status, _, body) = get_bytes(&app, &cover, Some(&app.key)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no stored cover yet");
    assert_eq!(problem_code(&body), "NOT_FOUND");

    store_cover(&pool, "image/png", PNG).await;
    let (status, headers, body) = get_bytes(&app, &cover, Some(&app.key)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("private")
    );
    assert_eq!(body, PNG);

    let other = app.other_key().await;
    let (status, _, body) = get_bytes(&app, &cover, Some(&other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another key's video");
    assert_eq!(problem_code(&body), "NOT_FOUND");
    let (status, _, body) = get_bytes(&app, &cover, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(&body), "UNAUTHENTICATED");
    let (status, _, _) = get_bytes(&app, "/v1/videos/abc/cover", Some(&app.key)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A stored type that is not a raster image is never served as such.
    store_cover(&pool, "text/html", b"<script>alert(1)</script>").await;
    let (status, headers, _) = get_bytes(&app, &cover, Some(&app.key)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/octet-stream");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_dashboard_is_served_without_a_key_under_a_strict_policy(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let pages = [
        ("/ui", "text/html"),
        ("/ui/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/api.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
    ];
    for (uri, content_type) in pages {
        // With a key too: the per-key limiter never wraps these routes.
        for key in [None, Some(app.key.as_str())] {
            let (status, headers, body) = get_bytes(&app, uri, key).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            let served_type = headers["content-type"].to_str().unwrap();
            assert!(
                served_type.starts_with(content_type),
                "{uri}: {served_type}"
            );
            let policy = headers["content-security-policy"].to_str().unwrap();
            assert!(
                policy.starts_with(
                    "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'"
                ),
                "{uri}: {policy}"
            );
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert!(headers.get("ratelimit-policy").is_none(), "{uri}");
            assert!(!body.is_empty(), "{uri}");
        }
    }
    let (_, _, page) = get_bytes(&app, "/ui", None).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("<script type=\"module\" src=\"/ui/app.js\">"));
    let (status, _, body) = get_bytes(&app, "/ui/secrets.js", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem_code(&body), "NOT_FOUND");
}
