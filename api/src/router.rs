//! The router: assembles every feature's routes and the middleware stack, in one place.

use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::jobs::{events as job_events, items as job_items, routes as jobs};
use crate::problem::{self, ApiError};
use crate::service::{health, stats};
use crate::state::AppState;
use crate::videos::{self, covers as video_covers};
use crate::{watches, webhooks};

/// All routes with their middleware: request id (set, propagated, written into problems),
/// the request span and access log (`access_log`), and a last-resort panic catcher.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health::get_health))
        .route("/readyz", get(health::get_readiness))
        .route("/v1/jobs", post(jobs::create_job).get(jobs::list_jobs))
        .route("/v1/jobs/{job_id}", get(jobs::get_job))
        .route("/v1/jobs/{job_id}/cancel", post(jobs::cancel_job))
        .route("/v1/jobs/{job_id}/items", get(job_items::list_items))
        .route(
            "/v1/jobs/{job_id}/events",
            get(job_events::stream_job_events),
        )
        .route(
            "/v1/jobs/{job_id}/deliveries",
            get(webhooks::list_deliveries),
        )
        .route(
            "/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/v1/webhook-secret", get(webhooks::get_webhook_secret))
        .route(
            "/v1/webhook-secret/rotate",
            post(webhooks::rotate_webhook_secret),
        )
        .route("/v1/videos/{video_id}", get(videos::get_video))
        .route(
            "/v1/videos/{video_id}/cover",
            get(video_covers::get_video_cover),
        )
        .route(
            "/v1/watches",
            post(watches::routes::create_watch).get(watches::routes::list_watches),
        )
        .route(
            "/v1/watches/{watch_id}",
            get(watches::routes::get_watch)
                .patch(watches::routes::update_watch)
                .delete(watches::routes::delete_watch),
        )
        .route(
            "/v1/watches/{watch_id}/pause",
            post(watches::routes::pause_watch),
        )
        .route(
            "/v1/watches/{watch_id}/resume",
            post(watches::routes::resume_watch),
        )
        .route(
            "/v1/watches/{watch_id}/run",
            post(watches::routes::run_watch),
        )
        .route(
            "/v1/watches/{watch_id}/runs",
            get(watches::lists::list_runs),
        )
        .route(
            "/v1/watches/{watch_id}/videos",
            get(watches::lists::list_videos),
        )
        .route("/v1/stats", get(stats::get_stats))
        .route("/metrics", get(crate::service::metrics_scrape::get_metrics))
        .route("/openapi.json", get(crate::openapi::get_openapi_document))
        .route("/docs", get(crate::openapi::get_docs_page))
        .merge(crate::openapi::docs_ui_routes())
        .merge(crate::compat::compat_routes())
        .fallback(problem::route_not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::rate_limits::enforce_key_limits,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::server::limit_request_time,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::service::metrics::record_http_request,
        ))
        .merge(crate::ui::ui_routes())
        .with_state(state);
    with_middleware(routes)
}

/// The middleware stack every route gets (outermost first).
fn with_middleware(routes: Router) -> Router {
    routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(crate::access_log::trace_layer())
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(axum::middleware::from_fn(
                problem::add_request_id_to_problems,
            ))
            .layer(CatchPanicLayer::custom(problem::panic_to_problem)),
    )
}

/// A path segment, or 404 when it cannot be decoded.
pub(crate) fn path_segment(
    path: Result<Path<String>, PathRejection>,
    what: &'static str,
) -> Result<String, ApiError> {
    path.map(|Path(segment)| segment)
        .map_err(|_| ApiError::NotFound { what })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_500_problem_with_the_request_id() {
        let routes: Router = Router::new().route(
            "/boom",
            get(|| async {
                let handler_bug = std::hint::black_box(true);
                assert!(!handler_bug, "a handler bug");
                "unreachable"
            }),
        );
        let response = with_middleware(routes)
            .oneshot(Request::builder().uri("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "INTERNAL");
        assert_eq!(problem["request_id"], request_id.as_str());
    }
}
