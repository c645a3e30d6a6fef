//! Downloads subtitle files: only `https` URLs on TikTok's media hosts (its CDN domains and the
//! numbered web CDN hosts under `tiktok.com`), through the worker's
//! TikTok HTTP client (the extractor's proxy and TLS settings), with a size cap and a deadline.
//! Subtitle URLs are path-signed and need no cookie (docs/tiktok-formats.md "CDN hosts and URL anatomy"), so each
//! download uses a fresh cookie session. Whether a signed URL expired is the CDN's decision (its
//! 403), not this machine's clock: a skewed clock would otherwise discard good URLs.

use std::time::Duration;

use reqwest::{Client, StatusCode, Url};
use tokworks_shared::error_code::ErrorCode;

use crate::web_extractor::client::{
    ClientSetupError, FetchError, Session, WebNetwork, build_client, is_tiktok_media_host,
};

/// Largest subtitle file accepted (TikTok's are a few KiB).
pub const MAX_SUBTITLE_BYTES: usize = 2 * 1024 * 1024;
/// Deadline of one subtitle download.
pub const SUBTITLE_FETCH_TIMEOUT: Duration = Duration::from_secs(15);
const SUBTITLE_ACCEPT: &str = "text/vtt,text/plain;q=0.9,*/*;q=0.8";
const REFERER: &str = "https://www.tiktok.com/";

/// Why a subtitle file could not be downloaded.
#[derive(Debug, thiserror::Error)]
pub enum SubtitleFetchError {
    #[error("the subtitle URL is not an https URL on TikTok's CDN: {0}")]
    NotTiktokCdn(String),
    #[error("the subtitle CDN answered HTTP {0}")]
    Status(StatusCode),
    #[error("the subtitle file is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the subtitle download did not finish within {0:?}")]
    Timeout(Duration),
    #[error("the subtitle download failed: {0}")]
    Transport(#[source] reqwest::Error),
    #[error(transparent)]
    Budget(crate::egress::budget::BudgetExhausted),
}

impl SubtitleFetchError {
    /// Whether fresh URLs (a new extraction of the video) could help: the CDN refused the URL's
    /// signature or expiry (403, 410).
    pub fn url_went_stale(&self) -> bool {
        matches!(
            self,
            SubtitleFetchError::Status(StatusCode::FORBIDDEN | StatusCode::GONE)
        )
    }

    /// The stable code the transcript records.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            SubtitleFetchError::Status(status) => match *status {
                StatusCode::TOO_MANY_REQUESTS => ErrorCode::UpstreamRateLimited,
                StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED | StatusCode::GONE => {
                    ErrorCode::UpstreamBlocked
                }
                StatusCode::NOT_FOUND => ErrorCode::UpstreamEmpty,
                status if status.is_server_error() => ErrorCode::UpstreamUnavailable,
                _ => ErrorCode::UpstreamChanged,
            },
            SubtitleFetchError::NotTiktokCdn(_) | SubtitleFetchError::TooLarge { .. } => {
                ErrorCode::UpstreamChanged
            }
            SubtitleFetchError::Timeout(_) => ErrorCode::ExtractorTimeout,
            SubtitleFetchError::Transport(_) => ErrorCode::UpstreamUnavailable,
            SubtitleFetchError::Budget(_) => ErrorCode::UpstreamRateLimited,
        }
    }
}

/// The subtitle downloader of a worker process; cheap to clone.
#[derive(Debug, Clone)]
pub struct SubtitleFetcher {
    client: Client,
    timeout: Duration,
}

impl SubtitleFetcher {
    /// A downloader going through `network` (TIKTOK_PROXY_URL, TIKTOK_PROXY_INSECURE_TLS).
    pub fn new(network: &WebNetwork) -> Result<SubtitleFetcher, ClientSetupError> {
        Ok(SubtitleFetcher {
            client: build_client(network)?,
            timeout: SUBTITLE_FETCH_TIMEOUT,
        })
    }

    /// Downloads one subtitle file.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, SubtitleFetchError> {
        let parsed = Url::parse(url)
            .ok()
            .filter(|parsed| {
                parsed.scheme() == "https" && parsed.host_str().is_some_and(is_tiktok_media_host)
            })
            .ok_or_else(|| SubtitleFetchError::NotTiktokCdn(url.to_owned()))?;
        let session = Session::new(&self.client);
        let fetched = tokio::time::timeout(
            self.timeout,
            session.get(&parsed, SUBTITLE_ACCEPT, Some(REFERER), MAX_SUBTITLE_BYTES),
        )
        .await
        .map_err(|_| SubtitleFetchError::Timeout(self.timeout))?
        .map_err(|error| match error {
            FetchError::Transport(error) => SubtitleFetchError::Transport(error),
            FetchError::TooLarge { limit } => SubtitleFetchError::TooLarge { limit },
            FetchError::Budget(exhausted) => SubtitleFetchError::Budget(exhausted),
        })?;
        if fetched.status != StatusCode::OK {
            return Err(SubtitleFetchError::Status(fetched.status));
        }
        Ok(fetched.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_off_tiktoks_cdn_are_refused_without_a_request() {
        let fetcher = SubtitleFetcher::new(&WebNetwork::default()).unwrap();
        for url in [
            "http://v16m-webapp.tiktokcdn-us.com/a/",
            "https://127.0.0.1/sub.vtt",
            "https://tiktokcdn-us.com.evil.example/a",
            "https://www.tiktok.com/sub.vtt",
            "not a url",
        ] {
            let error = fetcher.fetch(url).await.unwrap_err();
            assert!(
                matches!(error, SubtitleFetchError::NotTiktokCdn(_)),
                "{url}: {error}"
            );
            assert_eq!(error.error_code(), ErrorCode::UpstreamChanged);
            assert!(!error.url_went_stale());
        }
        assert!(SubtitleFetchError::Status(StatusCode::FORBIDDEN).url_went_stale());
        assert_eq!(
            SubtitleFetchError::Status(StatusCode::SERVICE_UNAVAILABLE).error_code(),
            ErrorCode::UpstreamUnavailable
        );
    }
}
