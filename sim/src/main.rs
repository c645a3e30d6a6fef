//! tokworks-sim command line: parses the knobs, starts the simulator, prints
//! `listening on http://127.0.0.1:PORT` as its first line and runs until Ctrl-C or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokworks_sim::faults::FaultRuleSpec;
use tokworks_sim::openai::OpenAiKnobs;
use tokworks_sim::server::{DEFAULT_NOW_UNIX, DEFAULT_VIDEO_COUNT};
use tokworks_sim::{SimConfig, start};

const AFTER_HELP: &str = "\
ONE PORT, THREE ROLES
  * HTTP proxy for TikTok hosts only: `CONNECT www.tiktok.com:443` is answered with
    `200 Connection Established` and TLS terminated with a certificate for that host, signed by the
    simulator's CA (`GET /_sim/ca.pem`); plain `GET http://www.tiktok.com/...` works too. Any other
    host gets `403 tokworks-sim: host not allowed`. Nothing is ever forwarded upstream.
  * Control API under /_sim/ (health, ca.pem, requests, counters, reset, faults, config, videos,
    cases, openai/knobs).
  * OpenAI-compatible API under /v1/ (POST /v1/chat/completions).

FAULT RULES (--fault, repeatable, or POST /_sim/faults)
  {\"match\": {\"video_id\": \"7454730070402848956\"} | {\"path_prefix\": \"/api/\"} | {\"host\": \"vm.tiktok.com\"} | {\"all\": true},
   \"fault\": \"latency\" | \"http_429\" | \"http_403\" | \"http_500\" | \"http_503\" | \"empty_200\" | \"reset\" |
            \"hang\" | \"truncate\" | \"challenge\" | \"login_wall\" |
            \"layout_change\" (HTML pages lose the rehydration script; JSON feed answers keep
            statusCode 0 but their items lose `id`/`author`) |
            \"malformed_vtt\" (subtitle files served as SubRip),
   \"latency_ms\": 0, \"jitter_ms\": 0, \"retry_after_secs\": 30, \"probability\": 1.0, \"times\": N}
  Probabilistic rules decide with a hash of (seed, rule, path, per-path counter): same seed and
  rules, same behaviour.

EXAMPLES
  tokworks-sim --listen 127.0.0.1:0 --seed 7 --videos 1000
  tokworks-sim --listen 127.0.0.1:8899 --ca-dir ./sim-ca --latency-ms 150 --jitter-ms 50
  tokworks-sim --fault '{\"match\":{\"path_prefix\":\"/api/\"},\"fault\":\"http_429\",\"probability\":0.2,\"retry_after_secs\":5}'
  yt-dlp -J --proxy http://127.0.0.1:8899 --no-check-certificates --ies tiktok,vm.tiktok -- URL
  curl -x http://127.0.0.1:8899 -k https://www.tiktok.com/@user/video/ID
  curl http://127.0.0.1:8899/_sim/cases";

/// Offline TikTok + OpenAI-compatible simulator behind one HTTP proxy port on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "tokworks-sim", version, about, long_about = None, after_long_help = AFTER_HELP)]
struct Cli {
    /// Loopback address to listen on; port 0 picks a free port (printed on the first line).
    #[arg(long, env = "TOKWORKS_SIM_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Seed of the synthetic corpus, challenge nonces and probabilistic faults.
    #[arg(long, env = "TOKWORKS_SIM_SEED", default_value_t = 1)]
    seed: u64,

    /// Number of regular (public, valid) videos in the corpus.
    #[arg(long, env = "TOKWORKS_SIM_VIDEOS", default_value_t = DEFAULT_VIDEO_COUNT)]
    videos: usize,

    /// Frozen "now" in Unix seconds for every timestamp the site renders (default 2026-01-01).
    #[arg(long, env = "TOKWORKS_SIM_NOW", default_value_t = DEFAULT_NOW_UNIX)]
    now: i64,

    /// Directory holding ca.pem and ca.key; both are created there when missing. Without it a fresh
    /// CA lives in memory (fetch it from GET /_sim/ca.pem).
    #[arg(long, env = "TOKWORKS_SIM_CA_DIR")]
    ca_dir: Option<PathBuf>,

    /// Global delay in milliseconds before every TikTok answer.
    #[arg(long, env = "TOKWORKS_SIM_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,

    /// Deterministic extra delay in 0..=JITTER milliseconds on top of --latency-ms.
    #[arg(long, env = "TOKWORKS_SIM_JITTER_MS", default_value_t = 0)]
    jitter_ms: u64,

    /// A fault rule as JSON (repeatable); see FAULT RULES below.
    #[arg(long = "fault", value_name = "RULE_JSON", value_parser = parse_fault)]
    faults: Vec<FaultRuleSpec>,

    /// Do not attach the 10 built-in fault cases to spare videos.
    #[arg(long)]
    no_builtin_faults: bool,

    /// Bearer key the OpenAI-compatible API accepts (default: any non-empty key).
    #[arg(long, env = "TOKWORKS_SIM_OPENAI_KEY")]
    openai_key: Option<String>,

    /// Print every request-log entry as a JSON line on stderr.
    #[arg(long)]
    log_requests: bool,

    /// TikTok requests answered per second before 429 (one simulator stands for one proxy's
    /// address; 0 = no limit).
    #[arg(long, default_value_t = 0)]
    rate_limit_per_second: u32,
}

fn parse_fault(text: &str) -> Result<FaultRuleSpec, String> {
    FaultRuleSpec::from_json(text).map_err(|error| error.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();

    let openai_knobs = OpenAiKnobs {
        api_key: cli.openai_key,
        ..OpenAiKnobs::default()
    };
    let config = SimConfig {
        listen: cli.listen,
        seed: cli.seed,
        video_count: cli.videos,
        now_unix: cli.now,
        ca_dir: cli.ca_dir,
        latency_ms: cli.latency_ms,
        jitter_ms: cli.jitter_ms,
        faults: cli.faults,
        builtin_fault_cases: !cli.no_builtin_faults,
        openai_knobs,
        print_requests: cli.log_requests,
        rate_limit_per_second: Some(cli.rate_limit_per_second).filter(|limit| *limit > 0),
        ..SimConfig::default()
    };
    // Listen for the stop signals before announcing the port: a supervisor (or a test) may send
    // SIGTERM as soon as it has read the first line.
    let stop_signal = StopSignal::install();
    let handle = match start(config).await {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("tokworks-sim: {error}");
            return ExitCode::FAILURE;
        }
    };

    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}", handle.base_url());
    match handle.ca_path() {
        Some(path) => {
            let _ = writeln!(stdout, "ca: {}", path.display());
        }
        None => {
            let _ = writeln!(stdout, "ca: inline (GET {}/_sim/ca.pem)", handle.base_url());
        }
    }
    let _ = writeln!(stdout, "seed: {}", handle.seed());
    let _ = stdout.flush();
    drop(stdout);

    stop_signal.wait().await;
    handle.shutdown().await;
    ExitCode::SUCCESS
}

/// SIGTERM and Ctrl-C, registered when created (not when first awaited).
struct StopSignal {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl StopSignal {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignal {
                terminate: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            StopSignal {}
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            let StopSignal {
                terminate,
                interrupt,
            } = self;
            match (terminate, interrupt) {
                (Some(mut terminate), Some(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                (Some(mut terminate), None) => {
                    terminate.recv().await;
                }
                (None, Some(mut interrupt)) => {
                    interrupt.recv().await;
                }
                (None, None) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
