//! Compatibility endpoints of the two services tokworks replaces, over its job engine: the old
//! Python analyzer's (docs/legacy-services.md "The analyzer's endpoints") `POST /extract`, `POST /extract/batch`, `GET /`,
//! `GET /health`, `GET /stats`, `GET /supported-platforms`, and the old Flask fetcher's
//! `GET /trending`, `GET /category?hashtag=` (`fetcher`), with their shapes and real figures.

pub mod batch;
pub mod envelope;
pub mod error_map;
pub mod extract;
pub mod fetcher;
pub mod fetcher_list;
pub mod service;
pub mod transcript;
pub mod video_metadata;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The compatibility routes (merged into the main router).
pub fn compat_routes() -> Router<AppState> {
    service::record_start_time();
    Router::new()
        .route("/", get(service::get_root))
        .route("/health", get(service::get_health))
        .route("/stats", get(service::get_stats))
        .route(
            "/supported-platforms",
            get(service::get_supported_platforms),
        )
        .route("/extract", post(extract::extract))
        .route("/extract/batch", post(batch::extract_batch))
        .route("/trending", get(fetcher::get_trending))
        .route("/category", get(fetcher::get_category))
}
