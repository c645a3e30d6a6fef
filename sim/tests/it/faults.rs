//! Each fault kind as a client sees it, `times`, determinism of probabilistic rules, and the
//! built-in fault cases.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokworks_sim::{SimConfig, SimHandle};

use crate::support::*;

async fn add_rule(sim: &SimHandle, rule: Value) -> u64 {
    let (status, answer) = send_json(sim, Method::POST, "/_sim/faults", &rule).await;
    assert_eq!(status, 201, "{answer}");
    answer["id"].as_u64().unwrap()
}

/// A regular video's plain-http URL with a rule of `fault` on its id.
async fn faulted_video(sim: &SimHandle, index: usize, fault: &str) -> String {
    let video = &videos(sim, index + 1).await[index];
    let id = video["video_id"].as_str().unwrap();
    add_rule(sim, json!({"match": {"video_id": id}, "fault": fault})).await;
    as_http(&video_url(video))
}

#[tokio::test]
async fn http_status_faults_and_empty_200() {
    let sim = start_sim().await;
    let client = proxied_client(&sim);
    for (index, fault, status) in [
        (0, "http_403", 403),
        (1, "http_500", 500),
        (2, "http_503", 503),
        (3, "empty_200", 200),
    ] {
        let url = faulted_video(&sim, index, fault).await;
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{fault}");
        let body = response.text().await.unwrap();
        assert_eq!(fault == "empty_200", body.is_empty(), "{fault}");
    }
    let video = &videos(&sim, 5).await[4];
    let id = video["video_id"].as_str().unwrap();
    add_rule(
        &sim,
        json!({"match": {"video_id": id}, "fault": "http_429", "retry_after_secs": 7}),
    )
    .await;
    let response = client.get(as_http(&video_url(video))).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let entries = log_entries(&sim, "status=429").await;
    assert_eq!(entries[0]["fault"], "http_429");
}

#[tokio::test]
async fn reset_closes_the_connection_without_an_answer() {
    let sim = start_sim().await;
    let url = faulted_video(&sim, 0, "reset").await;
    let (received, error) = raw_exchange(&sim, &proxied_get(&url)).await;
    assert!(received.is_empty(), "no byte of an answer");
    let error = error.expect("the read fails with a reset");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    let entries = log_entries(&sim, "").await;
    assert_eq!(entries.last().unwrap()["fault"], "reset");
    assert!(entries.last().unwrap()["status"].is_null());
}

#[tokio::test]
async fn hang_never_answers_and_does_not_block_other_connections() {
    let sim = start_sim().await;
    let url = faulted_video(&sim, 0, "hang").await;
    let mut hanging = TcpStream::connect(sim.addr).await.unwrap();
    hanging.write_all(&proxied_get(&url)).await.unwrap();
    // Another client is served while the first one waits.
    let other = as_http(&video_url(&videos(&sim, 2).await[1]));
    assert_eq!(
        proxied_client(&sim)
            .get(&other)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let mut byte = [0u8; 1];
    let waited = tokio::time::timeout(Duration::from_millis(300), hanging.read(&mut byte)).await;
    assert!(
        waited.is_err(),
        "the hanging request got an answer: {waited:?}"
    );
    // A client with a timeout gives up.
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(sim.proxy_url()).unwrap())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(client.get(&url).send().await.unwrap_err().is_timeout());
}

#[tokio::test]
async fn truncate_announces_more_than_it_sends() {
    let sim = start_sim().await;
    let url = faulted_video(&sim, 0, "truncate").await;
    let (received, _) = raw_exchange(&sim, &proxied_get(&url)).await;
    let (status, head, body) = split_response(&received);
    assert_eq!(status, 200);
    let announced: usize = header_value(&head, "content-length")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        announced > 0 && body.len() < announced,
        "{} of {announced}",
        body.len()
    );
    let error = proxied_client(&sim)
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert!(
        error.is_body() || error.is_decode() || error.is_request(),
        "{error:?}"
    );
}

#[tokio::test]
async fn login_wall_redirects_to_login() {
    let sim = start_sim().await;
    let url = faulted_video(&sim, 0, "login_wall").await;
    let response = proxied_client(&sim).get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://www.tiktok.com/login?redirect_url="),
        "{location}"
    );
}

#[tokio::test]
async fn layout_change_removes_the_rehydration_script() {
    let sim = start_sim().await;
    let client = proxied_client(&sim);
    let url = faulted_video(&sim, 0, "layout_change").await;
    let page = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(!page.is_empty());
    assert!(!page.contains("__UNIVERSAL_DATA_FOR_REHYDRATION__"));
    assert!(!page.contains("Please wait..."));
    let normal = as_http(&video_url(&videos(&sim, 2).await[1]));
    assert!(
        client
            .get(&normal)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("__UNIVERSAL_DATA_FOR_REHYDRATION__")
    );
}

