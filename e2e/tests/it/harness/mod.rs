//! The end-to-end test harness: one whole tokworks deployment per test — a fresh Postgres
//! database, a private redis-server, the simulator in-process, the api binary and two worker
//! binaries as child processes — torn down when the test ends.

mod api_client;
mod database;
mod processes;
mod sim_control;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use database::TestDatabase;
use processes::free_loopback_port;
pub use processes::{RedisServer, ServiceProcess, workspace_binary};

/// Seed of the simulator's corpus in every test: same videos, same ground truth, every run.
pub const SIM_SEED: u64 = 20_261_122;

/// Lines of each process log printed when a test fails (the whole log stays on disk).
const LOG_TAIL_LINES: usize = 25;

/// How long the api may take to answer `/readyz` after it starts.
const API_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Polls `probe` every 100 ms until it returns `Some`, or panics after `timeout` naming `what`.
/// (Awaiting a condition with a deadline; never a fixed sleep.)
pub async fn await_condition<T, Probe, ProbeFuture>(
    what: &str,
    timeout: Duration,
    mut probe: Probe,
) -> T
where
    Probe: FnMut() -> ProbeFuture,
    ProbeFuture: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Knobs of one deployment.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Names the log directory (`target/tmp/e2e/<test_name>-<id>/`).
    pub test_name: &'static str,
    pub worker_count: usize,
    /// Extra environment of the api (e.g. `ITEM_MAX_ATTEMPTS`).
    pub api_environment: Vec<(String, String)>,
    /// Extra environment of every worker (e.g. `EXTRACT_DEADLINE_SECONDS`).
    pub worker_environment: Vec<(String, String)>,
    /// Regular videos in the simulator's corpus.
    pub sim_video_count: usize,
}

impl ServiceOptions {
    pub fn new(test_name: &'static str) -> ServiceOptions {
        ServiceOptions {
            test_name,
            worker_count: 2,
            api_environment: Vec::new(),
            worker_environment: Vec::new(),
            sim_video_count: tokworks_sim::server::DEFAULT_VIDEO_COUNT,
        }
    }

    /// A simulator corpus of `count` regular videos (default 200).
    pub fn sim_video_count(mut self, count: usize) -> ServiceOptions {
        self.sim_video_count = count;
        self
    }

    pub fn api_env(mut self, key: &str, value: &str) -> ServiceOptions {
        self.api_environment
            .push((key.to_string(), value.to_string()));
        self
    }

    pub fn worker_env(mut self, key: &str, value: &str) -> ServiceOptions {
        self.worker_environment
            .push((key.to_string(), value.to_string()));
        self
    }
}

/// A running deployment. Fields drop in order: processes first, the database last.
pub struct TestService {
    pub http: reqwest::Client,
    pub api_url: String,
    pub api_key: String,
    pub workers: Mutex<Vec<ServiceProcess>>,
    pub api: Mutex<ServiceProcess>,
    pub sim: tokworks_sim::server::SimHandle,
    pub redis: tokio::sync::Mutex<RedisServer>,
    pub database: TestDatabase,
    pub log_directory: PathBuf,
}

