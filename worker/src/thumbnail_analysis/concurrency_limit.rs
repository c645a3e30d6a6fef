//! The global limit on concurrent vision calls, shared by every worker process: a Redis
//! semaphore with leases. Holders are members of a sorted set scored by their lease's expiry
//! (Redis server time); acquiring first drops expired holders (a worker that died mid-call
//! frees its slot when its lease runs out), then joins if fewer than the limit remain. Both
//! steps run in one Lua script, so two workers can never both take the last slot.

use std::time::Duration;

use rand::Rng;
use redis::aio::ConnectionManager;

/// Drop expired holders, then take a slot if one is free. KEYS[1] = the set; ARGV = limit,
/// lease in ms, holder token. Returns 1 when acquired.
const ACQUIRE_SCRIPT: &str = r"
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0
";

/// Why a slot was not obtained.
#[derive(Debug, thiserror::Error)]
pub enum ConcurrencyLimitError {
    #[error("no vision slot became free before the deadline (VISION_MAX_CONCURRENCY reached)")]
    Deadline,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// The semaphore of one namespace.
#[derive(Clone)]
pub struct ConcurrencyLimit {
    connection: ConnectionManager,
    key: String,
    limit: u32,
    lease: Duration,
    acquire: redis::Script,
}

impl std::fmt::Debug for ConcurrencyLimit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ConcurrencyLimit")
            .field("key", &self.key)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// A held slot; give it back with [`ConcurrencyLimit::release`] (if the process dies instead,
/// the lease frees it).
#[derive(Debug)]
pub struct VisionSlot {
    token: String,
}

impl ConcurrencyLimit {
    /// At most `limit` holders at once under `{namespace}:vision:slots`; a holder's slot is
    /// reclaimed `lease` after it was taken.
    pub fn new(
        connection: ConnectionManager,
        namespace: &str,
        limit: u32,
        lease: Duration,
    ) -> Self {
        ConcurrencyLimit {
            connection,
            key: format!("{namespace}:vision:slots"),
            limit: limit.max(1),
            lease,
            acquire: redis::Script::new(ACQUIRE_SCRIPT),
        }
    }

    /// Waits for a slot until `deadline`.
    pub async fn acquire(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<VisionSlot, ConcurrencyLimitError> {
        let token = ulid::Ulid::generate().to_string();
        let lease_ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
        loop {
            let mut connection = self.connection.clone();
            let acquired: i64 = self
                .acquire
                .key(&self.key)
                .arg(self.limit)
                .arg(lease_ms)
                .arg(&token)
                .invoke_async(&mut connection)
                .await?;
            if acquired == 1 {
                return Ok(VisionSlot { token });
            }
            let pause = Duration::from_millis(rand::rng().random_range(20..60));
            if tokio::time::Instant::now() + pause >= deadline {
                return Err(ConcurrencyLimitError::Deadline);
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Gives the slot back (best effort: a failure only delays it until the lease expires).
    pub async fn release(&self, slot: VisionSlot) {
        let mut connection = self.connection.clone();
        let removed: Result<i64, _> = redis::cmd("ZREM")
            .arg(&self.key)
            .arg(&slot.token)
            .query_async(&mut connection)
            .await;
        if let Err(error) = removed {
            tracing::warn!(%error, "cannot release a vision slot; its lease will free it");
        }
    }

    /// Slots held right now (expired holders excluded).
    pub async fn holders(&self) -> Result<u64, redis::RedisError> {
        let mut connection = self.connection.clone();
        let (seconds, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut connection).await?;
        let now_ms = seconds * 1000 + micros / 1000;
        redis::cmd("ZCOUNT")
            .arg(&self.key)
            .arg(now_ms + 1)
            .arg("+inf")
            .query_async(&mut connection)
            .await
    }
}
