//! Feed jobs end to end inside the worker: jobs submitted the way the api does
//! (`db::feed_walks::submit_feed_job`), walked by the `FeedWalkRunner` against the simulator,
//! checked against its ground truth, its request log (cache, coalescing) and injected faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokworks_shared::ids::{ApiKeyId, JobId, WalkId};

use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::feed_walks::claims::{self as walk_claims, WalkEnd};
use tokworks_shared::db::feed_walks::{
    FeedService, NewFeedWalk, SubmitFeedOutcome, WalkStatus, feed_key, submit_feed_job,
};
use tokworks_shared::db::jobs::{self as job_db, CancelJobOutcome, NewJob};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::job_options::StoredJobOptions;
use tokworks_shared::job_status::{JobKind, JobStatus};
use tokworks_sim::server::SimHandle;
use tokworks_worker::background::feed_walker::{FeedWalkRunner, FeedWalkSettings, WalkOutcome};
use tokworks_worker::tiktok_web::{SignerChoice, TiktokWebClient, TiktokWebSettings};
use uuid::Uuid;

use crate::support::{egress_through, job_row, start_sim};

// The tests: `results` (ground truth, cache, coalescing), `recovery` (faults, retries, takeover,
// cancel, enrichment), `search_sound` (the search and sound kinds).

const TTL: Option<Duration> = Some(Duration::from_secs(300));

async fn runner(pool: &PgPool, sim: &SimHandle, signer: SignerChoice) -> FeedWalkRunner {
    let client = TiktokWebClient::new(
        TiktokWebSettings {
            signer,
            request_timeout: Duration::from_secs(20),
            deadline: Duration::from_secs(120),
            ..TiktokWebSettings::default()
        },
        egress_through(sim),
    )
    .expect("client builds");
    FeedWalkRunner {
        pool: pool.clone(),
        client: Arc::new(client),
        worker_name: format!("test-feed-{}", Uuid::now_v7()),
        settings: Arc::new(FeedWalkSettings {
            concurrency: 4,
            ..FeedWalkSettings::default()
        }),
    }
}

async fn api_key(pool: &PgPool) -> ApiKeyId {
    tokworks_shared::test_fixtures::insert_key(pool).await
}

/// What a feed request names.
struct FeedAsk<'a> {
    kind: JobKind,
    target: Option<&'a str>,
    count: i32,
    options: Value,
}

fn trending(count: i32) -> FeedAsk<'static> {
    FeedAsk {
        kind: JobKind::Trending,
        target: None,
        count,
        options: json!({}),
    }
}

/// Submits a feed job for `api_key_id` as `POST /v1/jobs` does.
async fn submit(
    pool: &PgPool,
    api_key_id: ApiKeyId,
    ask: &FeedAsk<'_>,
    refresh: bool,
) -> (JobId, FeedService) {
    let job = NewJob {
        job_id: JobId::new_v7(),
        api_key_id,
        kind: ask.kind,
        request: json!({"kind": ask.kind, "count": ask.count}),
        options: serde_json::from_value(ask.options.clone()).expect("the options decode"),
        metadata: json!({}),
        idempotency_key: None,
        items: Vec::new(),
        webhook: None,
    };
    let walk = NewFeedWalk {
        walk_id: WalkId::new_v7(),
        feed_key: feed_key(ask.kind, ask.target, ask.count),
        kind: ask.kind,
        target: ask.target.map(str::to_owned),
        requested_count: ask.count,
        max_attempts: 2,
    };
    let mut connection = pool.acquire().await.expect("a connection");
    match submit_feed_job(&mut connection, &job, &walk, TTL, refresh)
        .await
        .expect("submit works")
    {
        SubmitFeedOutcome::Created(service) => (job.job_id, service),
        other => panic!("not created: {other:?}"),
    }
}

/// The job's items: (status, video id, cache hit), by position.
async fn items(pool: &PgPool, job_id: JobId) -> Vec<(String, String, Option<bool>)> {
    sqlx::query_as(
        "select status, video_id, cache_hit from job_items where job_id = $1 order by position",
    )
    .bind(job_id)
    .fetch_all(pool)
    .await
    .expect("items readable")
}

fn video_ids(items: &[(String, String, Option<bool>)]) -> Vec<String> {
    items.iter().map(|item| item.1.clone()).collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|id| id.as_str().expect("a string").to_owned())
        .collect()
}

fn truth_trending(sim: &SimHandle, count: usize) -> Vec<String> {
    sim.site()
        .ground_truth_trending()
        .iter()
        .take(count)
        .map(|entry| entry["video_id"].as_str().expect("an id").to_owned())
        .collect()
}

fn biggest_hashtag(sim: &SimHandle) -> Value {
    sim.site()
        .ground_truth_hashtags()
        .into_iter()
        .max_by_key(|tag| tag["video_count"].as_u64().unwrap_or(0))
        .expect("hashtags")
}

async fn sim_get(sim: &SimHandle, path: &str, query: &[(&str, &str)]) -> Value {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("plain client builds")
        .get(format!("{}{path}", sim.base_url()))
        .query(query)
        .send()
        .await
        .expect("the simulator answers")
        .json()
        .await
        .expect("JSON")
}

/// How many requests the simulator logged under `path_prefix`.
async fn upstream_requests(sim: &SimHandle, path_prefix: &str) -> usize {
    let log = sim_get(sim, "/_sim/requests", &[("path_prefix", path_prefix)]).await;
    log["entries"].as_array().map_or(0, Vec::len)
}

async fn add_fault(base_url: &str, rule: &Value) {
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("plain client builds")
        .post(format!("{base_url}/_sim/faults"))
        .json(rule)
        .send()
        .await
        .expect("the simulator takes the rule")
        .status();
    assert_eq!(status.as_u16(), 201);
}

async fn run_one(runner: &FeedWalkRunner) -> WalkOutcome {
    let mut outcomes = runner.run_due_walks().await;
    assert_eq!(outcomes.len(), 1, "exactly one walk was due");
    outcomes.remove(0).expect("the walk ran")
}

mod comments;
mod recovery;
mod results;
mod search_sound;
