//! The work queue: apalis-redis storage for extraction tasks, with the workarounds (docs/queue.md;
//! docs/apalis-redis.md "Configuration we run with") that both the api (push) and the worker
//! (consume, maintain) rely on.
//!
//! * Payloads are stored as `serde_json::Value` (never a typed `RedisStorage<T>`): a payload that
//!   does not decode is the handler's business (`AbortError`), not a fatal backend error
//!   (docs/apalis-redis.md "Bug 5: undecodable payloads").
//! * Task ids are ULIDs made here, so the caller can record them in Postgres before or after
//!   the push (the reconciler compares them with what Redis knows).
//! * Pushes go through apalis-redis' own `batch_push.lua` (`queries::push_tasks`), chunked.
//! * Depth, promotion and cleanup are raw Lua (docs/apalis-redis.md, Bugs 9, 1 and 11): apalis'
//!   Metrics API is broken,
//!   its fetch script dies on ≥ 8000 due ids, and it never deletes finished tasks.

use std::time::Duration;

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use apalis_redis::{Config, RedisStorage};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::queue_tasks::ExtractItemTask;

/// Queue failures (Redis unreachable, script errors).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("queue: {0}")]
    Backend(String),
}

impl From<apalis_redis::Error> for QueueError {
    fn from(error: apalis_redis::Error) -> Self {
        QueueError::Backend(error.to_string())
    }
}

/// Counts of one queue, read with one Lua script (apalis' Metrics API is broken for Redis).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepth {
    pub pending: u64,
    pub scheduled: u64,
    pub running: u64,
    pub done: u64,
    pub dead: u64,
}

/// How a worker consumes the queue (docs/apalis-redis.md "Worker side": `batch_size == concurrency`,
/// short heartbeats, no per-task lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// Tasks fetched per round trip; equal to the worker's concurrency
    /// (docs/apalis-redis.md "Bug 7: heartbeats wait for the batch").
    pub batch_size: usize,
    /// apalis worker heartbeat; also drives orphan recovery of dead workers' in-flight tasks.
    pub heartbeat_interval: Duration,
    /// Heartbeats a worker may miss before its in-flight tasks are handed to others.
    pub missed_heartbeats: usize,
}

/// Ids moved per promoter or cleanup script call (each call stays in the low milliseconds).
const MAINTENANCE_CHUNK: usize = 1000;
/// Tasks per `batch_push.lua` call (one call blocks Redis for its duration).
const PUSH_CHUNK: usize = 500;

const DEPTH_SCRIPT: &str = r"
local q, running = ARGV[1], 0
for _, w in ipairs(redis.call('zrange', q..':workers', 0, -1)) do
  running = running + redis.call('scard', q..':inflight:'..w)
end
return { redis.call('llen', q..':active'), redis.call('zcard', q..':scheduled'), running,
         redis.call('scard', q..':done'), redis.call('scard', q..':dead') }
";

