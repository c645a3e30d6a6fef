//! Command line and environment of `tokworks-api`: `serve` (default), `migrate`, `keys …`.

use std::net::SocketAddr;
use tokworks_shared::ids::ApiKeyId;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use secrecy::SecretString;
use tokworks_shared::config::{DatabaseArgs, RedisArgs, WebhookGuardArgs};
use tokworks_shared::logging::LogFormat;

/// tokworks HTTP API: accepts extraction jobs, stores them in Postgres and enqueues them.
///
/// Without a subcommand it serves (applying pending migrations first).
#[derive(Debug, Parser)]
#[command(name = "tokworks-api", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,

    /// Log filter (tracing EnvFilter syntax), e.g. `info,tokworks_api=debug`.
    #[arg(
        long = "log-filter",
        env = "RUST_LOG",
        default_value = "info",
        global = true
    )]
    pub log_filter: String,

    /// Log line format: `text` (colours only on a terminal) or `json` (one object per line).
    #[arg(
        long = "log-format",
        env = "LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the API (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Manage API keys.
    Keys {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// `tokworks-api keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it once (only its SHA-256 and a display prefix are stored).
    Create {
        /// A name to recognise the key by (who or what uses it).
        #[arg(long)]
        name: String,
        #[command(flatten)]
        limits: KeyLimitOptions,
    },
    /// List keys (id, prefix, name, created, revoked).
    List,
    /// Revoke a key; requests with it are rejected from the next request on.
    Revoke {
        /// The key id (from `keys list`).
        id: ApiKeyId,
    },
}

/// A key's own limits at creation; each one left out follows the api's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Args)]
pub struct KeyLimitOptions {
    /// Requests per second of this key (default: KEY_REQUESTS_PER_SECOND of the api).
    #[arg(long = "requests-per-second", value_parser = clap::value_parser!(i32).range(1..))]
    pub requests_per_second: Option<i32>,
    /// URLs per minute of this key (default: KEY_URLS_PER_MINUTE of the api).
    #[arg(long = "urls-per-minute", value_parser = clap::value_parser!(i32).range(1..))]
    pub urls_per_minute: Option<i32>,
    /// Items queued or running at once for this key (default: KEY_MAX_ITEMS_IN_FLIGHT).
    #[arg(long = "max-items-in-flight", value_parser = clap::value_parser!(i32).range(1..))]
    pub max_items_in_flight: Option<i32>,
    /// Watches this key may have (default: WATCH_MAX_PER_KEY).
    #[arg(long = "max-watches", value_parser = clap::value_parser!(i32).range(1..))]
    pub max_watches: Option<i32>,
}

/// Limits of keys that have none of their own (docs/rate-limits.md).
#[derive(Debug, Clone, Args)]
pub struct KeyLimitArgs {
    /// Requests per second per API key, shared by every api instance through Redis (more: 429
    /// RATE_LIMITED).
    #[arg(long = "key-requests-per-second", env = "KEY_REQUESTS_PER_SECOND", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub key_requests_per_second: u32,

    /// URLs submitted per minute per API key (a video job 1, a batch its URLs, a feed job its
    /// count), shared through Redis (more: 429 RATE_LIMITED).
    #[arg(long = "key-urls-per-minute", env = "KEY_URLS_PER_MINUTE", default_value_t = 6000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub key_urls_per_minute: u32,

    /// Items queued or running at once per API key (more: 429 TOO_MANY_ITEMS_IN_FLIGHT).
    #[arg(long = "key-max-items-in-flight", env = "KEY_MAX_ITEMS_IN_FLIGHT", default_value_t = 5000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub key_max_items_in_flight: u32,
}

/// Everything `serve` reads.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub redis: RedisArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub webhook_guard: WebhookGuardArgs,

    #[command(flatten)]
    pub events_and_metrics: EventsAndMetricsArgs,

    #[command(flatten)]
    pub key_limits: KeyLimitArgs,

    #[command(flatten)]
    pub server: crate::server::ServerArgs,

    #[command(flatten)]
    pub watches: crate::watches::settings::WatchLimitArgs,

    /// How long a rotated webhook secret keeps signing deliveries (next to the new one), in
    /// seconds.
    #[arg(
        long = "webhook-secret-rotation-grace-seconds",
        env = "WEBHOOK_SECRET_ROTATION_GRACE_SECONDS",
        default_value_t = 86_400
    )]
    pub webhook_secret_rotation_grace_seconds: u64,
}

