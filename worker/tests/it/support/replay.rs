//! An extractor that replays the simulator's own pages in-process: the page the simulator would
//! serve for a post is rendered by its `TiktokSite`, parsed by the worker's page parser, and the
//! cover is read from the simulator's CDN handler. No network and no Python, so handler tests
//! that only need an item (not yt-dlp itself) run without the helper pool.

use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderMap, Method, StatusCode, header};
use futures::future::BoxFuture;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::TiktokUrl;
use tokworks_shared::video::VideoSource;
use tokworks_sim::exchange::{Scheme, SimRequest, SimResponse};
use tokworks_sim::server::SimHandle;
use tokworks_sim::site::TiktokSite;
use tokworks_worker::extractor::{Extraction, ExtractionFailure, ThumbnailBytes, VideoExtractor};
use tokworks_worker::tiktok::page::parse_video_page;
use tokworks_worker::web_extractor::thumbnail::cover_url_of;

/// Replays the simulator's item JSON for a URL (see the module comment).
#[derive(Debug)]
pub struct ReplayExtractor {
    site: Arc<TiktokSite>,
}

impl ReplayExtractor {
    pub fn new(sim: &SimHandle) -> Arc<ReplayExtractor> {
        Arc::new(ReplayExtractor { site: sim.site() })
    }

    /// What the simulator's site answers to a plain GET of `url` (no faults, no proxy).
    fn get(&self, url: &str) -> Option<SimResponse> {
        let parsed = url::Url::parse(url).ok()?;
        let request = SimRequest {
            method: Method::GET,
            scheme: if parsed.scheme() == "http" {
                Scheme::Http
            } else {
                Scheme::Https
            },
            host: parsed.host_str()?.to_ascii_lowercase(),
            path: parsed.path().to_owned(),
            query: parsed.query().map(str::to_owned),
            headers: HeaderMap::new(),
            body: Default::default(),
        };
        Some(self.site.handle(&request))
    }

    fn replay(&self, url: &str) -> Result<Extraction, ExtractionFailure> {
        let post = TiktokUrl::parse(url)
            .map_err(|error| ExtractionFailure::new(error.error_code(), error.to_string()))?;
        let page_url = post.canonical_url().to_owned();
        let page = self
            .get(&page_url)
            .filter(|response| response.status == StatusCode::OK)
            .ok_or_else(|| ExtractionFailure::new(ErrorCode::UpstreamUnavailable, "no page"))?;
        let html = String::from_utf8_lossy(&page.body);
        let page = parse_video_page(&html).map_err(|error| {
            ExtractionFailure::new(ErrorCode::UpstreamChanged, error.to_string())
        })?;
        let item = page
            .item
            .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
        let started = Instant::now();
        let thumbnail = cover_url_of(&item).and_then(|cover_url| {
            let answer = self.get(&cover_url)?;
            let content_type = answer
                .headers
                .get(header::CONTENT_TYPE)?
                .to_str()
                .ok()?
                .to_owned();
            (answer.status == StatusCode::OK).then(|| ThumbnailBytes {
                source_url: cover_url,
                content_type,
                bytes: answer.body.to_vec(),
            })
        });
        Ok(Extraction {
            source: VideoSource::Web,
            item,
            status_code: page.status_code,
            webpage_url: page_url,
            thumbnail_error: thumbnail.is_none().then(|| "no cover".to_owned()),
            thumbnail,
            thumbnail_duration: Some(started.elapsed()),
            session: None,
        })
    }
}

impl VideoExtractor for ReplayExtractor {
    fn source(&self) -> VideoSource {
        VideoSource::Web
    }

    fn extract<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Extraction, ExtractionFailure>> {
        Box::pin(async move { self.replay(url) })
    }
}
