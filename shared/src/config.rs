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
