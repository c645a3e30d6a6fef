//! Per-key limits (docs/rate-limits.md): the RateLimit headers, 429 `RATE_LIMITED` with
//! `Retry-After` past requests per second or URLs per minute (shared by api instances through
//! Redis), 429 `TOO_MANY_ITEMS_IN_FLIGHT`, limits set per key, and Redis down (fail open).

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_api::config::{KeyLimitOptions, KeysCommand};
use tokworks_api::keys_cli::{create_api_key_with_limits, run_keys_command};
use tokworks_api::rate_limits::KeyLimits;

use crate::support::{TestApp, VIDEO_ID, VIDEO_URL};

fn limits(requests_per_second: u32, urls_per_minute: u32, max_items_in_flight: u32) -> KeyLimits {
    KeyLimits {
        requests_per_second,
        urls_per_minute,
        max_items_in_flight,
    }
}

async fn app_with(pool: PgPool, key_limits: KeyLimits) -> TestApp {
    TestApp::with_settings(pool, |settings| settings.key_limits = key_limits).await
}

/// A batch body of `count` distinct video URLs starting at `first`.
fn batch(first: u64, count: u64) -> Value {
    let urls: Vec<String> = (first..first + count)
        .map(|n| {
            format!(
                "https://www.tiktok.com/@creator/video/{}",
                7_000_000_000_000_000_000 + n
            )
        })
        .collect();
    json!({"kind": "batch", "urls": urls})
}

fn video() -> Value {
    json!({"kind": "video", "url": VIDEO_URL})
}

