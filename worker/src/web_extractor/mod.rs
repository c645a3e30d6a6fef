//! The native web extractor (`EXTRACTOR=web`, docs/design.md "Extraction backends"): fetches the TikTok page itself with
//! the browser-grade client (`crate::egress`) — short links resolved by hand (`short_links`), the
//! page fetched and parsed, a WAF challenge answered once (`page`), the cover downloaded with the
//! page's cookies and `Referer` (`thumbnail`) — and classifies every failure (`classify`). Each
//! extraction has its own session (cookie jar and proxy), handed on with the extraction for the
//! item's later downloads; the whole extraction runs under the per-URL deadline.

pub mod classify;
pub mod page;
pub mod short_links;
pub mod thumbnail;

use std::time::Duration;

use futures::future::BoxFuture;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::TiktokUrl;
use tokworks_shared::video::VideoSource;

use crate::egress::Egress;
use crate::extractor::{Extraction, ExtractionFailure, VideoExtractor};
use crate::tiktok::status_code_error;
use crate::web_extractor::page::{FetchedPage, fetch_video_page};
use crate::web_extractor::short_links::resolve_to_post;
use crate::web_extractor::thumbnail::download_cover;

/// The web [`VideoExtractor`]: the process's egress (client, proxy pool) shared by every extraction.
#[derive(Debug, Clone)]
pub struct WebExtractor {
    egress: Egress,
    deadline: Duration,
}

impl WebExtractor {
    /// `deadline` bounds each extraction (EXTRACT_DEADLINE_SECONDS).
    pub fn new(egress: Egress, deadline: Duration) -> WebExtractor {
        WebExtractor { egress, deadline }
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
        let session = self
            .egress
            .new_session()
            .await
            .map_err(|cooling| ExtractionFailure::new(cooling.code, cooling.to_string()))?;
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
                session: None,
            });
        }
        let Some(item) = page.item else {
            return Err(ExtractionFailure::new(
                ErrorCode::UpstreamChanged,
                "the page has statusCode 0 but carries no itemStruct",
            ));
        };
        let cover = download_cover(&session, &item, &page_url).await;
        let seed = session.seed(Some(&page_url));
        Ok(Extraction {
            source: VideoSource::Web,
            item,
            status_code: page.status_code,
            webpage_url: page_url,
            thumbnail: cover.thumbnail,
            thumbnail_error: cover.error,
            thumbnail_duration: Some(cover.duration),
            session: Some(seed),
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
