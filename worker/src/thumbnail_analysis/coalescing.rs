//! Coalescing of identical analyses across workers: one Redis lock per cache key
//! (`SET NX PX` with a random token). The holder calls the vision API and caches the row; the
//! others wait until the row appears (and use it) or the lock vanishes (the holder failed or
//! died: one of them takes the lock and tries itself), up to a deadline.

use std::time::Duration;

use rand::Rng;
use redis::aio::ConnectionManager;

/// Deletes the lock only if it still holds our token.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The per-cache-key locks of one namespace.
#[derive(Clone)]
pub struct AnalysisLocks {
    connection: ConnectionManager,
    prefix: String,
    release: redis::Script,
}

impl std::fmt::Debug for AnalysisLocks {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AnalysisLocks")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A held lock.
#[derive(Debug)]
pub struct AnalysisLock {
    key: String,
    token: String,
}

impl AnalysisLocks {
    pub fn new(connection: ConnectionManager, namespace: &str) -> Self {
        AnalysisLocks {
            connection,
            prefix: format!("{namespace}:vision:analysis_lock:"),
            release: redis::Script::new(RELEASE_SCRIPT),
        }
    }

    /// Takes the lock of `cache_key` for `lease` if nobody holds it.
    pub async fn try_lock(
        &self,
        cache_key: &[u8],
        lease: Duration,
    ) -> Result<Option<AnalysisLock>, redis::RedisError> {
        let key = format!("{}{}", self.prefix, hex::encode(cache_key));
        let token = ulid::Ulid::generate().to_string();
        let mut connection = self.connection.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX))
            .query_async(&mut connection)
            .await?;
        Ok(set.map(|_| AnalysisLock { key, token }))
    }

    /// Gives the lock back if it is still ours (best effort: it expires anyway).
    pub async fn unlock(&self, lock: AnalysisLock) {
        let mut connection = self.connection.clone();
        let released: Result<i64, _> = self
            .release
            .key(&lock.key)
            .arg(&lock.token)
            .invoke_async(&mut connection)
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, "cannot release an analysis lock; it will expire");
        }
    }

    /// A short pause between two looks at the cache while another worker holds the lock.
    pub fn wait_pause() -> Duration {
        Duration::from_millis(rand::rng().random_range(50..150))
    }
}
