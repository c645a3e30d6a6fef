//! Maps what the web extractor saw to item error codes (docs/design.md "Error codes",
//! docs/tiktok-formats.md "Page-level failures"): HTTP statuses, transport failures, page errors and
//! redirect targets. Redirect targets are also the SSRF guard: a `Location` is only followed
//! when `TiktokUrl::parse` accepts it as a TikTok post or short link.
//!
//! Decisions where docs/tiktok-formats.md leaves a choice:
//! * 404/410 → `VIDEO_NOT_FOUND`; any other unexpected status → `UPSTREAM_CHANGED`.
//! * A redirect to `/login` → `LOGIN_REQUIRED`; to `/notfound`, the home page, a profile or any
//!   other non-post TikTok page → `VIDEO_NOT_FOUND` (an invalid or unavailable link).
//! * A redirect off TikTok (or to an unparsable URL) is not followed → `UPSTREAM_CHANGED`: TikTok
//!   does not do that, so the answer is not one we understand.

use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::{TiktokUrl, TiktokUrlKind};
use url::Url;
use wreq::StatusCode;

use crate::egress::FetchError;
use crate::extractor::ExtractionFailure;
use crate::tiktok::PageError;

/// The error code of a non-success, non-redirect HTTP status.
pub fn code_for_http_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        429 => ErrorCode::UpstreamRateLimited,
        403 => ErrorCode::UpstreamBlocked,
        404 | 410 => ErrorCode::VideoNotFound,
        500..=599 => ErrorCode::UpstreamUnavailable,
        _ => ErrorCode::UpstreamChanged,
    }
}

/// A failure for an HTTP status of `what` (e.g. "the video page").
pub fn http_status_failure(what: &str, status: StatusCode) -> ExtractionFailure {
    ExtractionFailure::new(
        code_for_http_status(status),
        format!("{what} answered HTTP {status}"),
    )
}

/// A transport failure (connect, reset, timeout, truncated body) is `UPSTREAM_UNAVAILABLE`; an
/// oversized page is `UPSTREAM_CHANGED`. The message tenants read is [`fetch_summary`]; the full
/// error is logged at warn for operators.
pub fn fetch_failure(what: &str, error: &FetchError) -> ExtractionFailure {
    let code = match error {
        FetchError::Transport(source) if source.is_builder() => ErrorCode::Internal,
        FetchError::Transport(_) => ErrorCode::UpstreamUnavailable,
        FetchError::TooLarge { .. } => ErrorCode::UpstreamChanged,
        FetchError::Budget(_) => ErrorCode::UpstreamRateLimited,
    };
    tracing::warn!(what, error = %error_chain(error), "TikTok fetch failed");
    ExtractionFailure::new(code, format!("{what}: {}", fetch_summary(error)))
}

/// What tenants read about a failed fetch: its kind only. A transport error's own text can name
/// the proxy host (or carry its credentials) and internal addresses.
pub fn fetch_summary(error: &FetchError) -> String {
    match error {
        FetchError::TooLarge { .. } | FetchError::Budget(_) => error.to_string(),
        FetchError::Transport(source) => transport_summary(source).to_owned(),
    }
}

/// The kind of a transport failure of the TikTok client, in words that name no host.
pub fn transport_summary(error: &wreq::Error) -> &'static str {
    summarise_transport(
        error,
        [
            error.is_timeout(),
            error.is_connect(),
            error.is_body() || error.is_decode(),
            error.is_builder(),
        ],
    )
}

/// The same for the sign server's client (`reqwest`).
pub fn reqwest_transport_summary(error: &reqwest::Error) -> &'static str {
    summarise_transport(
        error,
        [
            error.is_timeout(),
            error.is_connect(),
            error.is_body() || error.is_decode(),
            error.is_builder(),
        ],
    )
}

/// `kinds`: timed out, could not connect, broke while reading, could not be built.
fn summarise_transport(error: &dyn std::error::Error, kinds: [bool; 4]) -> &'static str {
    let chain = error_chain(error).to_ascii_lowercase();
    let [timeout, connect, body, builder] = kinds;
    if chain.contains("proxy") || chain.contains("tunnel") {
        "the proxy failed or refused the connection"
    } else if timeout {
        "timed out"
    } else if connect {
        "could not connect"
    } else if body {
        "the connection broke while reading the answer"
    } else if builder {
        "the request could not be built"
    } else {
        "the connection failed"
    }
}

