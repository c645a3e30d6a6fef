//! Micro-benchmark: starts the simulator in-process and hammers video pages through its proxy port
//! with N concurrent keep-alive clients for a few seconds, then prints pages/s.
//!
//! `cargo run --release -p tokworks-sim --example page_throughput -- --clients 16 --seconds 5 [--tls]`
//!
//! Plain mode sends absolute-form `GET http://www.tiktok.com/@u/video/ID` requests (the proxy's
//! plain path); `--tls` opens one CONNECT tunnel per client and sends the requests over TLS.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokworks_sim::{SimConfig, start};

#[derive(Debug, Parser)]
#[command(about = "Pages per second through the tokworks-sim proxy")]
struct Args {
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Measurement duration.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Videos in the corpus (the clients cycle through the first 200).
    #[arg(long, default_value_t = 1_000)]
    videos: usize,
    /// Go through CONNECT + TLS instead of plain absolute-form requests.
    #[arg(long)]
    tls: bool,
}

/// Accepts any certificate: the benchmark measures throughput, not verification.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Reads one response and returns its status; the body is consumed by `Content-Length`.
async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
) -> anyhow::Result<u16> {
    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
        let mut chunk = [0u8; 16 * 1024];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("connection closed");
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = std::str::from_utf8(&buffer[..head_end])?;
    let status: u16 = head.get(9..12).context("status line")?.parse()?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .context("content-length")?
        .parse()?;
    while buffer.len() < head_end + length {
        let mut chunk = [0u8; 64 * 1024];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("connection closed inside a body");
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    buffer.drain(..head_end + length);
    Ok(status)
}

async fn hammer<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    requests: Arc<Vec<Vec<u8>>>,
    offset: usize,
    stop: Arc<AtomicBool>,
    pages: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let mut buffer = Vec::with_capacity(256 * 1024);
    let mut index = offset;
    while !stop.load(Ordering::Relaxed) {
        stream.write_all(&requests[index % requests.len()]).await?;
        let status = read_response(&mut stream, &mut buffer).await?;
        if status != 200 {
            bail!("status {status}");
        }
        pages.fetch_add(1, Ordering::Relaxed);
        index += 1;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sim = start(SimConfig {
        video_count: args.videos,
        builtin_fault_cases: false,
        ..SimConfig::default()
    })
    .await?;
    let urls: Vec<String> = sim
        .site()
        .ground_truth_videos(0, 200)
        .iter()
        .filter_map(|video| video["canonical_url"].as_str().map(str::to_string))
        .collect();
    if urls.is_empty() {
        bail!("the corpus has no videos");
    }
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        urls.iter()
            .map(|url| {
                let target = if args.tls {
                    url.trim_start_matches("https://www.tiktok.com").to_string()
                } else {
                    url.replacen("https://", "http://", 1)
                };
                format!(
                    "GET {target} HTTP/1.1\r\nHost: www.tiktok.com\r\nUser-Agent: Mozilla/5.0 bench\r\n\
                     Accept: text/html\r\n\r\n"
                )
                .into_bytes()
            })
            .collect(),
    );
    let page_size = {
        let mut stream = TcpStream::connect(sim.addr).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: www.tiktok.com\r\nConnection: close\r\n\r\n",
            urls[0].replacen("https://", "http://", 1)
        );
        stream.write_all(request.as_bytes()).await?;
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await?;
        all.len()
    };

    let stop = Arc::new(AtomicBool::new(false));
    let pages = Arc::new(AtomicU64::new(0));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
    );
    let mut workers = Vec::new();
    for client in 0..args.clients {
        let mut tcp = TcpStream::connect(sim.addr).await?;
        tcp.set_nodelay(true)?;
        let (requests, stop, pages) =
            (Arc::clone(&requests), Arc::clone(&stop), Arc::clone(&pages));
        if args.tls {
            tcp.write_all(
                b"CONNECT www.tiktok.com:443 HTTP/1.1\r\nHost: www.tiktok.com:443\r\n\r\n",
            )
            .await?;
            let mut buffer = Vec::new();
            while !buffer.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                if tcp.read(&mut byte).await? == 0 {
                    bail!("CONNECT refused");
                }
                buffer.push(byte[0]);
            }
            let name = ServerName::try_from("www.tiktok.com")?;
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&tls_config))
                .connect(name, tcp)
                .await?;
            workers.push(tokio::spawn(hammer(tls, requests, client * 7, stop, pages)));
        } else {
            workers.push(tokio::spawn(hammer(tcp, requests, client * 7, stop, pages)));
        }
    }
    let started = Instant::now();
    let measure = Duration::from_secs(args.seconds);
    tokio::time::sleep(measure).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let served = pages.load(Ordering::Relaxed);
    for worker in workers {
        worker.await??;
    }
    let rate = served as f64 / elapsed.as_secs_f64();
    println!(
        "mode={} clients={} seconds={:.1} pages={served} page_bytes~{page_size} pages_per_sec={rate:.0} MB_per_sec={:.1}",
        if args.tls { "tls" } else { "plain" },
        args.clients,
        elapsed.as_secs_f64(),
        rate * page_size as f64 / 1e6,
    );
    sim.shutdown().await;
    Ok(())
}
