//! The shared budget of a key in Redis: one Lua script charges a request (and the URLs of a
//! submit) against two GCRA limits atomically, on Redis' clock, in one round trip. Redis trouble
//! is reported to the caller, which fails open (docs/rate-limits.md).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokworks_shared::ids::ApiKeyId;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

/// How long one charge (connect included) may take before the request is served unlimited.
const CHARGE_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failed charge, Redis is not asked again for this long (requests are served meanwhile).
const FAILURE_BACKOFF: Duration = Duration::from_secs(1);

/// GCRA over two limits. Times are microseconds of Redis' `TIME`, stored as the theoretical
/// arrival time (TAT) per limit; a limit of quota `q` per window `w` lets a burst of `q` through
/// and refills one unit every `w / q`. Both limits are checked before either is charged, so a
/// refused request costs nothing. Returns {allowed, retry_after_us, then remaining and
/// microseconds until full for each limit}.
const CHARGE_SCRIPT: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local result = {1, 0}
local new_tats = {}
for index = 1, 2 do
  local quota = tonumber(ARGV[index * 3 - 2])
  local window = tonumber(ARGV[index * 3 - 1])
  local cost = tonumber(ARGV[index * 3])
  local interval = math.floor(window / quota)
  local tat = tonumber(redis.call('GET', KEYS[index]) or now)
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  local allow_at = new_tat - window
  if allow_at > now then
    result[1] = 0
    if allow_at - now > result[2] then result[2] = allow_at - now end
  end
  new_tats[index] = {tat, new_tat, quota, window, interval, cost}
end
for index = 1, 2 do
  local state = new_tats[index]
  local tat = state[1]
  if result[1] == 1 and state[6] > 0 then
    tat = state[2]
    redis.call('SET', KEYS[index], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
  end
  local remaining = math.floor((now + state[4] - tat) / state[5])
  if remaining > state[3] then remaining = state[3] end
  if remaining < 0 then remaining = 0 end
  table.insert(result, remaining)
  table.insert(result, tat - now)
end
return result
";

/// One limit as charged: quota per window and the cost of this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub quota: u32,
    pub window: Duration,
    pub cost: u32,
}

/// What Redis answered for one limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitState {
    /// Units left now (after this request, when it was allowed).
    pub remaining: u64,
    /// Until the full quota is available again.
    pub until_full: Duration,
}

/// The outcome of one charge of the two limits ("requests", "urls").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeOutcome {
    pub allowed: bool,
    /// When refused: until the request would fit.
    pub retry_after: Duration,
    pub requests: LimitState,
    pub urls: LimitState,
}

/// Why Redis could not charge (the request is then served: fail open).
#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis failed less than {0:?} ago; not asked")]
    BackingOff(Duration),
    #[error("unexpected answer of the rate-limit script: {0:?}")]
    Answer(Vec<i64>),
}

/// The Redis side of the limiter: a connection made on first use (and after a failure, at most
/// once per [`FAILURE_BACKOFF`]), shared by every request of the process.
#[derive(Clone)]
pub struct RedisBudget {
    redis_url: SecretString,
    namespace: String,
    connection: Arc<OnceCell<ConnectionManager>>,
    last_failure: Arc<Mutex<Option<Instant>>>,
    script: Arc<redis::Script>,
}

impl std::fmt::Debug for RedisBudget {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RedisBudget")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl RedisBudget {
    /// A budget under `{namespace}:ratelimit:` at `redis_url` (nothing is connected yet).
    pub fn new(redis_url: SecretString, namespace: String) -> Self {
        RedisBudget {
            redis_url,
            namespace,
            connection: Arc::new(OnceCell::new()),
            last_failure: Arc::new(Mutex::new(None)),
            script: Arc::new(redis::Script::new(CHARGE_SCRIPT)),
        }
    }

    /// Charges `requests` and `urls` of the key at once (both or neither).
    pub async fn charge(
        &self,
        api_key_id: ApiKeyId,
        requests: Charge,
        urls: Charge,
    ) -> Result<ChargeOutcome, ChargeError> {
        if let Some(failed_at) = *self.last_failure.lock().unwrap_or_else(|e| e.into_inner())
            && failed_at.elapsed() < FAILURE_BACKOFF
        {
            return Err(ChargeError::BackingOff(FAILURE_BACKOFF));
        }
        let result = tokio::time::timeout(CHARGE_TIMEOUT, self.run(api_key_id, requests, urls))
            .await
            .unwrap_or(Err(ChargeError::Timeout(CHARGE_TIMEOUT)));
        if result.is_err() {
            *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        }
        result
    }

    async fn run(
        &self,
        api_key_id: ApiKeyId,
        requests: Charge,
        urls: Charge,
    ) -> Result<ChargeOutcome, ChargeError> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_response_timeout(Some(CHARGE_TIMEOUT))
                    .set_connection_timeout(Some(CHARGE_TIMEOUT))
                    .set_max_delay(Duration::from_secs(1));
                redis::Client::open(self.redis_url.expose_secret())?
                    .get_connection_manager_with_config(config)
                    .await
            })
            .await?;
        let prefix = format!("{}:ratelimit:{api_key_id}", self.namespace);
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(format!("{prefix}:requests"))
            .key(format!("{prefix}:urls"));
        for charge in [requests, urls] {
            let window_us = u64::try_from(charge.window.as_micros()).unwrap_or(u64::MAX);
            invocation
                .arg(charge.quota.max(1))
                .arg(window_us)
                .arg(charge.cost);
        }
        let answer: Vec<i64> = invocation.invoke_async(&mut connection.clone()).await?;
        let &[
            allowed,
            retry_us,
            requests_left,
            requests_full_us,
            urls_left,
            urls_full_us,
        ] = answer.as_slice()
        else {
            return Err(ChargeError::Answer(answer));
        };
        let micros = |value: i64| Duration::from_micros(u64::try_from(value).unwrap_or(0));
        let count = |value: i64| u64::try_from(value).unwrap_or(0);
        Ok(ChargeOutcome {
            allowed: allowed == 1,
            retry_after: micros(retry_us),
            requests: LimitState {
                remaining: count(requests_left),
                until_full: micros(requests_full_us),
            },
            urls: LimitState {
                remaining: count(urls_left),
                until_full: micros(urls_full_us),
            },
        })
    }
}
