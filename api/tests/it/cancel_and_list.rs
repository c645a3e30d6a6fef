//! Cancel (idempotent, guarded) and the job list (newest first, filters, opaque cursor).

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{TestApp, VIDEO_ID, VIDEO_URL};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn cancel_is_idempotent_and_cancels_the_queued_item(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    let first = app.post(&format!("/v1/jobs/{job_id}/cancel")).await;
    assert_eq!(first.status, StatusCode::OK, "{:#}", first.body);
    assert_eq!(first.body["status"], "canceled");
    assert_eq!(
        first.body["counts"],
        json!({"total":1,"succeeded":0,"failed":0,"canceled":1,"pending":0})
    );
    assert_eq!(first.body["error"]["code"], "CANCELED");
    assert!(first.body["finished_at"].is_string());

    let second = app.post(&format!("/v1/jobs/{job_id}/cancel")).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body, first.body, "a second cancel changes nothing");

    let (status, code): (String, Option<String>) =
        sqlx::query_as("select status, error_code from job_items where job_id = $1")
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("canceled", Some("CANCELED"))
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn canceling_a_finished_job_returns_it_unchanged(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = app.create_video_job(VIDEO_URL).await;
    app.finish_video_job(job_id, VIDEO_ID, false).await;
    let response = app.post(&format!("/v1/jobs/{job_id}/cancel")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["status"], "succeeded");
    assert_eq!(response.body["counts"]["canceled"], 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn canceling_an_unknown_job_is_404(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.post(&format!("/v1/jobs/{}/cancel", uuid::Uuid::now_v7()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["id"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_job_list_pages_newest_first_with_an_opaque_cursor(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(app.create_video_job(VIDEO_URL).await.to_string());
    }
    created.reverse();

    let mut seen = Vec::new();
    let mut path = "/v1/jobs?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{:#}", page.body);
        assert_eq!(page.body["object"], "list");
        pages += 1;
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(page.body["has_more"], true);
                path = format!("/v1/jobs?limit=2&cursor={cursor}");
            }
            None => {
                assert_eq!(page.body["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);
    let first = app.get("/v1/jobs").await.body;
    assert_eq!(first["data"][0]["input"]["url"], VIDEO_URL);
    assert!(
        first["data"][0].get("result").is_none(),
        "lists carry summaries"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_job_list_filters_by_status_and_kind(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let canceled = app.create_video_job(VIDEO_URL).await;
    let queued = app.create_video_job(VIDEO_URL).await;
    app.post(&format!("/v1/jobs/{canceled}/cancel")).await;
    assert_eq!(
        ids(&app.get("/v1/jobs?status=canceled").await.body),
        vec![canceled.to_string()]
    );
    assert_eq!(
        ids(&app.get("/v1/jobs?status=queued&kind=video").await.body),
        vec![queued.to_string()]
    );
    assert!(ids(&app.get("/v1/jobs?kind=trending").await.body).is_empty());
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn invalid_list_parameters_are_422(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "status=done",
        "kind=photo",
        "cursor=abc",
        "colour=red",
    ] {
        app.get(&format!("/v1/jobs?{query}"))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
}
