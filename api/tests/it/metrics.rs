//! `GET /metrics`: the Prometheus exposition with the request counter and latency histogram,
//! the job and item gauges read at scrape time, and METRICS_TOKEN.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sqlx::PgPool;
use tokworks_api::service::metrics_scrape::metrics_token_sha256;
use tower::ServiceExt;

use crate::support::{TestApp, VIDEO_URL};

/// Scrapes `/metrics` with an optional `Authorization` header; returns the status and text.
async fn scrape(app: &TestApp, authorization: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get("/metrics");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    if status == StatusCode::OK {
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
    }
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The value of the sample of `name` whose labels include every one of `labels`
/// (0 when there is none).
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            let series = line.rsplit_once(' ').map_or("", |(series, _)| series);
            let (metric, label_text) = series.split_once('{').unwrap_or((series, ""));
            metric == name && labels.iter().all(|label| label_text.contains(label))
        })
        .map(|line| line.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .fold(0.0, |total, value| total + value)
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_request_counter_moves_after_a_request_and_job_gauges_are_read(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_labels = [
        "method=\"GET\"",
        "route=\"/v1/jobs/{job_id}\"",
        "status=\"200\"",
    ];
    let (status, before) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::OK, "open without METRICS_TOKEN");
    assert_eq!(
        sample(&before, "tokworks_http_requests_total", &job_labels),
        0.0
    );
    assert_eq!(
        sample(&before, "tokworks_jobs", &["status=\"queued\""]),
        0.0
    );

    let job_id = app.create_video_job(VIDEO_URL).await;
    // The api pushes nothing (the workers' dispatcher does): put one task in the queue, as the
    // dispatcher would, to see the gauges report what Redis holds.
    let queue = app.queue().await;
    queue
        .push(&[tokworks_shared::queue_tasks::ExtractItemTask::new(
            job_id,
            tokworks_shared::ids::ItemId::new_v7(),
        )])
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/v1/jobs/{job_id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/no/such/route").await.status,
        StatusCode::NOT_FOUND
    );

    let (_, after) = scrape(&app, None).await;
    assert_eq!(
        sample(&after, "tokworks_http_requests_total", &job_labels),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "tokworks_http_requests_total",
            &["route=\"/v1/jobs\"", "method=\"POST\"", "status=\"202\""]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "tokworks_http_requests_total",
            &["route=\"unmatched\"", "status=\"404\""]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "tokworks_http_request_duration_seconds_count",
            &["method=\"GET\"", "route=\"/v1/jobs/{job_id}\""]
        ),
        1.0
    );
    assert!(after.contains("# TYPE tokworks_http_requests_total counter"));
    assert!(after.contains("# TYPE tokworks_http_request_duration_seconds histogram"));
    assert!(after.contains("tokworks_http_request_duration_seconds_bucket{"));
    assert_eq!(sample(&after, "tokworks_jobs", &["status=\"queued\""]), 1.0);
    assert_eq!(
        sample(&after, "tokworks_jobs", &["status=\"succeeded\""]),
        0.0
    );
    assert!(after.contains("tokworks_jobs{status=\"succeeded\"} 0"));
    assert_eq!(
        sample(&after, "tokworks_job_items", &["status=\"queued\""]),
        1.0
    );
    assert_eq!(sample(&after, "tokworks_live_workers", &[]), 0.0);
    let waiting = sample(&after, "tokworks_queue_tasks", &["state=\"pending\""])
        + sample(&after, "tokworks_queue_tasks", &["state=\"scheduled\""]);
    assert_eq!(waiting, 1.0, "the pushed task waits in Redis");
    assert_eq!(
        sample(
            &after,
            "tokworks_scrape_source_up",
            &["source=\"postgres\""]
        ),
        1.0
    );
    assert_eq!(
        sample(&after, "tokworks_scrape_source_up", &["source=\"redis\""]),
        1.0
    );

    app.finish_video_job(job_id, crate::support::VIDEO_ID, false)
        .await;
    let (_, finished) = scrape(&app, None).await;
    assert_eq!(
        sample(&finished, "tokworks_jobs", &["status=\"queued\""]),
        0.0
    );
    assert_eq!(
        sample(&finished, "tokworks_jobs", &["status=\"succeeded\""]),
        1.0
    );
    assert_eq!(
        sample(&finished, "tokworks_job_items", &["status=\"succeeded\""]),
        1.0
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn metrics_token_is_required_when_set(pool: PgPool) {
    let app = TestApp::with_settings(pool, |settings| {
        settings.events_and_metrics.metrics_token_sha256 =
            Some(metrics_token_sha256("s3cret-token"));
    })
    .await;
    let (status, _) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scrape(&app, Some("Bearer wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    response.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let (status, text) = scrape(&app, Some("Bearer s3cret-token")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("tokworks_jobs{status=\"queued\"} 0"),
        "{text}"
    );
}
