//! Acceptance: the real, pinned yt-dlp (scripts/install-ytdlp.sh) extracts simulated videos through
//! the proxy, resolves the three short-link forms, solves the WAF challenge and fails with its
//! normal message for every error case.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use tokio::process::Command;
use tokworks_sim::SimHandle;

use crate::support::*;

/// yt-dlp from `YTDLP_PATH` or `<workspace>/.venv/ytdlp/bin/yt-dlp`; a missing one fails the test.
fn ytdlp_path() -> PathBuf {
    let path = std::env::var_os("YTDLP_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(".venv")
                .join("ytdlp")
                .join("bin")
                .join("yt-dlp")
        });
    assert!(
        path.exists(),
        "yt-dlp not found at {}: run scripts/install-ytdlp.sh (or set YTDLP_PATH) before these tests",
        path.display()
    );
    path
}

struct Run {
    success: bool,
    info: Value,
    stderr: String,
}

async fn ytdlp(sim: &SimHandle, url: &str, extra: &[&str]) -> Run {
    let output = Command::new(ytdlp_path())
        .args([
            "-J",
            "--no-cache-dir",
            "--proxy",
            &sim.proxy_url(),
            "--no-check-certificates",
        ])
        .args(["--ies", "tiktok,vm.tiktok"])
        .args(extra)
        .args(["--", url])
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), output)
        .await
        .expect("yt-dlp finishes")
        .unwrap();
    Run {
        success: output.status.success(),
        info: serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
    }
}

async fn regular_videos(sim: &SimHandle) -> Vec<Value> {
    videos(sim, 40)
        .await
        .into_iter()
        .filter(|video| video["kind"] == "video")
        .collect()
}

/// `stats` counts are display-rounded (docs/tiktok-formats.md "Counts: stats and statsV2"): allow half a rounding step.
fn assert_count(name: &str, got: &Value, exact: &Value) {
    let got = got
        .as_u64()
        .unwrap_or_else(|| panic!("{name} missing: {got}"));
    let exact = exact.as_u64().unwrap();
    let step = match exact {
        0..10_000 => 0,
        10_000..1_000_000 => 100,
        1_000_000..1_000_000_000 => 100_000,
        _ => 100_000_000,
    };
    assert!(
        got.abs_diff(exact) <= step / 2,
        "{name}: yt-dlp {got}, truth {exact}"
    );
}

#[tokio::test]
async fn ytdlp_extracts_a_simulated_video() {
    let sim = start_sim().await;
    let truth = regular_videos(&sim).await.remove(0);
    let run = ytdlp(&sim, &video_url(&truth), &[]).await;
    assert!(run.success, "{}", run.stderr);
    let info = &run.info;
    assert_eq!(info["id"], truth["video_id"]);
    assert_eq!(info["extractor"], "TikTok");
    assert_eq!(info["description"], truth["description"]);
    assert_eq!(info["uploader"], truth["author"]["unique_id"]);
    assert_eq!(info["uploader_id"], truth["author"]["id"]);
    assert_eq!(info["channel"], truth["author"]["nickname"]);
    assert_eq!(info["timestamp"], truth["create_time"]);
    assert_count(
        "view_count",
        &info["view_count"],
        &truth["stats"]["play_count"],
    );
    assert_count(
        "like_count",
        &info["like_count"],
        &truth["stats"]["like_count"],
    );
    assert_count(
        "comment_count",
        &info["comment_count"],
        &truth["stats"]["comment_count"],
    );
    assert_count(
        "repost_count",
        &info["repost_count"],
        &truth["stats"]["share_count"],
    );
    assert!(!info["formats"].as_array().unwrap().is_empty());
    let path = video_url(&truth)
        .split("tiktok.com")
        .nth(1)
        .unwrap()
        .to_string();
    let page_requests = log_entries(&sim, &format!("path_prefix={path}&method=GET")).await;
    assert_eq!(page_requests.len(), 1, "one page GET: {page_requests:?}");
    assert_eq!(page_requests[0]["scheme"], "https");
}

