//! Configuration sections shared by both binaries (clap `Args`, read from the environment).

use clap::Args;
use secrecy::SecretString;

/// Postgres connection.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Postgres URL, e.g. postgres://tokworks@127.0.0.1:5432/tokworks
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: SecretString,

    /// Maximum connections in the pool.
    #[arg(
        long = "database-max-connections",
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub database_max_connections: u32,

    /// Longest time one SQL statement may run, in seconds, on every pooled connection
    /// (Postgres `statement_timeout`); a statement past it fails instead of holding a connection
    /// (0: no limit). Migrations run without it.
    #[arg(
        long = "database-statement-timeout-seconds",
        env = "DATABASE_STATEMENT_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub database_statement_timeout_seconds: u64,
}

/// Redis connection (the work queue).
#[derive(Debug, Clone, Args)]
pub struct RedisArgs {
    /// Redis URL, e.g. redis://127.0.0.1:6379/0
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: SecretString,

    /// Prefix of every queue key in Redis; lets several deployments (or tests) share one Redis.
    #[arg(
        long = "queue-namespace",
        env = "QUEUE_NAMESPACE",
        default_value = "tokworks"
    )]
    pub queue_namespace: String,
}

/// The webhook SSRF guard's settings (read by the api at submit time and by the worker at send
/// time, under the same names).
#[derive(Debug, Clone, Args)]
pub struct WebhookGuardArgs {
    /// Allow webhook URLs on loopback, private, link-local, CGNAT and other non-public
    /// addresses and internal host names (localhost, *.internal, single labels). For tests and
    /// LAN deployments only.
    #[arg(
        long = "webhook-allow-private-networks",
        env = "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub webhook_allow_private_networks: bool,

    /// Ports allowed in webhook URLs besides 80 and 443, comma-separated (default: none).
    #[arg(
        long = "webhook-allowed-ports",
        env = "WEBHOOK_ALLOWED_PORTS",
        value_delimiter = ','
    )]
    pub webhook_allowed_ports: Vec<u16>,
}

impl WebhookGuardArgs {
    /// The guard's policy.
    pub fn policy(&self) -> crate::webhooks::address_guard::AddressPolicy {
        crate::webhooks::address_guard::AddressPolicy {
            allow_private_networks: self.webhook_allow_private_networks,
            allowed_ports: self.webhook_allowed_ports.clone(),
        }
    }
}
