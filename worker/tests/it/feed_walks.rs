//! Feed jobs end to end inside the worker: jobs submitted the way the api does
//! (`db::feed_walks::submit_feed_job`), walked by the `FeedWalkRunner` against the simulator,
//! checked against its ground truth, its request log (cache, coalescing) and injected faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::feed_walks::claims::{self as walk_claims, WalkEnd};
use tokworks_shared::db::feed_walks::{
    FeedService, NewFeedWalk, SubmitFeedOutcome, WalkStatus, feed_key, submit_feed_job,
};
use tokworks_shared::db::jobs::{self as job_db, CancelJobOutcome, NewJob};
use tokworks_shared::error_code::ErrorCode;
use tokworks_sim::server::SimHandle;
use tokworks_worker::jobs::feed_walk::{FeedWalkRunner, FeedWalkSettings, WalkOutcome};
use tokworks_worker::tiktok_web::{SignerChoice, TiktokWebClient, TiktokWebSettings};
use tokworks_worker::web_extractor::WebNetwork;
use uuid::Uuid;

use crate::support::{job_row, start_sim, unique_queue};

const TTL: Option<Duration> = Some(Duration::from_secs(300));

async fn runner(pool: &PgPool, sim: &SimHandle, signer: SignerChoice) -> FeedWalkRunner {
    let client = TiktokWebClient::new(TiktokWebSettings {
        network: WebNetwork {
            proxy_url: Some(sim.proxy_url()),
            insecure_tls: true,
        },
        signer,
        request_timeout: Duration::from_secs(20),
        deadline: Duration::from_secs(120),
        ..TiktokWebSettings::default()
    })
    .expect("client builds");
    FeedWalkRunner {
        pool: pool.clone(),
        queue: unique_queue().await,
        client: Arc::new(client),
        worker_name: format!("test-feed-{}", Uuid::now_v7()),
        settings: Arc::new(FeedWalkSettings {
            concurrency: 4,
            ..FeedWalkSettings::default()
        }),
    }
}

async fn api_key(pool: &PgPool) -> Uuid {
    let api_key_id = Uuid::now_v7();
    sqlx::query(
        "insert into api_keys (api_key_id, name, key_prefix, key_sha256)
         values ($1, 'test', 'tok_test', $2)",
    )
    .bind(api_key_id)
    .bind(api_key_id.as_bytes().to_vec())
    .execute(pool)
    .await
    .expect("fixture row inserted");
    api_key_id
}

/// What a feed request names.
struct FeedAsk<'a> {
    kind: &'a str,
    target: Option<&'a str>,
    count: i32,
    options: Value,
}

fn trending(count: i32) -> FeedAsk<'static> {
    FeedAsk {
        kind: "trending",
        target: None,
        count,
        options: json!({}),
    }
}

