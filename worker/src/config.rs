//! The worker's configuration: every setting comes from the environment (or the matching flag),
//! and `tokworks-worker --help` lists them all.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use tokworks_shared::config::{DatabaseArgs, RedisArgs, WebhookGuardArgs};

use crate::egress::EgressSettings;

/// Which extractor fetches single videos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExtractorKind {
    /// The native web client first; an item it ends with a code another client could change
    /// (UPSTREAM_CHANGED, UPSTREAM_BLOCKED) is retried at once with yt-dlp (default).
    Auto,
    /// A pool of long-lived yt-dlp helper processes only.
    Ytdlp,
    /// tokworks' own web client only: fetches and parses the TikTok page natively (no Python).
    Web,
}

/// Which built-in signer feed requests use when TIKTOK_SIGNER_URL is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuiltInSignerKind {
    /// An `X-Bogus`-shaped signature (enough for the simulator; real TikTok needs a sign server).
    Builtin,
    /// Unsigned: TikTok answers the signed feed endpoints with an empty 200 (UPSTREAM_EMPTY).
    None,
}

/// tokworks-worker: runs extraction tasks from Redis and stores results in Postgres.
#[derive(Debug, Clone, Parser)]
#[command(name = "tokworks-worker", version, about)]
pub struct WorkerConfig {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub redis: RedisArgs,

    /// Proxy for all TikTok traffic (pages, CDN), e.g. http://user:pass@host:port: a pool of one
    /// (TIKTOK_PROXY_URLS wins when both are set).
    #[arg(long, env = "TIKTOK_PROXY_URL", hide_env_values = true)]
    pub tiktok_proxy_url: Option<SecretString>,

    /// A pool of proxies for TikTok traffic, comma-separated: each item keeps one proxy for all
    /// its requests; a proxy TikTok answers with 403, 429 or a WAF wall cools down (see
    /// TIKTOK_PROXY_COOLDOWN_SECONDS) and is skipped meanwhile.
    #[arg(long, env = "TIKTOK_PROXY_URLS", hide_env_values = true)]
    pub tiktok_proxy_urls: Option<SecretString>,

    /// First cooldown of a proxy TikTok refused, in seconds; it doubles with every refusal in a
    /// row (at most 30 minutes) and resets after a good answer.
    #[arg(long, env = "TIKTOK_PROXY_COOLDOWN_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub tiktok_proxy_cooldown_seconds: u64,

    /// Accept any TLS certificate from TikTok hosts: for proxies that re-sign TLS (ScraperAPI,
    /// the simulator). Never needed without a proxy.
    #[arg(
        long,
        env = "TIKTOK_PROXY_INSECURE_TLS",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub tiktok_proxy_insecure_tls: bool,

    /// ScraperAPI key: shortcut for TIKTOK_PROXY_URL=http://scraperapi:KEY@proxy-server.scraperapi.com:8001
    /// with TIKTOK_PROXY_INSECURE_TLS=true (ScraperAPI re-signs TLS). TIKTOK_PROXY_URL wins if both are set.
    #[arg(long, env = "SCRAPERAPI_KEY", hide_env_values = true)]
    pub scraperapi_key: Option<SecretString>,

    /// The yt-dlp script (its `#!` line names the Python that has yt_dlp), or a name on PATH.
    #[arg(long, env = "YTDLP_PATH", default_value = "yt-dlp")]
    pub ytdlp_path: String,

    /// Python interpreter that can `import yt_dlp`; overrides the one read from YTDLP_PATH.
    #[arg(long, env = "YTDLP_PYTHON")]
    pub ytdlp_python: Option<PathBuf>,

    /// Single-video extractor.
    #[arg(long, env = "EXTRACTOR", value_enum, default_value = "auto")]
    pub extractor: ExtractorKind,

    /// Items in flight at once in this process (async I/O: an item waits for a yt-dlp helper
    /// only while it needs one).
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_concurrency: u16,

    /// Long-lived yt-dlp helper processes of this process (EXTRACTOR=ytdlp, and the fallback of
    /// EXTRACTOR=auto; none are started with EXTRACTOR=web).
    #[arg(long, env = "YTDLP_HELPERS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub ytdlp_helpers: u16,

    /// Requests per second to each TikTok host (pages, short links, feeds, covers, subtitles)
    /// shared by ALL workers of this Redis and QUEUE_NAMESPACE; the native client waits for a
    /// token (up to 10 s, then UPSTREAM_RATE_LIMITED, retried). Unset: unlimited.
    #[arg(long, env = "TIKTOK_MAX_REQUESTS_PER_SECOND", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub tiktok_max_requests_per_second: Option<u32>,

