//! Maps a failed yt-dlp extraction (the helper's structured error) to a stable item error code
//! (docs/design.md "Error codes"), following docs/ytdlp.md "Error messages" and "Classifying
//! errors". Structured fields win over
//! message text: TikTok's `statusCode` from the parsed page, then the HTTP status, then the
//! exception type, and only then yt-dlp's message.
//!
//! Decisions where docs/ytdlp.md leaves a choice:
//! * `Unable to extract challenge data` / `Unable to solve JS challenge` (a WAF wall yt-dlp could
//!   not pass) → `UPSTREAM_BLOCKED`; `Unexpected response from webpage request`, `Unable to
//!   extract universal data`, `No video formats found` and other unexpected page shapes →
//!   `UPSTREAM_CHANGED` (layout drift). Both are retryable.
//! * 10204 ("Your IP address is blocked from accessing this post") → `VIDEO_NOT_FOUND`: TikTok
//!   uses it for deleted and unknown posts; yt-dlp's wording is misleading.
//! * A short link that lands on `/notfound`, or any HTTP 404 → `VIDEO_NOT_FOUND`.
//! * `Unexpected response from webpage request` for an empty page body (the helper reports the
//!   page size) → `UPSTREAM_EMPTY`: TikTok's bot answer, not a layout change.
//! * "No suitable extractor" for a `/photo/` URL is not an error yet: the caller retries once
//!   with the `/video/` form of that URL.

use std::sync::LazyLock;

use regex::Regex;
use tokworks_shared::error_code::ErrorCode;

use crate::ytdlp::process::HelperError;

/// What a failed extraction means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureClass {
    /// A final classification.
    Error(ErrorCode),
    /// A short link resolved to a photo post, which yt-dlp cannot open as `/photo/`: extract
    /// `video_url` (the same post as `/@user/video/ID`) instead.
    PhotoPost { video_url: String },
}

static PHOTO_URL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"https?://(?:www\.)?tiktok\.com/@([\w.\-]*)/photo/(\d+)").ok());

static TIKTOK_STATUS_IN_MESSAGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"status code (\d+)").ok());

/// Classifies one helper error.
pub fn classify_helper_error(error: &HelperError) -> FailureClass {
    if let Some(code) = error.status_code.and_then(code_for_tiktok_status) {
        return FailureClass::Error(code);
    }
    if let Some(code) = error.http_status.map(code_for_http_status) {
        return FailureClass::Error(code);
    }
    let message = error.orig_msg.as_deref().unwrap_or_default().to_owned() + " " + &error.message;
    if error.webpage_bytes == Some(0)
        && message.contains("Unexpected response from webpage request")
    {
        return FailureClass::Error(ErrorCode::UpstreamEmpty);
    }
    if message.contains("No suitable extractor") || message.contains("Unsupported URL") {
        if let Some(video_url) = photo_url_as_video_url(&message) {
            return FailureClass::PhotoPost { video_url };
        }
        if message.contains("tiktok.com/notfound") {
            return FailureClass::Error(ErrorCode::VideoNotFound);
        }
        return FailureClass::Error(ErrorCode::UnsupportedUrl);
    }
    if let Some(status) = TIKTOK_STATUS_IN_MESSAGE
        .as_ref()
        .and_then(|pattern| pattern.captures(&message))
        .and_then(|captures| captures.get(1))
        .and_then(|status| status.as_str().parse::<i64>().ok())
    {
        return FailureClass::Error(
            code_for_tiktok_status(status).unwrap_or(ErrorCode::UpstreamChanged),
        );
    }
    FailureClass::Error(code_for_message(&error.error_type, &message))
}

/// TikTok's `webapp.video-detail.statusCode` (0 and -1 "not parsed" are not errors).
pub fn code_for_tiktok_status(status: i64) -> Option<ErrorCode> {
    match status {
        0 | -1 => None,
        10204 => Some(ErrorCode::VideoNotFound),
        10216 | 10222 => Some(ErrorCode::VideoPrivate),
        10231 => Some(ErrorCode::VideoRegionBlocked),
        10217 => Some(ErrorCode::VideoUnderReview),
        _ => Some(ErrorCode::UpstreamChanged),
    }
}

