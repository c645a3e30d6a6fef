//! Every error case of the simulator ends with its documented error code: TikTok status pages
//! (deleted, private, region-blocked, …) without retries, transient upstream faults (429, 403,
//! 5xx, resets, …) after the item's retry budget is spent.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use uuid::Uuid;

use crate::harness::{ServiceOptions, TestService};

/// What a case must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    /// The job fails with this code after this many attempts (claims) of its item.
    Fails { code: &'static str, attempts: i32 },
    /// The job succeeds (yt-dlp gets past this obstacle, e.g. the WAF challenge).
    Succeeds,
    /// Not a video URL (profiles, hashtags): exercised by feed jobs, not here.
    NotAVideoCase,
}

/// Retry budget given to the api in this test (`ITEM_MAX_ATTEMPTS`), small to keep it quick.
const MAX_ATTEMPTS: i32 = 2;

fn expected_outcome(case_name: &str) -> Option<Expected> {
    let permanent = |code| Some(Expected::Fails { code, attempts: 1 });
    let transient = |code| {
        Some(Expected::Fails {
            code,
            attempts: MAX_ATTEMPTS,
        })
    };
    match case_name {
        "deleted" | "video_not_found" | "short_link_unknown" => permanent("VIDEO_NOT_FOUND"),
        "private_post" | "private_account" => permanent("VIDEO_PRIVATE"),
        "region_blocked" => permanent("VIDEO_REGION_BLOCKED"),
        "under_review" => permanent("VIDEO_UNDER_REVIEW"),
        "age_restricted" => permanent("AGE_RESTRICTED"),
        "user_not_found" | "hashtag_not_found" => Some(Expected::NotAVideoCase),
        "fault_http_429" => transient("UPSTREAM_RATE_LIMITED"),
        "fault_http_403" => transient("UPSTREAM_BLOCKED"),
        "fault_http_500" | "fault_reset" | "fault_truncate" => transient("UPSTREAM_UNAVAILABLE"),
        "fault_empty_200" => transient("UPSTREAM_EMPTY"),
        "fault_hang" => transient("EXTRACTOR_TIMEOUT"),
        "fault_login_wall" => transient("LOGIN_REQUIRED"),
        "fault_layout_change" => transient("UPSTREAM_CHANGED"),
        "fault_challenge" => Some(Expected::Succeeds),
        // A viewable video whose comments are off: a video job succeeds (a comments job fails).
        "comments_off" => Some(Expected::Succeeds),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_simulator_error_case_ends_with_its_error_code() {
    let options = ServiceOptions::new("error_cases")
        .api_env("ITEM_MAX_ATTEMPTS", &MAX_ATTEMPTS.to_string())
        // A hanging upstream must hit the worker's deadline well within the test's patience.
        .worker_env("EXTRACT_DEADLINE_SECONDS", "10");
    let service = TestService::start(options).await;
    let cases = service.sim_cases().await;
    assert!(!cases.is_empty(), "the simulator lists error cases");

    let unknown: Vec<&str> = cases
        .iter()
        .map(case_name)
        .filter(|name| expected_outcome(name).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "simulator cases without an expected outcome here (add them): {unknown:?}"
    );

    let runnable: Vec<(&Value, Expected)> = cases
        .iter()
        .map(|case| {
            (
                case,
                expected_outcome(case_name(case)).expect("checked above"),
            )
        })
        .filter(|(_, expected)| *expected != Expected::NotAVideoCase)
        .collect();
    let submitted: Vec<(Uuid, &Value, Expected)> = futures::stream::iter(runnable)
        .map(|(case, expected)| {
            let service = &service;
            async move {
                let url = case["url"]
                    .as_str()
                    .unwrap_or_else(|| panic!("case without url: {case}"));
                (service.submit_video(url).await, case, expected)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;

    let mut mismatches = Vec::new();
    for (job_id, case, expected) in submitted {
        // Retry-After on the 429 case is 30 s: give every case room for its retries.
        let job = service
            .await_job_finished(job_id, Duration::from_secs(240))
            .await;
        let attempts: i32 = sqlx::query_scalar("select attempts from job_items where job_id = $1")
            .bind(job_id)
            .fetch_one(&service.database.pool)
            .await
            .expect("read the item's attempts");
        let actual_code = job["error"]["code"].as_str().unwrap_or("");
        let status = job["status"].as_str().unwrap_or("");
        let matches = match expected {
            Expected::Fails {
                code,
                attempts: expected_attempts,
            } => status == "failed" && actual_code == code && attempts == expected_attempts,
            Expected::Succeeds => status == "succeeded",
            Expected::NotAVideoCase => true,
        };
        if !matches {
            mismatches.push(format!(
                "{}: expected {expected:?}, got status {status}, code {actual_code:?}, {attempts} attempt(s); error {}",
                case_name(case),
                job["error"]
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "cases that ended wrongly:\n{}",
        mismatches.join("\n")
    );
}

fn case_name(case: &Value) -> &str {
    case["name"]
        .as_str()
        .unwrap_or_else(|| panic!("case without name: {case}"))
}
