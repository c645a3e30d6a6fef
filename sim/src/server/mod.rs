//! The network front door: `start()` binds one loopback port that is at once an HTTP proxy
//! (plain absolute-form requests and CONNECT tunnels with TLS for TikTok hosts), the control API
//! (`/_sim/`) and the OpenAI-compatible API (`/v1/`). `SimHandle` stops it on drop.

pub mod client_hello;
pub mod connection;
pub mod dispatch;
pub mod http;
pub mod state;
pub mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::control::counters::Counters;
use crate::control::request_log::RequestLog;
use crate::faults::cases::{CaseEntry, all_cases, install_builtin_cases};
use crate::faults::rate_limit::RateLimit;
use crate::faults::{FaultEngine, FaultRuleSpec, LatencyConfig, RuleOrigin};
use crate::openai::OpenAiKnobs;
use crate::site::{SiteOptions, TiktokSite};
use state::SimState;
use tls::{CertificateAuthority, TlsError};

/// 2026-01-01T00:00:00Z: the default frozen "now", so runs are reproducible.
pub const DEFAULT_NOW_UNIX: i64 = 1_767_225_600;
/// Default number of regular videos in the corpus.
pub const DEFAULT_VIDEO_COUNT: usize = 200;
/// Default capacity of the request log ring buffer.
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 100_000;

/// Everything `start()` needs. `SimConfig::default()` listens on `127.0.0.1:0` (a free port).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Loopback address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Seed of the corpus, the challenge nonces and every probabilistic fault decision.
    pub seed: u64,
    /// Number of regular videos in the corpus.
    pub video_count: usize,
    /// Frozen "now" (Unix seconds) for everything the site renders.
    pub now_unix: i64,
    /// Directory with `ca.pem` + `ca.key` (created there when both are missing); `None`: a CA in memory.
    pub ca_dir: Option<PathBuf>,
    /// Global delay before every TikTok answer.
    pub latency_ms: u64,
    /// Deterministic extra delay in `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// Fault rules active from the start (`--fault`).
    pub faults: Vec<FaultRuleSpec>,
    /// Attach one fault to each of 10 spare videos (`GET /_sim/cases`). On by default.
    pub builtin_fault_cases: bool,
    /// Knobs of the OpenAI-compatible API.
    pub openai_knobs: OpenAiKnobs,
    /// Print every request-log entry as a JSON line on stderr.
    pub print_requests: bool,
    /// Entries kept by the request log.
    pub request_log_capacity: usize,
    /// TikTok requests answered per second before 429 (`None`: no limit); one simulator
    /// stands for one proxy's address.
    pub rate_limit_per_second: Option<u32>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: 1,
            video_count: DEFAULT_VIDEO_COUNT,
            now_unix: DEFAULT_NOW_UNIX,
            ca_dir: None,
            latency_ms: 0,
            jitter_ms: 0,
            faults: Vec::new(),
            builtin_fault_cases: true,
            openai_knobs: OpenAiKnobs::default(),
            print_requests: false,
            request_log_capacity: DEFAULT_REQUEST_LOG_CAPACITY,
            rate_limit_per_second: None,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "refusing to listen on {0}: tokworks-sim only binds loopback addresses such as 127.0.0.1"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("certificate authority: {0}")]
    Tls(#[from] TlsError),
    #[error("invalid start-up fault rule: {0}")]
    Fault(#[from] crate::faults::FaultRuleError),
}

/// A running simulator. Dropping it (or `shutdown().await`) stops the listener and every connection.
#[derive(Debug)]
pub struct SimHandle {
    /// The bound address (`127.0.0.1:PORT`).
    pub addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: Option<watch::Sender<bool>>,
    accept_task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`, for `--proxy`, `HTTPS_PROXY` or `reqwest::Proxy::all`.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT`, base of the direct APIs (`/_sim/…`, `/v1/…`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// PEM of the CA that signs the tunnel certificates.
    pub fn ca_pem(&self) -> String {
        self.state.certificates.ca_pem().to_string()
    }

    /// Path of `ca.pem` when the CA lives in `--ca-dir`.
    pub fn ca_path(&self) -> Option<PathBuf> {
        self.state.certificates.ca_path.clone()
    }

    pub fn seed(&self) -> u64 {
        self.state.seed
    }

    /// The TikTok model being served (ground truth for in-process tests).
    pub fn site(&self) -> Arc<TiktokSite> {
        Arc::clone(&self.state.site)
    }

    /// Every status and fault case, as `GET /_sim/cases` lists them.
    pub fn cases(&self) -> Vec<CaseEntry> {
        all_cases(&self.state.site, &self.state.fault_cases)
    }

    /// Sets the per-second request budget (like `POST /_sim/config {rate_limit_per_second}`;
    /// `None` or 0: no limit).
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        self.state.rate_limit.set(per_second);
    }

    /// Adds a fault rule at run time (like `POST /_sim/faults`); returns its id.
    pub fn add_fault(&self, spec: FaultRuleSpec) -> Result<u64, crate::faults::FaultRuleError> {
        spec.validate()?;
        Ok(self.state.faults.add(spec, RuleOrigin::Runtime))
    }

    /// Stops accepting, ends every connection and waits for the listener to close.
    pub async fn shutdown(mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(true);
        }
        if let Some(task) = self.accept_task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(true);
        }
    }
}

/// Starts the simulator on `config.listen` and returns once it accepts connections.
pub async fn start(config: SimConfig) -> Result<SimHandle, StartError> {
    if !config.listen.ip().is_loopback() {
        return Err(StartError::NotLoopback(config.listen));
    }
    for rule in &config.faults {
        rule.validate()?;
    }
    let certificates = match &config.ca_dir {
        Some(dir) => CertificateAuthority::load_or_create(dir)?,
        None => CertificateAuthority::generate()?,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;

    let site = Arc::new(TiktokSite::new(SiteOptions {
        seed: config.seed,
        video_count: config.video_count,
        now_unix: config.now_unix,
    }));
    let faults = FaultEngine::new(
        config.seed,
        LatencyConfig {
            latency_ms: config.latency_ms,
            jitter_ms: config.jitter_ms,
        },
    );
    let fault_cases = if config.builtin_fault_cases {
        install_builtin_cases(&site, &faults)
    } else {
        Vec::new()
    };
    for rule in config.faults {
        faults.add(rule, RuleOrigin::Startup);
    }
    let state = Arc::new(SimState {
        site,
        faults,
        rate_limit: RateLimit::new(config.rate_limit_per_second),
        fault_cases,
        request_log: RequestLog::new(config.request_log_capacity),
        counters: Counters::default(),
        openai_knobs: RwLock::new(config.openai_knobs),
        certificates,
        seed: config.seed,
        video_count: config.video_count,
        now_unix: config.now_unix,
        addr,
        started: Instant::now(),
        print_requests: config.print_requests,
    });

    let (sender, receiver) = watch::channel(false);
    let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&state), receiver));
    Ok(SimHandle {
        addr,
        state,
        shutdown: Some(sender),
        accept_task: Some(accept_task),
    })
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<SimState>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((tcp, _peer)) => {
                let state = Arc::clone(&state);
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = connection::serve_connection(state, tcp) => {}
                        _ = shutdown.changed() => {}
                    }
                });
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}
