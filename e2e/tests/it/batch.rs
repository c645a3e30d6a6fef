//! A batch of exactly 1,000 URLs (the default BATCH_MAX_URLS: distinct simulator videos, repeated
//! URLs, TikTok error pages and URLs that are not TikTok videos) through the real api and two
//! workers: bad URLs are rejected at submit time, every item ends matching the simulator's ground
//! truth, repeated videos are extracted once, and the job ends `partial`.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ground_truth::{canonical_url, compare_with_ground_truth};
use crate::harness::{ServiceOptions, TestService};

/// Distinct videos of the batch: with the duplicates (2 per 4 videos), 3 bad URLs and 2 error
/// pages the batch has exactly [`BATCH_ENTRIES`] entries.
const DISTINCT_VIDEOS: usize = 663;
/// Entries of the batch: the default BATCH_MAX_URLS.
const BATCH_ENTRIES: usize = 1_000;
/// Every how many videos a URL is repeated later in the batch.
const DUPLICATE_EVERY: usize = 4;
/// `MAX_VIDEO_DURATION_SECONDS` of the workers: longer corpus videos fail `VIDEO_TOO_LONG`.
const MAX_VIDEO_DURATION_SECONDS: u64 = 600;

/// What an accepted entry must end with.
enum Expected<'a> {
    Video(&'a Value),
    Fails(&'static str),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_a_thousand_urls_matches_the_ground_truth_and_extracts_duplicates_once() {
    let options = ServiceOptions::new("batch")
        .sim_video_count(DISTINCT_VIDEOS)
        .worker_env(
            "MAX_VIDEO_DURATION_SECONDS",
            &MAX_VIDEO_DURATION_SECONDS.to_string(),
        );
    let service = TestService::start(options).await;
    let truths = service.sim_videos(DISTINCT_VIDEOS).await;
    assert_eq!(truths.len(), DISTINCT_VIDEOS);
    let cases = service.sim_cases().await;
    let case_url = |name: &str| {
        cases
            .iter()
            .find(|case| case["name"] == name)
            .and_then(|case| case["url"].as_str())
            .unwrap_or_else(|| panic!("simulator case {name}"))
            .to_owned()
    };

    let mut urls: Vec<Value> = Vec::new();
    let mut expected: Vec<Option<Expected<'_>>> = Vec::new();
    for (index, truth) in truths.iter().enumerate() {
        urls.push(json!({"url": canonical_url(truth), "custom_id": format!("video-{index}")}));
        expected.push(Some(expected_for(truth)));
        if index % DUPLICATE_EVERY == 0 {
            // The same video again: by the same URL, and by the URL with a query string.
            let repeated = truths[index / 2].clone();
            urls.push(json!(canonical_url(&repeated)));
            expected.push(Some(expected_for(&truths[index / 2])));
            urls.push(json!(format!("{}?is_from_webapp=1", canonical_url(truth))));
            expected.push(Some(expected_for(truth)));
        }
        if index == 100 {
            for bad in [
                "https://example.com/@a/video/1",
                "not a url",
                "https://www.tiktok.com/@someone",
            ] {
                urls.push(json!(bad));
                expected.push(None);
            }
        }
    }
    for (name, code) in [
        ("deleted", "VIDEO_NOT_FOUND"),
        ("private_post", "VIDEO_PRIVATE"),
    ] {
        urls.push(json!({"url": case_url(name), "custom_id": name}));
        expected.push(Some(Expected::Fails(code)));
    }
    assert_eq!(urls.len(), BATCH_ENTRIES);
    let rejected_count = expected.iter().filter(|entry| entry.is_none()).count();

    let submitted = submit_batch(&service, &json!({"kind": "batch", "urls": urls})).await;
    let rejected = submitted["rejected"].as_array().expect("rejected list");
    assert_eq!(rejected.len(), rejected_count, "{rejected:?}");
    for entry in rejected {
        let position = usize::try_from(entry["position"].as_u64().unwrap()).unwrap();
        assert!(
            expected[position].is_none(),
            "position {position} was rejected: {entry}"
        );
    }
    let job_id: Uuid = submitted["id"].as_str().unwrap().parse().unwrap();
    let accepted = urls.len() - rejected_count;
    assert_eq!(submitted["counts"]["total"], accepted);

    let job = service
        .await_job_finished(job_id, Duration::from_secs(300))
        .await;
    let items = all_items(&service, job_id).await;
    assert_eq!(items.len(), accepted);

    let mut problems = Vec::new();
    let (mut succeeded, mut failed) = (0, 0);
    for item in &items {
        let position = usize::try_from(item["position"].as_u64().unwrap()).unwrap();
        assert_eq!(
            item["url"],
            urls[position].get("url").unwrap_or(&urls[position]).clone()
        );
        if let Some(custom_id) = urls[position].get("custom_id") {
            assert_eq!(&item["custom_id"], custom_id);
        }
        match &expected[position] {
            Some(Expected::Video(truth)) => {
                succeeded += 1;
                if item["status"] != "succeeded" {
                    problems.push(format!("position {position}: ended {item}"));
                    continue;
                }
                problems.extend(
                    compare_with_ground_truth(truth, &item["result"])
                        .into_iter()
                        .map(|difference| format!("position {position}: {difference}")),
                );
            }
            Some(Expected::Fails(code)) => {
                failed += 1;
                if item["status"] != "failed" || item["error"]["code"] != *code {
                    problems.push(format!("position {position}: expected {code}, got {item}"));
                }
            }
            None => problems.push(format!("position {position} is an item: {item}")),
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems (first 30):\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(job["status"], "partial", "{job}");
    assert_eq!(job["counts"]["succeeded"], succeeded);
    assert_eq!(job["counts"]["failed"], failed);
    assert_eq!(job["result"], Value::Null);

    // Each video was extracted once: one execution per distinct video, none for duplicates.
    let executions: Vec<(Option<String>, i64)> = sqlx::query_as(
        "select coalesce(i.video_id, i.canonical_url), count(e.execution_id)
         from job_items i left join item_executions e on e.item_id = i.item_id
         where i.duplicate_of is null
         group by 1",
    )
    .fetch_all(&service.database.pool)
    .await
    .expect("executions per video");
    let distinct_inputs = DISTINCT_VIDEOS + 2;
    assert_eq!(
        executions.len(),
        distinct_inputs,
        "one first item per distinct video"
    );
    let repeated: HashMap<&Option<String>, i64> = executions
        .iter()
        .filter(|(_, count)| *count != 1)
        .map(|(video, count)| (video, *count))
        .collect();
    assert!(
        repeated.is_empty(),
        "videos executed other than once: {repeated:?}"
    );
    let duplicate_executions: i64 = sqlx::query_scalar(
        "select count(*) from item_executions e join job_items i on i.item_id = e.item_id
         where i.duplicate_of is not null",
    )
    .fetch_one(&service.database.pool)
    .await
    .expect("executions of duplicates");
    assert_eq!(duplicate_executions, 0);
}

fn expected_for(truth: &Value) -> Expected<'_> {
    let too_long = truth["duration"]
        .as_u64()
        .is_some_and(|seconds| seconds > MAX_VIDEO_DURATION_SECONDS);
    if too_long {
        Expected::Fails("VIDEO_TOO_LONG")
    } else {
        Expected::Video(truth)
    }
}

async fn submit_batch(service: &TestService, body: &Value) -> Value {
    let response = service
        .http
        .post(format!("{}/v1/jobs", service.api_url))
        .header("x-api-key", &service.api_key)
        .json(body)
        .send()
        .await
        .expect("POST /v1/jobs");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    serde_json::from_str(&text).expect("JSON job")
}

/// Every item of the job, following the cursor.
async fn all_items(service: &TestService, job_id: Uuid) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/jobs/{job_id}/items?limit=100", service.api_url);
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = service
            .http
            .get(&url)
            .header("x-api-key", &service.api_key)
            .send()
            .await
            .expect("GET items")
            .json()
            .await
            .expect("JSON page");
        items.extend(page["data"].as_array().expect("data").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}