fn code_for_http_status(status: u16) -> ErrorCode {
    match status {
        429 => ErrorCode::UpstreamRateLimited,
        403 => ErrorCode::UpstreamBlocked,
        404 | 410 => ErrorCode::VideoNotFound,
        500..=599 => ErrorCode::UpstreamUnavailable,
        _ => ErrorCode::UpstreamChanged,
    }
}

fn code_for_message(error_type: &str, message: &str) -> ErrorCode {
    const TRANSPORT_TYPES: [&str; 6] = [
        "TransportError",
        "IncompleteRead",
        "ProxyError",
        "SSLError",
        "CertificateVerifyError",
        "TimeoutError",
    ];
    const TRANSPORT_MESSAGES: [&str; 14] = [
        "timed out",
        "Operation too slow",
        "Connection refused",
        "Connection reset",
        "Remote end closed connection",
        "Error reading response",
        "IncompleteRead",
        "Tunnel connection failed",
        "Name or service not known",
        "CERTIFICATE_VERIFY_FAILED",
        "curl: (",
        "Connection aborted",
        "Broken pipe",
        "Unable to download webpage",
    ];
    let matches_any = |needles: &[&str]| needles.iter().any(|needle| message.contains(needle));
    if message.contains("Your IP address is blocked from accessing this post") {
        ErrorCode::VideoNotFound
    } else if matches_any(&[
        "You do not have permission to view this post",
        "account is private",
    ]) {
        ErrorCode::VideoPrivate
    } else if message.contains("comfortable for some audiences") {
        ErrorCode::AgeRestricted
    } else if message.contains("requiring login") || message.contains("Log in for access") {
        ErrorCode::LoginRequired
    } else if message.contains("HTTP Error 429") {
        ErrorCode::UpstreamRateLimited
    } else if message.contains("HTTP Error 403") {
        ErrorCode::UpstreamBlocked
    } else if message.contains("HTTP Error 404") {
        ErrorCode::VideoNotFound
    } else if message.contains("HTTP Error 5") {
        ErrorCode::UpstreamUnavailable
    } else if matches_any(&[
        "Unable to extract challenge data",
        "Unable to solve JS challenge",
    ]) {
        ErrorCode::UpstreamBlocked
    } else if matches_any(&[
        "Unexpected response from webpage request",
        "Unable to extract universal data",
        "No video formats found",
    ]) {
        ErrorCode::UpstreamChanged
    } else if TRANSPORT_TYPES.contains(&error_type) || matches_any(&TRANSPORT_MESSAGES) {
        ErrorCode::UpstreamUnavailable
    } else if message.contains("please report this issue") {
        ErrorCode::UpstreamChanged
    } else {
        ErrorCode::Internal
    }
}

/// The message tenants read for a failed extraction classified as `code`: yt-dlp's own message
/// when it only describes the post, a summary when it may describe our network (a transport or
/// proxy failure names the proxy host, sometimes its credentials). The full message is logged
/// at warn for operators.
pub fn tenant_message(error: &HelperError, code: ErrorCode) -> String {
    let message = error.orig_msg.as_deref().unwrap_or_default().to_owned() + " " + &error.message;
    let lowered = message.to_ascii_lowercase();
    let names_the_network = ["proxy", "tunnel", "host=", "connectionpool", "errno"]
        .iter()
        .any(|needle| lowered.contains(needle));
    if code != ErrorCode::UpstreamUnavailable && !names_the_network {
        return error.message.clone();
    }
    tracing::warn!(error_type = %error.error_type, %message, "yt-dlp extraction failed");
    match error.http_status {
        Some(status) => format!("yt-dlp: TikTok answered HTTP {status}"),
        None if code == ErrorCode::UpstreamUnavailable => {
            "yt-dlp could not reach TikTok (network or proxy error)".to_owned()
        }
        None => format!("yt-dlp failed ({})", code.as_str()),
    }
}

