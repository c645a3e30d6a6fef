//! Thumbnail analysis end to end: real api and workers, the simulator's OpenAI-compatible
//! endpoint. The analysis appears on the job's inline result, its items, `GET /v1/videos/{id}`
//! and the compatibility `POST /extract`; identical analyses are made once.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

use std::time::Duration;

use serde_json::{Value, json};

use crate::ground_truth::{canonical_url, video_id};
use crate::harness::{ServiceOptions, TestService};

const JOB_TIMEOUT: Duration = Duration::from_secs(90);

async fn vision_calls(service: &TestService) -> usize {
    let (entries, _) = service.sim_requests(0).await;
    entries
        .iter()
        .filter(|entry| entry["path"] == "/v1/chat/completions")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analysis_shows_on_every_view_and_is_made_once() {
    let service = TestService::start(
        ServiceOptions::new("thumbnail_analysis").worker_env("OPENAI_API_KEY", "sk-e2e"),
    )
    .await;
    let truth = service.sim_plain_videos(1).await.remove(0);
    let (url, id) = (canonical_url(&truth), video_id(&truth));

    let plain = service.submit_video(url).await;
    let plain = service.await_job_finished(plain, JOB_TIMEOUT).await;
    assert_eq!(
        plain["result"]["thumbnail_analysis"],
        Value::Null,
        "not asked for"
    );

    let options = json!({"analyze_thumbnail": true, "language": "id"});
    let job = service
        .submit_job(&json!({"kind": "video", "url": url, "options": options}))
        .await;
    let job = service.await_job_finished(job, JOB_TIMEOUT).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let analysis = &job["result"]["thumbnail_analysis"];
    assert_eq!(analysis["status"], "succeeded", "{analysis}");
    assert_eq!(analysis["language"], "id");
    assert_eq!(analysis["model"], "gpt-4o-mini");
    assert!(
        analysis["prompt_version"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(analysis["analysis"].as_object().unwrap().len(), 25);
    assert_eq!(analysis["cached"], false);
    assert_eq!(analysis["error"], Value::Null);
    assert!(analysis["usage"]["total_tokens"].as_i64().unwrap() > 0);
    assert!(job["timings"]["stages_ms"]["analyze"].is_number(), "{job}");
    assert_eq!(vision_calls(&service).await, 1);

    let items = service
        .get_json(&format!("/v1/jobs/{}/items", job["id"].as_str().unwrap()))
        .await;
    assert_eq!(items["data"][0]["thumbnail_analysis"], *analysis);

    let video = service.get_json(&format!("/v1/videos/{id}")).await;
    assert_eq!(
        video["thumbnail_analysis"]["id"]["analysis"], analysis["analysis"],
        "{video}"
    );

    // The old endpoint asks for an (Indonesian) analysis by default: served from the cache.
    let response = service
        .http
        .post(format!("{}/extract", service.api_url))
        .header("x-api-key", &service.api_key)
        .json(&json!({"url": url}))
        .send()
        .await
        .expect("POST /extract");
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(
        body["data"]["thumbnail_analysis"], analysis["analysis"],
        "{body}"
    );
    let response = service
        .http
        .post(format!("{}/extract/batch", service.api_url))
        .header("x-api-key", &service.api_key)
        .json(&json!({"urls": [url]}))
        .send()
        .await
        .expect("POST /extract/batch");
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(
        body["data"]["processed"][0]["data"]["thumbnail_analysis"], analysis["analysis"],
        "{body}"
    );
    assert_eq!(
        vision_calls(&service).await,
        1,
        "identical analyses are made once"
    );
}