/// HTTP behaviour of the api.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Address to listen on.
    #[arg(
        long = "bind-addr",
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8000"
    )]
    pub bind_addr: SocketAddr,

    /// Bootstrap API key (at least 32 characters; shorter ones stop the start): stored hashed
    /// at start and active from then on. Changing or unsetting it revokes no key: retire an old
    /// bootstrap key with `tokworks-api keys revoke`.
    #[arg(long = "api-key", env = "API_KEY", hide_env_values = true)]
    pub api_key: Option<SecretString>,

    /// How long a verified API key is trusted without asking Postgres again, in seconds: a
    /// revoked key is refused at the latest this long after `keys revoke` (0: no cache).
    #[arg(
        long = "api-key-cache-seconds",
        env = "API_KEY_CACHE_SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(0..=300)
    )]
    pub api_key_cache_seconds: u64,

    /// How long the figures of the endpoints that need no key (`/health`, `/stats`,
    /// `/supported-platforms`, `/metrics`) are served from memory before Postgres and Redis are
    /// asked again, in seconds (0: on every call).
    #[arg(
        long = "service-stats-refresh-seconds",
        env = "SERVICE_STATS_REFRESH_SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(0..=300)
    )]
    pub service_stats_refresh_seconds: u64,

    /// Attempts per item before it fails (the retry budget lives in Postgres).
    #[arg(long = "item-max-attempts", env = "ITEM_MAX_ATTEMPTS", default_value_t = 4,
          value_parser = clap::value_parser!(i32).range(1..=100))]
    pub item_max_attempts: i32,

    /// Most URLs in one `batch` job (more: 422 TOO_MANY_URLS).
    #[arg(long = "batch-max-urls", env = "BATCH_MAX_URLS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_max_urls: u32,

    /// Largest accepted request body, in bytes (larger: 413 BODY_TOO_LARGE).
    #[arg(long = "max-request-body-bytes", env = "MAX_REQUEST_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_request_body_bytes: usize,

    /// Longest `Prefer: wait=N` honoured, in seconds (larger values are clamped to it).
    #[arg(
        long = "wait-max-seconds",
        env = "WAIT_MAX_SECONDS",
        default_value_t = 30
    )]
    pub wait_max_seconds: u64,

    /// Most URLs in one `POST /extract/batch` (the old analyzer's limit; more: 400).
    #[arg(long = "compat-batch-max-urls", env = "COMPAT_BATCH_MAX_URLS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub compat_batch_max_urls: u32,

    /// The workers' video length limit, as reported by `GET /supported-platforms` (the api
    /// does not enforce it; set it to the workers' value).
    #[arg(
        long = "max-video-duration-seconds",
        env = "MAX_VIDEO_DURATION_SECONDS",
        default_value_t = 600
    )]
    pub max_video_duration_seconds: u64,

    /// A feed job (trending, hashtag, user) identical to one whose walk ended less than this
    /// many seconds ago is answered from Postgres without touching TikTok, unless it asks for
    /// `options.refresh` (0 = no feed cache).
    #[arg(
        long = "feed-cache-ttl-seconds",
        env = "FEED_CACHE_TTL_SECONDS",
        default_value_t = 300
    )]
    pub feed_cache_ttl_seconds: u64,

    /// Largest `count` of a feed job (more: 422 INVALID_FIELD).
    #[arg(long = "feed-max-count", env = "FEED_MAX_COUNT", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub feed_max_count: u32,
}

/// Job event streams (`GET /v1/jobs/{id}/events`) and `GET /metrics`.
#[derive(Debug, Clone, Args)]
pub struct EventsAndMetricsArgs {
    /// Longest life of one job event stream, in seconds; the server then closes it and the
    /// client resumes with `Last-Event-ID`.
    #[arg(long = "events-max-seconds", env = "EVENTS_MAX_SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub events_max_seconds: u64,

    /// How often an open event stream checks Postgres for items that ended, in milliseconds
    /// (the job's end wakes it at once through LISTEN/NOTIFY).
    #[arg(long = "events-poll-milliseconds", env = "EVENTS_POLL_MILLISECONDS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub events_poll_milliseconds: u64,

    /// When set, `GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>`; unset, it is
    /// open (keep it on a private network).
    #[arg(long = "metrics-token", env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretString>,
}

/// A parsed command line: the log filter and the command to run.
#[derive(Debug)]
pub struct Invocation {
    pub log_filter: String,
    pub log_format: LogFormat,
    pub command: Command,
}

impl Invocation {
    /// Parses the process arguments (exits with clap's message on error or `--help`).
    pub fn parse() -> Invocation {
        Self::try_parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
    }

