//! What runs in the background of every worker process, beside the apalis workers: the
//! dispatcher (Postgres backlog → Redis window, one active), the maintenance loop (promoter,
//! cleanup, heartbeat, reconciler, lease renewal), the reconciler it runs, the retention loop,
//! the webhook deliverer, the feed walker and the watch scheduler.

pub mod dispatcher;
pub mod feed_walker;
pub mod maintenance;
pub mod reconciler;
pub mod retention;
pub mod watch_scheduler;
pub mod webhook_deliverer;
