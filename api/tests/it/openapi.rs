//! `GET /openapi.json` documents every route the router serves; `GET /docs` leads to Swagger UI
//! rendering it, served from the binary.

use std::collections::BTreeSet;
use tokworks_shared::ids::JobId;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

use crate::support::TestApp;

/// Every route of the router (method, OpenAPI path). A new route must be added here and
/// documented: the tests below compare this list with the document and with the router's source.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
    ("post", "/v1/jobs"),
    ("get", "/v1/jobs"),
    ("get", "/v1/jobs/{job_id}"),
    ("post", "/v1/jobs/{job_id}/cancel"),
    ("get", "/v1/jobs/{job_id}/items"),
    ("get", "/v1/jobs/{job_id}/events"),
    ("get", "/v1/jobs/{job_id}/deliveries"),
    (
        "post",
        "/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver",
    ),
    ("get", "/v1/webhook-secret"),
    ("post", "/v1/webhook-secret/rotate"),
    ("get", "/v1/videos/{video_id}"),
    ("get", "/v1/videos/{video_id}/cover"),
    ("get", "/v1/stats"),
    ("post", "/v1/watches"),
    ("get", "/v1/watches"),
    ("get", "/v1/watches/{watch_id}"),
    ("patch", "/v1/watches/{watch_id}"),
    ("delete", "/v1/watches/{watch_id}"),
    ("post", "/v1/watches/{watch_id}/pause"),
    ("post", "/v1/watches/{watch_id}/resume"),
    ("post", "/v1/watches/{watch_id}/run"),
    ("get", "/v1/watches/{watch_id}/runs"),
    ("get", "/v1/watches/{watch_id}/videos"),
    ("get", "/"),
    ("get", "/health"),
    ("get", "/stats"),
    ("get", "/supported-platforms"),
    ("post", "/extract"),
    ("post", "/extract/batch"),
    ("get", "/trending"),
    ("get", "/category"),
];

/// The router's source files: every `.route("…", …)` call is in one of them.
const ROUTER_SOURCES: &[&str] = &[
    include_str!("../../src/router.rs"),
    include_str!("../../src/compat/mod.rs"),
];

fn listed_routes() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect()
}

/// The paths given to `.route(` in the router's source (the first string literal after it),
/// outside its `#[cfg(test)]` module.
fn paths_in_router_source() -> BTreeSet<String> {
    ROUTER_SOURCES
        .iter()
        // Not the unit tests' own routes.
        .map(|source| source.split("#[cfg(test)]").next().unwrap_or_default())
        .flat_map(|source| source.split(".route(").skip(1))
        .filter_map(|call| {
            let after_quote = call.trim_start().strip_prefix('"')?;
            let end = after_quote.find('"')?;
            Some(after_quote[..end].to_owned())
        })
        .filter(|path| path.starts_with('/'))
        .collect()
}

async fn document(app: &TestApp) -> Value {
    // No key: the document is public.
    let response = app
        .send(
            axum::http::Request::builder()
                .uri("/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.is_object(), "not a JSON object");
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json")),
        "{:?}",
        response.header("content-type")
    );
    response.body
}

fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .expect("a path item is an object")
                .keys()
                .filter(|key| {
                    matches!(
                        key.as_str(),
                        "get" | "post" | "put" | "patch" | "delete" | "head" | "options"
                    )
                })
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_document_is_openapi_3_1_and_documents_exactly_the_listed_routes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let documented = documented_routes(&document);
    let listed = listed_routes();
    let undocumented: Vec<_> = listed.difference(&documented).collect();
    let unlisted: Vec<_> = documented.difference(&listed).collect();
    assert!(
        undocumented.is_empty(),
        "routes without docs: {undocumented:?}"
    );
    assert!(
        unlisted.is_empty(),
        "documented but not listed: {unlisted:?}"
    );
    let operation_ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|operations| operations.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    let unique_ids: BTreeSet<&str> = operation_ids.iter().copied().collect();
    assert_eq!(unique_ids.len(), operation_ids.len(), "{operation_ids:?}");
    assert_eq!(operation_ids.len(), ROUTES.len(), "{operation_ids:?}");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], "x-api-key", "{schemes:#}");
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes:#}");
}

