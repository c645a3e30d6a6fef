//! The `tokworks` command line against a real deployment: `submit FILE --wait --out` turns a file
//! of URLs into batch jobs, follows them and writes every result; a second run with `--resume`
//! creates nothing new; a rejected URL makes the exit code 1; `jobs get` and `jobs items` read
//! what was done.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::harness::{ServiceOptions, TestService, workspace_binary};

/// Runs `tokworks ARGS` against the service; returns its output.
async fn tokworks(service: &TestService, args: &[&str]) -> Output {
    let binary = workspace_binary("tokworks");
    let mut command = tokio::process::Command::new(binary);
    command
        .args(args)
        .env("TOKWORKS_URL", &service.api_url)
        .env("TOKWORKS_API_KEY", &service.api_key)
        .kill_on_drop(true);
    tokio::time::timeout(std::time::Duration::from_secs(120), command.output())
        .await
        .expect("tokworks finishes within 2 minutes")
        .expect("tokworks runs")
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

async fn count_jobs(service: &TestService) -> i64 {
    sqlx::query_scalar("select count(*) from jobs")
        .fetch_one(&service.database.pool)
        .await
        .expect("count jobs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_waits_writes_results_resumes_without_duplicates_and_reports_rejections() {
    let service = TestService::start(ServiceOptions::new("cli")).await;
    let videos = service.sim_plain_videos(5).await;
    let directory = tempdir_in(&service.log_directory);
    let input = directory.join("urls.csv");
    let mut csv = String::from("url,custom_id\n");
    for (index, video) in videos[..4].iter().enumerate() {
        csv.push_str(&format!(
            "{},row-{index}\n",
            video["canonical_url"].as_str().unwrap()
        ));
    }
    std::fs::write(&input, &csv).unwrap();
    let out = directory.join("results.ndjson");

    // Batches of 3: two jobs.
    let run = tokworks(
        &service,
        &[
            "submit",
            input.to_str().unwrap(),
            "--wait",
            "--batch-size",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(
        run.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report = json_of(&run);
    assert_eq!(report["urls"], 4);
    assert_eq!(report["succeeded"], 4);
    assert_eq!(report["jobs"].as_array().unwrap().len(), 2);
    let results: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(results.len(), 4);
    for (index, video) in videos[..4].iter().enumerate() {
        let item = results
            .iter()
            .find(|item| item["custom_id"] == format!("row-{index}"))
            .unwrap_or_else(|| panic!("row-{index} is in the results"));
        assert_eq!(item["status"], "succeeded");
        assert_eq!(item["video_id"], video["video_id"]);
    }
    assert_eq!(count_jobs(&service).await, 2);

    // Resumed: the same two jobs, nothing submitted again.
    let again = tokworks(
        &service,
        &[
            "submit",
            input.to_str().unwrap(),
            "--batch-size",
            "3",
            "--resume",
        ],
    )
    .await;
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(json_of(&again)["jobs"], report["jobs"]);
    assert_eq!(count_jobs(&service).await, 2);

    // `jobs get` and `jobs items` read a job back.
    let job_id = report["jobs"][0].as_str().unwrap();
    let job = json_of(&tokworks(&service, &["jobs", "get", job_id]).await);
    assert_eq!(job["status"], "succeeded");
    let items = tokworks(&service, &["jobs", "items", job_id, "--format", "csv"]).await;
    let csv_out = String::from_utf8(items.stdout).unwrap();
    assert!(
        csv_out.starts_with("position,custom_id,url,status"),
        "{csv_out}"
    );
    for row in ["0,row-0,", "1,row-1,", "2,row-2,"] {
        assert!(csv_out.contains(row), "{row} in {csv_out}");
    }

    // Without --wait, an accepted submit exits 0 however far its items have got.
    let later = directory.join("later.txt");
    std::fs::write(
        &later,
        format!("{}\n", videos[4]["canonical_url"].as_str().unwrap()),
    )
    .unwrap();
    let submitted = tokworks(&service, &["submit", later.to_str().unwrap()]).await;
    assert_eq!(
        submitted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&submitted.stdout)
    );
    assert_eq!(json_of(&submitted)["jobs"].as_array().unwrap().len(), 1);

    // A URL that is not a TikTok video is rejected: the run reports it and exits 1.
    let mixed = directory.join("mixed.txt");
    std::fs::write(
        &mixed,
        format!(
            "{}\nhttps://example.com/not-tiktok\n",
            videos[0]["canonical_url"].as_str().unwrap()
        ),
    )
    .unwrap();
    let rejected = tokworks(&service, &["submit", mixed.to_str().unwrap(), "--wait"]).await;
    assert_eq!(rejected.status.code(), Some(1));
    let report = json_of(&rejected);
    assert_eq!(
        (report["rejected"].as_u64(), report["succeeded"].as_u64()),
        (Some(1), Some(1))
    );

    // No key: a usage error (exit 2) before any request.
    let no_key = tokio::process::Command::new(workspace_binary("tokworks"))
        .args(["jobs", "list"])
        .env_remove("TOKWORKS_API_KEY")
        .output()
        .await
        .unwrap();
    assert_eq!(no_key.status.code(), Some(2));
}

fn tempdir_in(parent: &Path) -> std::path::PathBuf {
    let directory = parent.join("cli");
    std::fs::create_dir_all(&directory).expect("create the test's cli directory");
    directory
}
