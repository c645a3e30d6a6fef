//! The old analyzer's endpoints: shapes and key order against fixtures written from
//! docs/legacy-services.md "The analyzer's endpoints", `/extract` over the job engine with each error mapping, batches with
//! per-item codes and limits, the service endpoints' true values, and auth.

mod fetcher;
mod harness;
mod ordered_json;

use std::time::Duration;
use tokworks_shared::ids::JobId;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::item_claims::ItemEnd;
use tokworks_shared::db::worker_heartbeats;
use tokworks_shared::error_code::ErrorCode;

use self::harness::{call, failed, post_extract, store_video};
use self::ordered_json::{assert_keys_start_with, fixture};
use crate::support::{TestApp, VIDEO_ID, VIDEO_URL};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn extract_answers_the_old_envelope_with_video_metadata_in_the_old_order(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let caption =
        "Scramble up ur name & I'll try to guess it😍❤️ #foryoupage #petsoftiktok #aesthetic";
    store_video(&app, VIDEO_ID, caption).await;
    let worker = async {
        app.until_waiting(1).await;
        let job_id = app.only_job_id().await;
        let end = ItemEnd::Succeeded {
            video_id: VIDEO_ID.to_owned(),
            cache_hit: true,
        };
        app.end_item_at(job_id, 0, &end).await;
    };
    let body = json!({"url": VIDEO_URL, "include_transcript": true, "cache_ttl": 60});
    let (response, ()) = tokio::join!(post_extract(&app, "/extract", body), worker);
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    let envelope = fixture("success_envelope");
    assert_eq!(response.ordered.keys(&[]), envelope.keys(&[]));
    assert_eq!(
        response.ordered.keys(&["metadata"]),
        envelope.keys(&["metadata"])
    );
    let data_keys = response.ordered.keys(&["data"]);
    assert_keys_start_with(
        &data_keys,
        &fixture("video_metadata").keys(&[]),
        "VideoMetadata",
    );
    assert_eq!(
        data_keys[19..],
        [
            "video_id",
            "uploader",
            "author",
            "hashtags",
            "save_count",
            "music",
            "create_time_iso"
        ]
    );
    let data = &response.body["data"];
    assert_eq!(data["url"], VIDEO_URL);
    assert_eq!(data["platform"], "tiktok");
    assert_eq!(data["title"].as_str().unwrap().chars().count(), 72);
    assert!(data["title"].as_str().unwrap().ends_with("..."));
    assert_eq!(data["description"], caption);
    assert_eq!(data["upload_date"], "20190730");
    assert_eq!(data["view_count"], 1500000);
    assert_eq!(data["thumbnail_url"], "https://cdn.example/origin.jpeg");
    assert_eq!(data["thumbnail_analysis"], Value::Null);
    assert_eq!(data["has_transcript"], false);
    assert_eq!(data["cache_hit"], true);
    assert_eq!(data["hashtags"], json!(["foryoupage"]));
    assert_eq!(response.body["metadata"]["api_version"], "1.0.0");
    assert_eq!(app.count_jobs().await, 1, "one video job over the engine");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn item_errors_map_to_the_old_codes_with_the_precise_code_as_reason(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let cases = [
        (ErrorCode::VideoPrivate, 422, "VIDEO_UNAVAILABLE"),
        (ErrorCode::VideoNotFound, 422, "VIDEO_UNAVAILABLE"),
        (ErrorCode::VideoTooLong, 422, "VIDEO_TOO_LONG"),
        (ErrorCode::NotVideoContent, 422, "NOT_VIDEO_CONTENT"),
        (ErrorCode::ExtractorTimeout, 408, "TIMEOUT"),
        (ErrorCode::UpstreamBlocked, 503, "SERVICE_UNAVAILABLE"),
        (ErrorCode::UpstreamChanged, 500, "EXTRACTION_FAILED"),
    ];
    for (waits, (code, status, compat_code)) in (1u64..).zip(cases) {
        let worker = async {
            app.until_waiting(waits).await;
            let job_id: JobId =
                sqlx::query_scalar("select job_id from jobs order by job_id desc limit 1")
                    .fetch_one(&app.pool)
                    .await
                    .unwrap();
            app.end_item_at(job_id, 0, &failed(code)).await;
        };
        let (response, ()) = tokio::join!(
            post_extract(&app, "/extract", json!({"url": VIDEO_URL})),
            worker
        );
        assert_eq!(
            response.status.as_u16(),
            status,
            "{code:?}: {:#}",
            response.body
        );
        assert_eq!(response.body["success"], false);
        assert_eq!(response.body["error"]["code"], compat_code, "{code:?}");
        assert_eq!(response.body["error"]["details"]["reason"], code.as_str());
        assert_eq!(response.body["error"]["details"]["url"], VIDEO_URL);
        let envelope = fixture("error_envelope");
        assert_eq!(response.ordered.keys(&[]), envelope.keys(&[]));
        assert_eq!(response.ordered.keys(&["error"]), envelope.keys(&["error"]));
        assert_eq!(
            response.ordered.keys(&["error", "details"]),
            envelope.keys(&["error", "details"])
        );
        assert_eq!(
            response.ordered.keys(&["metadata"]),
            envelope.keys(&["metadata"])
        );
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn refused_urls_bad_bodies_and_bad_keys_create_no_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for (url, status, code, reason) in [
        (
            "https://example.com/video/1",
            422,
            "UNSUPPORTED_PLATFORM",
            "INVALID_URL",
        ),
        (
            "https://www.tiktok.com/@someone",
            422,
            "UNSUPPORTED_PLATFORM",
            "UNSUPPORTED_URL",
        ),
        ("not a url", 400, "VALIDATION_ERROR", "INVALID_URL"),
    ] {
        let response = post_extract(&app, "/extract", json!({"url": url})).await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{url}: {:#}",
            response.body
        );
        assert_eq!(response.body["error"]["code"], code, "{url}");
        assert_eq!(response.body["error"]["details"]["reason"], reason, "{url}");
    }
    let response = post_extract(&app, "/extract", json!({"link": VIDEO_URL})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["error"]["code"], "VALIDATION_ERROR");
    for key in [None, Some("tok_wrong")] {
        for path in ["/extract", "/extract/batch"] {
            let response = call(
                &app,
                Method::POST,
                path,
                key,
                Some(json!({"url": VIDEO_URL, "urls": [VIDEO_URL]})),
            )
            .await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path} {key:?}");
            assert_eq!(response.body["error"]["code"], "API_KEY_INVALID");
            assert_eq!(response.body["success"], false);
        }
    }
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_job_still_running_at_the_wait_limit_is_a_timeout_naming_the_job(pool: PgPool) {
    let app = TestApp::with_wait_max(pool, Duration::ZERO).await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/extract")
        .header("authorization", format!("Bearer {}", app.key))
        .header("content-type", "application/json")
        .body(Body::from(json!({"url": VIDEO_URL}).to_string()))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(
        response.status,
        StatusCode::REQUEST_TIMEOUT,
        "{:#}",
        response.body
    );
    assert_eq!(response.body["error"]["code"], "TIMEOUT");
    let job_id = app.only_job_id().await;
    assert_eq!(
        response.body["error"]["details"]["job_id"],
        job_id.to_string()
    );
    assert_eq!(
        response.body["error"]["details"]["reason"],
        "JOB_NOT_FINISHED"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_batch_has_the_old_limits_and_per_item_codes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = post_extract(&app, "/extract/batch", json!({"urls": []})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["error"]["message"], "No URLs provided");
    let four: Vec<String> = (1..=4)
        .map(|n| format!("https://www.tiktok.com/@a/video/730000000000000000{n}"))
        .collect();
    let response = post_extract(&app, "/extract/batch", json!({"urls": four})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["error"]["message"], "Too many URLs. Max: 3");
    assert_eq!(app.count_jobs().await, 0);

    let private_url = "https://www.tiktok.com/@a/video/7300000000000000002";
    store_video(&app, VIDEO_ID, "a caption").await;
    let worker = async {
        app.until_waiting(1).await;
        let job_id = app.only_job_id().await;
        let end = ItemEnd::Succeeded {
            video_id: VIDEO_ID.to_owned(),
            cache_hit: false,
        };
        app.end_item_at(job_id, 0, &end).await;
        app.end_item_at(job_id, 1, &failed(ErrorCode::VideoPrivate))
            .await;
    };
    let urls = json!([VIDEO_URL, private_url, "https://example.com/v/1"]);
    let body = json!({"urls": urls, "parallel_processing": false});
    let (response, ()) = tokio::join!(post_extract(&app, "/extract/batch", body), worker);
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    assert_eq!(app.count_jobs().await, 1, "one batch job");
    let batch = fixture("batch_data");
    assert_eq!(response.ordered.keys(&["data"]), batch.keys(&[]));
    assert_eq!(
        response.ordered.keys(&["data", "summary"]),
        batch.keys(&["summary"])
    );
    assert_eq!(
        response.ordered.keys(&["data", "processed", "0"]),
        batch.keys(&["processed", "0"])
    );
    assert_eq!(
        response.ordered.keys(&["data", "failed", "1"]),
        batch.keys(&["failed", "0"])
    );
    assert_keys_start_with(
        &response.ordered.keys(&["data", "processed", "0", "data"]),
        &fixture("video_metadata").keys(&[]),
        "batch VideoMetadata",
    );
    let data = &response.body["data"];
    assert_eq!(data["processed"][0]["status"], "success");
    assert_eq!(data["processed"][0]["data"]["url"], VIDEO_URL);
    assert_eq!(data["failed"][0]["error"]["code"], "VIDEO_UNAVAILABLE");
    assert_eq!(
        data["failed"][0]["error"]["details"]["reason"],
        "VIDEO_PRIVATE"
    );
    assert_eq!(data["failed"][1]["error"]["code"], "UNSUPPORTED_PLATFORM");
    assert_eq!(data["failed"][1]["url"], "https://example.com/v/1");
    assert_eq!(data["summary"]["total_requested"], 3);
    assert_eq!(data["summary"]["successful"], 1);
    assert_eq!(data["summary"]["failed"], 2);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_service_endpoints_keep_the_old_shapes_with_true_values(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let root = call(&app, Method::GET, "/", None, None).await;
    assert_eq!(
        root.body,
        json!({"message": "Video Scraper Service is running"})
    );

    let health = call(&app, Method::GET, "/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    let expected = fixture("health");
    assert_eq!(health.ordered.keys(&[]), expected.keys(&[]));
    assert_eq!(
        health.ordered.keys(&["metrics"]),
        expected.keys(&["metrics"])
    );
    assert_keys_start_with(
        &health.ordered.keys(&["dependencies"]),
        &expected.keys(&["dependencies"]),
        "deps",
    );
    assert_eq!(
        health.body["status"], "degraded",
        "no worker is alive in tests"
    );
    assert_eq!(health.body["dependencies"]["yt_dlp"], "unknown");
    assert_eq!(health.body["dependencies"]["openai"], "not_configured");
    assert_eq!(health.body["dependencies"]["redis"], "healthy");

    let platforms = call(&app, Method::GET, "/supported-platforms", None, None).await;
    let expected = fixture("supported_platforms");
    assert_eq!(platforms.ordered.keys(&[]), expected.keys(&[]));
    assert_eq!(
        platforms.ordered.keys(&["platforms", "0"]),
        expected.keys(&["platforms", "0"])
    );
    assert_eq!(
        platforms.ordered.keys(&["limitations"]),
        expected.keys(&["limitations"])
    );
    assert_eq!(platforms.body["limitations"]["max_urls_per_batch"], 3);
    assert_eq!(platforms.body["limitations"]["max_video_duration"], 600);
    let patterns = platforms.body["platforms"][0]["url_patterns"].to_string();
    assert!(
        patterns.contains("/t/{short_id}") && patterns.contains("/photo/"),
        "{patterns}"
    );
    let features = &platforms.body["platforms"][0]["supported_features"];
    assert_eq!(
        features,
        &json!(["metadata_extraction", "engagement_metrics", "transcripts"])
    );

    // A live worker with a vision key: /health and /supported-platforms say so.
    let identity = worker_heartbeats::WorkerIdentity {
        worker_name: "w-vision",
        hostname: "test",
        pid: 1,
        started_at: chrono::Utc::now(),
        vision_configured: true,
    };
    worker_heartbeats::upsert_heartbeat(&app.pool, &identity)
        .await
        .unwrap();
    let health = call(&app, Method::GET, "/health", None, None).await;
    assert_eq!(health.body["status"], "healthy", "{:#}", health.body);
    assert_eq!(health.body["dependencies"]["yt_dlp"], "healthy");
    assert_eq!(health.body["dependencies"]["openai"], "configured");
    let platforms = call(&app, Method::GET, "/supported-platforms", None, None).await;
    assert_eq!(
        platforms.body["platforms"][0]["supported_features"],
        json!([
            "metadata_extraction",
            "thumbnail_analysis",
            "engagement_metrics",
            "transcripts"
        ])
    );

    let job_id = app.create_video_job(VIDEO_URL).await;
    app.end_item_at(job_id, 0, &failed(ErrorCode::VideoPrivate))
        .await;
    let other = app
        .create_video_job("https://www.tiktok.com/@a/video/7300000000000000002")
        .await;
    app.finish_video_job(other, "7300000000000000002", false)
        .await;
    let stats = call(&app, Method::GET, "/stats", None, None).await;
    assert_eq!(stats.status, StatusCode::OK, "{:#}", stats.body);
    let expected = fixture("stats");
    assert_eq!(stats.ordered.keys(&[]), expected.keys(&[]));
    assert_eq!(
        stats.ordered.keys(&["service_stats"]),
        expected.keys(&["service_stats"])
    );
    assert_eq!(
        stats.ordered.keys(&["platform_breakdown", "tiktok"]),
        expected.keys(&["platform_breakdown", "tiktok"])
    );
    assert_eq!(
        stats.ordered.keys(&["cache_stats"]),
        expected.keys(&["cache_stats"])
    );
    let service = &stats.body["service_stats"];
    assert_eq!(service["total_extractions"], 2);
    assert_eq!(service["successful_extractions"], 1);
    assert_eq!(service["success_rate"], 0.5);
    assert_eq!(service["avg_processing_time_ms"], 130.0);
    assert_eq!(stats.body["error_breakdown"], json!({"VIDEO_PRIVATE": 1}));
    assert_eq!(stats.body["cache_stats"]["total_items"], 1);
}