/// `https://www.tiktok.com/@u/photo/ID…` anywhere in `text` → `https://www.tiktok.com/@u/video/ID`.
pub fn photo_url_as_video_url(text: &str) -> Option<String> {
    let captures = PHOTO_URL.as_ref()?.captures(text)?;
    let username = captures
        .get(1)
        .map(|name| name.as_str())
        .filter(|name| !name.is_empty());
    let video_id = captures.get(2)?.as_str();
    Some(format!(
        "https://www.tiktok.com/@{}/video/{video_id}",
        username.unwrap_or("_")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_with(message: &str) -> HelperError {
        HelperError {
            error_type: "ExtractorError".into(),
            message: message.into(),
            ..HelperError::default()
        }
    }

    fn code(error: &HelperError) -> ErrorCode {
        match classify_helper_error(error) {
            FailureClass::Error(code) => code,
            FailureClass::PhotoPost { video_url } => panic!("unexpected photo retry {video_url}"),
        }
    }

    #[test]
    fn proxy_failures_are_summarised_for_tenants() {
        let error = HelperError {
            error_type: "ProxyError".into(),
            message: "ERROR: [TikTok] 1: Unable to download webpage: ('Unable to connect to \
                      proxy', NewConnectionError(\"HTTPSConnectionPool(host='proxy.corp', \
                      port=3128)\"))"
                .into(),
            ..HelperError::default()
        };
        let code = code(&error);
        assert_eq!(code, ErrorCode::UpstreamUnavailable);
        assert_eq!(
            tenant_message(&error, code),
            "yt-dlp could not reach TikTok (network or proxy error)"
        );
        let private = error_with("ERROR: [TikTok] 1: This account is private");
        assert_eq!(
            tenant_message(&private, ErrorCode::VideoPrivate),
            "ERROR: [TikTok] 1: This account is private"
        );
    }

    #[test]
    fn ytdlp_messages_map_to_documented_codes() {
        let table: &[(&str, ErrorCode)] = &[
            (
                "ERROR: [TikTok] 1: Your IP address is blocked from accessing this post",
                ErrorCode::VideoNotFound,
            ),
            (
                "ERROR: [TikTok] 1: You do not have permission to view this post. Log into an account that has access.",
                ErrorCode::VideoPrivate,
            ),
            (
                "ERROR: [tiktok:user] u: This user's account is private. Log into an account",
                ErrorCode::VideoPrivate,
            ),
            (
                "ERROR: [TikTok] 1: Video not available, status code 10231; please report this issue",
                ErrorCode::VideoRegionBlocked,
            ),
            (
                "ERROR: [TikTok] 1: Video not available, status code 10217; please report this issue",
                ErrorCode::VideoUnderReview,
            ),
            (
                "ERROR: [TikTok] 1: Video not available, status code 100004; please report this issue",
                ErrorCode::UpstreamChanged,
            ),
            (
                "ERROR: [TikTok] 1: TikTok is requiring login for access to this content. Use --cookies",
                ErrorCode::LoginRequired,
            ),
            (
                "ERROR: [TikTok] 1: This post may not be comfortable for some audiences. Log in for access.",
                ErrorCode::AgeRestricted,
            ),
            (
                "ERROR: [TikTok] 1: Unable to download webpage: HTTP Error 429: Too Many Requests",
                ErrorCode::UpstreamRateLimited,
            ),
            (
                "ERROR: [TikTok] 1: Unable to download webpage: HTTP Error 403: Forbidden",
                ErrorCode::UpstreamBlocked,
            ),
            (
                "ERROR: [TikTok] 1: Unable to download webpage: HTTP Error 500: Internal Server Error",
                ErrorCode::UpstreamUnavailable,
            ),
            (
                "ERROR: [TikTok] 1: Unable to download webpage: HTTP Error 503: Service Unavailable",
                ErrorCode::UpstreamUnavailable,
            ),
            (
                "ERROR: [TikTok] 1: Unable to download webpage: Remote end closed connection without response",
                ErrorCode::UpstreamUnavailable,
            ),
            (
                "ERROR: [TikTok] 1: Unable to download webpage: The read operation timed out",
                ErrorCode::UpstreamUnavailable,
            ),
            (
                "ERROR: [TikTok] 1: 1: Error reading response: 19 bytes read, 99981 more expected",
                ErrorCode::UpstreamUnavailable,
            ),
            (
                "ERROR: [TikTok] 1: Failed to perform, curl: (56) Recv failure: Connection reset by peer",
                ErrorCode::UpstreamUnavailable,
            ),
            (
                "ERROR: [TikTok] 1: Unable to download webpage: <urlopen error Tunnel connection failed: 403 Forbidden by sim>",
                ErrorCode::UpstreamUnavailable,
            ),
            (
                "ERROR: [TikTok] 1: Unable to extract challenge data; please report this issue",
                ErrorCode::UpstreamBlocked,
            ),
            (
                "ERROR: [TikTok] 1: Unexpected response from webpage request; please report this issue",
                ErrorCode::UpstreamChanged,
            ),
            (
                "ERROR: [TikTok] 1: No video formats found!; please report this issue",
                ErrorCode::UpstreamChanged,
            ),
            (
                "ERROR: No suitable extractor found for URL https://example.com/x",
                ErrorCode::UnsupportedUrl,
            ),
            (
                "ERROR: No suitable extractor found for URL https://www.tiktok.com/notfound",
                ErrorCode::VideoNotFound,
            ),
            (
                "ERROR: [vm.tiktok] ZTx: Unable to download webpage: HTTP Error 404: Not Found",
                ErrorCode::VideoNotFound,
            ),
            ("ERROR: something nobody expected", ErrorCode::Internal),
        ];
        for (message, expected) in table {
            assert_eq!(code(&error_with(message)), *expected, "{message}");
        }
    }

    #[test]
    fn structured_fields_win_over_the_message() {
        let status = HelperError {
            status_code: Some(10216),
            ..error_with("whatever")
        };
        assert_eq!(code(&status), ErrorCode::VideoPrivate);
        let region = HelperError {
            status_code: Some(10231),
            ..error_with("Video not available")
        };
        assert_eq!(code(&region), ErrorCode::VideoRegionBlocked);
        let http = HelperError {
            error_type: "HTTPError".into(),
            http_status: Some(429),
            ..error_with("HTTP Error 500 in an unrelated place")
        };
        assert_eq!(code(&http), ErrorCode::UpstreamRateLimited);
        let transport = HelperError {
            error_type: "TransportError".into(),
            ..error_with("[Errno 111] something")
        };
        assert_eq!(code(&transport), ErrorCode::UpstreamUnavailable);
        let parsed_ok = HelperError {
            status_code: Some(0),
            ..error_with("HTTP Error 403")
        };
        assert_eq!(code(&parsed_ok), ErrorCode::UpstreamBlocked);
    }

    #[test]
    fn an_empty_page_is_upstream_empty_and_a_page_without_data_is_layout_drift() {
        let message = "ERROR: [TikTok] 1: Unexpected response from webpage request; please report";
        let empty = HelperError {
            webpage_bytes: Some(0),
            ..error_with(message)
        };
        assert_eq!(code(&empty), ErrorCode::UpstreamEmpty);
        let without_data = HelperError {
            webpage_bytes: Some(8_000),
            ..error_with(message)
        };
        assert_eq!(code(&without_data), ErrorCode::UpstreamChanged);
    }

    #[test]
    fn short_link_to_a_photo_post_asks_for_the_video_url() {
        let error = error_with(
            "ERROR: No suitable extractor found for URL https://www.tiktok.com/@some.user/photo/7300000000000000003?_r=1&_t=ZT-x",
        );
        assert_eq!(
            classify_helper_error(&error),
            FailureClass::PhotoPost {
                video_url: "https://www.tiktok.com/@some.user/video/7300000000000000003".into()
            }
        );
    }
}
