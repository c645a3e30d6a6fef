//! Sends one delivery: re-checks the URL with the SSRF guard, resolves the host and checks every
//! address, then connects to the checked address only (reqwest `resolve` pins it, so DNS
//! rebinding cannot swap it), with redirects disabled, a whole-request timeout and a capped read
//! of the response. Signs with the key's current secret and, during a rotation's grace period,
//! the previous one too.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use tokworks_shared::db::webhooks::{AttemptRecord, ClaimedDelivery, WebhookSecretRow};
use tokworks_shared::webhooks::address_guard::AddressError;
use tokworks_shared::webhooks::signature::{SigningKey, signature_header};

use crate::background::webhook_deliverer::DeliverySettings;

/// Most bytes of a response body kept as the attempt's excerpt.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

/// What one attempt produced.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub record: AttemptRecord,
    /// The SSRF guard refused the target at send time: nothing was sent.
    pub refused: bool,
    /// The receiver's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

/// Why a send did not produce a response.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("refused by the SSRF guard: {0}")]
    Refused(#[from] AddressError),
    #[error("cannot resolve {host}: {message}")]
    Resolve { host: String, message: String },
    #[error("unusable signing secret: {0}")]
    Secret(#[from] tokworks_shared::webhooks::signature::SecretError),
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
}

/// One attempt of `claimed`.
pub async fn send_delivery(
    settings: &DeliverySettings,
    claimed: &ClaimedDelivery,
    secrets: &WebhookSecretRow,
    worker_name: &str,
) -> SendResult {
    let started_at = Utc::now();
    let started = Instant::now();
    let outcome = try_send(settings, claimed, secrets).await;
    let latency = started.elapsed();
    let record = |status_code, response_excerpt, error| AttemptRecord {
        worker_name: worker_name.to_owned(),
        started_at,
        status_code,
        latency,
        response_excerpt,
        error,
    };
    match outcome {
        Ok(response) => SendResult {
            record: record(Some(response.status), Some(response.excerpt), None),
            refused: false,
            retry_after: response.retry_after,
        },
        Err(error) => SendResult {
            refused: matches!(error, SendError::Refused(_) | SendError::Secret(_)),
            record: record(None, None, Some(error.to_string())),
            retry_after: None,
        },
    }
}

struct ReceivedResponse {
    status: i32,
    excerpt: String,
    retry_after: Option<Duration>,
}

async fn try_send(
    settings: &DeliverySettings,
    claimed: &ClaimedDelivery,
    secrets: &WebhookSecretRow,
) -> Result<ReceivedResponse, SendError> {
    let target = settings.policy.check_url(&claimed.url)?;
    let address = match target.ip_literal {
        Some(address) => address,
        None => {
            let addresses = resolve(&target.host, target.port, settings.timeout).await?;
            settings.policy.check_resolved(&target.host, &addresses)?;
            // Every address passed; connect to the first one only.
            addresses[0]
        }
    };

    let now = Utc::now();
    let keys = secrets
        .signing_secrets(now)
        .into_iter()
        .map(SigningKey::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let body = serde_json::to_vec(&claimed.payload).unwrap_or_default();
    let timestamp = now.timestamp();
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, HeaderValue::from_static("tokworks-webhooks/1"));
    for (name, value) in [
        ("webhook-id", claimed.webhook_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            signature_header(&keys, &claimed.webhook_id, timestamp, &body),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }

    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .no_proxy();
    if target.ip_literal.is_none() {
        client = client.resolve(&target.host, SocketAddr::new(address, target.port));
    }
    let client = client.build()?;
    let mut response = client
        .post(target.url.clone())
        .headers(headers)
        .body(body)
        .send()
        .await?;
    let status = i32::from(response.status().as_u16());
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(crate::retry_after::parse_retry_after);
    let mut excerpt = Vec::new();
    // A slow or endless body is cut by the client's timeout; only the first KB is kept.
    while excerpt.len() < RESPONSE_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    excerpt.truncate(RESPONSE_EXCERPT_BYTES);
    Ok(ReceivedResponse {
        status,
        // Valid UTF-8 (lossy) and without NUL, which Postgres `text` refuses.
        excerpt: String::from_utf8_lossy(&excerpt).replace('\0', ""),
        retry_after,
    })
}

async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<IpAddr>, SendError> {
    let failed = |message: String| SendError::Resolve {
        host: host.to_owned(),
        message,
    };
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addresses)) => Ok(addresses.map(|address| address.ip()).collect()),
        Ok(Err(error)) => Err(failed(error.to_string())),
        Err(_) => Err(failed("timed out".to_owned())),
    }
}
