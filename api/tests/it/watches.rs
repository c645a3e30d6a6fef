//! `/v1/watches` through the router: validation (422s), the per-key limit (409), pause, resume,
//! run now, patch, delete, another key's watch (404), and the runs and videos lists after a run
//! played through the real scheduler functions.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::feed_walks::WalkStatus;
use tokworks_shared::db::watches::evaluate::{self, EvaluationSettings};
use tokworks_shared::db::watches::schedule;

use tokworks_api::config::KeyLimitOptions;
use tokworks_api::keys_cli::create_api_key_with_limits;

use crate::support::{TestApp, TestResponse};

async fn create(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/v1/watches", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{:#}", response.body);
    assert_eq!(
        response.header("location"),
        Some(
            format!(
                "/v1/watches/{}",
                response.body["id"].as_str().expect("an id")
            )
            .as_str()
        )
    );
    response.body
}

async fn send_json(app: &TestApp, method: Method, path: &str, body: &Value) -> TestResponse {
    app.send(
        app.request(method, path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("a request"),
    )
    .await
}

async fn delete(app: &TestApp, path: &str) -> TestResponse {
    app.send(
        app.request(Method::DELETE, path)
            .body(Body::empty())
            .expect("a request"),
    )
    .await
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn bad_watches_get_stable_422_codes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for (body, code, field) in [
        (
            json!({"kind": "user", "username": "a", "every": 299}),
            "INVALID_FIELD",
            "every",
        ),
        (
            json!({"kind": "user", "username": "a"}),
            "INVALID_FIELD",
            "every",
        ),
        (
            json!({"kind": "user", "username": "a", "every": "hourly"}),
            "INVALID_FIELD",
            "every",
        ),
        (
            json!({"kind": "user", "username": "two words", "every": 300}),
            "INVALID_FIELD",
            "username",
        ),
        (
            json!({"kind": "hashtag", "every": 300}),
            "INVALID_FIELD",
            "hashtag",
        ),
        (
            json!({"kind": "trending", "every": 300, "count": 0}),
            "INVALID_FIELD",
            "count",
        ),
        (
            json!({"kind": "video", "every": 300}),
            "INVALID_FIELD",
            "kind",
        ),
        (
            json!({"kind": "trending", "every": 300, "colour": "red"}),
            "UNKNOWN_FIELD",
            "colour",
        ),
        (
            json!({"kind": "trending", "every": 300,
                   "webhook": {"url": "https://example.com/h", "events": ["job.completed"]}}),
            "INVALID_FIELD",
            "webhook.events",
        ),
        (
            json!({"kind": "trending", "every": 300, "webhook": {"url": "http://127.0.0.1/h"}}),
            "WEBHOOK_URL_NOT_ALLOWED",
            "webhook.url",
        ),
    ] {
        let response = app.post_json("/v1/watches", &body).await;
        let problem = response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, code);
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(app.get("/v1/watches").await.body["data"], json!([]));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_watch_is_created_read_listed_and_hidden_from_other_keys(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let watch = create(
        &app,
        json!({"kind": "user", "username": "https://www.tiktok.com/@Scout2015", "every": 3600,
               "count": 10, "options": {"transcript": true}, "metadata": {"team": "a"}}),
    )
    .await;
    assert_eq!(watch["object"], "watch");
    assert_eq!(watch["kind"], "user");
    assert_eq!(watch["username"], "Scout2015");
    assert_eq!(
        (watch["every"].clone(), watch["count"].clone()),
        (json!(3600), json!(10))
    );
    assert_eq!(watch["report_existing"], false);
    assert_eq!(watch["options"]["transcript"], true);
    assert_eq!(watch["webhook"], Value::Null);
    assert_eq!(watch["status"], "active");
    assert_eq!(watch["paused_reason"], Value::Null);
    assert!(watch["next_run_at"].is_string());
    assert_eq!(
        (watch["runs"].clone(), watch["videos_seen"].clone()),
        (json!(0), json!(0))
    );
    let id = watch["id"].as_str().expect("an id");
    let path = format!("/v1/watches/{id}");
    assert_eq!(app.get(&path).await.body["username"], "Scout2015");
    let trending = create(&app, json!({"kind": "trending", "every": 300})).await;
    assert!(trending.get("username").is_none());
    let list = app.get("/v1/watches?limit=1").await.body;
    assert_eq!(list["data"][0]["id"], trending["id"], "newest first");
    assert_eq!(list["has_more"], true);
    let cursor = list["next_cursor"].as_str().expect("a cursor");
    let next = app
        .get(&format!("/v1/watches?limit=1&cursor={cursor}"))
        .await
        .body;
    assert_eq!(next["data"][0]["id"], watch["id"]);
    assert_eq!(next["has_more"], false);

    let other = app.other_key().await;
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::DELETE, ""),
        (Method::POST, "/pause"),
        (Method::POST, "/run"),
        (Method::GET, "/runs"),
        (Method::GET, "/videos"),
    ] {
        let response = app
            .send(
                axum::http::Request::builder()
                    .method(method.clone())
                    .uri(format!("{path}{suffix}"))
                    .header("x-api-key", &other)
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await;
        response.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    app.get("/v1/watches/not-a-uuid")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_key_has_at_most_watch_max_per_key_watches(pool: PgPool) {
    let app = TestApp::with_settings(pool, |settings| settings.watches.max_per_key = 1).await;
    create(&app, json!({"kind": "trending", "every": 300})).await;
    app.post_json("/v1/watches", &json!({"kind": "trending", "every": 300}))
        .await
        .assert_problem(StatusCode::CONFLICT, "WATCH_LIMIT_REACHED");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_key_created_with_max_watches_has_its_own_limit(pool: PgPool) {
    let mut app = TestApp::new(pool.clone()).await;
    let own = KeyLimitOptions {
        max_watches: Some(2),
        ..KeyLimitOptions::default()
    };
    app.key = create_api_key_with_limits(&pool, "two watches", &own)
        .await
        .expect("a key")
        .1;
    for hashtag in ["food", "ramen"] {
        create(
            &app,
            json!({"kind": "hashtag", "hashtag": hashtag, "every": 300}),
        )
        .await;
    }
    app.post_json("/v1/watches", &json!({"kind": "trending", "every": 300}))
        .await
        .assert_problem(StatusCode::CONFLICT, "WATCH_LIMIT_REACHED");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn pause_resume_run_patch_and_delete(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let watch = create(
        &app,
        json!({"kind": "hashtag", "hashtag": "#Food", "every": 600}),
    )
    .await;
    assert_eq!(watch["hashtag"], "food");
    let path = format!("/v1/watches/{}", watch["id"].as_str().expect("an id"));

    let paused = app.post(&format!("{path}/pause")).await;
    assert_eq!(paused.status, StatusCode::OK);
    assert_eq!(paused.body["status"], "paused");
    assert_eq!(paused.body["paused_reason"], "requested");
    assert_eq!(paused.body["next_run_at"], Value::Null);
    app.post(&format!("{path}/run"))
        .await
        .assert_problem(StatusCode::CONFLICT, "WATCH_PAUSED");
    assert!(
        schedule::start_due_runs(&app.pool, 10)
            .await
            .expect("start")
            .is_empty()
    );

    let resumed = app.post(&format!("{path}/resume")).await;
    assert_eq!(resumed.body["status"], "active");
    assert_eq!(resumed.body["paused_reason"], Value::Null);
    let run = app.post(&format!("{path}/run")).await;
    assert_eq!(run.status, StatusCode::ACCEPTED, "{:#}", run.body);
    let started = schedule::start_due_runs(&app.pool, 10)
        .await
        .expect("start");
    assert_eq!(started.len(), 1);
    app.post(&format!("{path}/run"))
        .await
        .assert_problem(StatusCode::CONFLICT, "WATCH_RUN_IN_FLIGHT");

    let patched = send_json(
        &app,
        Method::PATCH,
        &path,
        &json!({"every": 7200, "count": 5, "report_existing": true,
                "webhook": {"url": "https://example.com/hook", "events": ["watch.paused"]}}),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{:#}", patched.body);
    assert_eq!(patched.body["every"], 7200);
    assert_eq!(patched.body["count"], 5);
    assert_eq!(patched.body["report_existing"], true);
    assert_eq!(patched.body["webhook"]["events"], json!(["watch.paused"]));
    let removed = send_json(&app, Method::PATCH, &path, &json!({"webhook": null})).await;
    assert_eq!(removed.body["webhook"], Value::Null);
    assert_eq!(removed.body["count"], 5);
    send_json(&app, Method::PATCH, &path, &json!({"every": 1}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD");

    assert_eq!(delete(&app, &path).await.status, StatusCode::NO_CONTENT);
    app.get(&path)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    // The run's job stays.
    assert_eq!(app.count_jobs().await, 1);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn runs_and_videos_are_listed_after_a_run(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let watch = create(
        &app,
        json!({"kind": "user", "username": "creator", "every": 300}),
    )
    .await;
    let path = format!("/v1/watches/{}", watch["id"].as_str().expect("an id"));
    assert_eq!(
        app.post(&format!("{path}/run")).await.status,
        StatusCode::ACCEPTED
    );
    let started = schedule::start_due_runs(&app.pool, 10)
        .await
        .expect("start");
    assert_eq!(started.len(), 1);
    app.finish_walk(
        &["7300000000000000001", "7300000000000000002"],
        WalkStatus::Succeeded,
        "NO_MORE",
    )
    .await;
    evaluate::evaluate_run(&app.pool, started[0].run_id, &EvaluationSettings::default())
        .await
        .expect("evaluate")
        .expect("evaluated");

    let runs = app.get(&format!("{path}/runs")).await.body;
    let run = &runs["data"][0];
    assert_eq!(run["object"], "watch_run");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["baseline"], true);
    assert_eq!(run["videos_found"], 2);
    assert_eq!(run["new_video_ids"], json!([]));
    assert_eq!(run["job_id"], json!(started[0].job_id));
    assert_eq!(run["error"], Value::Null);
    let job = app
        .get(&format!("/v1/jobs/{}", started[0].job_id))
        .await
        .body;
    assert_eq!(job["kind"], "user");
    assert_eq!(job["status"], "succeeded");

    let videos = app.get(&format!("{path}/videos?limit=1")).await.body;
    assert_eq!(videos["data"].as_array().expect("a list").len(), 1);
    assert_eq!(videos["data"][0]["reported"], false);
    assert_eq!(videos["data"][0]["run_id"], run["id"]);
    let cursor = videos["next_cursor"].as_str().expect("a cursor");
    let rest = app
        .get(&format!("{path}/videos?limit=1&cursor={cursor}"))
        .await
        .body;
    assert_ne!(rest["data"][0]["video_id"], videos["data"][0]["video_id"]);
    assert_eq!(rest["has_more"], false);
    let future = app
        .get(&format!("{path}/videos?since=2999-01-01T00:00:00Z"))
        .await
        .body;
    assert_eq!(future["data"], json!([]));
    app.get(&format!("{path}/videos?since=yesterday"))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    let watch = app.get(&path).await.body;
    assert_eq!(
        (watch["runs"].clone(), watch["videos_seen"].clone()),
        (json!(1), json!(2))
    );
    assert!(watch["last_success_at"].is_string());
    let stats = app.get("/v1/stats").await.body;
    assert_eq!(stats["watches"]["watches_active"], 1);
    assert_eq!(stats["watches"]["runs_succeeded"], 1);
}
