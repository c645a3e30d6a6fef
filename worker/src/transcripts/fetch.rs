//! Downloads subtitle files: only `https` URLs on TikTok's media hosts (`egress::hosts`), in the
//! item's own TikTok session — the cookie jar and proxy of the extraction that found the track
//! (resumed from its [`SessionSeed`]), with its page as `Referer` — so tracks on the web CDN
//! marked `tk=tt_chain_token` get the cookie (docs/tiktok-formats.md "CDN access rules"). A
//! video served from the cache has no session: a fresh one opens the video's page first when the
//! track is cookie-bound, as a browser would. A size cap and a deadline apply. Whether a signed URL expired is the CDN's decision (its 403), not this machine's
//! clock: a skewed clock would otherwise discard good URLs.

use std::time::Duration;

use tokworks_shared::error_code::ErrorCode;
use url::Url;
use wreq::StatusCode;

use crate::egress::{Egress, FetchError, PAGE_ACCEPT, SessionSeed, is_tiktok_media_host};
use crate::web_extractor::page::PAGE_BYTE_LIMIT;

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
    Transport(#[source] wreq::Error),
    #[error("{0}")]
    ProxiesCooling(#[from] crate::egress::ProxiesCooling),
    #[error(transparent)]
    Budget(crate::egress::budget::BudgetExhausted),
}

impl SubtitleFetchError {
    /// Whether fresh URLs (a new extraction of the video) could help: the CDN refused the URL's
    /// signature, expiry or session (403, 410).
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
            SubtitleFetchError::ProxiesCooling(cooling) => cooling.code,
            SubtitleFetchError::Budget(_) => ErrorCode::UpstreamRateLimited,
        }
    }
}

/// The subtitle downloader of a worker process; cheap to clone.
#[derive(Debug, Clone)]
pub struct SubtitleFetcher {
    egress: Egress,
    timeout: Duration,
}

impl SubtitleFetcher {
    /// A downloader going out through `egress` (the process's client and proxy pool).
    pub fn new(egress: Egress) -> SubtitleFetcher {
        SubtitleFetcher {
            egress,
            timeout: SUBTITLE_FETCH_TIMEOUT,
        }
    }

    /// Downloads one subtitle file of video `video_id` in the item's session (`None`: a fresh
    /// one).
    pub async fn fetch(
        &self,
        url: &str,
        video_id: &str,
        item_session: Option<&SessionSeed>,
    ) -> Result<Vec<u8>, SubtitleFetchError> {
        let parsed = Url::parse(url)
            .ok()
            .filter(|parsed| {
                parsed.scheme() == "https" && parsed.host_str().is_some_and(is_tiktok_media_host)
            })
            .ok_or_else(|| SubtitleFetchError::NotTiktokCdn(url.to_owned()))?;
        let video_page = format!("https://www.tiktok.com/@_/video/{video_id}");
        let download = async {
            let session = match item_session {
                Some(seed) => self.egress.resume_session(seed),
                None => {
                    let session = self.egress.new_session().await?;
                    let cookie_bound = parsed
                        .query_pairs()
                        .any(|(name, value)| name == "tk" && value == "tt_chain_token");
                    if let (true, Ok(page)) = (cookie_bound, Url::parse(&video_page)) {
                        // The page sets the session's `tt_chain_token`; the track's own answer
                        // decides whether that was enough.
                        let opened = session.get(&page, PAGE_ACCEPT, None, PAGE_BYTE_LIMIT).await;
                        if let Err(error) = opened {
                            tracing::debug!(%error, "opening the video page for its cookies failed");
                        }
                    }
                    session
                }
            };
            let referer = match item_session.and_then(|seed| seed.page_url.as_deref()) {
                Some(page_url) => page_url,
                None if video_id.is_empty() => REFERER,
                None => video_page.as_str(),
            };
            session
                .get(&parsed, SUBTITLE_ACCEPT, Some(referer), MAX_SUBTITLE_BYTES)
                .await
                .map_err(|error| match error {
                    FetchError::Transport(error) => SubtitleFetchError::Transport(error),
                    FetchError::TooLarge { limit } => SubtitleFetchError::TooLarge { limit },
                    FetchError::Budget(exhausted) => SubtitleFetchError::Budget(exhausted),
                })
        };
        let fetched = tokio::time::timeout(self.timeout, download)
            .await
            .map_err(|_| SubtitleFetchError::Timeout(self.timeout))??;
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
        let egress = Egress::new(&crate::egress::EgressSettings::single(None, false)).unwrap();
        let fetcher = SubtitleFetcher::new(egress);
        for url in [
            "http://v16m-webapp.tiktokcdn-us.com/a/",
            "https://127.0.0.1/sub.vtt",
            "https://tiktokcdn-us.com.evil.example/a",
            "https://www.tiktok.com/sub.vtt",
            "not a url",
        ] {
            let error = fetcher.fetch(url, "1", None).await.unwrap_err();
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
