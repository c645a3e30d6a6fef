//! The native web extractor (`EXTRACTOR=web`, docs/design.md "Extraction backends"): fetches the TikTok page itself with
//! a browser-like HTTP client — short links resolved by hand (`short_links`), the page fetched
//! and parsed, a WAF challenge answered once (`page`), the cover downloaded with the page's
//! cookies and `Referer` (`thumbnail`) — and classifies every failure (`classify`). Each
//! extraction has its own cookie jar (`client::Session`); the whole extraction runs under the
//! per-URL deadline.

pub mod classify;
pub mod client;
pub mod page;
pub mod short_links;
pub mod thumbnail;

use std::time::Duration;

use futures::future::BoxFuture;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::TiktokUrl;
use tokworks_shared::video::VideoSource;

use crate::extractor::{Extraction, ExtractionFailure, VideoExtractor};
use crate::tiktok::status_code_error;
use crate::web_extractor::client::{Session, build_client};
use crate::web_extractor::page::{FetchedPage, fetch_video_page};
use crate::web_extractor::short_links::resolve_to_post;
use crate::web_extractor::thumbnail::download_cover;

pub use client::{ClientSetupError, WebNetwork};

/// The web [`VideoExtractor`]: one HTTP client (connection pool) shared by every extraction.
#[derive(Debug, Clone)]
pub struct WebExtractor {
    client: reqwest::Client,
    deadline: Duration,
}

impl WebExtractor {
    /// Builds the client; `deadline` bounds each extraction (EXTRACT_DEADLINE_SECONDS).
    pub fn new(network: &WebNetwork, deadline: Duration) -> Result<WebExtractor, ClientSetupError> {
        Ok(WebExtractor {
            client: build_client(network)?,
            deadline,
        })
    }

    async fn extract_url(&self, url: &str) -> Result<Extraction, ExtractionFailure> {
        match tokio::time::timeout(self.deadline, self.extract_without_deadline(url)).await {
            Ok(result) => result,
            Err(_) => Err(ExtractionFailure::new(
                ErrorCode::ExtractorTimeout,
                format!(
                    "the web extractor did not finish within {} s",
                    self.deadline.as_secs_f64()
                ),
            )),
        }
    }

    async fn extract_without_deadline(&self, url: &str) -> Result<Extraction, ExtractionFailure> {
        let parsed = TiktokUrl::parse(url)
            .map_err(|error| ExtractionFailure::new(error.error_code(), error.to_string()))?;
        let session = Session::new(&self.client);
        let post = resolve_to_post(&session, parsed).await?;
        let FetchedPage { page, page_url } = fetch_video_page(&session, &post).await?;
        if status_code_error(page.status_code, page.item.as_ref()).is_some() {
            // The handler maps the status (as for yt-dlp); there is no cover to fetch.
            return Ok(Extraction {
                source: VideoSource::Web,
                item: page
                    .item
                    .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
                status_code: page.status_code,
                webpage_url: page_url,
                thumbnail: None,
                thumbnail_error: None,
                thumbnail_duration: None,
            });
        }
        let Some(item) = page.item else {
            return Err(ExtractionFailure::new(
                ErrorCode::UpstreamChanged,
                "the page has statusCode 0 but carries no itemStruct",
            ));
        };
        let cover = download_cover(&session, &item, &page_url).await;
        Ok(Extraction {
            source: VideoSource::Web,
            item,
            status_code: page.status_code,
            webpage_url: page_url,
            thumbnail: cover.thumbnail,
            thumbnail_error: cover.error,
            thumbnail_duration: Some(cover.duration),
        })
    }
}

impl VideoExtractor for WebExtractor {
    fn source(&self) -> VideoSource {
        VideoSource::Web
    }

    fn extract<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Extraction, ExtractionFailure>> {
        Box::pin(self.extract_url(url))
    }
}
