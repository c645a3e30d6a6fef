//! A job's webhook deliveries (issue #12): the list is cursor-paginated (`limit` ≤ 100, default
//! 20, `next_cursor`); a redelivery is refused for a webhook its receiver disabled (409
//! `WEBHOOK_DISABLED`) and limited per event and hour (429 `TOO_MANY_REDELIVERIES` with
//! `Retry-After`).

use std::collections::HashSet;
use tokworks_shared::ids::JobId;

use axum::http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tokworks_shared::db::webhooks as webhook_db;

use crate::support::{TestApp, VIDEO_URL};

/// A documentation-range IPv6 literal, written to the job row directly; nothing is sent to it.
const HOOK: &str = "https://[2001:db8::10]/hooks/tokworks";

/// A job of the app's key, subscribed to `job.progress` and `job.canceled`.
async fn job_with_webhook(app: &TestApp) -> JobId {
    let job_id = app.create_video_job(VIDEO_URL).await;
    sqlx::query(
        "update jobs set webhook_url = $2, webhook_events = array['job.progress', 'job.canceled']
         where job_id = $1",
    )
    .bind(job_id)
    .bind(HOOK)
    .execute(&app.pool)
    .await
    .unwrap();
    job_id
}

async fn write_progress_events(app: &TestApp, job_id: JobId, count: usize) {
    for _ in 0..count {
        let mut transaction = app.pool.begin().await.unwrap();
        let written = webhook_db::enqueue_job_event(&mut transaction, job_id, "job.progress", None)
            .await
            .unwrap();
        assert_eq!(written, 1);
        transaction.commit().await.unwrap();
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|delivery| delivery["id"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn deliveries_are_listed_page_by_page(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = job_with_webhook(&app).await;
    write_progress_events(&app, job_id, 45).await;
    let path = format!("/v1/jobs/{job_id}/deliveries");

    let first = app.get(&path).await;
    assert_eq!(first.status, StatusCode::OK, "{:#}", first.body);
    assert_eq!(ids(&first.body).len(), 20, "default page size");
    assert_eq!(first.body["has_more"], true);
    let mut seen: Vec<String> = ids(&first.body);
    let mut cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = app.get(&format!("{path}?limit=10&cursor={cursor}")).await;
        assert_eq!(page.status, StatusCode::OK, "{:#}", page.body);
        let page_ids = ids(&page.body);
        assert!(page_ids.len() <= 10);
        seen.extend(page_ids);
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => {
                assert_eq!(page.body["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(seen.len(), 45);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 45, "no repeats");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "oldest first");

    let all = app.get(&format!("{path}?limit=100")).await;
    assert_eq!(ids(&all.body), seen);
    assert_eq!(all.body["next_cursor"], Value::Null);

    for query in ["limit=0", "limit=101", "limit=x", "cursor=nope", "page=2"] {
        app.get(&format!("{path}?{query}"))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_disabled_webhook_is_not_redelivered(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = job_with_webhook(&app).await;
    write_progress_events(&app, job_id, 1).await;
    let listed = app.get(&format!("/v1/jobs/{job_id}/deliveries")).await;
    let delivery_id = ids(&listed.body).remove(0);
    // The receiver answered 410 Gone to a delivery (what the deliverer records).
    sqlx::query("update jobs set webhook_disabled_at = now() where job_id = $1")
        .bind(job_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let refused = app
        .post(&format!(
            "/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver"
        ))
        .await;
    refused.assert_problem(StatusCode::CONFLICT, "WEBHOOK_DISABLED");
    let listed = app.get(&format!("/v1/jobs/{job_id}/deliveries")).await;
    assert_eq!(ids(&listed.body), vec![delivery_id], "nothing queued");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn redeliveries_of_one_event_are_limited_per_hour(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = job_with_webhook(&app).await;
    write_progress_events(&app, job_id, 2).await;
    let listed = app.get(&format!("/v1/jobs/{job_id}/deliveries")).await;
    let [first, second] = <[String; 2]>::try_from(ids(&listed.body)).unwrap();
    let redeliver =
        |delivery_id: &str| format!("/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver");
    let mut redelivered = Vec::new();
    for _ in 0..5 {
        let response = app.post(&redeliver(&first)).await;
        assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
        redelivered.push(response.body["id"].as_str().unwrap().to_owned());
    }
    // A redelivery of a redelivery is the same event: it counts too.
    let limited = app.post(&redeliver(&redelivered[4])).await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REDELIVERIES");
    assert_eq!(limited.body["retryable"], true);
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&retry_after), "{retry_after}");
    app.post(&redeliver(&first))
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REDELIVERIES");
    // Another event of the same job is not limited by it.
    let other = app.post(&redeliver(&second)).await;
    assert_eq!(other.status, StatusCode::ACCEPTED, "{:#}", other.body);

    // An hour later the window has room again.
    sqlx::query(
        "update webhook_deliveries set created_at = created_at - interval '61 minutes'
         where job_id = $1",
    )
    .bind(job_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let later = app.post(&redeliver(&first)).await;
    assert_eq!(later.status, StatusCode::ACCEPTED, "{:#}", later.body);
    assert_eq!(
        app.get(&format!("/v1/jobs/{job_id}/deliveries?limit=100"))
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        2 + 5 + 1 + 1
    );
}
