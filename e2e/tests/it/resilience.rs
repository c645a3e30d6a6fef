//! Crashes and outages: a worker killed with `kill -9` mid-job, and a Redis restart under running
//! workers. Postgres holds the truth, so the work finishes, once, without restarting anything.

use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use crate::ground_truth::canonical_url;
use crate::harness::{ServiceOptions, TestService, await_condition};

/// The promise: the job still finishes within 30 s of the kill.
const FINISH_AFTER_KILL_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_finish_once_within_30_seconds_after_a_worker_is_killed_mid_item() {
    let service = TestService::start(ServiceOptions::new("worker_kill")).await;
    let truths = service.sim_plain_videos(8).await;
    // Slow every upstream answer so that items are surely running when the kill lands.
    service
        .sim_add_fault(&json!({"match": {"all": true}, "fault": "latency", "latency_ms": 3000}))
        .await;
    // One video job per URL (v1 has no batch kind yet): 8 items for 2 × 4 worker slots.
    let mut job_ids = Vec::new();
    for truth in &truths {
        job_ids.push(service.submit_video(canonical_url(truth)).await);
    }

    let claimed_by = await_condition(
        "a worker to hold a claim on an item",
        Duration::from_secs(60),
        || {
            let pool = &service.database.pool;
            async move {
                sqlx::query_scalar::<_, String>(
                    "select claimed_by from job_items
                      where status = 'running' and claimed_by is not null limit 1",
                )
                .fetch_optional(pool)
                .await
                .expect("read claims")
            }
        },
    )
    .await;
    let victim = worker_index_from_name(&claimed_by, service.worker_pids().len());
    let killed_at = Instant::now();
    service.kill_worker_hard(victim).await;

    for job_id in &job_ids {
        let remaining = FINISH_AFTER_KILL_TIMEOUT.saturating_sub(killed_at.elapsed());
        let job = service.await_job_finished(*job_id, remaining).await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    eprintln!(
        "all jobs finished {:?} after the kill of worker w{}",
        killed_at.elapsed(),
        victim + 1
    );

    let per_item: Vec<(Uuid, String, i64, i64)> = sqlx::query_as(
        "select i.item_id, i.status,
                count(e.execution_id) filter (where e.outcome = 'succeeded'),
                count(e.execution_id)
           from job_items i left join item_executions e using (item_id)
          group by i.item_id, i.status",
    )
    .fetch_all(&service.database.pool)
    .await
    .expect("read items and executions");
    assert_eq!(per_item.len(), truths.len());
    for (item_id, status, succeeded_executions, all_executions) in &per_item {
        assert_eq!(status, "succeeded", "item {item_id}");
        assert_eq!(
            *succeeded_executions, 1,
            "item {item_id} must succeed exactly once ({all_executions} executions in all)"
        );
    }
    let taken_over = per_item.iter().filter(|(_, _, _, all)| *all > 1).count();
    assert!(
        taken_over >= 1,
        "the killed worker's item(s) were re-run by the survivor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_recover_from_a_redis_restart_without_being_restarted() {
    let service = TestService::start(ServiceOptions::new("redis_restart")).await;
    let truths = service.sim_plain_videos(2).await;
    let worker_pids_before = service.worker_pids();

    let before = service.submit_video(canonical_url(&truths[0])).await;
    let job = service
        .await_job_finished(before, Duration::from_secs(60))
        .await;
    assert_eq!(job["status"], "succeeded", "before the restart: {job}");

    // SIGTERM, then a new empty redis-server on the same port (it persists nothing).
    service.redis.lock().await.restart().await;

    let after = service.submit_video(canonical_url(&truths[1])).await;
    let job = service
        .await_job_finished(after, Duration::from_secs(90))
        .await;
    assert_eq!(job["status"], "succeeded", "after the restart: {job}");
    service.assert_processes_running();
    assert_eq!(
        service.worker_pids(),
        worker_pids_before,
        "the workers were not restarted"
    );
}

/// `claimed_by` is `WORKER_NAME` (`w1`, `w2`, …) plus a unique suffix → index into the workers.
fn worker_index_from_name(claimed_by: &str, worker_count: usize) -> usize {
    (1..=worker_count)
        .find(|number| {
            claimed_by
                .strip_prefix(&format!("w{number}"))
                .is_some_and(|rest| !rest.starts_with(|character: char| character.is_ascii_digit()))
        })
        .map(|number| number - 1)
        .unwrap_or_else(|| panic!("claimed_by {claimed_by:?} names none of the test's workers"))
}