/// Submits a feed job for `api_key_id` as `POST /v1/jobs` does.
async fn submit(
    pool: &PgPool,
    api_key_id: Uuid,
    ask: &FeedAsk<'_>,
    refresh: bool,
) -> (Uuid, FeedService) {
    let job = NewJob {
        job_id: Uuid::now_v7(),
        api_key_id,
        kind: ask.kind.to_owned(),
        request: json!({"kind": ask.kind, "count": ask.count}),
        options: ask.options.clone(),
        metadata: json!({}),
        idempotency_key: None,
        items: Vec::new(),
        webhook: None,
    };
    let walk = NewFeedWalk {
        walk_id: Uuid::now_v7(),
        feed_key: feed_key(ask.kind, ask.target, ask.count),
        kind: ask.kind.to_owned(),
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
async fn items(pool: &PgPool, job_id: Uuid) -> Vec<(String, String, Option<bool>)> {
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

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn trending_hashtag_and_user_jobs_end_with_the_simulators_ground_truth(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let tag = biggest_hashtag(&sim);
    let tag_name = tag["name"].as_str().expect("a name").to_owned();
    let user = sim
        .site()
        .ground_truth_users(0, 1000)
        .into_iter()
        .filter(|user| user["private_account"] == false)
        .max_by_key(|user| user["video_count"].as_u64().unwrap_or(0))
        .expect("a public user");
    let handle = user["unique_id"].as_str().expect("a handle").to_owned();

    let (trending_job, _) = submit(&pool, key, &trending(30), false).await;
    let hashtag_ask = FeedAsk {
        kind: "hashtag",
        target: Some(&tag_name),
        count: 50,
        options: json!({}),
    };
    let (hashtag_job, _) = submit(&pool, key, &hashtag_ask, false).await;
    let user_ask = FeedAsk {
        kind: "user",
        target: Some(&handle),
        count: 500,
        options: json!({}),
    };
    let (user_job, _) = submit(&pool, key, &user_ask, false).await;
    let outcomes = runner.run_due_walks().await;
    assert_eq!(outcomes.len(), 3);

    let trending_items = items(&pool, trending_job).await;
    assert_eq!(video_ids(&trending_items), truth_trending(&sim, 30));
    assert!(
        trending_items
            .iter()
            .all(|item| item.0 == "succeeded" && item.2 == Some(false))
    );
    let hashtag_ids = video_ids(&items(&pool, hashtag_job).await);
    assert_eq!(hashtag_ids, strings(&tag["video_ids"])[..50].to_vec());
    let mut user_ids = video_ids(&items(&pool, user_job).await);
    let mut expected = strings(&user["video_ids"]);
    user_ids.sort();
    expected.sort();
    assert_eq!(user_ids, expected);
    for job_id in [trending_job, hashtag_job, user_job] {
        let job = job_row(&pool, job_id).await;
        assert_eq!(job.status, "succeeded", "{job:?}");
        assert_eq!(
            usize::try_from(job.items_succeeded).unwrap(),
            items(&pool, job_id).await.len()
        );
    }

    // Every video is in the cache with its raw item (source web), and the covers are stored.
    let first = &truth_trending(&sim, 1)[0];
    let (source, raw_id): (String, Option<String>) =
        sqlx::query_as("select source, raw_item->>'id' from videos where video_id = $1")
            .bind(first)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (source.as_str(), raw_id.as_deref()),
        ("web", Some(first.as_str()))
    );
    let covers: i64 =
        sqlx::query_scalar("select count(*) from thumbnails where video_id = any($1)")
            .bind(truth_trending(&sim, 30))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(covers, 30);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_identical_job_within_the_ttl_is_served_without_touching_tiktok(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let (first_job, first_service) = submit(&pool, key, &trending(30), false).await;
    assert!(matches!(first_service, FeedService::NewWalk { .. }));
    run_one(&runner).await;
    let walked = upstream_requests(&sim, "/api/").await;
    assert!(walked > 0);

    let (second_job, service) = submit(&pool, key, &trending(30), false).await;
    assert!(
        matches!(&service, FeedService::FromCache { job_status, .. } if job_status == "succeeded"),
        "{service:?}"
    );
    assert_eq!(job_row(&pool, second_job).await.status, "succeeded");
    let cached = items(&pool, second_job).await;
    assert_eq!(
        video_ids(&cached),
        video_ids(&items(&pool, first_job).await)
    );
    assert!(cached.iter().all(|item| item.2 == Some(true)));
    assert!(runner.run_due_walks().await.is_empty(), "no walk to run");
    assert_eq!(
        upstream_requests(&sim, "/api/").await,
        walked,
        "no upstream request"
    );

    let (refreshed, service) = submit(&pool, key, &trending(30), true).await;
    assert!(
        matches!(service, FeedService::NewWalk { .. }),
        "{service:?}"
    );
    run_one(&runner).await;
    assert!(upstream_requests(&sim, "/api/").await > walked);
    assert_eq!(job_row(&pool, refreshed).await.status, "succeeded");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn identical_jobs_submitted_together_share_one_upstream_walk(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let asks = (trending(30), trending(30), trending(30));
    let (one, two, three) = tokio::join!(
        submit(&pool, key, &asks.0, false),
        submit(&pool, key, &asks.1, false),
        submit(&pool, key, &asks.2, false),
    );
    let walk_of = |service: &FeedService| match service {
        FeedService::NewWalk { walk_id } | FeedService::Attached { walk_id } => *walk_id,
        other => panic!("not in flight: {other:?}"),
    };
    assert_eq!(walk_of(&one.1), walk_of(&two.1));
    assert_eq!(walk_of(&one.1), walk_of(&three.1));

    let outcome = run_one(&runner).await;
    assert_eq!(
        outcome,
        WalkOutcome::Finished {
            status: WalkStatus::Succeeded,
            videos: 30,
            jobs: 3
        }
    );
    // One walk = one session: every recommend request carries the same device_id.
    let log = sim_get(
        &sim,
        "/_sim/requests",
        &[("path_prefix", "/api/recommend/item_list/")],
    )
    .await;
    let device_ids: std::collections::HashSet<String> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|entry| entry["query"].as_str())
        .filter_map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "device_id")
                .map(|(_, value)| value.into_owned())
        })
        .collect();
    assert_eq!(device_ids.len(), 1, "{device_ids:?}");
    let expected = truth_trending(&sim, 30);
    for job_id in [one.0, two.0, three.0] {
        assert_eq!(job_row(&pool, job_id).await.status, "succeeded");
        assert_eq!(video_ids(&items(&pool, job_id).await), expected);
    }
}

