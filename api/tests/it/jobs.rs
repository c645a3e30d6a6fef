//! Creating and reading video jobs: 202 + Location + the job view, enqueueing, idempotency,
//! the result inline once finished, request ids.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::ids::JobId;
use uuid::Uuid;

use crate::support::{TestApp, VIDEO_ID, VIDEO_URL};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn creating_a_video_job_answers_202_with_location_and_the_job_view(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let body =
        json!({"kind":"video","url":VIDEO_URL,"options":{"refresh":true},"metadata":{"ref":"abc"}});
    let response = app.post_json("/v1/jobs", &body).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
    let job = &response.body;
    let job_id: JobId = job["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        response.header("location"),
        Some(format!("/v1/jobs/{job_id}").as_str())
    );
    assert!(response.header("x-request-id").is_some());
    assert_eq!(job["object"], "job");
    assert_eq!(job["kind"], "video");
    assert_eq!(job["status"], "queued");
    assert_eq!(job["input"]["url"], VIDEO_URL);
    assert_eq!(job["input"]["video_id"], VIDEO_ID);
    assert_eq!(job["input"]["canonical_url"], VIDEO_URL);
    assert_eq!(
        job["options"],
        json!({"refresh":true,"analyze_thumbnail":false,"language":"en","transcript":false})
    );
    assert_eq!(job["metadata"], json!({"ref":"abc"}));
    assert_eq!(
        job["counts"],
        json!({"total":1,"succeeded":0,"failed":0,"canceled":0,"pending":1})
    );
    assert_eq!(job["error"], json!(null));
    assert_eq!(job["result"], json!(null));
    assert_eq!(
        job["timings"],
        json!({"attempts":0,"stages_ms":{},"elapsed_ms":null})
    );
    assert!(job["created_at"].is_string());
    assert_eq!(job["started_at"], json!(null));
    assert_eq!(job["links"]["self"], format!("/v1/jobs/{job_id}"));
    assert_eq!(job["links"]["cancel"], format!("/v1/jobs/{job_id}/cancel"));

    let (status, max_attempts, item_video_id): (String, i32, Option<String>) =
        sqlx::query_as("select status, max_attempts, video_id from job_items where job_id = $1")
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), max_attempts), ("queued", 4));
    assert_eq!(item_video_id.as_deref(), Some(VIDEO_ID));

    let fetched = app.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(&fetched.body, job);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_accepted_job_waits_in_postgres_for_the_dispatcher_and_wakes_it(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener
        .listen(tokworks_shared::db::item_claims::dispatch::ITEMS_READY_CHANNEL)
        .await
        .unwrap();
    let job_id = app.create_video_job(VIDEO_URL).await;
    // After the commit the api sends NOTIFY tokworks_items_ready: the dispatcher wakes at once.
    tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
        .await
        .expect("the submit notifies the dispatcher")
        .unwrap();
    // The item has no task yet, and the api pushed nothing: the dispatcher hands it to Redis.
    let (status, task_id): (String, Option<String>) =
        sqlx::query_as("select status, task_id from job_items where job_id = $1")
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), task_id), ("queued", None));
    let depth = app.state.queue.depth().await.unwrap();
    assert_eq!(depth.pending + depth.scheduled, 0, "{depth:?}");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_job_is_accepted_while_redis_is_down(pool: PgPool) {
    let app = TestApp::with_redis(pool.clone(), "redis://127.0.0.1:1").await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    let (status, task_id): (String, Option<String>) =
        sqlx::query_as("select status, task_id from job_items where job_id = $1")
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    // Stored in Postgres, waiting for the workers' dispatcher (Redis is not on the submit path).
    assert_eq!(status, "queued");
    assert!(task_id.is_none());
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_finished_video_job_shows_its_result_timings_and_a_video_link(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    app.finish_video_job(job_id, VIDEO_ID, true).await;
    let job = app.get(&format!("/v1/jobs/{job_id}")).await.body;
    assert_eq!(job["status"], "succeeded");
    assert_eq!(job["counts"]["succeeded"], 1);
    assert_eq!(job["counts"]["pending"], 0);
    assert_eq!(job["result"]["id"], VIDEO_ID);
    assert_eq!(job["result"]["schema_version"], 1);
    assert_eq!(job["result"]["cache_hit"], true);
    assert_eq!(
        job["timings"]["stages_ms"],
        json!({"queue_wait":5.0,"extract":120.0,"total":130.0})
    );
    assert_eq!(job["timings"]["attempts"], 1);
    assert!(job["timings"]["elapsed_ms"].is_i64());
    assert_eq!(job["links"]["video"], format!("/v1/videos/{VIDEO_ID}"));
    assert_eq!(job["error"], json!(null));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_failed_job_shows_its_error_with_http_200(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    app.fail_video_job(job_id, ErrorCode::VideoPrivate).await;
    let response = app.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["status"], "failed");
    assert_eq!(
        response.body["error"],
        json!({"code":"VIDEO_PRIVATE","message":"failed in a test","retryable":false})
    );
    assert_eq!(response.body["result"], json!(null));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn unknown_and_malformed_job_ids_are_404(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for path in [
        format!("/v1/jobs/{}", Uuid::now_v7()),
        "/v1/jobs/not-a-uuid".to_owned(),
    ] {
        app.get(&path)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_client_request_id_is_echoed_in_the_header_and_the_problem(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .send(
            app.request(Method::GET, "/v1/jobs/nope")
                .header("x-request-id", "req-from-client-1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.header("x-request-id"), Some("req-from-client-1"));
    assert_eq!(
        response.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND")["request_id"],
        "req-from-client-1"
    );
}

async fn post_with_idempotency_key(
    app: &TestApp,
    key: &str,
    body: &serde_json::Value,
) -> crate::support::TestResponse {
    app.send(
        app.request(Method::POST, "/v1/jobs")
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_same_idempotency_key_and_body_return_the_same_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let body = json!({"kind":"video","url":VIDEO_URL});
    let first = post_with_idempotency_key(&app, "order-42", &body).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    // The same document, keys in another order and defaults spelled out, is the same body.
    let same = json!({"url":VIDEO_URL,"options":{"language":"en"},"kind":"video"});
    let second = post_with_idempotency_key(&app, "order-42", &same).await;
    assert_eq!(second.status, StatusCode::ACCEPTED);
    assert_eq!(second.body["id"], first.body["id"]);
    assert_eq!(second.header("location"), first.header("location"));
    assert_eq!(app.count_jobs().await, 1);

    let job_id = first.body["id"].as_str().unwrap().parse().unwrap();
    app.finish_video_job(job_id, VIDEO_ID, false).await;
    let replay = post_with_idempotency_key(&app, "order-42", &body).await;
    assert_eq!(
        replay.status,
        StatusCode::OK,
        "a finished job is replayed with 200"
    );
    assert_eq!(replay.body["status"], "succeeded");
    assert_eq!(replay.body["result"]["cache_hit"], false);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_same_idempotency_key_with_another_body_is_409(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let first =
        post_with_idempotency_key(&app, "k1", &json!({"kind":"video","url":VIDEO_URL})).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let other = json!({"kind":"video","url":VIDEO_URL,"options":{"refresh":true}});
    post_with_idempotency_key(&app, "k1", &other)
        .await
        .assert_problem(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.count_jobs().await, 1);
    // Keys are per API key: another key may use the same idempotency key.
    let other_key = app.other_key().await;
    let response = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/v1/jobs")
                .header("x-api-key", other_key)
                .header("content-type", "application/json")
                .header("idempotency-key", "k1")
                .body(Body::from(other.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn concurrent_requests_with_one_idempotency_key_create_one_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let body = json!({"kind":"video","url":VIDEO_URL});
    let (first, second, third) = tokio::join!(
        post_with_idempotency_key(&app, "race", &body),
        post_with_idempotency_key(&app, "race", &body),
        post_with_idempotency_key(&app, "race", &body),
    );
    assert_eq!(app.count_jobs().await, 1);
    for response in [&first, &second, &third] {
        assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
        assert_eq!(response.body["id"], first.body["id"]);
    }
}
