//! The service's own endpoints: health and readiness, `/v1/stats`, the Prometheus metrics and the
//! cached figures the endpoints without a key serve.

pub mod health;
pub mod metrics;
pub mod metrics_scrape;
pub mod snapshots;
pub mod stats;