const PROMOTE_SCRIPT: &str = r"
local ids = redis.call('zrangebyscore', KEYS[1], 0, ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then
  redis.call('rpush', KEYS[2], unpack(ids))
  redis.call('zrem', KEYS[1], unpack(ids))
end
return #ids
";

const CLEANUP_SCRIPT: &str = r"
local ids = redis.call('spop', KEYS[1], tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('hdel', KEYS[2], id)
  redis.call('del', ARGV[1]..':meta:'..id)
end
return #ids
";

/// Tasks waiting to be fetched: the `active` list plus the due part of `scheduled` (apalis'
/// push puts every task there; the promoter moves due ones to `active`).
const WAITING_SCRIPT: &str = r"
return redis.call('llen', KEYS[1]) + redis.call('zcount', KEYS[2], '-inf', ARGV[1])
";

/// A task is pending when Redis still holds its payload and it has not finished (done or dead).
const TASKS_PENDING_SCRIPT: &str = r"
local result = {}
for i, id in ipairs(ARGV) do
  if redis.call('hexists', KEYS[1], id) == 1
     and redis.call('sismember', KEYS[2], id) == 0
     and redis.call('sismember', KEYS[3], id) == 0 then
    result[i] = 1
  else
    result[i] = 0
  end
end
return result
";

/// Handle on the extraction queue; cheap to clone.
#[derive(Clone)]
pub struct ExtractQueue {
    connection: ConnectionManager,
    queue_name: String,
}

impl std::fmt::Debug for ExtractQueue {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ExtractQueue")
            .field("queue_name", &self.queue_name)
            .finish_non_exhaustive()
    }
}

impl ExtractQueue {
    /// Connects (5 s response timeout, auto-reconnect) to the queue `{namespace}_extract`.
    pub async fn connect(redis_url: &str, namespace: &str) -> Result<Self, QueueError> {
        let client = redis::Client::open(redis_url)?;
        // The redis-rs default of 500 ms turns one slow Lua script into a fatal worker error
        // (apalis-redis#76); reconnect attempts are capped at 1 s apart so a restarted Redis is
        // picked up quickly.
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_max_delay(Duration::from_secs(1));
        let connection = client
            .get_connection_manager_with_config(manager_config)
            .await?;
        Ok(ExtractQueue {
            connection,
            queue_name: Self::queue_name_for(namespace),
        })
    }

    /// The Redis key prefix of the extraction queue of `namespace` (no ':' in it).
    pub fn queue_name_for(namespace: &str) -> String {
        format!("{namespace}_extract")
    }

    /// The queue's key prefix, e.g. `tokworks_extract`.
    pub fn queue_name(&self) -> &str {
        &self.queue_name
    }

    /// A fresh client-side task id (ULID text), for callers that record it before pushing.
    pub fn new_task_id() -> String {
        ulid::Ulid::generate().to_string()
    }

    /// Pushes tasks in bulk; returns the apalis task id of each, in order.
    pub async fn push(&self, tasks: &[ExtractItemTask]) -> Result<Vec<String>, QueueError> {
        let with_ids: Vec<(String, ExtractItemTask)> = tasks
            .iter()
            .map(|task| (Self::new_task_id(), *task))
            .collect();
        self.push_with_ids(&with_ids, None).await?;
        Ok(with_ids.into_iter().map(|(task_id, _)| task_id).collect())
    }

    /// Pushes one task to run after `delay` (1 s resolution); returns its task id.
    pub async fn push_delayed(
        &self,
        task: ExtractItemTask,
        delay: Duration,
    ) -> Result<String, QueueError> {
        let task_id = Self::new_task_id();
        self.push_with_ids(&[(task_id.clone(), task)], Some(delay))
            .await?;
        Ok(task_id)
    }

    /// Pushes tasks under ids the caller chose (see [`ExtractQueue::new_task_id`]), optionally
    /// delayed. A task id Redis already holds is not pushed twice (`HSETNX` in apalis' script).
    pub async fn push_with_ids(
        &self,
        tasks: &[(String, ExtractItemTask)],
        delay: Option<Duration>,
    ) -> Result<(), QueueError> {
        let config = Config::default().queue(&self.queue_name);
        for chunk in tasks.chunks(PUSH_CHUNK) {
            let mut encoded = Vec::with_capacity(chunk.len());
            for (task_id, task) in chunk {
                let payload = serde_json::to_vec(task)
                    .map_err(|error| QueueError::Backend(format!("encode task: {error}")))?;
                let mut builder =
                    TaskBuilder::new(payload).task_id(TaskId::from_string(task_id.clone()));
                if let Some(delay) = delay {
                    builder = builder.run_after(delay);
                }
                encoded.push(builder.build());
            }
            let mut connection = self.connection.clone();
            apalis_redis::queries::push_tasks(&mut connection, &config, &encoded).await?;
        }
        Ok(())
    }

    /// Queue counts (pending, scheduled, running, done, dead).
    pub async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let mut connection = self.connection.clone();
        let counts: Vec<u64> = redis::Script::new(DEPTH_SCRIPT)
            .arg(&self.queue_name)
            .invoke_async(&mut connection)
            .await?;
        match counts.as_slice() {
            [pending, scheduled, running, done, dead] => Ok(QueueDepth {
                pending: *pending,
                scheduled: *scheduled,
                running: *running,
                done: *done,
                dead: *dead,
            }),
            other => Err(QueueError::Backend(format!(
                "depth script returned {other:?}"
            ))),
        }
    }

    /// Tasks waiting to be fetched by a worker: pending in `active`, or due in `scheduled`
    /// (the dispatcher's window, docs/fair-scheduling.md). Delayed retries not yet due are not
    /// counted.
    pub async fn waiting_tasks(&self) -> Result<u64, QueueError> {
        let mut connection = self.connection.clone();
        let now_seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        let waiting: u64 = redis::Script::new(WAITING_SCRIPT)
            .key(format!("{}:active", self.queue_name))
            .key(format!("{}:scheduled", self.queue_name))
            .arg(now_seconds)
            .invoke_async(&mut connection)
            .await?;
        Ok(waiting)
    }

    /// Whether Redis still holds the task `task_id` (used by the reconciler after a Redis loss).
    pub async fn contains_task(&self, task_id: &str) -> Result<bool, QueueError> {
        let mut connection = self.connection.clone();
        let exists: bool = redis::cmd("HEXISTS")
            .arg(format!("{}:data", self.queue_name))
            .arg(task_id)
            .query_async(&mut connection)
            .await?;
        Ok(exists)
    }

    /// For each id, whether the task is still to be run: Redis holds it and it is neither done
    /// nor dead. (A done task whose item is still unfinished needs a new task.)
    pub async fn tasks_pending(&self, task_ids: &[String]) -> Result<Vec<bool>, QueueError> {
        if task_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.connection.clone();
        let script = redis::Script::new(TASKS_PENDING_SCRIPT);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(format!("{}:data", self.queue_name))
            .key(format!("{}:done", self.queue_name))
            .key(format!("{}:dead", self.queue_name));
        for task_id in task_ids {
            invocation.arg(task_id);
        }
        let flags: Vec<u8> = invocation.invoke_async(&mut connection).await?;
        Ok(flags.into_iter().map(|flag| flag == 1).collect())
    }

    /// Round-trip to Redis (readiness probe).
    pub async fn ping(&self) -> Result<(), QueueError> {
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(())
    }

    /// Moves every due task from `scheduled` to `active`, 1000 ids per script call, so apalis'
    /// fetch script never sees ≥ 8000 due ids
    /// (docs/apalis-redis.md "Bug 1: backlogs of 8,000 due tasks"). Returns how many moved.
    pub async fn promote_due_tasks(&self) -> Result<u64, QueueError> {
        let mut connection = self.connection.clone();
        let script = redis::Script::new(PROMOTE_SCRIPT);
        let mut moved_total = 0u64;
        loop {
            let now_seconds = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_secs())
                .unwrap_or_default();
            let moved: u64 = script
                .key(format!("{}:scheduled", self.queue_name))
                .key(format!("{}:active", self.queue_name))
                .arg(now_seconds)
                .arg(MAINTENANCE_CHUNK)
                .invoke_async(&mut connection)
                .await?;
            moved_total += moved;
            if moved < MAINTENANCE_CHUNK as u64 {
                return Ok(moved_total);
            }
        }
    }

    /// Deletes finished (done and dead) tasks from Redis in bounded chunks
    /// (docs/apalis-redis.md "Bug 11: nothing is ever deleted"), at most
    /// `max_tasks` of them per call. Their outcome lives in Postgres. Returns how many went.
    pub async fn cleanup_finished_tasks(&self, max_tasks: u64) -> Result<u64, QueueError> {
        let mut connection = self.connection.clone();
        let script = redis::Script::new(CLEANUP_SCRIPT);
        let mut removed_total = 0u64;
        for set in ["done", "dead"] {
            loop {
                let removed: u64 = script
                    .key(format!("{}:{set}", self.queue_name))
                    .key(format!("{}:data", self.queue_name))
                    .arg(&self.queue_name)
                    .arg(MAINTENANCE_CHUNK)
                    .invoke_async(&mut connection)
                    .await?;
                removed_total += removed;
                if removed < MAINTENANCE_CHUNK as u64 || removed_total >= max_tasks {
                    break;
                }
            }
        }
        Ok(removed_total)
    }

    /// The apalis storage a worker consumes, configured per docs/apalis-redis.md "Worker side"
    /// (`lock_tasks(false)`, results persisted, the given batch size and heartbeats).
    pub fn consumer_storage(&self, settings: ConsumerSettings) -> RedisStorage<serde_json::Value> {
        let config = Config::default()
            .queue(&self.queue_name)
            .batch_size(settings.batch_size)
            .heartbeat_interval(settings.heartbeat_interval)
            .missed_heartbeats(settings.missed_heartbeats)
            .lock_tasks(false);
        RedisStorage::new(self.connection.clone()).with_config(config)
    }

    /// Deletes every key of this queue (tests and tooling only: never call it on a live queue).
    pub async fn delete_all_keys(&self) -> Result<u64, QueueError> {
        let mut connection = self.connection.clone();
        let pattern = format!("{}:*", self.queue_name);
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut connection)
            .await?;
        if keys.is_empty() {
            return Ok(0);
        }
        let deleted: u64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await?;
        Ok(deleted)
    }
}