    /// Parses `arguments`. `serve`'s settings (which need REDIS_URL) are read only when serving,
    /// so `migrate` and `keys` work with DATABASE_URL alone.
    pub fn try_parse_from<I, T>(arguments: I) -> Result<Invocation, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command_line = Cli::command();
        let matches = command_line.try_get_matches_from_mut(arguments)?;
        let command =
            Self::command_from(&matches).map_err(|error| error.format(&mut command_line))?;
        let log_filter = matches
            .get_one::<String>("log_filter")
            .cloned()
            .unwrap_or_else(|| "info".to_owned());
        let log_format = matches
            .get_one::<LogFormat>("log_format")
            .copied()
            .unwrap_or_default();
        Ok(Invocation {
            log_filter,
            log_format,
            command,
        })
    }

    fn command_from(matches: &ArgMatches) -> Result<Command, clap::Error> {
        match matches.subcommand() {
            Some(_) => Command::from_arg_matches(matches),
            None => ServeArgs::from_arg_matches(matches).map(Command::Serve),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `serve` arguments from the two required URLs plus `extra`.
    fn serve_args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec![
            "tokworks-api",
            "--database-url",
            "postgres://x@127.0.0.1/db",
            "--redis-url",
            "redis://127.0.0.1:6379",
        ];
        argv.extend_from_slice(extra);
        let Command::Serve(args) = Invocation::try_parse_from(argv).unwrap().command else {
            panic!("not serve")
        };
        args
    }

    /// Asserts `--help` names every one of `names`.
    fn assert_help_lists(names: &[&str]) {
        let help = Cli::command().render_long_help().to_string();
        for name in names {
            assert!(help.contains(name), "--help does not mention {name}");
        }
    }

    #[test]
    fn keys_commands_need_no_redis_url() {
        let invocation = Invocation::try_parse_from([
            "tokworks-api",
            "keys",
            "--database-url",
            "postgres://x@127.0.0.1/db",
            "create",
            "--name",
            "ci",
        ])
        .unwrap();
        assert!(matches!(
            invocation.command,
            Command::Keys { command: KeysCommand::Create { ref name, limits }, .. }
                if name == "ci" && limits == KeyLimitOptions::default()
        ));
        let invocation = Invocation::try_parse_from([
            "tokworks-api",
            "keys",
            "--database-url",
            "postgres://x@127.0.0.1/db",
            "create",
            "--name",
            "ci",
            "--requests-per-second",
            "5",
            "--max-items-in-flight",
            "100",
        ])
        .unwrap();
        let Command::Keys {
            command: KeysCommand::Create { limits, .. },
            ..
        } = invocation.command
        else {
            panic!("not keys create")
        };
        assert_eq!(limits.requests_per_second, Some(5));
        assert_eq!(limits.urls_per_minute, None);
        assert_eq!(limits.max_items_in_flight, Some(100));
    }

    #[test]
    fn key_limit_defaults_are_read_and_listed_in_help() {
        let args = serve_args(&[]);
        assert_eq!(args.key_limits.key_requests_per_second, 50);
        assert_eq!(args.key_limits.key_urls_per_minute, 6000);
        assert_eq!(args.key_limits.key_max_items_in_flight, 5000);
        assert_help_lists(&[
            "KEY_REQUESTS_PER_SECOND",
            "KEY_URLS_PER_MINUTE",
            "KEY_MAX_ITEMS_IN_FLIGHT",
        ]);
    }

    #[test]
    fn webhook_settings_are_read_and_listed_in_help() {
        let args = serve_args(&[
            "--webhook-allow-private-networks",
            "true",
            "--webhook-allowed-ports",
            "8080,9000",
        ]);
        let policy = args.webhook_guard.policy();
        assert!(policy.allow_private_networks);
        assert_eq!(policy.allowed_ports, vec![8080, 9000]);
        assert_eq!(args.webhook_secret_rotation_grace_seconds, 86_400);
        assert_help_lists(&[
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
            "WEBHOOK_ALLOWED_PORTS",
            "WEBHOOK_SECRET_ROTATION_GRACE_SECONDS",
            "FEED_CACHE_TTL_SECONDS",
            "FEED_MAX_COUNT",
        ]);
    }

    #[test]
    fn serving_is_the_default_command() {
        let args = serve_args(&["--wait-max-seconds", "10"]);
        assert_eq!(args.http.wait_max_seconds, 10);
    }

    #[test]
    fn event_and_metrics_settings_have_defaults_and_are_listed_in_help() {
        let args = serve_args(&[]);
        assert_eq!(args.events_and_metrics.events_max_seconds, 3600);
        assert_eq!(args.events_and_metrics.events_poll_milliseconds, 500);
        assert!(args.events_and_metrics.metrics_token.is_none());
        assert_help_lists(&[
            "EVENTS_MAX_SECONDS",
            "EVENTS_POLL_MILLISECONDS",
            "METRICS_TOKEN",
            "EVENTS_MAX_STREAMS",
            "EVENTS_MAX_STREAMS_PER_KEY",
            "HEADER_READ_TIMEOUT_SECONDS",
            "REQUEST_TIMEOUT_SECONDS",
            "SHUTDOWN_TIMEOUT_SECONDS",
        ]);
    }
}
