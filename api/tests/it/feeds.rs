//! Feed jobs (trending, hashtag, user) through `POST /v1/jobs`: validation, the walk they get,
//! coalescing of identical requests, the feed cache, `refresh`, idempotency, and the job view.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::feed_walks::WalkStatus;
use uuid::Uuid;

use crate::support::TestApp;

async fn submit(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/v1/jobs", &body).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
    response.body
}

fn walk_id(job: &Value) -> String {
    job["feed"]["walk"]["id"]
        .as_str()
        .expect("a walk id")
        .to_owned()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn bad_feed_requests_get_stable_422_codes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for (body, code) in [
        (json!({"kind": "trending", "count": 0}), "INVALID_FIELD"),
        (json!({"kind": "trending", "count": 501}), "INVALID_FIELD"),
        (json!({"kind": "trending", "count": "ten"}), "INVALID_FIELD"),
        (json!({"kind": "hashtag"}), "INVALID_FIELD"),
        (
            json!({"kind": "hashtag", "hashtag": "two words"}),
            "INVALID_FIELD",
        ),
        (
            json!({"kind": "user", "username": "https://www.tiktok.com/tag/food"}),
            "UNSUPPORTED_URL",
        ),
        (
            json!({"kind": "user", "username": "@a", "urls": []}),
            "INVALID_FIELD",
        ),
    ] {
        let response = app.post_json("/v1/jobs", &body).await;
        response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn identical_feed_jobs_share_a_walk_and_a_finished_walk_serves_the_next_from_cache(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let first = submit(
        &app,
        json!({"kind": "hashtag", "hashtag": "#Food", "count": 3}),
    )
    .await;
    assert_eq!(first["kind"], "hashtag");
    assert_eq!(first["status"], "queued");
    assert_eq!(first["feed"]["hashtag"], "food");
    assert_eq!(first["feed"]["count"], 3);
    assert_eq!(first["feed"]["cache_hit"], false);
    assert_eq!(first["feed"]["walk"]["status"], "queued");
    let second = submit(
        &app,
        json!({"kind": "hashtag", "hashtag": "food", "count": 3}),
    )
    .await;
    assert_eq!(walk_id(&second), walk_id(&first), "coalesced into one walk");
    let other_count = submit(
        &app,
        json!({"kind": "hashtag", "hashtag": "food", "count": 4}),
    )
    .await;
    assert_ne!(walk_id(&other_count), walk_id(&first));

    // Walk the `count: 3` feed (and only it: the other one stays due).
    sqlx::query("update feed_walks set not_before = now() + interval '1 hour' where walk_id = $1")
        .bind(Uuid::parse_str(&walk_id(&other_count)).unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let videos = [
        "7300000000000000011",
        "7300000000000000012",
        "7300000000000000013",
    ];
    app.finish_walk(&videos, WalkStatus::Succeeded, "COUNT_REACHED")
        .await;
    for job in [&first, &second] {
        let id = job["id"].as_str().unwrap();
        let view = app.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(view.body["status"], "succeeded", "{:#}", view.body);
        assert_eq!(view.body["counts"]["succeeded"], 3);
        assert_eq!(
            view.body["feed"]["walk"]["stopped"]["code"],
            "COUNT_REACHED"
        );
        let items = app.get(&format!("/v1/jobs/{id}/items")).await;
        let ids: Vec<&str> = items.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["video_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, videos);
    }

    // Within the TTL: answered at once from the finished walk.
    let cached = submit(
        &app,
        json!({"kind": "hashtag", "hashtag": "FOOD", "count": 3}),
    )
    .await;
    assert_eq!(cached["status"], "succeeded", "{cached:#}");
    assert_eq!(cached["feed"]["cache_hit"], true);
    assert_eq!(walk_id(&cached), walk_id(&first));
    let refreshed = submit(
        &app,
        json!({"kind": "hashtag", "hashtag": "food", "count": 3, "options": {"refresh": true}}),
    )
    .await;
    assert_eq!(refreshed["status"], "queued");
    assert_ne!(walk_id(&refreshed), walk_id(&first));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_feed_stopped_short_is_partial_with_the_reason(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job = submit(
        &app,
        json!({"kind": "user", "username": "@Some.One", "count": 10}),
    )
    .await;
    assert_eq!(job["feed"]["username"], "Some.One");
    app.finish_walk(
        &["7300000000000000021"],
        WalkStatus::Partial,
        "UPSTREAM_RATE_LIMITED",
    )
    .await;
    let view = app
        .get(&format!("/v1/jobs/{}", job["id"].as_str().unwrap()))
        .await;
    assert_eq!(view.body["status"], "partial", "{:#}", view.body);
    assert_eq!(view.body["error"]["code"], "UPSTREAM_RATE_LIMITED");
    assert_eq!(view.body["error"]["retryable"], true);
    assert_eq!(
        view.body["feed"]["walk"]["stopped"]["code"],
        "UPSTREAM_RATE_LIMITED"
    );
    assert_eq!(view.body["counts"]["total"], 1);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_idempotency_key_replays_the_feed_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let body = json!({"kind": "trending", "count": 5});
    let send = |body: Value| {
        let request = app
            .request(axum::http::Method::POST, "/v1/jobs")
            .header("content-type", "application/json")
            .header("idempotency-key", "feed-1")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        app.send(request)
    };
    let first = send(body.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let again = send(body).await;
    assert_eq!(again.body["id"], first.body["id"]);
    let other = send(json!({"kind": "trending", "count": 6})).await;
    other.assert_problem(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.count_jobs().await, 1);
}
