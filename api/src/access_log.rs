//! The request span and the access log: every request runs inside a `request` span carrying
//! its `x-request-id`, method and path (never the query, which may hold secrets) and, once the
//! key is authenticated, its `key_id`; one `info` line per request reports status and latency.

use std::time::Duration;
use tokworks_shared::ids::ApiKeyId;

use axum::http::{Request, Response};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::RequestId;
use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::Span;

/// Name of the span field set by [`record_key_id`].
const KEY_ID_FIELD: &str = "key_id";

/// `TraceLayer` with the request span and the access log line; goes inside
/// `SetRequestIdLayer` (which must run first so the id is there).
pub fn trace_layer()
-> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), AccessLog> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(AccessLog)
}

/// Records the authenticated key on the current request span (no effect outside one).
pub fn record_key_id(api_key_id: ApiKeyId) {
    Span::current().record(KEY_ID_FIELD, tracing::field::display(api_key_id));
}

/// Makes the `request` span of a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .or_else(|| {
                request
                    .headers()
                    .get("x-request-id")
                    .and_then(|value| value.to_str().ok())
            })
            .unwrap_or("");
        tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %request.method(),
            path = %request.uri().path(),
            key_id = tracing::field::Empty,
        )
    }
}

/// Writes the access log line when the response head is ready (for event streams: when the
/// stream opens).
#[derive(Debug, Clone, Copy)]
pub struct AccessLog;

impl<B> OnResponse<B> for AccessLog {
    fn on_response(self, response: &Response<B>, latency: Duration, _span: &Span) {
        tracing::info!(
            target: "tokworks_api::access",
            status = response.status().as_u16(),
            latency_ms = latency.as_secs_f64() * 1000.0,
            "request answered"
        );
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tokworks_shared::logging::{CapturedLogs, LogFormat, log_subscriber};
    use tower::{ServiceBuilder, ServiceExt};
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn every_line_of_a_request_carries_its_request_id_and_one_access_line_is_written() {
        let captured = CapturedLogs::default();
        let _default = tracing::subscriber::set_default(log_subscriber(
            "info",
            LogFormat::Json,
            captured.clone(),
            false,
        ));
        let key_id = ApiKeyId::new_v7();
        let routes: Router = Router::new()
            .route(
                "/v1/things",
                get(move || async move {
                    record_key_id(key_id);
                    tracing::info!("inside the handler");
                    "ok"
                }),
            )
            .layer(
                ServiceBuilder::new()
                    .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                    .layer(trace_layer())
                    .layer(PropagateRequestIdLayer::x_request_id()),
            );
        let response = routes
            .oneshot(
                Request::builder()
                    .uri("/v1/things?token=secret-value")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let output = captured.text();
        assert!(!output.contains("secret-value"), "query leaked: {output}");
        let lines: Vec<serde_json::Value> = output
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let inside = lines
            .iter()
            .find(|line| line["message"] == "inside the handler")
            .expect("the handler's line");
        assert_eq!(inside["span"]["request_id"], request_id.as_str());
        assert_eq!(inside["span"]["path"], "/v1/things");
        let access: Vec<_> = lines
            .iter()
            .filter(|line| line["message"] == "request answered")
            .collect();
        assert_eq!(access.len(), 1, "{output}");
        assert_eq!(access[0]["status"], 200);
        assert!(access[0]["latency_ms"].as_f64().is_some());
        assert_eq!(access[0]["span"]["request_id"], request_id.as_str());
        assert_eq!(access[0]["span"]["method"], "GET");
        assert_eq!(access[0]["span"]["key_id"], key_id.to_string().as_str());
    }
}