/// Solves a challenge page like yt-dlp: returns the `_wafchallengeid` cookie value.
fn solve_challenge(page: &str) -> String {
    let marker = "id=\"cs\" class=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let end = start + page[start..].find('"').unwrap();
    let mut data: Value =
        serde_json::from_slice(&STANDARD_NO_PAD.decode(&page[start..end]).unwrap()).unwrap();
    let prefix = STANDARD.decode(data["v"]["a"].as_str().unwrap()).unwrap();
    let expected = STANDARD.decode(data["v"]["c"].as_str().unwrap()).unwrap();
    let nonce = (0..=1_000_000u64)
        .find(|i| {
            Sha256::digest([&prefix[..], i.to_string().as_bytes()].concat()).as_slice() == expected
        })
        .expect("solvable");
    assert!(nonce <= 20_000);
    data["d"] = json!(STANDARD.encode(nonce.to_string()));
    STANDARD.encode(serde_json::to_string(&data).unwrap())
}

#[tokio::test]
async fn challenge_page_until_the_solved_cookie_is_sent() {
    let sim = start_sim().await;
    let client = proxied_client(&sim);
    let url = case_url(&sim, "fault_challenge").await;
    let page = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Please wait...") && page.contains("id=\"wci\" class=\"_wafchallengeid\"")
    );
    assert!(!page.contains("__UNIVERSAL_DATA_FOR_REHYDRATION__"));
    assert!((1000..2000).contains(&page.len()), "{}", page.len());
    let again = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(page, again, "deterministic challenge");
    let cookie = solve_challenge(&page);
    let solved = client
        .get(&url)
        .header("Cookie", format!("_wafchallengeid={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(solved.status(), 200);
    assert!(
        solved
            .text()
            .await
            .unwrap()
            .contains("__UNIVERSAL_DATA_FOR_REHYDRATION__")
    );
    let wrong = client
        .get(&url)
        .header("Cookie", "_wafchallengeid=eyJ2Ijp7fX0=")
        .send()
        .await
        .unwrap();
    assert!(wrong.text().await.unwrap().contains("Please wait..."));
    let faults: Vec<Value> = log_entries(&sim, "method=GET")
        .await
        .iter()
        .map(|entry| entry["fault"].clone())
        .collect();
    assert_eq!(
        faults,
        vec![
            json!("challenge"),
            json!("challenge"),
            json!("challenge_solved"),
            json!("challenge")
        ]
    );
}

#[tokio::test]
async fn times_stops_after_n_applications() {
    let sim = start_sim().await;
    let video = &videos(&sim, 1).await[0];
    add_rule(
        &sim,
        json!({"match": {"video_id": video["video_id"]}, "fault": "http_500", "times": 2}),
    )
    .await;
    let client = proxied_client(&sim);
    let url = as_http(&video_url(video));
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(client.get(&url).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, vec![500, 500, 200, 200]);
    let rules = get_json(&sim, "/_sim/faults").await["rules"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        rules
            .iter()
            .find(|rule| rule["origin"] == "runtime")
            .unwrap()["applied"],
        2
    );
}

async fn probabilistic_statuses(seed: u64) -> Vec<u16> {
    let sim = start_sim_with(SimConfig {
        seed,
        video_count: 20,
        ..SimConfig::default()
    })
    .await;
    add_rule(
        &sim,
        json!({"match": {"host": "www.tiktok.com"}, "fault": "http_503", "probability": 0.5}),
    )
    .await;
    let list = videos(&sim, 4).await;
    let client = proxied_client(&sim);
    let mut statuses = Vec::new();
    for round in 0..12 {
        let url = as_http(&video_url(&list[round % list.len()]));
        statuses.push(client.get(&url).send().await.unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn probabilistic_faults_are_deterministic_per_seed() {
    let first = probabilistic_statuses(5).await;
    assert_eq!(first, probabilistic_statuses(5).await);
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
    assert_ne!(first, probabilistic_statuses(6).await);
}

#[tokio::test]
async fn global_latency_delays_answers() {
    let sim = start_sim_with(SimConfig {
        latency_ms: 150,
        video_count: 10,
        ..SimConfig::default()
    })
    .await;
    let url = as_http(&video_url(&videos(&sim, 1).await[0]));
    let started = std::time::Instant::now();
    assert_eq!(
        proxied_client(&sim)
            .get(&url)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    let entries = log_entries(&sim, "").await;
    assert!(entries[0]["duration_ms"].as_f64().unwrap() >= 150.0);
}

#[tokio::test]
async fn startup_rules_from_config_apply() {
    let rule = tokworks_sim::FaultRuleSpec::from_json(
        r#"{"match":{"path_prefix":"/api/"},"fault":"http_429"}"#,
    )
    .unwrap();
    let sim = start_sim_with(SimConfig {
        faults: vec![rule],
        video_count: 10,
        ..SimConfig::default()
    })
    .await;
    let response = proxied_client(&sim)
        .get("http://www.tiktok.com/api/post/item_list/?count=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let rules = get_json(&sim, "/_sim/faults").await;
    assert!(
        rules["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|rule| rule["origin"] == "startup")
    );
}