/// A carcabot-style sign server that, when asked to sign the second hashtag item page, first
/// installs `fault` on the simulator (once): a fault exactly after the first page.
async fn start_faulting_sign_server(sim_base_url: String, fault: Value) -> String {
    let pages = Arc::new(AtomicUsize::new(0));
    let sign = move |axum::Json(body): axum::Json<Value>| {
        let (pages, fault, sim_base_url) = (pages.clone(), fault.clone(), sim_base_url.clone());
        async move {
            let Ok(mut url) = url::Url::parse(body["url"].as_str().unwrap_or_default()) else {
                return axum::Json(json!({"status": "error", "message": "URL is required"}));
            };
            if url.path().starts_with("/api/challenge/item_list/")
                && pages.fetch_add(1, Ordering::SeqCst) == 1
            {
                add_fault(&sim_base_url, &fault).await;
            }
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .into_owned()
                .filter(|(name, _)| !matches!(name.as_str(), "X-Bogus" | "X-Gnarly" | "msToken"))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair(
                    "msToken",
                    "signerMsToken_0123456789abcdefghijklmnopqrstuvwxyz==",
                )
                .append_pair("X-Bogus", "DFSzswVLsignedBySignServer01")
                .append_pair("X-Gnarly", "gnarlySignedBySignServer0123456789");
            axum::Json(json!({
                "status": "ok",
                "data": {
                    "signed_url": url.as_str(),
                    "x-bogus": "DFSzswVLsignedBySignServer01",
                    "x-gnarly": "gnarlySignedBySignServer0123456789",
                    "cookies": "tt_chain_token=fromSigner; ttwid=signerTtwid",
                    "navigator": { "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) SignerBrowser/1.0" }
                }
            }))
        }
    };
    let app = axum::Router::new().route("/signature", axum::routing::post(sign));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the sign server binds");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/signature")
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn faults_after_the_first_page_end_the_job_partial_with_that_pages_items(pool: PgPool) {
    let key = api_key(&pool).await;
    for (fault, expected) in [
        (
            json!({"fault": "http_429", "retry_after_secs": 30}),
            ErrorCode::UpstreamRateLimited,
        ),
        (json!({"fault": "empty_200"}), ErrorCode::UpstreamEmpty),
        // The WAF page instead of JSON. (The simulator's `layout_change` strips the rehydration
        // script of HTML pages only; an API answer of an unknown shape is UPSTREAM_CHANGED, as
        // `tiktok_web::classify`'s tests show.)
        (json!({"fault": "challenge"}), ErrorCode::UpstreamBlocked),
    ] {
        let sim = start_sim().await;
        let mut rule = fault.clone();
        rule["match"] = json!({"path_prefix": "/api/challenge/item_list/"});
        rule["times"] = json!(1);
        let signer_url = start_faulting_sign_server(sim.base_url(), rule).await;
        let runner = runner(&pool, &sim, SignerChoice::External { url: signer_url }).await;
        let tag = biggest_hashtag(&sim);
        let ask = FeedAsk {
            kind: "hashtag",
            target: tag["name"].as_str(),
            count: 100,
            options: json!({}),
        };
        // `refresh`: the previous round's walk of the same feed is in the cache.
        let (job_id, _) = submit(&pool, key, &ask, true).await;
        let outcome = run_one(&runner).await;
        assert!(
            matches!(
                outcome,
                WalkOutcome::Finished {
                    status: WalkStatus::Partial,
                    videos: 35,
                    ..
                }
            ),
            "{fault}: {outcome:?}"
        );
        let job = job_row(&pool, job_id).await;
        assert_eq!(job.status, "partial", "{fault}");
        assert_eq!(
            job.error_code.as_deref(),
            Some(expected.as_str()),
            "{fault}"
        );
        assert_eq!(
            video_ids(&items(&pool, job_id).await),
            strings(&tag["video_ids"])[..35].to_vec()
        );
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_missing_hashtag_fails_and_an_empty_200_is_retried_then_fails(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let signed = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let missing = FeedAsk {
        kind: "hashtag",
        target: Some("no_such_tag_zz_9"),
        count: 30,
        options: json!({}),
    };
    let (job_id, _) = submit(&pool, key, &missing, false).await;
    run_one(&signed).await;
    let job = job_row(&pool, job_id).await;
    assert_eq!(
        (job.status.as_str(), job.error_code.as_deref()),
        ("failed", Some("HASHTAG_NOT_FOUND"))
    );

    // Unsigned, TikTok answers the recommend endpoint with an empty 200: retried (max 2), then
    // the job fails UPSTREAM_EMPTY instead of succeeding with "no videos".
    let unsigned = runner(&pool, &sim, SignerChoice::None).await;
    let (job_id, _) = submit(&pool, key, &trending(10), false).await;
    let outcome = run_one(&unsigned).await;
    assert!(
        matches!(
            outcome,
            WalkOutcome::RetryScheduled {
                error_code: ErrorCode::UpstreamEmpty,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(job_row(&pool, job_id).await.status, "running");
    assert!(
        unsigned.run_due_walks().await.is_empty(),
        "not due before its backoff"
    );
    sqlx::query("update feed_walks set not_before = now() where status = 'queued'")
        .execute(&pool)
        .await
        .unwrap();
    run_one(&unsigned).await;
    let job = job_row(&pool, job_id).await;
    assert_eq!(
        (job.status.as_str(), job.error_code.as_deref()),
        ("failed", Some("UPSTREAM_EMPTY"))
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_walk_whose_worker_died_is_taken_over_and_the_dead_claim_writes_nothing(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let (job_id, _) = submit(&pool, key, &trending(30), false).await;
    let dead = walk_claims::claim_due_walks(&pool, "dead-worker", Duration::from_secs(10), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(job_row(&pool, job_id).await.status, "running");
    let alive = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    assert!(
        alive.run_due_walks().await.is_empty(),
        "held under a live lease"
    );
    // The dead worker's lease runs out.
    sqlx::query("update feed_walks set lease_expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let outcome = run_one(&alive).await;
    assert!(matches!(
        outcome,
        WalkOutcome::Finished {
            status: WalkStatus::Succeeded,
            jobs: 1,
            ..
        }
    ));
    assert_eq!(job_row(&pool, job_id).await.status, "succeeded");

    let mut transaction = pool.begin().await.unwrap();
    let late = walk_claims::end_walk(
        &mut transaction,
        &dead[0],
        &WalkEnd::Retry {
            stop_code: "UPSTREAM_EMPTY".to_owned(),
            stop_message: "late".to_owned(),
            retry_after: Duration::from_secs(1),
        },
    )
    .await;
    assert!(matches!(
        late,
        Err(walk_claims::WalkClaimError::LostClaim { .. })
    ));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_canceled_job_stays_canceled_while_the_walk_serves_the_others(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let (canceled, _) = submit(&pool, key, &trending(20), false).await;
    let (kept, _) = submit(&pool, key, &trending(20), false).await;
    let mut connection = pool.acquire().await.unwrap();
    let outcome = job_db::cancel_job_for_key(&mut connection, canceled, key)
        .await
        .unwrap();
    assert!(matches!(outcome, CancelJobOutcome::Canceled { .. }));
    run_one(&runner).await;
    assert_eq!(job_row(&pool, canceled).await.status, "canceled");
    assert!(items(&pool, canceled).await.is_empty());
    assert_eq!(job_row(&pool, kept).await.status, "succeeded");
    assert_eq!(items(&pool, kept).await.len(), 20);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_job_asking_for_enrichment_gets_queued_items_with_extract_tasks(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let ask = FeedAsk {
        kind: "trending",
        target: None,
        count: 5,
        options: json!({"analyze_thumbnail": true}),
    };
    let (job_id, _) = submit(&pool, key, &ask, false).await;
    run_one(&runner).await;
    let rows = items(&pool, job_id).await;
    assert_eq!(video_ids(&rows), truth_trending(&sim, 5));
    assert!(rows.iter().all(|item| item.0 == "queued"));
    assert_eq!(job_row(&pool, job_id).await.status, "running");
    let task_ids: Vec<String> = sqlx::query_scalar(
        "select task_id from job_items where job_id = $1 and task_id is not null",
    )
    .bind(job_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(task_ids.len(), 5);
    let pending = runner.queue.tasks_pending(&task_ids).await.unwrap();
    assert!(pending.iter().all(|pending| *pending), "{pending:?}");
}
