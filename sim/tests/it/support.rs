//! Shared helpers of the integration tests: starting a simulator, clients through its proxy,
//! raw sockets, JSON calls to the control API.

use std::time::Duration;

use reqwest::{Client, Proxy, redirect};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokworks_sim::{SimConfig, SimHandle, start};

/// Upper bound for anything a test waits on (a bound, not a sleep).
pub const WAIT: Duration = Duration::from_secs(20);

pub async fn start_sim() -> SimHandle {
    start_sim_with(SimConfig {
        video_count: 60,
        seed: 11,
        ..SimConfig::default()
    })
    .await
}

pub async fn start_sim_with(config: SimConfig) -> SimHandle {
    start(config).await.expect("simulator starts")
}

/// A client that sends everything through the simulator's proxy port and accepts its certificates.
pub fn proxied_client(sim: &SimHandle) -> Client {
    Client::builder()
        .proxy(Proxy::all(sim.proxy_url()).unwrap())
        .danger_accept_invalid_certs(true)
        .redirect(redirect::Policy::none())
        .timeout(WAIT)
        .build()
        .unwrap()
}

/// A client for the direct APIs (no proxy).
pub fn direct_client() -> Client {
    Client::builder().no_proxy().timeout(WAIT).build().unwrap()
}

pub async fn get_json(sim: &SimHandle, path: &str) -> Value {
    let response = direct_client()
        .get(format!("{}{path}", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

pub async fn send_json(
    sim: &SimHandle,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let response = direct_client()
        .request(method, format!("{}{path}", sim.base_url()))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The URL of a case listed by `GET /_sim/cases`.
pub async fn case_url(sim: &SimHandle, name: &str) -> String {
    let cases = get_json(sim, "/_sim/cases").await;
    cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|case| case["name"] == name)
        .unwrap_or_else(|| panic!("case {name} not in /_sim/cases: {cases}"))["url"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Ground truth of the first few regular videos.
pub async fn videos(sim: &SimHandle, limit: usize) -> Vec<Value> {
    let answer = get_json(sim, &format!("/_sim/videos?limit={limit}")).await;
    answer["videos"].as_array().unwrap().clone()
}

/// Canonical URL of a ground-truth video entry.
pub fn video_url(video: &Value) -> String {
    ["url", "canonical_url", "webpage_url"]
        .iter()
        .find_map(|key| video[*key].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("ground truth entry without url: {video}"))
}

/// Request log entries matching a query string.
pub async fn log_entries(sim: &SimHandle, query: &str) -> Vec<Value> {
    get_json(sim, &format!("/_sim/requests?{query}")).await["entries"]
        .as_array()
        .unwrap()
        .clone()
}

/// Sends raw bytes to the simulator and returns everything read until the server closes (or the
/// read error).
pub async fn raw_exchange(sim: &SimHandle, request: &[u8]) -> (Vec<u8>, Option<std::io::Error>) {
    let mut stream = TcpStream::connect(sim.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    let result = tokio::time::timeout(WAIT, stream.read_to_end(&mut received))
        .await
        .expect("server answers or closes");
    (received, result.err())
}

/// A plain proxied `GET` in absolute form, asking the server to close afterwards.
pub fn proxied_get(url: &str) -> Vec<u8> {
    let host = url.split("://").nth(1).unwrap().split('/').next().unwrap();
    format!(
        "GET {url} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: it-test\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// `http://…` form of a canonical `https://…` URL.
pub fn as_http(url: &str) -> String {
    url.replacen("https://", "http://", 1)
}

/// Splits a raw response into (status, headers text, body).
pub fn split_response(raw: &[u8]) -> (u16, String, Vec<u8>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, raw[end + 4..].to_vec())
}

pub fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}
