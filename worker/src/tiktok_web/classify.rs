//! Honest classification of TikTok's web API answers (docs/tiktok-formats.md
//! "Unsigned requests", "statusCode values"):
//!
//! | answer | code |
//! |---|---|
//! | 200 with an empty body | `UPSTREAM_EMPTY` (bot detection, retryable; never "no videos") |
//! | 429 | `UPSTREAM_RATE_LIMITED` (+ `Retry-After`) |
//! | 403, captcha JSON (`{"type":"verify"}`, `verifyConfig`), WAF page, `statusCode` 10000/10113/10114 | `UPSTREAM_BLOCKED` |
//! | 5xx, transport failure, request timeout, 10101 | `UPSTREAM_UNAVAILABLE` |
//! | redirect to `/login`, 10102 | `LOGIN_REQUIRED` |
//! | 10205 (and 10209/10211/10212), a challenge without `id` | `HASHTAG_NOT_FOUND` |
//! | 10202 (and 10223/10225) | `USER_NOT_FOUND` |
//! | 10222/10216, a private account | `VIDEO_PRIVATE` |
//! | invalid JSON, unexpected shape, 10201 "invalid params", other statuses, unknown codes | `UPSTREAM_CHANGED` |
//! | a sign server failure | `UPSTREAM_UNAVAILABLE` (unreachable/5xx) or `UPSTREAM_CHANGED` |
//! | the overall deadline | `EXTRACTOR_TIMEOUT` |

use std::time::Duration;

use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;

use super::signer::SignError;
use crate::egress::{FetchError, Fetched};
use crate::tiktok::status_code_error;
use crate::tiktok::waf::find_waf_challenge;
use crate::web_extractor::classify::{error_chain, fetch_summary, reqwest_transport_summary};

/// Why a feed request failed: a stable code, a message, and TikTok's `Retry-After` if any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct FeedFailure {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl FeedFailure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> FeedFailure {
        FeedFailure {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `UPSTREAM_CHANGED` for an answer whose shape is not understood.
    pub fn changed(message: impl Into<String>) -> FeedFailure {
        FeedFailure::new(ErrorCode::UpstreamChanged, message)
    }
}

/// A transport failure (connect, reset, timeout, truncated body) or an oversized body. Tenants
/// read its kind only (the error's text can name the proxy host); the full error is logged at
/// warn for operators.
pub fn fetch_failure(what: &str, error: &FetchError) -> FeedFailure {
    let code = match error {
        FetchError::Transport(_) => ErrorCode::UpstreamUnavailable,
        FetchError::TooLarge { .. } => ErrorCode::UpstreamChanged,
        FetchError::Budget(_) => ErrorCode::UpstreamRateLimited,
    };
    tracing::warn!(what, error = %error_chain(error), "TikTok feed fetch failed");
    FeedFailure::new(code, format!("{what}: {}", fetch_summary(error)))
}

/// A sign server that failed: unreachable or 5xx → `UPSTREAM_UNAVAILABLE`; otherwise its
/// answer is not understood → `UPSTREAM_CHANGED`. Tenants read a summary (the sign server's
/// address and answer stay in the operator's warn log).
pub fn sign_failure(error: &SignError) -> FeedFailure {
    let code = match error {
        SignError::Transport(_) => ErrorCode::UpstreamUnavailable,
        SignError::Status { status, .. } if *status >= 500 => ErrorCode::UpstreamUnavailable,
        _ => ErrorCode::UpstreamChanged,
    };
    tracing::warn!(error = %error_chain(error), "the sign server failed");
    let summary = match error {
        SignError::Transport(source) => {
            format!(
                "the sign server is unreachable: {}",
                reqwest_transport_summary(source)
            )
        }
        SignError::Status { status, .. } => format!("the sign server answered HTTP {status}"),
        SignError::Refused(_) => "the sign server refused to sign".to_owned(),
        SignError::InvalidAnswer(_) => "the sign server's answer is not understood".to_owned(),
        SignError::ForeignUrl => error.to_string(),
    };
    FeedFailure::new(code, summary)
}

/// The JSON object of an API answer, or the failure it stands for (HTTP status, empty body,
/// captcha, WAF page, non-JSON). A non-zero `statusCode` is left to [`check_status`].
pub fn api_json(what: &str, fetched: &Fetched) -> Result<Value, FeedFailure> {
    let status = fetched.status;
    if status.is_redirection() {
        let location = fetched.location.as_deref().unwrap_or_default();
        let code = if location.contains("/login") {
            ErrorCode::LoginRequired
        } else {
            ErrorCode::UpstreamChanged
        };
        return Err(FeedFailure::new(
            code,
            format!("{what} redirected (HTTP {status}) to `{location}`"),
        ));
    }
    if !status.is_success() {
        let code = match status.as_u16() {
            429 => ErrorCode::UpstreamRateLimited,
            403 => ErrorCode::UpstreamBlocked,
            500..=599 => ErrorCode::UpstreamUnavailable,
            _ => ErrorCode::UpstreamChanged,
        };
        let mut failure = FeedFailure::new(code, format!("{what} answered HTTP {status}"));
        failure.retry_after = fetched
            .retry_after
            .as_deref()
            .and_then(crate::retry_after::parse_retry_after);
        return Err(failure);
    }
    let text = String::from_utf8_lossy(&fetched.body);
    if text.trim().is_empty() {
        return Err(FeedFailure::new(
            ErrorCode::UpstreamEmpty,
            format!(
                "{what} answered 200 with an empty body (TikTok's bot detection, e.g. a missing or rejected signature)"
            ),
        ));
    }
    let Ok(value) = serde_json::from_str::<Value>(text.trim()) else {
        if !matches!(find_waf_challenge(&text), Ok(None)) || text.contains("captcha") {
            return Err(FeedFailure::new(
                ErrorCode::UpstreamBlocked,
                format!("{what} answered a WAF challenge or captcha page instead of JSON"),
            ));
        }
        return Err(FeedFailure::changed(format!("{what} is not JSON")));
    };
    if !value.is_object() {
        return Err(FeedFailure::changed(format!("{what} is not a JSON object")));
    }
    if is_captcha(&value) {
        return Err(FeedFailure::new(
            ErrorCode::UpstreamBlocked,
            format!("{what} answered a captcha (`type: verify`)"),
        ));
    }
    Ok(value)
}

