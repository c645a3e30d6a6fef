//! The proxy front door: CONNECT + TLS for TikTok hosts, plain proxied requests, refusal of other
//! hosts, malformed input.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokworks_sim::{SimConfig, StartError, start};

use crate::support::*;

#[tokio::test]
async fn connect_to_a_foreign_host_is_refused_and_nothing_is_contacted() {
    let sim = start_sim().await;
    let (raw, _) = raw_exchange(
        &sim,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (status, _, body) = split_response(&raw);
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("tokworks-sim: host not allowed"));

    let error = proxied_client(&sim)
        .get("https://example.com/")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect() || error.is_request(), "{error:?}");

    let entries = log_entries(&sim, "host=example.com").await;
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|entry| entry["status"] == 403 && entry["route"] == "denied"),
        "{entries:?}"
    );
}

#[tokio::test]
async fn plain_proxied_request_to_a_foreign_host_gets_403() {
    let sim = start_sim().await;
    let response = proxied_client(&sim)
        .get("http://example.org/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.text().await.unwrap().trim(),
        "tokworks-sim: host not allowed"
    );
}

#[tokio::test]
async fn plain_proxied_video_page_is_served_with_scheme_http() {
    let sim = start_sim().await;
    let video = &videos(&sim, 1).await[0];
    let url = as_http(&video_url(video));
    let response = proxied_client(&sim).get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("__UNIVERSAL_DATA_FOR_REHYDRATION__"));
    let path = url.split("tiktok.com").nth(1).unwrap().to_string();
    let entries = log_entries(&sim, &format!("path_prefix={path}")).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["scheme"], "http");
    assert_eq!(entries[0]["route"], "page");
    assert_eq!(entries[0]["user_agent"].as_str().unwrap_or(""), "");
}

#[tokio::test]
async fn tls_tunnel_verifies_against_the_sim_ca() {
    let sim = start_sim().await;
    let video = &videos(&sim, 1).await[0];
    let url = video_url(video);
    assert!(url.starts_with("https://www.tiktok.com/"), "{url}");
    // Verification ON, with the simulator's CA as the only root: chain and SAN must be right.
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(sim.proxy_url()).unwrap())
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem().as_bytes()).unwrap())
        .timeout(WAIT)
        .build()
        .unwrap();
    for _ in 0..2 {
        let response = client
            .get(&url)
            .header("User-Agent", "it-tls")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("__UNIVERSAL_DATA_FOR_REHYDRATION__")
        );
    }
    let entries = log_entries(&sim, "method=GET").await;
    let https: Vec<_> = entries
        .iter()
        .filter(|entry| entry["user_agent"] == "it-tls")
        .collect();
    assert_eq!(https.len(), 2);
    assert!(
        https
            .iter()
            .all(|entry| entry["scheme"] == "https" && entry["host"] == "www.tiktok.com")
    );
}

/// CONNECT to one host, then a TLS handshake expecting `server_name`.
async fn handshake(
    sim: &tokworks_sim::SimHandle,
    connect_host: &str,
    server_name: &str,
) -> Result<(), std::io::Error> {
    let mut tcp = TcpStream::connect(sim.addr).await.unwrap();
    tcp.write_all(
        format!("CONNECT {connect_host}:443 HTTP/1.1\r\nHost: {connect_host}:443\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut reader = BufReader::new(tcp);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).await.unwrap();
    assert!(status_line.starts_with("HTTP/1.1 200"), "{status_line}");
    let mut blank = String::new();
    reader.read_line(&mut blank).await.unwrap();
    assert_eq!(blank, "\r\n");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(sim.ca_pem().as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(server_name.to_string()).unwrap();
    connector
        .connect(name, reader.into_inner())
        .await
        .map(|_| ())
}

#[tokio::test]
async fn leaf_certificate_names_exactly_the_connect_host() {
    let sim = start_sim().await;
    handshake(&sim, "www.tiktok.com", "www.tiktok.com")
        .await
        .expect("valid for its own host");
    handshake(&sim, "vm.tiktok.com", "vm.tiktok.com")
        .await
        .expect("valid for its own host");
    let error = handshake(&sim, "www.tiktok.com", "vm.tiktok.com")
        .await
        .expect_err("not valid for another host");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
}

#[tokio::test]
async fn malformed_requests_get_a_clear_400_and_the_sim_keeps_running() {
    let sim = start_sim().await;
    for garbage in [
        &b"HELLO\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET http://www.tiktok.com/ HTTP/1.1\r\nBad Header\r\n\r\n",
        b"POST /_sim/faults HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"GET relative/path HTTP/1.1\r\nHost: x\r\n\r\n",
        b"CONNECT nohostport HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ] {
        let (raw, _) = raw_exchange(&sim, garbage).await;
        let (status, _, body) = split_response(&raw);
        assert!(status == 400 || status == 403, "{garbage:?} -> {status}");
        assert!(
            String::from_utf8_lossy(&body).starts_with("tokworks-sim:"),
            "{garbage:?}"
        );
    }
    let health = get_json(&sim, "/_sim/health").await;
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn direct_requests_outside_the_apis_get_404() {
    let sim = start_sim().await;
    let response = direct_client()
        .get(format!("{}/favicon.ico", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("/_sim/"));
}

#[tokio::test]
async fn refuses_to_listen_on_a_non_loopback_address() {
    let error = start(SimConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..SimConfig::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(error, StartError::NotLoopback(_)));
    assert!(error.to_string().contains("loopback"));
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let sim = start_sim().await;
    let video = &videos(&sim, 1).await[0];
    let url = as_http(&video_url(video));
    let client = proxied_client(&sim);
    for _ in 0..5 {
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    let counters = get_json(&sim, "/_sim/counters").await;
    assert!(
        counters["routes"]["page"].as_u64().unwrap() >= 5,
        "{counters}"
    );
}
