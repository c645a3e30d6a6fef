//! The HTTP client of the tokworks API: the key on every request, problem+json errors turned
//! into [`ApiError`] with their stable code, and the job event stream as a sequence of events.

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::events::{Event, EventParser};

/// Pause before resuming an event stream that closed before its `end` event.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Why a call to the service failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The service answered an error (problem+json `code` and `detail`, or the raw status).
    #[error("{status}: {code}: {detail}")]
    Answered {
        status: StatusCode,
        code: String,
        detail: String,
    },
    #[error("cannot reach the service: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the service answered something that is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
}

/// A connection to one tokworks api with one key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    key: String,
}

/// A page of an export: its text and the cursor of the next page.
#[derive(Debug)]
pub struct ExportPage {
    pub text: String,
    pub next_cursor: Option<String>,
}

impl ApiClient {
    pub fn new(base_url: &str, key: &str) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("tokworks-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ApiClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .header("x-api-key", &self.key)
    }

    /// Sends and decodes JSON; an error answer becomes [`ApiError::Answered`].
    async fn json(&self, builder: reqwest::RequestBuilder) -> Result<Value, ApiError> {
        let response = checked(builder.timeout(Duration::from_secs(120)).send().await?).await?;
        Ok(serde_json::from_slice(&response.bytes().await?)?)
    }

    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.json(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let mut builder = self.request(Method::POST, path);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        self.json(builder).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.json(self.request(Method::PATCH, path).json(body))
            .await
    }

    /// `DELETE` of a resource that answers 204 without a body.
    pub async fn delete(&self, path: &str) -> Result<(), ApiError> {
        let builder = self
            .request(Method::DELETE, path)
            .timeout(Duration::from_secs(120));
        checked(builder.send().await?).await?;
        Ok(())
    }

    /// `POST /v1/jobs` with an optional `Idempotency-Key` and `Prefer: wait=N`.
    pub async fn submit(
        &self,
        body: &Value,
        idempotency_key: Option<&str>,
        wait_seconds: Option<u64>,
    ) -> Result<Value, ApiError> {
        let mut builder = self.request(Method::POST, "/v1/jobs").json(body);
        if let Some(key) = idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        if let Some(wait) = wait_seconds {
            builder = builder.header("prefer", format!("wait={wait}"));
        }
        self.json(builder).await
    }

    /// One page of a job's items as NDJSON or CSV (`accept`), from `cursor`.
    pub async fn export_page(
        &self,
        job_id: &str,
        accept: &'static str,
        cursor: Option<&str>,
        status: Option<&str>,
    ) -> Result<ExportPage, ApiError> {
        let mut query = vec![("limit", "1000".to_owned())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        if let Some(status) = status {
            query.push(("status", status.to_owned()));
        }
        let builder = self
            .request(Method::GET, &format!("/v1/jobs/{job_id}/items"))
            .query(&query)
            .header(ACCEPT, accept)
            .timeout(Duration::from_secs(120));
        let response = checked(builder.send().await?).await?;
        let next_cursor = header_text(response.headers(), "x-next-cursor");
        Ok(ExportPage {
            text: response.text().await?,
            next_cursor,
        })
    }

    /// Follows a job's event stream, calling `on_event` for each event, until the `end` event
    /// (whose data, the final job, is returned). A stream that closes early (the server's
    /// EVENTS_MAX_SECONDS, a restart) is resumed with `Last-Event-ID`.
    pub async fn follow_job(
        &self,
        job_id: &str,
        mut on_event: impl FnMut(&Event),
    ) -> Result<Value, ApiError> {
        let mut last_id: Option<String> = None;
        let mut reconnecting = false;
        loop {
            if reconnecting {
                // The stream closed before `end` (the server's EVENTS_MAX_SECONDS or its
                // shutdown): reconnect after a pause, not in a tight loop.
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
            reconnecting = true;
            let mut builder = self
                .request(Method::GET, &format!("/v1/jobs/{job_id}/events"))
                .header(ACCEPT, "text/event-stream");
            if let Some(id) = &last_id {
                builder = builder.header("last-event-id", id);
            }
            let response = checked(builder.send().await?).await?;
            let mut parser = EventParser::default();
            let mut chunks = response.bytes_stream();
            while let Some(chunk) = chunks.next().await {
                let Ok(chunk) = chunk else { break };
                for event in parser.feed(&chunk) {
                    if event.id.is_some() {
                        last_id.clone_from(&event.id);
                    }
                    on_event(&event);
                    if event.name == "end" {
                        return Ok(serde_json::from_str(&event.data)?);
                    }
                }
            }
        }
    }
}

/// The response when it is a success, else its problem as [`ApiError::Answered`].
async fn checked(response: reqwest::Response) -> Result<reqwest::Response, ApiError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let problem: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let text = |pointer: &str| problem.pointer(pointer).and_then(Value::as_str);
    Err(ApiError::Answered {
        status,
        code: text("/code")
            .or_else(|| text("/error/code"))
            .unwrap_or("HTTP_ERROR")
            .to_owned(),
        detail: text("/detail")
            .or_else(|| text("/error/message"))
            .map_or_else(|| body.chars().take(300).collect(), str::to_owned),
    })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .map(str::to_owned)
}