#[test]
fn the_listed_routes_are_the_routes_of_the_router_source() {
    let in_source = paths_in_router_source();
    let listed: BTreeSet<String> = ROUTES.iter().map(|(_, path)| (*path).to_owned()).collect();
    assert_eq!(in_source, listed);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_router_serves_every_listed_route(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job_id = JobId::new_v7();
    for (method, path) in ROUTES {
        let uri = path
            .replace("{job_id}", &job_id.to_string())
            .replace("{delivery_id}", &job_id.to_string())
            .replace("{video_id}", "7234567890123456789");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        // Without a key: a served route answers 200 or 401, never the router's 404/405.
        let request = axum::http::Request::builder()
            .method(method.clone())
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let response = app.send(request).await;
        assert!(
            response.status != StatusCode::NOT_FOUND
                && response.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}: {} {:#}",
            response.status,
            response.body
        );
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_create_job_body_names_the_kinds_and_the_headers(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let document = document(&app).await;
    let create = &document["paths"]["/v1/jobs"]["post"];
    let body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .expect("the body is a schema reference");
    let body_name = body_ref.rsplit('/').next().unwrap();
    let body = &document["components"]["schemas"][body_name];
    assert!(
        body["required"]
            .as_array()
            .unwrap()
            .contains(&Value::from("kind")),
        "{body:#}"
    );
    let kind_ref = body["properties"]["kind"]["$ref"].as_str().unwrap();
    let kind = &document["components"]["schemas"][kind_ref.rsplit('/').next().unwrap()];
    let kinds: BTreeSet<&str> = kind["enum"]
        .as_array()
        .expect("kind is an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "video", "batch", "trending", "hashtag", "user", "search", "sound", "comments"
        ])
    );
    let headers: BTreeSet<&str> = create["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|parameter| parameter["in"] == "header")
        .filter_map(|parameter| parameter["name"].as_str())
        .collect();
    assert_eq!(headers, BTreeSet::from(["Idempotency-Key", "Prefer"]));
    assert!(create["responses"]["202"].is_object(), "{create:#}");
    assert!(create["responses"]["422"].is_object(), "{create:#}");
    let events = &document["paths"]["/v1/jobs/{job_id}/events"]["get"];
    assert!(
        events["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|parameter| parameter["name"] == "Last-Event-ID" && parameter["in"] == "header"),
        "{events:#}"
    );
    let problem = &document["components"]["schemas"]["Problem"];
    assert!(problem["properties"]["code"].is_object(), "{problem:#}");
}

/// GETs `uri` without a key: status, content type and body text (the `Location` of a redirect).
async fn get_text(app: &TestApp, uri: &str) -> (StatusCode, String, String) {
    let request = axum::http::Request::builder()
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let response = app.send_for_text(request).await;
    let content_type = response.header("content-type").to_owned();
    let location = response.header("location").to_owned();
    let text = if location.is_empty() {
        response.text
    } else {
        location
    };
    (response.status, content_type, text)
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn docs_is_swagger_ui_over_the_document_served_without_any_cdn(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let (status, _, location) = get_text(&app, "/docs").await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/docs/ui/")
    );

    let (status, content_type, page) = get_text(&app, "/docs/ui/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("swagger-ui"), "{page}");
    assert!(
        !page.contains("://"),
        "the page loads nothing from another host: {page}"
    );

    let (status, _, initializer) = get_text(&app, "/docs/ui/swagger-initializer.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    let (status, content_type, bundle) = get_text(&app, "/docs/ui/swagger-ui-bundle.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.contains("javascript"), "{content_type}");
    assert!(
        bundle.len() > 100_000,
        "the bundle is served from the binary"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn every_operation_that_needs_a_key_documents_429_and_503_with_retry_after(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let document = document(&app).await;
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            if responses.get("401").is_none() {
                continue;
            }
            assert!(
                responses["429"]["headers"].get("Retry-After").is_some(),
                "{method} {path} documents 429 with Retry-After"
            );
            // The old services' endpoints document their own 503 envelope.
            let compatibility = operation["tags"]
                .as_array()
                .is_some_and(|tags| tags.contains(&Value::from("compatibility")));
            assert!(
                responses.get("503").is_some()
                    && (compatibility || responses["503"]["headers"].get("Retry-After").is_some()),
                "{method} {path} documents 503 with Retry-After"
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} operations need a key?");
}
