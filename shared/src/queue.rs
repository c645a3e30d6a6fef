//! The work queue: apalis-redis storage for extraction tasks, with the workarounds of
//! reference/apalis.md §7 that both the api (push) and the worker (consume, maintain) rely on.
//! (Interface fixed; bodies are being written by the worker owner.)

use std::time::Duration;

use crate::jobs::ExtractItemTask;

/// Queue failures (Redis unreachable, script errors).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("queue: {0}")]
    Backend(String),
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

/// Handle on the extraction queue; cheap to clone.
#[derive(Clone)]
pub struct ExtractQueue {
    _private: (),
}

impl std::fmt::Debug for ExtractQueue {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("ExtractQueue").finish_non_exhaustive()
    }
}

impl ExtractQueue {
    /// Connects (5 s response timeout, auto-reconnect) to the queue `{namespace}_extract`.
    pub async fn connect(_redis_url: &str, _namespace: &str) -> Result<Self, QueueError> {
        Err(QueueError::Backend("not yet implemented".into()))
    }

    /// Pushes tasks in bulk; returns the apalis task id of each, in order.
    pub async fn push(&self, _tasks: &[ExtractItemTask]) -> Result<Vec<String>, QueueError> {
        Err(QueueError::Backend("not yet implemented".into()))
    }

    /// Pushes one task to run after `delay` (1 s resolution); returns its task id.
    pub async fn push_delayed(
        &self,
        _task: ExtractItemTask,
        _delay: Duration,
    ) -> Result<String, QueueError> {
        Err(QueueError::Backend("not yet implemented".into()))
    }

    /// Queue counts (pending, scheduled, running, done, dead).
    pub async fn depth(&self) -> Result<QueueDepth, QueueError> {
        Err(QueueError::Backend("not yet implemented".into()))
    }

    /// Whether Redis still holds the task `task_id` (used by the reconciler after a Redis loss).
    pub async fn contains_task(&self, _task_id: &str) -> Result<bool, QueueError> {
        Err(QueueError::Backend("not yet implemented".into()))
    }

    /// Round-trip to Redis (readiness probe).
    pub async fn ping(&self) -> Result<(), QueueError> {
        Err(QueueError::Backend("not yet implemented".into()))
    }
}