fn is_captcha(value: &Value) -> bool {
    let is_verify = |object: &Value| object.get("type").and_then(Value::as_str) == Some("verify");
    is_verify(value) || value.get("verifyConfig").is_some_and(is_verify)
}

/// A non-zero `statusCode` as a failure; `Ok` for 0 (or absent).
pub fn check_status(what: &str, status_code: i64, status_message: &str) -> Result<(), FeedFailure> {
    if status_code == 0 {
        return Ok(());
    }
    let code = match status_code {
        10201 => ErrorCode::UpstreamChanged,
        other => status_code_error(other, None).unwrap_or(ErrorCode::UpstreamChanged),
    };
    let detail = if status_message.is_empty() {
        String::new()
    } else {
        format!(" ({status_message})")
    };
    Err(FeedFailure::new(
        code,
        format!("{what}: TikTok statusCode {status_code}{detail}"),
    ))
}

#[cfg(test)]
mod tests {
    use wreq::StatusCode;

    use super::*;

    fn fetched(status: u16, body: &str) -> Fetched {
        Fetched {
            status: StatusCode::from_u16(status).unwrap(),
            location: None,
            content_type: None,
            retry_after: (status == 429).then(|| "30".to_owned()),
            set_cookies: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn code(status: u16, body: &str) -> ErrorCode {
        api_json("x", &fetched(status, body)).unwrap_err().code
    }

    #[tokio::test]
    async fn tenants_read_no_proxy_address_or_credentials_in_a_fetch_failure() {
        // A proxy on a closed loopback port: the connection fails (nothing is listening).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let proxy = format!("http://proxyuser:proxysecret@127.0.0.1:{port}");
        let client = wreq::Client::builder()
            .proxy(wreq::Proxy::all(&proxy).unwrap())
            .build()
            .unwrap();
        let error = client
            .get("http://www.tiktok.com/api/recommend/item_list/")
            .send()
            .await
            .unwrap_err();
        let failure = fetch_failure("the trending feed", &FetchError::Transport(error));
        assert_eq!(failure.code, ErrorCode::UpstreamUnavailable);
        for secret in ["proxyuser", "proxysecret", "127.0.0.1", &port.to_string()] {
            assert!(!failure.message.contains(secret), "{}", failure.message);
        }
        assert!(
            failure.message.starts_with("the trending feed: "),
            "{}",
            failure.message
        );
    }

    #[test]
    fn sign_server_failures_are_summarised() {
        let failure = sign_failure(&SignError::Status {
            status: 502,
            message: "bad gateway from signer.internal.corp:8080".to_owned(),
        });
        assert_eq!(failure.code, ErrorCode::UpstreamUnavailable);
        assert_eq!(failure.message, "the sign server answered HTTP 502");
        let refused = sign_failure(&SignError::Refused("key sk-123 expired".to_owned()));
        assert_eq!(refused.message, "the sign server refused to sign");
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(code(200, ""), ErrorCode::UpstreamEmpty);
        assert_eq!(code(200, "  \n"), ErrorCode::UpstreamEmpty);
        let limited = api_json("x", &fetched(429, "")).unwrap_err();
        assert_eq!(limited.code, ErrorCode::UpstreamRateLimited);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(30)));
        assert_eq!(code(403, "<html>"), ErrorCode::UpstreamBlocked);
        assert_eq!(code(502, ""), ErrorCode::UpstreamUnavailable);
        assert_eq!(code(404, ""), ErrorCode::UpstreamChanged);
        assert_eq!(code(200, "<html>nope</html>"), ErrorCode::UpstreamChanged);
        assert_eq!(code(200, "[1,2]"), ErrorCode::UpstreamChanged);
        assert_eq!(
            code(200, r#"{"type":"verify"}"#),
            ErrorCode::UpstreamBlocked
        );
        assert_eq!(
            code(200, r#"{"verifyConfig":{"type":"verify"}}"#),
            ErrorCode::UpstreamBlocked
        );
        assert!(api_json("x", &fetched(200, r#"{"statusCode":0}"#)).is_ok());
        let mut login = fetched(302, "");
        login.location = Some("https://www.tiktok.com/login?redirect_url=x".to_owned());
        assert_eq!(
            api_json("x", &login).unwrap_err().code,
            ErrorCode::LoginRequired
        );
    }

    #[test]
    fn status_codes_are_classified() {
        let table = [
            (10205, ErrorCode::HashtagNotFound),
            (10202, ErrorCode::UserNotFound),
            (10222, ErrorCode::VideoPrivate),
            (10000, ErrorCode::UpstreamBlocked),
            (10113, ErrorCode::UpstreamBlocked),
            (10114, ErrorCode::UpstreamBlocked),
            (10201, ErrorCode::UpstreamChanged),
            (10101, ErrorCode::UpstreamUnavailable),
            (123_456, ErrorCode::UpstreamChanged),
        ];
        for (status, expected) in table {
            assert_eq!(check_status("x", status, "").unwrap_err().code, expected);
        }
        assert!(check_status("x", 0, "").is_ok());
    }
}
