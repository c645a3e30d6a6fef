//! The result cache (a second request for the same video does not go upstream unless
//! `options.refresh` asks for it) and synchronous waiting with `Prefer: wait=N`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::ground_truth::{canonical_url, video_id};
use crate::harness::{ServiceOptions, TestService};

const JOB_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_request_for_a_video_is_served_from_the_cache_unless_refresh_is_asked() {
    let service = TestService::start(ServiceOptions::new("cache")).await;
    let truth = service.sim_plain_videos(1).await.remove(0);
    let url = canonical_url(&truth);
    let id = video_id(&truth);

    let first = service.submit_video(url).await;
    let first = service.await_job_finished(first, JOB_TIMEOUT).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(
        first["result"]["cache_hit"], false,
        "the first extraction cannot be a cache hit"
    );
    let first_fetches = upstream_requests_for(&service, id, 0).await;
    assert!(
        !first_fetches.is_empty(),
        "the first extraction fetched the video's page"
    );
    let log_position = last_sequence(&service).await;

    let second = service.submit_video(url).await;
    let second = service.await_job_finished(second, JOB_TIMEOUT).await;
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(
        second["result"]["cache_hit"], true,
        "the second request is a cache hit"
    );
    assert_eq!(second["result"]["id"], first["result"]["id"]);
    let second_fetches = upstream_requests_for(&service, id, log_position).await;
    assert!(
        second_fetches.is_empty(),
        "a cache hit must not go upstream, but sent: {second_fetches:?}"
    );
    let log_position = last_sequence(&service).await;

    let refreshed = service
        .submit_job(&json!({"kind": "video", "url": url, "options": {"refresh": true}}))
        .await;
    let refreshed = service.await_job_finished(refreshed, JOB_TIMEOUT).await;
    assert_eq!(refreshed["status"], "succeeded", "{refreshed}");
    assert_eq!(
        refreshed["result"]["cache_hit"], false,
        "refresh bypasses the cache"
    );
    let refreshed_fetches = upstream_requests_for(&service, id, log_position).await;
    assert!(
        !refreshed_fetches.is_empty(),
        "refresh fetched the page again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_wait_answers_200_with_the_finished_job() {
    let service = TestService::start(ServiceOptions::new("prefer_wait")).await;
    let truth = service.sim_plain_videos(1).await.remove(0);
    let response = service
        .http
        .post(format!("{}/v1/jobs", service.api_url))
        .header("x-api-key", &service.api_key)
        .header("Prefer", "wait=30")
        .json(&json!({"kind": "video", "url": canonical_url(&truth)}))
        .send()
        .await
        .expect("POST /v1/jobs with Prefer: wait=30");
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(
        status,
        StatusCode::OK,
        "a job that finishes within 30 s is answered with 200: {body}"
    );
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(body["result"]["id"].as_str(), Some(video_id(&truth)));
}

/// Requests after log position `since` that went upstream for `video_id` (pages, APIs, CDN).
async fn upstream_requests_for(service: &TestService, video_id: &str, since: u64) -> Vec<String> {
    let (entries, _) = service.sim_requests(since).await;
    entries
        .iter()
        .filter(|entry| {
            let path = entry["path"].as_str().unwrap_or("");
            let query = entry["query"].as_str().unwrap_or("");
            path.contains(video_id) || query.contains(video_id)
        })
        .map(|entry| format!("{} {}{}", entry["method"], entry["host"], entry["path"]))
        .collect()
}

/// Sequence number of the newest request log entry (0 when empty).
async fn last_sequence(service: &TestService) -> u64 {
    service.sim_requests(u64::MAX).await.1
}
