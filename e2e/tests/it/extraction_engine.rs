//! The extraction engine of issue #11: under `EXTRACTOR=auto` an item the native client cannot
//! read is extracted by yt-dlp in the same attempt, the video says so (`source`) and the
//! fallback is counted for operators (`/v1/stats`, `/metrics`); with
//! `TIKTOK_MAX_REQUESTS_PER_SECOND` two workers together stay within the per-host budget.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use crate::ground_truth::canonical_url;
use crate::harness::{ServiceOptions, TestService};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_only_the_native_client_cannot_read_is_extracted_by_ytdlp_and_counted() {
    let options = ServiceOptions::new("extractor_fallback")
        .worker_env("EXTRACTOR", "auto")
        .api_env("SERVICE_STATS_REFRESH_SECONDS", "0");
    let service = TestService::start(options).await;
    let videos = service.sim_plain_videos(2).await;

    // A first video goes the native way; its page request shows the native client's User-Agent.
    let (_, first_seq) = service.sim_requests(0).await;
    let first = service.submit_video(canonical_url(&videos[0])).await;
    let first = service
        .await_job_finished(first, Duration::from_secs(60))
        .await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["result"]["source"], "web", "{first}");
    let (requests, _) = service.sim_requests(first_seq).await;
    let native_user_agent = requests
        .iter()
        .find(|entry| entry["route"] == "page")
        .and_then(|entry| entry["user_agent"].as_str())
        .unwrap_or_else(|| panic!("no page request of the native client: {requests:?}"))
        .to_owned();

    // TikTok changes the page for that client only (yt-dlp sends another User-Agent).
    service
        .sim_add_fault(&json!({
            "match": {"user_agent_contains": native_user_agent},
            "fault": "layout_change",
        }))
        .await;
    let second = service.submit_video(canonical_url(&videos[1])).await;
    let second = service
        .await_job_finished(second, Duration::from_secs(60))
        .await;
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(second["result"]["source"], "ytdlp", "{second}");
    let attempts: i32 = sqlx::query_scalar("select attempts from job_items where job_id = $1")
        .bind(
            second["id"]
                .as_str()
                .and_then(|id| id.parse::<uuid::Uuid>().ok()),
        )
        .fetch_one(&service.database.pool)
        .await
        .expect("read the item's attempts");
    assert_eq!(attempts, 1, "the fallback happens within the same attempt");

    let stats = service.get_json("/v1/stats").await;
    let changed = &stats["extractor_fallbacks"]["UPSTREAM_CHANGED"];
    assert_eq!(changed["fallbacks"], 1, "{stats}");
    assert_eq!(changed["recovered"], 1, "{stats}");
    let metrics_url = format!("{}/metrics", service.api_url);
    let metrics = service
        .http
        .get(&metrics_url)
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("tokworks_extractor_fallbacks_total{reason=\"UPSTREAM_CHANGED\"} 1"),
        "{metrics}"
    );
}

/// Requests per second allowed to each TikTok host in the budget test.
const BUDGET_PER_SECOND: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_together_stay_within_the_per_host_request_budget() {
    let options = ServiceOptions::new("request_budget")
        .worker_env("EXTRACTOR", "web")
        .worker_env(
            "TIKTOK_MAX_REQUESTS_PER_SECOND",
            &BUDGET_PER_SECOND.to_string(),
        );
    let service = TestService::start(options).await;
    let videos = service.sim_plain_videos(16).await;
    let (_, since) = service.sim_requests(0).await;
    let jobs: Vec<uuid::Uuid> = futures::stream::iter(&videos)
        .map(|video| service.submit_video(canonical_url(video)))
        .buffer_unordered(16)
        .collect()
        .await;
    for job in &jobs {
        let job = service
            .await_job_finished(*job, Duration::from_secs(120))
            .await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let workers: Vec<String> =
        sqlx::query_scalar("select distinct worker_name from item_executions")
            .fetch_all(&service.database.pool)
            .await
            .expect("read the executions' workers");
    assert_eq!(workers.len(), 2, "both workers extracted: {workers:?}");

    let (requests, _) = service.sim_requests(since).await;
    let mut arrivals_by_host: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for entry in requests.iter().filter(|entry| entry["method"] != "CONNECT") {
        let host = entry["host"].as_str().unwrap_or_default().to_owned();
        let received = entry["received_at_ms"].as_i64().expect("received_at_ms");
        arrivals_by_host.entry(host).or_default().push(received);
    }
    let pages = arrivals_by_host.get("www.tiktok.com").map_or(0, Vec::len);
    assert!(
        pages >= videos.len(),
        "one page per video: {arrivals_by_host:?}"
    );
    let interval_ms = 1000 / BUDGET_PER_SECOND as i64;
    // Grants are spaced 1/N s apart on Redis' clock; arrivals at the simulator carry a few
    // milliseconds of scheduling and proxy jitter, allowed for here.
    let jitter_ms = 25;
    for (host, arrivals) in &mut arrivals_by_host {
        arrivals.sort_unstable();
        let closest = arrivals.windows(2).map(|pair| pair[1] - pair[0]).min();
        if let Some(closest) = closest {
            assert!(
                closest >= interval_ms - jitter_ms,
                "{host}: two requests {closest} ms apart (budget {BUDGET_PER_SECOND}/s): {arrivals:?}"
            );
        }
        let busiest_second = arrivals
            .iter()
            .map(|start| {
                arrivals
                    .iter()
                    .filter(|at| (*start..*start + 1000 - jitter_ms).contains(*at))
                    .count()
            })
            .max()
            .unwrap_or(0);
        assert!(
            busiest_second <= BUDGET_PER_SECOND,
            "{host}: {busiest_second} requests within one second (budget {BUDGET_PER_SECOND}/s): {arrivals:?}"
        );
    }
    let hosts: HashSet<&String> = arrivals_by_host.keys().collect();
    assert!(hosts.len() >= 2, "pages and covers: {hosts:?}");
}
