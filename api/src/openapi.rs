//! The OpenAPI 3.1 document of the api (`GET /openapi.json`, derived from the handlers'
//! `#[utoipa::path]` and the wire types' `ToSchema`) and the interactive docs page (`GET /docs`).

use std::sync::LazyLock;

use axum::Json;
use axum::response::Redirect;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::rate_limits::documented::RateLimitResponses;
use crate::unavailable_docs::UnavailableResponses;

/// The document: every route of the router, its bodies, answers and security.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokworks",
        description = "TikTok URLs, hashtags, profiles and the trending feed as structured data, \
                       through background jobs. Authenticate with `x-api-key: <key>` or \
                       `Authorization: Bearer <key>`; errors are RFC 9457 problem+json."
    ),
    paths(
        crate::service::health::get_health,
        crate::service::health::get_readiness,
        crate::service::metrics_scrape::get_metrics,
        crate::jobs::routes::create_job,
        crate::jobs::routes::list_jobs,
        crate::jobs::routes::get_job,
        crate::jobs::routes::cancel_job,
        crate::jobs::items::list_items,
        crate::jobs::events::stream_job_events,
        crate::webhooks::list_deliveries,
        crate::webhooks::redeliver,
        crate::webhooks::get_webhook_secret,
        crate::webhooks::rotate_webhook_secret,
        crate::videos::get_video,
        crate::videos::covers::get_video_cover,
        crate::service::stats::get_stats,
        crate::watches::routes::create_watch,
        crate::watches::routes::list_watches,
        crate::watches::routes::get_watch,
        crate::watches::routes::update_watch,
        crate::watches::routes::delete_watch,
        crate::watches::routes::pause_watch,
        crate::watches::routes::resume_watch,
        crate::watches::routes::run_watch,
        crate::watches::lists::list_runs,
        crate::watches::lists::list_videos,
        crate::compat::service::get_root,
        crate::compat::service::get_health,
        crate::compat::service::get_stats,
        crate::compat::service::get_supported_platforms,
        crate::compat::extract::extract,
        crate::compat::batch::extract_batch,
        crate::compat::fetcher::get_trending,
        crate::compat::fetcher::get_category,
        get_openapi_document,
        get_docs_page,
    ),
    components(schemas(crate::jobs::comment_items::CommentListResponse)),
    modifiers(&SecuritySchemes, &RateLimitResponses, &UnavailableResponses),
    tags(
        (name = "jobs", description = "Submit jobs (a video, a batch, a feed) and follow them."),
        (name = "webhooks", description = "Webhook deliveries and the signing secret."),
        (name = "watches", description = "Scheduled feeds that report only what is new."),
        (name = "videos", description = "Stored video metadata."),
        (name = "stats", description = "Figures of the caller's jobs and of the service."),
        (name = "health", description = "Liveness, readiness and Prometheus metrics."),
        (name = "compatibility", description = "The endpoints of the two services tokworks \
            replaces (the old analyzer's and the old fetcher's), with their shapes; see the \
            README's Compatibility endpoints."),
        (name = "docs", description = "This document and its interactive page."),
    )
)]
pub struct ApiDocument;

/// Adds the two ways to present an API key: `x-api-key` and `Authorization: Bearer`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "An API key (`tokworks-api keys create`).",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The same API key as a bearer token (for `/metrics`: `METRICS_TOKEN`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, built once.
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDocument::openapi);

/// `GET /openapi.json`: the OpenAPI 3.1 document (no key needed).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "docs",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object))
)]
pub async fn get_openapi_document() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOCUMENT)
}

/// Where the interactive docs (Swagger UI over `/openapi.json`) are served.
pub const DOCS_UI_PATH: &str = "/docs/ui";

/// The Swagger UI routes under [`DOCS_UI_PATH`]: its page and files, vendored in the binary, so
/// the docs work on a machine without internet access.
pub fn docs_ui_routes<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    let swagger_ui = utoipa_swagger_ui::SwaggerUi::new(DOCS_UI_PATH)
        .config(utoipa_swagger_ui::Config::new(["/openapi.json"]));
    axum::Router::from(swagger_ui)
}

/// `GET /docs`: a redirect to the interactive docs of `/openapi.json` (no key needed).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "docs",
    responses((status = 303, description = "Redirect to `/docs/ui/`: Swagger UI rendering `/openapi.json`, served from the binary (no CDN)."))
)]
pub async fn get_docs_page() -> Redirect {
    Redirect::to("/docs/ui/")
}
