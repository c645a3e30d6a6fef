//! The old fetcher's `GET /trending` and `GET /category?hashtag=`: feed jobs over the engine,
//! answered with the old list shape (keys in the fixture's order), partial and failed feeds,
//! bad parameters and auth.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::feed_walks::WalkStatus;

use super::harness::call;
use super::ordered_json::fixture;
use crate::support::TestApp;

const FIRST_ID: &str = "7301234567890123456";
const SECOND_ID: &str = "7301234567890123457";

/// A complete stored `Video` (as the mapper writes it) with the fixture's values.
fn full_video(video_id: &str, hashtags: &[(&str, &str)]) -> Value {
    let tags: Vec<Value> = hashtags
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    json!({
        "schema_version": 1, "id": video_id, "kind": "video",
        "url": format!("https://www.tiktok.com/@foodie.jkt/video/{video_id}"),
        "description": "Street food tour in Jakarta #food #streetfood",
        "created_at": "2023-11-15T10:00:00Z", "create_time": 1700042400,
        "duration_seconds": 42, "width": 576, "height": 1024,
        "hashtags": tags, "mentions": [],
        "counts": {"play_count": 1585253, "like_count": 120344, "comment_count": 3411,
                   "share_count": 562, "collect_count": 9120, "repost_count": null},
        "counts_exact": true,
        "author": {"id": "6812345678901234567", "unique_id": "foodie.jkt",
                   "nickname": "Foodie Jakarta", "sec_uid": null, "verified": false,
                   "private_account": false, "signature": null,
                   "avatar": {"url": "https://p16-sign.tiktokcdn-us.com/avatar-thumb.jpeg",
                              "expires_at": null},
                   "follower_count": null, "following_count": null, "heart_count": null,
                   "video_count": null, "counts_exact": false},
        "music": null,
        "covers": {"cover": null, "origin_cover": null, "dynamic_cover": null},
        "media": {"play": {"url": "https://v16-webapp-prime.tiktok.com/video/tos/play.mp4",
                           "watermarked": false, "expires_at": null},
                  "download": null, "formats": []},
        "images": [], "subtitles": [], "location_created": "ID", "is_ad": false,
        "text_language": "id", "diversification_labels": [], "source": "web",
        "extracted_at": "2026-11-22T06:00:00Z"
    })
}

/// The view of the key's only job.
async fn job_view(app: &TestApp) -> Value {
    let job_id = app.only_job_id().await;
    app.get(&format!("/v1/jobs/{job_id}")).await.body
}

async fn store(app: &TestApp, video: &Value) {
    sqlx::query(
        "insert into videos (video_id, data, source, fetched_at) values ($1, $2, 'web', now())",
    )
    .bind(video["id"].as_str().unwrap())
    .bind(video)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn trending_answers_the_old_list_in_feed_order_over_a_feed_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let hashtags = [("5863", "food"), ("28591", "streetfood")];
    store(&app, &full_video(FIRST_ID, &hashtags)).await;
    store(&app, &full_video(SECOND_ID, &[])).await;
    let walker = async {
        app.until_waiting(1).await;
        app.finish_walk(
            &[FIRST_ID, SECOND_ID],
            WalkStatus::Succeeded,
            "COUNT_REACHED",
        )
        .await;
    };
    let (response, ()) = tokio::join!(
        call(&app, Method::GET, "/trending?count=2", Some(&app.key), None),
        walker
    );
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    let list = response.body.as_array().expect("a plain JSON list");
    assert_eq!(list.len(), 2);
    let expected = fixture("fetcher_list_entry");
    for path in [&[][..], &["author"], &["stats"], &["video"]] {
        let mut entry_path = vec!["0"];
        entry_path.extend_from_slice(path);
        assert_eq!(
            response.ordered.keys(&entry_path),
            expected.keys(path),
            "keys of {path:?}"
        );
    }
    let fixture_value: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/compat/fetcher_list_entry.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(list[0], fixture_value, "the entry equals the fixture");
    assert_eq!(list[1]["id"], SECOND_ID);
    assert_eq!(list[1]["hashtags"], json!([]));

    let job = job_view(&app).await;
    assert_eq!(job["kind"], "trending");
    assert_eq!(job["status"], "succeeded");
    assert_eq!(job["metadata"]["compat_endpoint"], "/trending");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn category_serves_a_hashtag_feed_and_says_when_it_stopped_short(pool: PgPool) {
    let app = TestApp::new(pool).await;
    store(&app, &full_video(FIRST_ID, &[("5863", "food")])).await;
    let walker = async {
        app.until_waiting(1).await;
        app.finish_walk(&[FIRST_ID], WalkStatus::Partial, "UPSTREAM_RATE_LIMITED")
            .await;
    };
    let (response, ()) = tokio::join!(app.get("/category?hashtag=%23Food&count=5"), walker);
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    assert_eq!(
        response.header("x-tokworks-partial"),
        Some("UPSTREAM_RATE_LIMITED")
    );
    assert_eq!(response.body[0]["id"], FIRST_ID);
    let job_id = response.header("x-tokworks-job-id").unwrap().to_owned();
    let job = job_view(&app).await;
    assert_eq!(job["id"], job_id);
    assert_eq!(job["feed"]["hashtag"], "food");
    assert_eq!(job["feed"]["count"], 5);

    // The same feed again within the TTL: answered from the feed cache, no walk to wait for.
    let again = call(
        &app,
        Method::GET,
        "/category?hashtag=food&count=5",
        Some(&app.key),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{:#}", again.body);
    assert_eq!(again.body[0]["id"], FIRST_ID);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_missing_hashtag_is_a_404_with_the_feed_code(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let walker = async {
        app.until_waiting(1).await;
        app.finish_walk(&[], WalkStatus::Failed, "HASHTAG_NOT_FOUND")
            .await;
    };
    let (response, ()) = tokio::join!(
        call(
            &app,
            Method::GET,
            "/category?hashtag=nosuchtag",
            Some(&app.key),
            None
        ),
        walker
    );
    assert_eq!(
        response.status,
        StatusCode::NOT_FOUND,
        "{:#}",
        response.body
    );
    assert_eq!(response.body["code"], "HASHTAG_NOT_FOUND");
    assert_eq!(response.body["retryable"], false);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn bad_parameters_and_missing_keys_create_no_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for (path, status, code) in [
        (
            "/category",
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_PARAMETER",
        ),
        (
            "/category?hashtag=two%20words",
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_FIELD",
        ),
        (
            "/trending?count=abc",
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_PARAMETER",
        ),
        (
            "/trending?count=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_FIELD",
        ),
        (
            "/trending?count=100000",
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_FIELD",
        ),
    ] {
        let response = call(&app, Method::GET, path, Some(&app.key), None).await;
        assert_eq!(response.status, status, "{path}: {:#}", response.body);
        assert_eq!(response.body["code"], code, "{path}");
    }
    let anonymous = call(&app, Method::GET, "/trending", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count_jobs().await, 0);
}
