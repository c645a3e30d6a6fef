//! The `extract_item` handler against real Postgres (a fresh database per test), real Redis
//! (a namespace per test), the simulator and the real yt-dlp.

use std::sync::Arc;
use std::time::Duration;
use tokworks_shared::ids::ItemId;

use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokworks_shared::db::item_claims;
use tokworks_shared::db::videos;
use tokworks_shared::error_code::ErrorCode;
use tokworks_worker::extract_item::{ExtractItemOutcome, run_extract_item};

use crate::support::replay::ReplayExtractor;
use crate::support::{
    CountingExtractor, FailingExtractor, context, insert_job, item_row, job_row, sim_videos,
    start_sim, unique_queue,
};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_video_is_extracted_stored_and_the_job_finishes_with_a_notification(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor);
    let truth = sim_videos(&sim, 10)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let url = truth["canonical_url"].as_str().unwrap();
    let (job_id, tasks) = insert_job(&pool, &[url], 3, json!({})).await;
    let mut listener = PgListener::connect_with(&pool).await.unwrap();
    listener
        .listen(tokworks_shared::db::JOB_FINISHED_CHANNEL)
        .await
        .unwrap();

    let outcome = run_extract_item(&context, tasks[0]).await.unwrap();

    let video_id = truth["video_id"].as_str().unwrap().to_owned();
    assert_eq!(
        outcome,
        ExtractItemOutcome::Succeeded {
            video_id: video_id.clone(),
            cache_hit: false
        }
    );
    let item = item_row(&pool, tasks[0].item_id).await;
    assert_eq!((item.status.as_str(), item.attempts), ("succeeded", 1));
    assert_eq!(item.result_video_id.as_deref(), Some(video_id.as_str()));
    let job = job_row(&pool, job_id).await;
    assert_eq!(
        (job.status.as_str(), job.items_succeeded, job.items_failed),
        ("succeeded", 1, 0)
    );

    let stored: serde_json::Value =
        sqlx::query_scalar("select data from videos where video_id = $1")
            .bind(&video_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored["id"].as_str(), Some(video_id.as_str()));
    assert_eq!(stored["description"], truth["description"]);
    let thumbnail = videos::thumbnail(&pool, &video_id)
        .await
        .unwrap()
        .expect("thumbnail stored");
    assert!(!thumbnail.bytes.is_empty());
    let stages: Vec<String> = sqlx::query_scalar(
        "select stage from item_stage_timings where item_id = $1 order by stage",
    )
    .bind(tasks[0].item_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        stages,
        ["extract", "queue_wait", "store", "thumbnail", "total"]
    );

    let notification = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(notification.payload(), job_id.to_string());
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn running_the_same_task_twice_changes_nothing_the_second_time(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = CountingExtractor::new(ReplayExtractor::new(&sim));
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor.clone());
    let truth = sim_videos(&sim, 10)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let (job_id, tasks) = insert_job(
        &pool,
        &[truth["canonical_url"].as_str().unwrap()],
        3,
        json!({}),
    )
    .await;

    let first = run_extract_item(&context, tasks[0]).await.unwrap();
    let second = run_extract_item(&context, tasks[0]).await.unwrap();

    assert!(matches!(first, ExtractItemOutcome::Succeeded { .. }));
    assert_eq!(second, ExtractItemOutcome::NotClaimable);
    assert_eq!(extractor.calls(), 1);
    let job = job_row(&pool, job_id).await;
    assert_eq!((job.items_succeeded, job.items_failed), (1, 0));
    let executions: i64 =
        sqlx::query_scalar("select count(*) from item_executions where item_id = $1")
            .bind(tasks[0].item_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(executions, 1);
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_fresh_stored_video_is_served_from_cache_unless_refresh_is_asked(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = CountingExtractor::new(ReplayExtractor::new(&sim));
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor.clone());
    let url = sim_videos(&sim, 10)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap()["canonical_url"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, first) = insert_job(&pool, &[&url], 3, json!({})).await;
    run_extract_item(&context, first[0]).await.unwrap();
    let (cached_job, cached) = insert_job(&pool, &[&url], 3, json!({})).await;
    let outcome = run_extract_item(&context, cached[0]).await.unwrap();
    let (_, refreshed) = insert_job(&pool, &[&url], 3, json!({"refresh": true})).await;
    let refreshed_outcome = run_extract_item(&context, refreshed[0]).await.unwrap();

    assert!(matches!(
        outcome,
        ExtractItemOutcome::Succeeded {
            cache_hit: true,
            ..
        }
    ));
    assert_eq!(
        item_row(&pool, cached[0].item_id).await.cache_hit,
        Some(true)
    );
    assert_eq!(job_row(&pool, cached_job).await.status, "succeeded");
    assert!(matches!(
        refreshed_outcome,
        ExtractItemOutcome::Succeeded {
            cache_hit: false,
            ..
        }
    ));
    assert_eq!(
        extractor.calls(),
        2,
        "the cached run did not touch TikTok; the refresh did"
    );
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_retryable_failure_is_retried_with_a_delayed_task_until_attempts_run_out(pool: PgPool) {
    let queue = unique_queue().await;
    let extractor = FailingExtractor::new(ErrorCode::UpstreamRateLimited);
    let context = context(pool.clone(), queue.clone(), extractor);
    let (job_id, tasks) = insert_job(
        &pool,
        &["https://www.tiktok.com/@a/video/7300000000000000001"],
        2,
        json!({}),
    )
    .await;

    let first = run_extract_item(&context, tasks[0]).await.unwrap();
    let ExtractItemOutcome::RetryScheduled {
        error_code,
        retry_after,
    } = first
    else {
        panic!("expected a retry, got {first:?}");
    };
    assert_eq!(error_code, ErrorCode::UpstreamRateLimited);
    assert!(
        retry_after >= Duration::from_millis(1600) && retry_after <= Duration::from_millis(2400)
    );
    let item = item_row(&pool, tasks[0].item_id).await;
    assert_eq!(item.status, "queued");
    let task_id = item.task_id.expect("retry task recorded");
    assert!(
        queue.contains_task(&task_id).await.unwrap(),
        "delayed task pushed"
    );
    assert_eq!(queue.depth().await.unwrap().scheduled, 1);
    assert_eq!(
        run_extract_item(&context, tasks[0]).await.unwrap(),
        ExtractItemOutcome::NotClaimable,
        "not claimable before not_before"
    );

    sqlx::query("update job_items set not_before = now() where item_id = $1")
        .bind(tasks[0].item_id)
        .execute(&pool)
        .await
        .unwrap();
    let second = run_extract_item(&context, tasks[0]).await.unwrap();
    assert_eq!(
        second,
        ExtractItemOutcome::Failed {
            error_code: ErrorCode::UpstreamRateLimited
        }
    );
    let item = item_row(&pool, tasks[0].item_id).await;
    assert_eq!((item.status.as_str(), item.attempts), ("failed", 2));
    let job = job_row(&pool, job_id).await;
    assert_eq!(job.status, "failed");
    assert_eq!(job.error_code.as_deref(), Some("UPSTREAM_RATE_LIMITED"));
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_permanent_failure_fails_at_once_and_a_batch_becomes_partial(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor);
    let good = sim_videos(&sim, 10)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let private = crate::support::sim_case_url(&sim, "private_post");
    let (job_id, tasks) = insert_job(
        &pool,
        &[good["canonical_url"].as_str().unwrap(), &private],
        4,
        json!({}),
    )
    .await;

    run_extract_item(&context, tasks[0]).await.unwrap();
    let outcome = run_extract_item(&context, tasks[1]).await.unwrap();

    assert_eq!(
        outcome,
        ExtractItemOutcome::Failed {
            error_code: ErrorCode::VideoPrivate
        }
    );
    let item = item_row(&pool, tasks[1].item_id).await;
    assert_eq!(
        (item.attempts, item.error_code.as_deref()),
        (1, Some("VIDEO_PRIVATE"))
    );
    let job = job_row(&pool, job_id).await;
    assert_eq!(
        (job.status.as_str(), job.items_succeeded, job.items_failed),
        ("partial", 1, 1)
    );
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_item_whose_lease_expired_is_taken_over_and_the_old_claim_is_lost(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor);
    let truth = sim_videos(&sim, 10)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let (job_id, tasks) = insert_job(
        &pool,
        &[truth["canonical_url"].as_str().unwrap()],
        3,
        json!({}),
    )
    .await;

    let dead_worker_claim = item_claims::claim_item(
        &pool,
        tasks[0].item_id,
        "dead-worker",
        Duration::from_secs(10),
    )
    .await
    .unwrap()
    .expect("claimable");
    assert_eq!(
        run_extract_item(&context, tasks[0]).await.unwrap(),
        ExtractItemOutcome::NotClaimable,
        "a live lease is respected"
    );
    sqlx::query(
        "update job_items set lease_expires_at = now() - interval '1 second' where item_id = $1",
    )
    .bind(tasks[0].item_id)
    .execute(&pool)
    .await
    .unwrap();

    let outcome = run_extract_item(&context, tasks[0]).await.unwrap();
    assert!(
        matches!(outcome, ExtractItemOutcome::Succeeded { .. }),
        "{outcome:?}"
    );
    let item = item_row(&pool, tasks[0].item_id).await;
    assert_eq!(item.attempts, 2);
    assert_eq!(
        item.claimed_by.as_deref(),
        Some(context.identity.worker_name.as_str())
    );

    let mut connection = pool.acquire().await.unwrap();
    let late = item_claims::end_item(
        &mut connection,
        tasks[0].item_id,
        dead_worker_claim.claim_id,
        &item_claims::ItemEnd::Failed {
            error_code: ErrorCode::Internal,
            message: "late".into(),
        },
    )
    .await;
    assert!(matches!(
        late,
        Err(item_claims::ClaimError::LostClaim { .. })
    ));
    let job = job_row(&pool, job_id).await;
    assert_eq!(
        (job.status.as_str(), job.items_succeeded, job.items_failed),
        ("succeeded", 1, 0)
    );
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_video_longer_than_the_limit_fails_with_video_too_long(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let queue = unique_queue().await;
    let mut context = context(pool.clone(), queue.clone(), extractor);
    let truth = sim_videos(&sim, 10)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let duration = u32::try_from(truth["duration"].as_u64().unwrap()).unwrap();
    let mut settings = (*context.settings).clone();
    settings.max_video_duration_seconds = Some(duration - 1);
    context.settings = Arc::new(settings);
    let (_, tasks) = insert_job(
        &pool,
        &[truth["canonical_url"].as_str().unwrap()],
        3,
        json!({}),
    )
    .await;

    let outcome = run_extract_item(&context, tasks[0]).await.unwrap();

    assert_eq!(
        outcome,
        ExtractItemOutcome::Failed {
            error_code: ErrorCode::VideoTooLong
        }
    );
    queue.delete_all_keys().await.unwrap();
}

/// Claims the item as `dead_workers` in turn, each dying holding it (its lease moved into the
/// past, as if the worker had been killed): each claim takes the previous one over.
async fn die_holding(pool: &PgPool, item_id: ItemId, dead_workers: &[&str]) {
    for dead_worker in dead_workers {
        item_claims::claim_item(pool, item_id, dead_worker, Duration::from_secs(60))
            .await
            .expect("claim query runs")
            .expect("claimable");
        sqlx::query(
            "update job_items set lease_expires_at = now() - interval '1 second'
             where item_id = $1",
        )
        .bind(item_id)
        .execute(pool)
        .await
        .expect("lease moved into the past");
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_item_that_lost_its_worker_on_every_attempt_fails_instead_of_running_again(
    pool: PgPool,
) {
    // An extractor that would fail retryably if it were called: the item must not reach it.
    let extractor = FailingExtractor::new(ErrorCode::UpstreamUnavailable);
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor.clone());
    let url = "https://www.tiktok.com/@someone/video/7300000000000000001";
    let (job_id, tasks) = insert_job(&pool, &[url], 2, json!({})).await;
    die_holding(&pool, tasks[0].item_id, &["dead-worker-1", "dead-worker-2"]).await;

    let outcome = run_extract_item(&context, tasks[0]).await.unwrap();

    assert_eq!(
        outcome,
        ExtractItemOutcome::Failed {
            error_code: ErrorCode::Internal
        }
    );
    assert_eq!(extractor.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    let item = item_row(&pool, tasks[0].item_id).await;
    assert_eq!(
        (item.status.as_str(), item.error_code.as_deref()),
        ("failed", Some("INTERNAL"))
    );
    let message: Option<String> =
        sqlx::query_scalar("select error_message from job_items where item_id = $1")
            .bind(tasks[0].item_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        message
            .as_deref()
            .is_some_and(|text| text.contains("attempt 2 of 2")),
        "{message:?}"
    );
    let job = job_row(&pool, job_id).await;
    assert_eq!((job.status.as_str(), job.items_failed), ("failed", 1));
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_item_that_lost_its_worker_with_attempts_left_runs_again(pool: PgPool) {
    let extractor = FailingExtractor::new(ErrorCode::VideoNotFound);
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor.clone());
    let url = "https://www.tiktok.com/@someone/video/7300000000000000002";
    let (_job_id, tasks) = insert_job(&pool, &[url], 2, json!({})).await;
    die_holding(&pool, tasks[0].item_id, &["dead-worker"]).await;

    let outcome = run_extract_item(&context, tasks[0]).await.unwrap();

    assert_eq!(
        outcome,
        ExtractItemOutcome::Failed {
            error_code: ErrorCode::VideoNotFound
        }
    );
    assert_eq!(extractor.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    queue.delete_all_keys().await.unwrap();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn only_the_claims_a_process_works_on_get_their_leases_renewed(pool: PgPool) {
    let urls = [
        "https://www.tiktok.com/@someone/video/7300000000000000003",
        "https://www.tiktok.com/@someone/video/7300000000000000004",
    ];
    let (_job_id, tasks) = insert_job(&pool, &urls, 3, json!({})).await;
    let mut claims = Vec::new();
    for task in &tasks {
        let claim = item_claims::claim_item(&pool, task.item_id, "w", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("claimable");
        claims.push(claim);
    }
    // Both leases run out; the process still works on the first claim only (the handler of
    // the second panicked, dropping its guard).
    let active = tokworks_worker::active_claims::ActiveClaims::default();
    let _working_on = active.hold(claims[0].claim_id);
    drop(active.hold(claims[1].claim_id));
    sqlx::query("update job_items set lease_expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();

    let renewed = item_claims::renew_leases(&pool, &active.snapshot(), Duration::from_secs(60))
        .await
        .unwrap();

    assert_eq!(renewed, 1);
    let expired: Vec<ItemId> = sqlx::query_scalar(
        "select item_id from job_items where lease_expires_at < now() order by item_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        expired,
        vec![tasks[1].item_id],
        "the abandoned claim can be taken over"
    );
}