#[tokio::test]
async fn ytdlp_resolves_all_three_short_link_forms() {
    let sim = start_sim().await;
    let truth = regular_videos(&sim).await.remove(1);
    for form in ["vm", "vt", "t"] {
        let short = truth["short_urls"][form].as_str().unwrap();
        let run = ytdlp(&sim, short, &[]).await;
        assert!(run.success, "{short}: {}", run.stderr);
        assert_eq!(run.info["id"], truth["video_id"], "{short}");
        assert_eq!(run.info["original_url"], short);
    }
    let counters = get_json(&sim, "/_sim/counters").await;
    assert!(
        counters["routes"]["short_link"].as_u64().unwrap() >= 3,
        "{counters}"
    );
}

#[tokio::test]
async fn ytdlp_solves_the_waf_challenge() {
    let sim = start_sim().await;
    let url = case_url(&sim, "fault_challenge").await;
    let run = ytdlp(&sim, &url, &[]).await;
    assert!(run.success, "{}", run.stderr);
    assert!(url.ends_with(run.info["id"].as_str().unwrap()));
    let faults: Vec<Value> = log_entries(&sim, "method=GET")
        .await
        .iter()
        .map(|entry| entry["fault"].clone())
        .collect();
    assert_eq!(
        faults,
        vec![Value::from("challenge"), Value::from("challenge_solved")]
    );
}

/// The message yt-dlp prints for a status page.
fn expected_status_message(code: i64) -> String {
    match code {
        10204 => "Your IP address is blocked from accessing this post".to_string(),
        10216 | 10222 => "You do not have permission to view this post".to_string(),
        other => format!("Video not available, status code {other}"),
    }
}

#[tokio::test]
async fn ytdlp_fails_with_its_normal_message_for_each_status_case() {
    let sim = start_sim().await;
    let cases = get_json(&sim, "/_sim/cases").await["cases"]
        .as_array()
        .unwrap()
        .clone();
    let mut checked = 0;
    for case in cases.iter().filter(|case| case["fault"].is_null()) {
        let url = case["url"].as_str().unwrap();
        let expected = match (case["name"].as_str().unwrap(), case["status_code"].as_i64()) {
            ("age_restricted", _) => {
                "This post may not be comfortable for some audiences".to_string()
            }
            (_, Some(code)) if url.contains("/video/") => expected_status_message(code),
            _ => continue,
        };
        let run = ytdlp(&sim, url, &[]).await;
        assert!(!run.success, "{url} succeeded");
        assert!(
            run.stderr.contains(&expected),
            "{}: expected {expected:?} in {}",
            case["name"],
            run.stderr
        );
        checked += 1;
    }
    assert!(
        checked >= 5,
        "only {checked} status cases checked: {cases:?}"
    );
}

#[tokio::test]
async fn ytdlp_fails_with_its_normal_message_for_each_fault_case() {
    let sim = start_sim().await;
    for (name, expected) in [
        ("fault_http_429", "HTTP Error 429: Too Many Requests"),
        ("fault_http_403", "HTTP Error 403: Forbidden"),
        ("fault_http_500", "HTTP Error 500: Internal Server Error"),
        (
            "fault_empty_200",
            "Unexpected response from webpage request",
        ),
        (
            "fault_login_wall",
            "TikTok is requiring login for access to this content",
        ),
        (
            "fault_layout_change",
            "Unexpected response from webpage request",
        ),
        ("fault_truncate", "more expected"),
    ] {
        let run = ytdlp(&sim, &case_url(&sim, name).await, &[]).await;
        assert!(!run.success, "{name} succeeded");
        assert!(
            run.stderr.contains(expected),
            "{name}: expected {expected:?} in {}",
            run.stderr
        );
    }
    let run = ytdlp(&sim, &case_url(&sim, "fault_reset").await, &[]).await;
    assert!(!run.success);
    let stderr = run.stderr.to_lowercase();
    assert!(
        stderr.contains("reset by peer") || stderr.contains("closed connection"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn ytdlp_times_out_on_a_hanging_page() {
    let sim = start_sim().await;
    let run = ytdlp(
        &sim,
        &case_url(&sim, "fault_hang").await,
        &["--socket-timeout", "5"],
    )
    .await;
    assert!(!run.success);
    // urllib says "timed out"; curl_cffi (the impersonating transport) says "curl: (28)".
    assert!(
        run.stderr.contains("timed out") || run.stderr.contains("curl: (28)"),
        "{}",
        run.stderr
    );
}