/// `r` of the named policy in a `RateLimit` header.
fn remaining(rate_limit: &str, policy: &str) -> u64 {
    rate_limit
        .split(", ")
        .find(|item| item.starts_with(&format!("\"{policy}\";")))
        .and_then(|item| item.split(';').find_map(|param| param.strip_prefix("r=")))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no r for {policy} in {rate_limit:?}"))
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn authenticated_answers_carry_the_ratelimit_headers_and_the_budget_decreases(pool: PgPool) {
    let app = app_with(pool, limits(50, 6000, 1000)).await;
    let first = app.get("/v1/jobs").await;
    let second = app.get("/v1/jobs").await;
    for response in [&first, &second] {
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(
            response.header("ratelimit-policy"),
            Some("\"requests\";q=50;w=1, \"urls\";q=6000;w=60")
        );
    }
    let first = first.header("ratelimit").unwrap();
    let second = second.header("ratelimit").unwrap();
    assert!(first.starts_with("\"requests\";r=49;t=1"), "{first}");
    assert_eq!(remaining(second, "requests"), 48, "{second}");
    assert_eq!(remaining(first, "urls"), 6000, "{first}");

    let created = app.post_json("/v1/jobs", &batch(0, 3)).await;
    assert_eq!(created.status, StatusCode::ACCEPTED);
    assert_eq!(
        remaining(created.header("ratelimit").unwrap(), "urls"),
        5997
    );

    // Errors of a known key carry them too; routes without a key do not.
    let missing = app
        .get("/v1/jobs/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.header("ratelimit").is_some());
    let health = app.get("/healthz").await;
    assert!(health.header("ratelimit-policy").is_none());
    assert!(health.header("ratelimit").is_none());
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_request_past_the_requests_per_second_gets_429_with_retry_after(pool: PgPool) {
    let app = app_with(pool, limits(1, 6000, 1000)).await;
    assert_eq!(app.get("/v1/jobs").await.status, StatusCode::OK);
    let refused = app.get("/v1/jobs").await;
    refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(refused.body["retryable"], true);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(
        remaining(refused.header("ratelimit").unwrap(), "requests"),
        0
    );
    // A submit is refused the same way, and stores nothing.
    let submit = app.post_json("/v1/jobs", &video()).await;
    submit.assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn urls_per_minute_count_every_url_of_a_batch(pool: PgPool) {
    let app = app_with(pool, limits(1000, 5, 1000)).await;
    let three = app.post_json("/v1/jobs", &batch(0, 3)).await;
    assert_eq!(three.status, StatusCode::ACCEPTED, "{:#}", three.body);
    assert_eq!(remaining(three.header("ratelimit").unwrap(), "urls"), 2);

    let refused = app.post_json("/v1/jobs", &batch(3, 3)).await;
    refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((2..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(app.count_jobs().await, 1, "a refused batch stores nothing");

    // The refused batch cost nothing: two URLs are still there.
    let two = app.post_json("/v1/jobs", &batch(6, 2)).await;
    assert_eq!(two.status, StatusCode::ACCEPTED, "{:#}", two.body);
    let sixth = app.post_json("/v1/jobs", &video()).await;
    sixth.assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn two_api_instances_share_one_budget(pool: PgPool) {
    let first = app_with(pool, limits(1000, 2, 1000)).await;
    let second = first.another_instance().await;
    assert_eq!(
        first.post_json("/v1/jobs", &video()).await.status,
        StatusCode::ACCEPTED
    );
    let answer = second.post_json("/v1/jobs", &video()).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(remaining(answer.header("ratelimit").unwrap(), "urls"), 0);
    first
        .post_json("/v1/jobs", &video())
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_submit_past_the_items_in_flight_is_refused_until_items_end(pool: PgPool) {
    let app = app_with(pool, limits(1000, 6000, 3)).await;
    assert_eq!(
        app.post_json("/v1/jobs", &batch(0, 2)).await.status,
        StatusCode::ACCEPTED
    );
    let refused = app.post_json("/v1/jobs", &batch(2, 2)).await;
    refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_ITEMS_IN_FLIGHT");
    assert!(refused.header("retry-after").is_some());
    assert!(refused.header("ratelimit").is_some());
    assert_eq!(app.count_jobs().await, 1);

    let video_job = app.create_video_job(VIDEO_URL).await;
    app.post_json("/v1/jobs", &video())
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_ITEMS_IN_FLIGHT");

    // Once the video job's item has ended, a submit is admitted again (the count is read from
    // Postgres at most once per second).
    app.finish_video_job(video_job, VIDEO_ID, false).await;
    let admitted = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let answer = app.post_json("/v1/jobs", &video()).await;
            if answer.status == StatusCode::ACCEPTED {
                return;
            }
            answer.assert_problem(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_ITEMS_IN_FLIGHT");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(admitted.is_ok(), "still refused after the item ended");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_key_created_with_its_own_limits_gets_them(pool: PgPool) {
    let mut app = app_with(pool.clone(), limits(50, 6000, 5000)).await;
    let own = KeyLimitOptions {
        requests_per_second: Some(7),
        urls_per_minute: Some(70),
        max_items_in_flight: None,
        max_watches: Some(3),
    };
    let (_, key) = create_api_key_with_limits(&pool, "limited", &own)
        .await
        .unwrap();
    app.key = key;
    let stats = app.get("/v1/stats").await;
    assert_eq!(stats.status, StatusCode::OK);
    assert_eq!(
        stats.body["limits"],
        json!({"requests_per_second": 7, "urls_per_minute": 70, "max_items_in_flight": 5000})
    );
    assert_eq!(
        stats.header("ratelimit-policy"),
        Some("\"requests\";q=7;w=1, \"urls\";q=70;w=60")
    );

    let mut listing = Vec::new();
    run_keys_command(&pool, &KeysCommand::List, &mut listing)
        .await
        .unwrap();
    let listing = String::from_utf8(listing).unwrap();
    let line = listing
        .lines()
        .find(|line| line.contains("limited"))
        .unwrap();
    assert!(line.ends_with("\t7\t70\tdefault\t3"), "{listing}");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_compatibility_endpoints_report_the_real_limits(pool: PgPool) {
    let app = TestApp::with_settings(pool, |settings| {
        settings.key_limits = limits(2, 90, 1000);
        settings.wait_max = Duration::ZERO;
    })
    .await;
    let platforms = app.get("/supported-platforms").await;
    assert_eq!(platforms.body["limitations"]["rate_limit_per_minute"], 90);
    let extract = app.post_json("/extract", &json!({"url": VIDEO_URL})).await;
    assert_eq!(
        extract.status,
        StatusCode::REQUEST_TIMEOUT,
        "{:#}",
        extract.body
    );
    let rate_limit = &extract.body["metadata"]["rate_limit"];
    assert_eq!(rate_limit["remaining"], 89, "{:#}", extract.body);
    assert!(rate_limit["reset_at"].is_string());
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn with_redis_down_requests_are_served_unlimited(pool: PgPool) {
    // Nothing listens on port 1 of the loopback.
    let mut app = TestApp::with_redis(pool.clone(), "redis://127.0.0.1:1").await;
    let own = KeyLimitOptions {
        requests_per_second: Some(1),
        urls_per_minute: Some(1),
        max_items_in_flight: None,
        max_watches: None,
    };
    app.key = create_api_key_with_limits(&pool, "one per second", &own)
        .await
        .unwrap()
        .1;
    for _ in 0..3 {
        let answer = app.post_json("/v1/jobs", &video()).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{:#}", answer.body);
        assert!(answer.header("ratelimit-policy").is_some());
        assert!(answer.header("ratelimit").is_none(), "no budget is known");
    }
    let metrics = app
        .send_for_text(
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        metrics.text.contains("tokworks_rate_limit_fail_open_total"),
        "{}",
        metrics.text
    );
}
