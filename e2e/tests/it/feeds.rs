//! Feed jobs across real processes: a trending job against the simulator's ground truth, the
//! repeat served from the feed cache with no upstream request, and a walk whose worker is killed
//! with `kill -9` finishing on the other worker.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{ServiceOptions, TestService, await_condition};

async fn item_video_ids(service: &TestService, job_id: Uuid) -> Vec<String> {
    let body: Value = service
        .http
        .get(format!(
            "{}/v1/jobs/{job_id}/items?limit=100",
            service.api_url
        ))
        .header("x-api-key", &service.api_key)
        .send()
        .await
        .expect("GET items")
        .json()
        .await
        .expect("items JSON");
    body["data"]
        .as_array()
        .expect("a data list")
        .iter()
        .map(|item| {
            assert_eq!(item["status"], "succeeded", "{item}");
            item["video_id"].as_str().expect("a video id").to_owned()
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|id| id.as_str().expect("a string").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trending_job_matches_the_ground_truth_and_its_repeat_comes_from_the_cache() {
    let service = TestService::start(ServiceOptions::new("feed_trending")).await;
    let expected: Vec<String> = service
        .sim
        .site()
        .ground_truth_trending()
        .iter()
        .take(30)
        .map(|entry| entry["video_id"].as_str().expect("an id").to_owned())
        .collect();
    let first = service
        .submit_job(&json!({"kind": "trending", "count": 30}))
        .await;
    let job = service
        .await_job_finished(first, Duration::from_secs(60))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["feed"]["cache_hit"], false);
    assert_eq!(item_video_ids(&service, first).await, expected);

    let (_, mark) = service.sim_requests(0).await;
    let again = service
        .submit_job(&json!({"kind": "trending", "count": 30}))
        .await;
    let job = service.get_job(again).await;
    assert_eq!(job["status"], "succeeded", "answered at once: {job}");
    assert_eq!(job["feed"]["cache_hit"], true);
    assert_eq!(item_video_ids(&service, again).await, expected);
    let (since, _) = service.sim_requests(mark).await;
    assert!(since.is_empty(), "no upstream request: {since:?}");

    // The old fetcher's `GET /trending` over the same feed: its list shape, from the cache too.
    let list: Value = service
        .http
        .get(format!("{}/trending?count=30", service.api_url))
        .header("x-api-key", &service.api_key)
        .send()
        .await
        .expect("GET /trending")
        .json()
        .await
        .expect("a JSON list");
    let entries = list.as_array().expect("a plain list");
    let ids: Vec<String> = entries
        .iter()
        .map(|entry| entry["id"].as_str().expect("an id").to_owned())
        .collect();
    assert_eq!(ids, expected);
    for entry in entries {
        assert!(entry["author"]["uniqueId"].is_string(), "{entry}");
        assert!(entry["stats"]["playCount"].is_u64(), "{entry}");
        assert!(entry["video"]["url"].is_string(), "{entry}");
    }
    let (since, _) = service.sim_requests(mark).await;
    assert!(since.is_empty(), "still no upstream request: {since:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_walk_finishes_on_the_other_worker_after_kill_9() {
    let service = TestService::start(ServiceOptions::new("feed_worker_kill")).await;
    let tag = service
        .sim
        .site()
        .ground_truth_hashtags()
        .into_iter()
        .max_by_key(|tag| tag["video_count"].as_u64().unwrap_or(0))
        .expect("hashtags");
    // Slow every upstream answer so that the walk is surely running when the kill lands.
    service
        .sim_add_fault(&json!({"match": {"all": true}, "fault": "latency", "latency_ms": 1500}))
        .await;
    let job_id = service
        .submit_job(&json!({
            "kind": "hashtag",
            "hashtag": format!("#{}", tag["name"].as_str().expect("a name")),
            "count": 60
        }))
        .await;
    let claimed_by = await_condition(
        "a worker to hold the feed walk",
        Duration::from_secs(60),
        || {
            let pool = &service.database.pool;
            async move {
                sqlx::query_scalar::<_, String>(
                    "select claimed_by from feed_walks where status = 'running' limit 1",
                )
                .fetch_optional(pool)
                .await
                .expect("read walks")
            }
        },
    )
    .await;
    let victim = (1..=service.worker_pids().len())
        .find(|number| {
            claimed_by
                .strip_prefix(&format!("w{number}"))
                .is_some_and(|rest| !rest.starts_with(|character: char| character.is_ascii_digit()))
        })
        .map(|number| number - 1)
        .expect("the walk is held by one of the test's workers");
    service.kill_worker_hard(victim).await;

    let job = service
        .await_job_finished(job_id, Duration::from_secs(90))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert!(
        job["feed"]["walk"]["attempts"].as_i64().unwrap_or(0) >= 2,
        "{job}"
    );
    assert_eq!(
        item_video_ids(&service, job_id).await,
        strings(&tag["video_ids"])[..60].to_vec()
    );
    let finished_by: String = sqlx::query_scalar("select claimed_by from feed_walks limit 1")
        .fetch_one(&service.database.pool)
        .await
        .expect("read the walk");
    assert_ne!(finished_by, claimed_by, "another worker finished the walk");
}
