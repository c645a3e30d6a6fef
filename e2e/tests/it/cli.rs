//! The `tokworks` command line against a real deployment: `submit FILE --wait --out` turns a file
//! of URLs into batch jobs, follows them and writes every result; a second run with `--resume`
//! creates nothing new; a rejected URL makes the exit code 1; `jobs get` and `jobs items` read
//! what was done; `search`, `comments --replies`, the `watches` commands and `url` do what they
//! say.

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

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_comments_and_watches_from_the_command_line() {
    let service = TestService::start(ServiceOptions::new("cli_issue15")).await;
    let username = service.sim_plain_videos(1).await[0]["author"]["unique_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (keyword, video_url) = {
        let site = service.sim.site();
        let corpus = site.corpus();
        let keyword = corpus
            .hashtags
            .iter()
            .map(|tag| (tag.name.clone(), corpus.search_posts(&tag.name).len()))
            .max_by_key(|(_, found)| *found)
            .expect("hashtags")
            .0;
        let video = site
            .ground_truth_videos(0, 50)
            .into_iter()
            .find(|video| {
                video["video_id"]
                    .as_str()
                    .and_then(|id| tokworks_sim::site::comments::truth(&site, id))
                    .and_then(|truth| {
                        truth["comments"].as_array().map(|comments| {
                            comments.iter().any(|comment| {
                                comment["deleted"] == false
                                    && comment["replies"]
                                        .as_array()
                                        .is_some_and(|replies| !replies.is_empty())
                            })
                        })
                    })
                    .unwrap_or(false)
            })
            .expect("a video whose comments have replies");
        (keyword, video["canonical_url"].as_str().unwrap().to_owned())
    };

    // A search: the job and its complete videos.
    let search = tokworks(&service, &["search", &keyword, "--count", "5"]).await;
    assert_exit(&search, 0);
    let search = json_of(&search);
    assert_eq!(search["job"]["kind"], "search", "{search}");
    assert_eq!(search["job"]["status"], "succeeded", "{search}");
    let videos = search["items"].as_array().unwrap();
    assert_eq!(videos.len(), 5, "{search}");
    assert!(videos.iter().all(|item| item["result"]["id"].is_string()));

    // Comments with replies: comment objects, some of them replies.
    let comments = tokworks(
        &service,
        &["comments", &video_url, "--count", "20", "--replies"],
    )
    .await;
    assert_exit(&comments, 0);
    let comments = json_of(&comments);
    assert_eq!(comments["job"]["kind"], "comments", "{comments}");
    let list = comments["comments"].as_array().unwrap();
    assert!(
        list.iter()
            .all(|comment| comment["object"] == "comment" && comment["text"].is_string()),
        "{comments}"
    );
    assert!(
        list.iter().any(|comment| comment["parent_id"].is_string()),
        "no reply among {} comments",
        list.len()
    );

    // A watch: created, listed, its baseline run seen, paused, deleted.
    let created = tokworks(
        &service,
        &["watches", "create", "user", &username, "--every", "300"],
    )
    .await;
    assert_exit(&created, 0);
    let watch = json_of(&created);
    let watch_id = watch["id"].as_str().unwrap().to_owned();
    assert_eq!(watch["username"], username.as_str(), "{watch}");
    let listed = json_of(&tokworks(&service, &["watches", "list"]).await);
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|listed| listed["id"] == watch_id.as_str()),
        "{listed}"
    );
    crate::harness::await_condition(
        "the watch's baseline run",
        std::time::Duration::from_secs(60),
        || async {
            let runs = json_of(&tokworks(&service, &["watches", "runs", &watch_id]).await);
            runs["data"]
                .as_array()
                .and_then(|runs| runs.first())
                .filter(|run| run["status"] == "succeeded" && run["baseline"] == true)
                .cloned()
        },
    )
    .await;
    let paused = json_of(&tokworks(&service, &["watches", "pause", &watch_id]).await);
    assert_eq!(paused["status"], "paused", "{paused}");
    assert_exit(
        &tokworks(&service, &["watches", "delete", &watch_id]).await,
        0,
    );
    let gone = tokworks(&service, &["watches", "get", &watch_id]).await;
    assert_exit(&gone, 3);

    // A refused watch is the service's error, exit code 3.
    let too_often = tokworks(
        &service,
        &["watches", "create", "user", &username, "--every", "5"],
    )
    .await;
    assert_exit(&too_often, 3);

    // `url` needs no key and says what a URL is.
    let what = json_of(
        &tokworks(
            &service,
            &[
                "url",
                "https://www.tiktok.com/music/original-sound-7454730076952459393",
            ],
        )
        .await,
    );
    assert_eq!(what["kind"], "sound", "{what}");
}