    /// Tasks the dispatcher keeps waiting in Redis, taken round-robin across API keys from the
    /// backlog in Postgres (docs/fair-scheduling.md); 0 = twice the summed WORKER_CONCURRENCY of
    /// the live workers. Smaller: fairer and quicker for a newcomer key; too small: idle slots.
    #[arg(long, env = "DISPATCH_WINDOW", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub dispatch_window: u32,

    /// Videos longer than this fail with VIDEO_TOO_LONG (0 = no limit).
    #[arg(long, env = "MAX_VIDEO_DURATION_SECONDS", default_value_t = 600)]
    pub max_video_duration_seconds: u32,

    /// A video fetched less than this long ago is served from Postgres (cache_hit) unless the
    /// job asks for `refresh` (0 = never use the cache).
    #[arg(long, env = "CACHE_TTL_SECONDS", default_value_t = 3600)]
    pub cache_ttl_seconds: u64,

    /// Finished jobs older than this many days are expired: their items, stage timings,
    /// executions and finished webhook deliveries are deleted and `GET /v1/jobs/{id}` answers
    /// 410 JOB_EXPIRED; the job row itself is deleted as many days later. Unreferenced videos and
    /// feed walks older than this go too (docs/retention.md; 0 = keep forever).
    #[arg(long, env = "RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub retention_days: u32,

    /// Stored thumbnail (cover) bytes and raw TikTok items of videos fetched more than this many
    /// days ago are deleted (never less than CACHE_TTL_SECONDS + 1 h; 0 = keep forever).
    #[arg(long, env = "THUMBNAIL_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub thumbnail_retention_days: u32,

    /// Overall deadline of one extraction; the yt-dlp helper is killed (or the web extractor's
    /// requests dropped) when it passes.
    #[arg(long, env = "EXTRACT_DEADLINE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub extract_deadline_seconds: u64,

    /// Prefix of this process's worker name; host, pid and a ULID are always appended.
    #[arg(long, env = "WORKER_NAME", default_value = "worker")]
    pub worker_name: String,

    #[command(flatten)]
    pub webhook_guard: WebhookGuardArgs,

    /// Delays between webhook attempts, in seconds, comma-separated (±10 % jitter); one more
    /// attempt than delays. A receiver's Retry-After replaces the delay (at most 24 h).
    #[arg(
        long,
        env = "WEBHOOK_RETRY_SCHEDULE_SECONDS",
        value_delimiter = ',',
        default_value = "5,300,1800,7200,18000,36000,36000"
    )]
    pub webhook_retry_schedule_seconds: Vec<u64>,

    /// A real `msToken` cookie value for feed requests (else the one TikTok sets is used).
    #[arg(long, env = "TIKTOK_MS_TOKEN", hide_env_values = true)]
    pub tiktok_ms_token: Option<SecretString>,

    /// External sign server for feed requests (a carcabot/tiktok-signature `POST` endpoint);
    /// when set it replaces TIKTOK_SIGNER.
    #[arg(long, env = "TIKTOK_SIGNER_URL")]
    pub tiktok_signer_url: Option<String>,

    /// Signer of feed requests when TIKTOK_SIGNER_URL is not set.
    #[arg(long, env = "TIKTOK_SIGNER", value_enum, default_value = "builtin")]
    pub tiktok_signer: BuiltInSignerKind,

    /// Largest `count` a feed walk gathers (larger requests are capped).
    #[arg(long, env = "FEED_MAX_COUNT", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub feed_max_count: u32,

    /// Feed walks (trending, hashtag, user) run at once by this process.
    #[arg(long, env = "FEED_WALK_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub feed_walk_concurrency: u16,

    /// Overall deadline of one feed walk, in seconds (then it stops with EXTRACTOR_TIMEOUT).
    #[arg(long, env = "FEED_DEADLINE_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub feed_deadline_seconds: u64,

    #[command(flatten)]
    pub watches: crate::background::watch_scheduler::WatchArgs,

    /// Timeout of one webhook request (connect, send, response), in seconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout_seconds: u64,

    /// Folder holding thumbnail_analysis/{en.yaml,id.yaml,schema.json}; loaded and checked at
    /// start (a broken file stops the worker). Default: the repository's prompts/.
    #[arg(long, env = "PROMPTS_DIR", default_value_os_t = crate::thumbnail_analysis::prompts::default_prompts_dir())]
    pub prompts_dir: PathBuf,

    /// Key of the OpenAI-compatible vision API. Unset or empty: requested thumbnail analyses
    /// fail with THUMBNAIL_ANALYSIS_FAILED ("vision is not configured").
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<SecretString>,

    /// Base URL of the OpenAI-compatible API (`/chat/completions` is appended).
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,

    /// Vision model of thumbnail analyses (recorded with every result).
    #[arg(long, env = "VISION_MODEL", default_value = "gpt-4o-mini")]
    pub vision_model: String,

    /// Vision calls in flight at once across ALL workers sharing this Redis and QUEUE_NAMESPACE.
    #[arg(long, env = "VISION_MAX_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub vision_max_concurrency: u32,

    /// Deadline of one item's thumbnail analysis (retries and waits included), in seconds.
    #[arg(long, env = "VISION_DEADLINE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub vision_deadline_seconds: u64,

    #[command(flatten)]
    pub observability: crate::observability::ObservabilityArgs,
}