/// The error and its sources on one line (the client's own message is often just "error sending request").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A page that carries no video data.
pub fn page_failure(error: &PageError) -> ExtractionFailure {
    ExtractionFailure::new(error.error_code(), error.to_string())
}

/// Where a redirect leads, when it may be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectTarget {
    /// A post page.
    Post(TiktokUrl),
    /// Another short link.
    ShortLink(TiktokUrl),
}

/// Classifies the `Location` of a redirect answered for `current`.
pub fn classify_redirect(
    current: &Url,
    location: &str,
) -> Result<RedirectTarget, ExtractionFailure> {
    let Ok(target) = current.join(location) else {
        return Err(ExtractionFailure::new(
            ErrorCode::UpstreamChanged,
            format!("redirect to an unreadable Location `{location}`"),
        ));
    };
    let path = target.path().trim_end_matches('/');
    let on_tiktok = target.host_str().is_some_and(|host| {
        let host = host.to_ascii_lowercase();
        host == "tiktok.com" || host.ends_with(".tiktok.com")
    });
    if on_tiktok && (path == "/login" || path.starts_with("/login/")) {
        return Err(ExtractionFailure::new(
            ErrorCode::LoginRequired,
            format!("TikTok redirected to its login page ({})", target.path()),
        ));
    }
    if on_tiktok && path.contains("notfound") {
        return Err(ExtractionFailure::new(
            ErrorCode::VideoNotFound,
            "TikTok redirected to /notfound (invalid or unavailable link)",
        ));
    }
    let parsed = TiktokUrl::parse(target.as_str()).map_err(|error| {
        ExtractionFailure::new(
            ErrorCode::UpstreamChanged,
            format!("not following a redirect outside TikTok ({error})"),
        )
    })?;
    match parsed.kind() {
        TiktokUrlKind::Post { .. } => Ok(RedirectTarget::Post(parsed)),
        TiktokUrlKind::ShortLink { .. } => Ok(RedirectTarget::ShortLink(parsed)),
        _ => Err(ExtractionFailure::new(
            ErrorCode::VideoNotFound,
            format!(
                "the link leads to {}, not to a post",
                parsed.canonical_url()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(location: &str) -> Result<RedirectTarget, ErrorCode> {
        let current = Url::parse("https://vm.tiktok.com/ZMabc123/").unwrap();
        classify_redirect(&current, location).map_err(|failure| failure.code)
    }

    #[test]
    fn redirect_targets_are_classified() {
        assert!(matches!(
            code("https://www.tiktok.com/@some.user/video/7454730070402848956?_t=ZT-8&_r=1"),
            Ok(RedirectTarget::Post(_))
        ));
        assert!(matches!(
            code("https://www.tiktok.com/@some.user/photo/7454730070402848956"),
            Ok(RedirectTarget::Post(_))
        ));
        assert!(matches!(
            code("https://vt.tiktok.com/ZSabc123/"),
            Ok(RedirectTarget::ShortLink(_))
        ));
        assert_eq!(
            code("https://www.tiktok.com/notfound"),
            Err(ErrorCode::VideoNotFound)
        );
        assert_eq!(
            code("https://www.tiktok.com/login?redirect_url=x"),
            Err(ErrorCode::LoginRequired)
        );
        assert_eq!(code("/login"), Err(ErrorCode::LoginRequired));
        assert_eq!(
            code("https://www.tiktok.com/@some.user"),
            Err(ErrorCode::VideoNotFound)
        );
        assert_eq!(
            code("https://www.tiktok.com/"),
            Err(ErrorCode::VideoNotFound)
        );
        assert_eq!(
            code("http://169.254.169.254/latest/meta-data"),
            Err(ErrorCode::UpstreamChanged)
        );
        assert_eq!(
            code("https://evil.example/@u/video/7454730070402848956"),
            Err(ErrorCode::UpstreamChanged)
        );
    }

    #[test]
    fn http_statuses_map_to_codes() {
        let table = [
            (429, ErrorCode::UpstreamRateLimited),
            (403, ErrorCode::UpstreamBlocked),
            (404, ErrorCode::VideoNotFound),
            (500, ErrorCode::UpstreamUnavailable),
            (503, ErrorCode::UpstreamUnavailable),
            (418, ErrorCode::UpstreamChanged),
        ];
        for (status, expected) in table {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(code_for_http_status(status), expected, "{status}");
        }
    }
}