impl TestService {
    /// Starts everything and returns once the api answers `/readyz`.
    pub async fn start(options: ServiceOptions) -> TestService {
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let log_directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("e2e")
            .join(format!("{}-{}", options.test_name, &run_id[..8]));
        std::fs::create_dir_all(&log_directory).expect("create the test's log directory");
        eprintln!(
            "e2e {}: logs in {}",
            options.test_name,
            log_directory.display()
        );

        let database = TestDatabase::create().await;
        let redis = RedisServer::start(&log_directory).await;
        let sim = tokworks_sim::server::start(tokworks_sim::server::SimConfig {
            seed: SIM_SEED,
            video_count: options.sim_video_count,
            ..tokworks_sim::server::SimConfig::default()
        })
        .await
        .expect("start the simulator");

        let queue_namespace = format!("e2e{}", &run_id[..12]);
        let api_key = format!("tok_e2e_{run_id}");
        let api_address = format!("127.0.0.1:{}", free_loopback_port());
        let common_environment = vec![
            ("DATABASE_URL".to_string(), database.url.clone()),
            ("REDIS_URL".to_string(), redis.url()),
            ("QUEUE_NAMESPACE".to_string(), queue_namespace.clone()),
            (
                "RUST_LOG".to_string(),
                std::env::var("E2E_RUST_LOG").unwrap_or_else(|_| "info".to_string()),
            ),
        ];

        let mut api_environment = common_environment.clone();
        api_environment.extend([
            ("BIND_ADDR".to_string(), api_address.clone()),
            ("API_KEY".to_string(), api_key.clone()),
            // Per-key limits far above what any test sends (a test may lower them with
            // `api_env`): tests poll and submit faster than a shared service's defaults allow.
            ("KEY_REQUESTS_PER_SECOND".to_string(), "100000".to_string()),
            ("KEY_URLS_PER_MINUTE".to_string(), "10000000".to_string()),
            ("KEY_MAX_ITEMS_IN_FLIGHT".to_string(), "1000000".to_string()),
        ]);
        api_environment.extend(options.api_environment.iter().cloned());
        let api = ServiceProcess::spawn(
            "tokworks-api",
            &workspace_binary("tokworks-api"),
            &["serve"],
            &api_environment,
            log_directory.join("api.log"),
        );

        let worker_binary = workspace_binary("tokworks-worker");
        let workers = (1..=options.worker_count)
            .map(|number| {
                let mut environment = common_environment.clone();
                environment.extend([
                    ("TIKTOK_PROXY_URL".to_string(), sim.proxy_url()),
                    ("TIKTOK_PROXY_INSECURE_TLS".to_string(), "true".to_string()),
                    // One simulator is one proxy: a fault case's 429 must not cool it for long.
                    ("TIKTOK_PROXY_COOLDOWN_SECONDS".to_string(), "1".to_string()),
                    ("YTDLP_PATH".to_string(), ytdlp_path()),
                    ("WORKER_CONCURRENCY".to_string(), "4".to_string()),
                    ("WORKER_NAME".to_string(), format!("w{number}")),
                    // Vision stays unconfigured unless a test sets OPENAI_API_KEY.
                    (
                        "OPENAI_BASE_URL".to_string(),
                        format!("{}/v1", sim.base_url()),
                    ),
                ]);
                // E2E_EXTRACTOR runs the suite on another extractor (`ytdlp`, `web`); unset,
                // the workers use their default (`auto`). A test's own EXTRACTOR wins.
                if let Ok(extractor) = std::env::var("E2E_EXTRACTOR")
                    && !extractor.trim().is_empty()
                {
                    environment.push(("EXTRACTOR".to_string(), extractor.trim().to_string()));
                }
                environment.extend(options.worker_environment.iter().cloned());
                ServiceProcess::spawn(
                    &format!("tokworks-worker w{number}"),
                    &worker_binary,
                    &[],
                    &environment,
                    log_directory.join(format!("worker-w{number}.log")),
                )
            })
            .collect();

        let service = TestService {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("build an HTTP client"),
            api_url: format!("http://{api_address}"),
            api_key,
            workers: Mutex::new(workers),
            api: Mutex::new(api),
            sim,
            redis: tokio::sync::Mutex::new(redis),
            database,
            log_directory,
        };
        service.await_api_ready().await;
        service
    }

    async fn await_api_ready(&self) {
        let readyz = format!("{}/readyz", self.api_url);
        await_condition(
            "the api to answer 200 on /readyz",
            API_READY_TIMEOUT,
            || {
                self.assert_processes_running();
                let request = self
                    .http
                    .get(&readyz)
                    .timeout(Duration::from_secs(2))
                    .send();
                async move {
                    request
                        .await
                        .ok()
                        .filter(|response| response.status().is_success())
                        .map(|_| ())
                }
            },
        )
        .await;
    }

    /// Panics, naming the log, when the api or a worker has exited.
    pub fn assert_processes_running(&self) {
        self.api.lock().expect("api lock").assert_running();
        for worker in self.workers.lock().expect("workers lock").iter_mut() {
            worker.assert_running();
        }
    }

    /// `kill -9` of worker `index` (0-based); returns once it is gone.
    pub async fn kill_worker_hard(&self, index: usize) {
        self.workers.lock().expect("workers lock")[index].send_kill();
        await_condition("the killed worker to exit", Duration::from_secs(10), || {
            let exited = self.workers.lock().expect("workers lock")[index]
                .exit_status()
                .is_some();
            async move { exited.then_some(()) }
        })
        .await;
    }

    /// Pids of the worker processes, in start order.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.workers
            .lock()
            .expect("workers lock")
            .iter()
            .map(ServiceProcess::pid)
            .collect()
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.log_directory);
            return;
        }
        eprintln!(
            "\n==== e2e failure: process logs kept in {} ====",
            self.log_directory.display()
        );
        let mut processes: Vec<(String, String, PathBuf)> = Vec::new();
        if let Ok(api) = self.api.lock() {
            processes.push((
                api.name.clone(),
                api.log_tail(LOG_TAIL_LINES),
                api.log_path.clone(),
            ));
        }
        if let Ok(workers) = self.workers.lock() {
            for worker in workers.iter() {
                processes.push((
                    worker.name.clone(),
                    worker.log_tail(LOG_TAIL_LINES),
                    worker.log_path.clone(),
                ));
            }
        }
        for (name, tail, path) in processes {
            eprintln!("---- {name}: last lines of {} ----\n{tail}", path.display());
        }
    }
}

/// The pinned yt-dlp: `YTDLP_PATH` if set, else the venv scripts/install-ytdlp.sh creates.
pub fn ytdlp_path() -> String {
    std::env::var("YTDLP_PATH").unwrap_or_else(|_| {
        let repository_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let path = repository_root.join(".venv/ytdlp/bin/yt-dlp");
        assert!(
            path.is_file(),
            "{} not found: run scripts/install-ytdlp.sh first",
            path.display()
        );
        path.canonicalize()
            .expect("canonical yt-dlp path")
            .display()
            .to_string()
    })
}