impl WorkerConfig {
    /// The effective egress: the pool of TIKTOK_PROXY_URLS, else TIKTOK_PROXY_URL, else
    /// ScraperAPI's endpoint (with insecure TLS, as ScraperAPI re-signs TLS), else direct.
    pub fn egress_settings(&self) -> EgressSettings {
        let cooldown = Duration::from_secs(self.tiktok_proxy_cooldown_seconds);
        let pool: Vec<String> = self
            .tiktok_proxy_urls
            .as_ref()
            .map(|urls| {
                urls.expose_secret()
                    .split(',')
                    .map(str::trim)
                    .filter(|url| !url.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let (proxy_urls, insecure_tls) = if !pool.is_empty() {
            (pool, self.tiktok_proxy_insecure_tls)
        } else if let Some(proxy_url) = &self.tiktok_proxy_url {
            (
                vec![proxy_url.expose_secret().to_owned()],
                self.tiktok_proxy_insecure_tls,
            )
        } else if let Some(key) = &self.scraperapi_key {
            let url = format!(
                "http://scraperapi:{}@proxy-server.scraperapi.com:8001",
                key.expose_secret()
            );
            (vec![url], true)
        } else {
            (Vec::new(), self.tiktok_proxy_insecure_tls)
        };
        EgressSettings {
            proxy_urls,
            insecure_tls,
            proxy_cooldown: cooldown,
        }
    }

    /// The feed client's settings: msToken, signer, limits (the egress is shared).
    pub fn tiktok_web_settings(&self) -> crate::tiktok_web::TiktokWebSettings {
        let signer = match (&self.tiktok_signer_url, self.tiktok_signer) {
            (Some(url), _) if !url.trim().is_empty() => crate::tiktok_web::SignerChoice::External {
                url: url.trim().to_owned(),
            },
            (_, BuiltInSignerKind::Builtin) => crate::tiktok_web::SignerChoice::BuiltIn,
            (_, BuiltInSignerKind::None) => crate::tiktok_web::SignerChoice::None,
        };
        crate::tiktok_web::TiktokWebSettings {
            ms_token: self
                .tiktok_ms_token
                .as_ref()
                .map(|token| token.expose_secret().to_owned()),
            signer,
            request_timeout: Duration::from_secs(20),
            deadline: Duration::from_secs(self.feed_deadline_seconds),
            max_count: usize::try_from(self.feed_max_count).unwrap_or(500),
        }
    }

    pub fn extract_deadline(&self) -> Duration {
        Duration::from_secs(self.extract_deadline_seconds)
    }

    pub fn concurrency(&self) -> usize {
        usize::from(self.worker_concurrency)
    }

    /// Number of yt-dlp helper processes (YTDLP_HELPERS).
    pub fn ytdlp_helpers(&self) -> usize {
        usize::from(self.ytdlp_helpers)
    }

    /// The thumbnail analyzer's settings (an empty OPENAI_API_KEY counts as unset).
    pub fn analyzer_settings(&self) -> crate::thumbnail_analysis::AnalyzerSettings {
        crate::thumbnail_analysis::AnalyzerSettings {
            openai_base_url: self.openai_base_url.clone(),
            openai_api_key: self
                .openai_api_key
                .clone()
                .filter(|key| !key.expose_secret().trim().is_empty()),
            vision_model: self.vision_model.clone(),
            max_concurrency: self.vision_max_concurrency,
            deadline: Duration::from_secs(self.vision_deadline_seconds),
        }
    }

    /// The retention loop's settings (RETENTION_DAYS, THUMBNAIL_RETENTION_DAYS).
    pub fn retention_settings(&self) -> crate::background::retention::RetentionSettings {
        crate::background::retention::RetentionSettings::from_days(
            self.retention_days,
            self.thumbnail_retention_days,
            Duration::from_secs(self.cache_ttl_seconds),
        )
    }

    /// The webhook deliverer's settings.
    pub fn delivery_settings(&self) -> crate::background::webhook_deliverer::DeliverySettings {
        crate::background::webhook_deliverer::DeliverySettings {
            policy: self.webhook_guard.policy(),
            retry_schedule: self
                .webhook_retry_schedule_seconds
                .iter()
                .map(|seconds| Duration::from_secs(*seconds))
                .collect(),
            timeout: Duration::from_secs(self.webhook_timeout_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> WorkerConfig {
        let mut all = vec![
            "tokworks-worker",
            "--database-url",
            "postgres://x",
            "--redis-url",
            "redis://x",
        ];
        all.extend_from_slice(args);
        WorkerConfig::try_parse_from(all).unwrap()
    }

    #[test]
    fn scraperapi_key_sets_proxy_and_insecure_tls() {
        let config = parse(&["--scraperapi-key", "k123"]);
        let settings = config.egress_settings();
        assert_eq!(
            settings.proxy_urls,
            ["http://scraperapi:k123@proxy-server.scraperapi.com:8001"]
        );
        assert!(settings.insecure_tls);
        assert_eq!(settings.proxy_cooldown, Duration::from_secs(60));
    }

    #[test]
    fn a_proxy_pool_wins_over_a_single_proxy_and_a_single_proxy_is_a_pool_of_one() {
        let pool = parse(&[
            "--tiktok-proxy-urls",
            " http://a:1@127.0.0.1:9001 ,, http://127.0.0.1:9002",
            "--tiktok-proxy-url",
            "http://127.0.0.1:9",
            "--tiktok-proxy-cooldown-seconds",
            "5",
        ])
        .egress_settings();
        assert_eq!(
            pool.proxy_urls,
            ["http://a:1@127.0.0.1:9001", "http://127.0.0.1:9002"]
        );
        assert_eq!(pool.proxy_cooldown, Duration::from_secs(5));
        let single = parse(&["--tiktok-proxy-url", "http://127.0.0.1:9"]).egress_settings();
        assert_eq!(single.proxy_urls, ["http://127.0.0.1:9"]);
        assert!(parse(&[]).egress_settings().proxy_urls.is_empty());
    }

    #[test]
    fn explicit_proxy_wins_over_scraperapi() {
        let config = parse(&[
            "--scraperapi-key",
            "k",
            "--tiktok-proxy-url",
            "http://127.0.0.1:9",
            "--tiktok-proxy-insecure-tls",
            "true",
        ]);
        assert_eq!(config.egress_settings().proxy_urls, ["http://127.0.0.1:9"]);
        assert!(config.egress_settings().insecure_tls);
    }

    #[test]
    fn webhook_defaults_follow_svix() {
        let settings = parse(&[]).delivery_settings();
        assert_eq!(settings.retry_schedule.len(), 7);
        assert_eq!(settings.retry_schedule[1], Duration::from_secs(300));
        assert_eq!(settings.timeout, Duration::from_secs(15));
        assert!(!settings.policy.allow_private_networks);
        let custom = parse(&["--webhook-retry-schedule-seconds", "1,1,1,1"]).delivery_settings();
        assert_eq!(custom.retry_schedule, vec![Duration::from_secs(1); 4]);
    }

    #[test]
    fn feed_signer_is_builtin_by_default_and_external_with_a_url() {
        use crate::tiktok_web::SignerChoice;
        assert_eq!(
            parse(&[]).tiktok_web_settings().signer,
            SignerChoice::BuiltIn
        );
        assert_eq!(
            parse(&["--tiktok-signer", "none"])
                .tiktok_web_settings()
                .signer,
            SignerChoice::None
        );
        let external = parse(&[
            "--tiktok-signer",
            "none",
            "--tiktok-signer-url",
            "http://127.0.0.1:8080/signature",
        ])
        .tiktok_web_settings();
        assert_eq!(
            external.signer,
            SignerChoice::External {
                url: "http://127.0.0.1:8080/signature".to_owned()
            }
        );
        let with_proxy = parse(&[
            "--tiktok-proxy-url",
            "http://127.0.0.1:9",
            "--tiktok-ms-token",
            "tok",
            "--feed-max-count",
            "50",
        ])
        .tiktok_web_settings();
        assert_eq!(with_proxy.ms_token.as_deref(), Some("tok"));
        assert_eq!(with_proxy.max_count, 50);
    }

    #[test]
    fn vision_defaults_and_an_empty_key_means_not_configured() {
        let settings = parse(&[]).analyzer_settings();
        assert_eq!(settings.openai_base_url, "https://api.openai.com/v1");
        assert_eq!(settings.vision_model, "gpt-4o-mini");
        assert_eq!(settings.max_concurrency, 4);
        assert_eq!(settings.deadline, Duration::from_secs(60));
        assert!(settings.openai_api_key.is_none());
        assert!(
            parse(&["--openai-api-key", " "])
                .analyzer_settings()
                .openai_api_key
                .is_none()
        );
        assert!(
            parse(&["--openai-api-key", "sk-1"])
                .analyzer_settings()
                .openai_api_key
                .is_some()
        );
    }

    #[test]
    fn retention_defaults_to_30_days_and_0_keeps_forever() {
        let settings = parse(&[]).retention_settings();
        assert_eq!(
            settings.job_retention,
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(
            settings.thumbnail_retention,
            Some(Duration::from_secs(30 * 86_400))
        );
        let off = parse(&["--retention-days", "0", "--thumbnail-retention-days", "0"])
            .retention_settings();
        assert_eq!((off.job_retention, off.thumbnail_retention), (None, None));
    }

    #[test]
    fn extractor_defaults_to_auto_and_accepts_ytdlp_and_web() {
        assert_eq!(parse(&[]).extractor, ExtractorKind::Auto);
        assert_eq!(parse(&["--extractor", "web"]).extractor, ExtractorKind::Web);
        assert_eq!(
            parse(&["--extractor", "ytdlp"]).extractor,
            ExtractorKind::Ytdlp
        );
    }

    #[test]
    fn items_in_flight_are_sized_apart_from_helpers() {
        let defaults = parse(&[]);
        assert_eq!((defaults.concurrency(), defaults.ytdlp_helpers()), (64, 2));
        assert_eq!(defaults.tiktok_max_requests_per_second, None);
        let custom = parse(&[
            "--worker-concurrency",
            "8",
            "--ytdlp-helpers",
            "3",
            "--tiktok-max-requests-per-second",
            "20",
        ]);
        assert_eq!((custom.concurrency(), custom.ytdlp_helpers()), (8, 3));
        assert_eq!(custom.tiktok_max_requests_per_second, Some(20));
    }

    #[test]
    fn help_lists_every_environment_variable() {
        let help = <WorkerConfig as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        for name in [
            "DATABASE_URL",
            "REDIS_URL",
            "QUEUE_NAMESPACE",
            "TIKTOK_PROXY_URL",
            "TIKTOK_PROXY_URLS",
            "TIKTOK_PROXY_COOLDOWN_SECONDS",
            "TIKTOK_PROXY_INSECURE_TLS",
            "SCRAPERAPI_KEY",
            "YTDLP_PATH",
            "YTDLP_PYTHON",
            "EXTRACTOR",
            "WORKER_CONCURRENCY",
            "YTDLP_HELPERS",
            "TIKTOK_MAX_REQUESTS_PER_SECOND",
            "MAX_VIDEO_DURATION_SECONDS",
            "CACHE_TTL_SECONDS",
            "RETENTION_DAYS",
            "THUMBNAIL_RETENTION_DAYS",
            "EXTRACT_DEADLINE_SECONDS",
            "WORKER_NAME",
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
            "WEBHOOK_ALLOWED_PORTS",
            "WEBHOOK_RETRY_SCHEDULE_SECONDS",
            "WEBHOOK_TIMEOUT_SECONDS",
            "TIKTOK_MS_TOKEN",
            "TIKTOK_SIGNER_URL",
            "TIKTOK_SIGNER",
            "FEED_MAX_COUNT",
            "FEED_WALK_CONCURRENCY",
            "FEED_DEADLINE_SECONDS",
            "PROMPTS_DIR",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "VISION_MODEL",
            "VISION_MAX_CONCURRENCY",
            "VISION_DEADLINE_SECONDS",
        ] {
            assert!(help.contains(name), "--help does not mention {name}");
        }
    }
}
