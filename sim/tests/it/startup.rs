//! Start-up: the 10,000-video corpus starts quickly, same seed gives byte-identical pages, and the
//! command line prints its first line, documents its knobs and stops on SIGTERM.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokworks_sim::SimConfig;

use crate::support::*;

#[tokio::test]
async fn ten_thousand_video_corpus_starts_in_under_a_second() {
    let started = Instant::now();
    let sim = start_sim_with(SimConfig {
        video_count: 10_000,
        seed: 3,
        ..SimConfig::default()
    })
    .await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "start() took {elapsed:?}");
    let last = get_json(&sim, "/_sim/videos?offset=9999&limit=5").await;
    assert_eq!(last["videos"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn same_seed_gives_byte_identical_pages() {
    let mut pages = Vec::new();
    for _ in 0..2 {
        let sim = start_sim_with(SimConfig {
            video_count: 30,
            seed: 99,
            ..SimConfig::default()
        })
        .await;
        let url = as_http(&video_url(&videos(&sim, 3).await[2]));
        pages.push(
            proxied_client(&sim)
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        );
    }
    assert_eq!(pages[0], pages[1]);
}

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokworks-sim"));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn cli_prints_listening_first_and_stops_on_sigterm() {
    let mut child = binary()
        .args(["--listen", "127.0.0.1:0", "--seed", "4", "--videos", "25"])
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let address = first
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{first}"));
    let port: u16 = address.parse().unwrap();
    assert_ne!(port, 0);
    let health: serde_json::Value = direct_client()
        .get(format!("http://127.0.0.1:{port}/_sim/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["seed"], 4);
    assert_eq!(health["videos"], 25);
    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn cli_help_documents_every_knob_and_bad_flags_fail_clearly() {
    let output = binary().arg("--help").output().await.unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--seed",
        "--videos",
        "--now",
        "--ca-dir",
        "--latency-ms",
        "--jitter-ms",
        "--fault",
        "--openai-key",
        "--log-requests",
        "--no-builtin-faults",
        "probability",
        "layout_change",
        "EXAMPLES",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    let output = binary()
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
    let output = binary()
        .args(["--fault", "{\"fault\":\"nope\"}"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("fault"));
}

#[tokio::test]
async fn ca_dir_is_created_then_reused() {
    let dir = std::env::temp_dir().join(format!("tokworks-sim-ca-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = start_sim_with(SimConfig {
        ca_dir: Some(dir.clone()),
        video_count: 5,
        ..SimConfig::default()
    })
    .await;
    assert!(dir.join("ca.pem").exists() && dir.join("ca.key").exists());
    let pem = first.ca_pem();
    drop(first);
    let second = start_sim_with(SimConfig {
        ca_dir: Some(dir.clone()),
        video_count: 5,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(second.ca_pem(), pem);
    // Certificates minted with the reloaded CA verify against the stored ca.pem.
    let url = video_url(&videos(&second, 1).await[0]);
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(second.proxy_url()).unwrap())
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .timeout(WAIT)
        .build()
        .unwrap();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let _ = std::fs::remove_dir_all(&dir);
}
