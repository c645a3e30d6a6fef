//! Feeds that go wrong: faults after the first page (partial, also with enrichment), a missing
//! hashtag, an empty 200 retried then failed, a dead worker's walk taken over, a canceled job,
//! and enrichment items.

use tokworks_shared::ids::{ItemId, JobId};
use tokworks_shared::queue_tasks::ExtractItemTask;
use tokworks_worker::extract_item::run_extract_item;

use super::*;
use crate::support::{
    FailingExtractor, context, serve_on_loopback, sign_server_answer, subtitles_through,
    unique_queue,
};

/// A carcabot-style sign server that, when asked to sign the second page of the path `fault`
/// matches (`match.path_prefix`), first installs `fault` on the simulator (once): a fault
/// exactly after the first page.
pub(super) async fn start_faulting_sign_server(sim_base_url: String, fault: Value) -> String {
    let pages = Arc::new(AtomicUsize::new(0));
    let faulted_path = fault["match"]["path_prefix"]
        .as_str()
        .expect("the fault names its path")
        .to_owned();
    let sign = move |axum::Json(body): axum::Json<Value>| {
        let (pages, fault, sim_base_url) = (pages.clone(), fault.clone(), sim_base_url.clone());
        let faulted_path = faulted_path.clone();
        async move {
            if url::Url::parse(body["url"].as_str().unwrap_or_default())
                .is_ok_and(|url| url.path().starts_with(&faulted_path))
                && pages.fetch_add(1, Ordering::SeqCst) == 1
            {
                add_fault(&sim_base_url, &fault).await;
            }
            axum::Json(sign_server_answer(&body))
        }
    };
    let app = axum::Router::new().route("/signature", axum::routing::post(sign));
    let (base_url, _server) = serve_on_loopback(app).await;
    format!("{base_url}/signature")
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
        // A 200 JSON answer with `statusCode` 0 whose items lost `id` and `author`: drift, not
        // the end of the feed.
        (
            json!({"fault": "layout_change"}),
            ErrorCode::UpstreamChanged,
        ),
        // The WAF page instead of JSON.
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
            kind: JobKind::Hashtag,
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
        kind: JobKind::Hashtag,
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
async fn a_walk_that_lost_its_worker_on_every_attempt_fails_without_walking_again(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let (job_id, _) = submit(&pool, key, &trending(30), false).await;
    // Both attempts (max 2) die holding the walk; each claim takes the expired one over.
    for dead_worker in ["dead-worker-1", "dead-worker-2"] {
        let claimed = walk_claims::claim_due_walks(&pool, dead_worker, Duration::from_secs(60), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        sqlx::query("update feed_walks set lease_expires_at = now() - interval '1 second'")
            .execute(&pool)
            .await
            .unwrap();
    }
    let alive = runner(&pool, &sim, SignerChoice::BuiltIn).await;

    let outcome = run_one(&alive).await;

    assert_eq!(
        outcome,
        WalkOutcome::Finished {
            status: WalkStatus::Failed,
            videos: 0,
            jobs: 1,
        }
    );
    let job = job_row(&pool, job_id).await;
    assert_eq!(
        (job.status.as_str(), job.error_code.as_deref()),
        ("failed", Some("INTERNAL"))
    );
    assert_eq!(
        upstream_requests(&sim, "/api/").await,
        0,
        "not walked again"
    );
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
async fn a_job_asking_for_enrichment_gets_queued_items_for_the_dispatcher(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let ask = FeedAsk {
        kind: JobKind::Trending,
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
    // They wait for the dispatcher, which hands all five to the queue.
    let queue = unique_queue().await;
    let mut dispatcher = tokworks_worker::background::dispatcher::Dispatcher::new(
        pool.clone(),
        queue.clone(),
        tokworks_worker::background::dispatcher::DispatchSettings::new(100, 4),
    );
    let round = dispatcher.dispatch_once().await.unwrap();
    assert_eq!(round.dispatched.len(), 5);
    assert!(round.dispatched.iter().all(|item| item.job_id == job_id));
    let task_ids: Vec<String> = round
        .dispatched
        .into_iter()
        .map(|item| item.task_id)
        .collect();
    let pending = queue.tasks_pending(&task_ids).await.unwrap();
    assert!(pending.iter().all(|pending| *pending), "{pending:?}");
}

/// Runs the extract handler on every item of `job_id` with an extractor that always fails
/// (subtitles through the simulator): `(items run, extractions attempted)`. Zero extractions
/// proves every item was served from the videos the walk stored.
async fn run_items_with_a_failing_extractor(
    pool: &PgPool,
    sim: &SimHandle,
    job_id: JobId,
) -> (usize, usize) {
    let extractor = FailingExtractor::new(ErrorCode::UpstreamUnavailable);
    let mut context = context(pool.clone(), unique_queue().await, extractor.clone());
    context.subtitles = subtitles_through(sim);
    let item_ids: Vec<ItemId> =
        sqlx::query_scalar("select item_id from job_items where job_id = $1 order by position")
            .bind(job_id)
            .fetch_all(pool)
            .await
            .expect("items readable");
    for item_id in &item_ids {
        run_extract_item(&context, ExtractItemTask::new(job_id, *item_id))
            .await
            .expect("the handler runs");
    }
    (item_ids.len(), extractor.calls.load(Ordering::SeqCst))
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_refreshed_enriched_feed_serves_its_items_from_the_walk_not_from_new_extractions(
    pool: PgPool,
) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let ask = FeedAsk {
        kind: JobKind::Trending,
        target: None,
        count: 5,
        options: json!({"transcript": true, "refresh": true}),
    };
    let (job_id, _) = submit(&pool, key, &ask, true).await;
    run_one(&runner).await;

    // `refresh` asked for data fetched after the request: the walk's copies are, so no item
    // extracts its video again (an extractor that always fails proves it).
    let (items_run, extractions) = run_items_with_a_failing_extractor(&pool, &sim, job_id).await;
    assert_eq!(items_run, 5);
    assert_eq!(extractions, 0);
    let rows = items(&pool, job_id).await;
    assert!(
        rows.iter()
            .all(|item| item.0 == "succeeded" && item.2 == Some(true)),
        "{rows:?}"
    );
    assert_eq!(job_row(&pool, job_id).await.status, "succeeded");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_enriched_job_whose_walk_stopped_short_ends_partial_after_its_items(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let rule = json!({"fault": "http_429", "retry_after_secs": 30, "times": 1,
                      "match": {"path_prefix": "/api/challenge/item_list/"}});
    let signer_url = start_faulting_sign_server(sim.base_url(), rule).await;
    let runner = runner(&pool, &sim, SignerChoice::External { url: signer_url }).await;
    let tag = biggest_hashtag(&sim);
    let ask = FeedAsk {
        kind: JobKind::Hashtag,
        target: tag["name"].as_str(),
        count: 100,
        options: json!({"transcript": true}),
    };
    let (job_id, _) = submit(&pool, key, &ask, false).await;
    run_one(&runner).await;
    let job = job_row(&pool, job_id).await;
    assert_eq!(job.status, "running");
    assert_eq!(job.error_code.as_deref(), Some("UPSTREAM_RATE_LIMITED"));

    // The items go through the ordinary extract path; the walk stored the videos, so every item
    // is a cache hit (an extractor that always fails proves it).
    let (items_run, extractions) = run_items_with_a_failing_extractor(&pool, &sim, job_id).await;
    assert_eq!(items_run, 35);
    assert_eq!(extractions, 0);
    let rows = items(&pool, job_id).await;
    assert!(rows.iter().all(|item| item.0 == "succeeded"), "{rows:?}");
    assert_eq!(video_ids(&rows), strings(&tag["video_ids"])[..35].to_vec());
    let job = job_row(&pool, job_id).await;
    assert_eq!(
        (job.status.as_str(), job.error_code.as_deref()),
        ("partial", Some("UPSTREAM_RATE_LIMITED"))
    );
}
