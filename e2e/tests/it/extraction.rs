//! Extraction at volume and by short link: every result must equal the simulator's ground truth,
//! and every item must have been executed exactly once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use uuid::Uuid;

use crate::ground_truth::{canonical_url, compare_with_ground_truth, video_id};
use crate::harness::{ServiceOptions, TestService};

const VIDEO_COUNT: usize = 200;
/// `MAX_VIDEO_DURATION_SECONDS` given to the workers: longer corpus videos must fail with
/// `VIDEO_TOO_LONG` instead of being extracted.
const MAX_VIDEO_DURATION_SECONDS: u64 = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_distinct_videos_are_each_executed_once_and_match_the_ground_truth() {
    let options = ServiceOptions::new("two_hundred_videos").worker_env(
        "MAX_VIDEO_DURATION_SECONDS",
        &MAX_VIDEO_DURATION_SECONDS.to_string(),
    );
    let service = TestService::start(options).await;
    let truths = service.sim_videos(VIDEO_COUNT).await;
    assert_eq!(
        truths.len(),
        VIDEO_COUNT,
        "the simulator lists {VIDEO_COUNT} videos"
    );
    let distinct_ids: HashSet<&str> = truths.iter().map(video_id).collect();
    assert_eq!(
        distinct_ids.len(),
        VIDEO_COUNT,
        "the {VIDEO_COUNT} ground-truth videos are distinct"
    );

    let submitted: Vec<(Uuid, &Value)> = futures::stream::iter(&truths)
        .map(|truth| {
            let service = &service;
            async move { (service.submit_video(canonical_url(truth)).await, truth) }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    service
        .await_all_jobs_finished(VIDEO_COUNT as i64, Duration::from_secs(600))
        .await;

    let executions: Vec<(Uuid, i64)> =
        sqlx::query_as("select item_id, count(*) from item_executions group by item_id")
            .fetch_all(&service.database.pool)
            .await
            .expect("count executions per item");
    assert_eq!(executions.len(), VIDEO_COUNT, "every item was executed");
    let executed_more_than_once: Vec<&(Uuid, i64)> =
        executions.iter().filter(|(_, count)| *count != 1).collect();
    assert!(
        executed_more_than_once.is_empty(),
        "items executed more than once: {executed_more_than_once:?}"
    );

    let mut problems = Vec::new();
    for (job_id, truth) in &submitted {
        let job = service.get_job(*job_id).await;
        let too_long = truth["duration"]
            .as_u64()
            .is_some_and(|seconds| seconds > MAX_VIDEO_DURATION_SECONDS);
        if too_long {
            if job["status"] != "failed" || job["error"]["code"] != "VIDEO_TOO_LONG" {
                problems.push(format!(
                    "{}: longer than the limit, but ended {job}",
                    video_id(truth)
                ));
            }
            continue;
        }
        if job["status"] != "succeeded" {
            problems.push(format!(
                "{}: job {job_id} ended {} ({})",
                video_id(truth),
                job["status"],
                job["error"]
            ));
            continue;
        }
        problems.extend(
            compare_with_ground_truth(truth, &job["result"])
                .into_iter()
                .map(|difference| format!("{}: {difference}", video_id(truth))),
        );
    }
    assert!(
        problems.is_empty(),
        "{} differences from the ground truth (first 30):\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_short_link_forms_resolve_to_their_video() {
    let service = TestService::start(ServiceOptions::new("short_links")).await;
    let truths = service.sim_plain_videos(3).await;
    let mut jobs = HashMap::new();
    // One video per form, so each short link must be resolved on its own (no cache shortcut).
    for (truth, form) in truths.iter().zip(["vm", "vt", "t"]) {
        let short_url = truth["short_urls"][form]
            .as_str()
            .unwrap_or_else(|| panic!("short_urls.{form} in {truth}"));
        jobs.insert(
            form,
            (
                service.submit_video(short_url).await,
                truth,
                short_url.to_string(),
            ),
        );
    }
    for (form, (job_id, truth, short_url)) in jobs {
        let job = service
            .await_job_finished(job_id, Duration::from_secs(120))
            .await;
        assert_eq!(job["status"], "succeeded", "{form} link {short_url}: {job}");
        assert_eq!(
            job["result"]["id"].as_str(),
            Some(video_id(truth)),
            "{form} link {short_url} resolved to another video"
        );
        let differences = compare_with_ground_truth(truth, &job["result"]);
        assert!(
            differences.is_empty(),
            "{form} link {short_url}: {differences:?}"
        );
    }
}
