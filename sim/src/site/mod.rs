//! TikTok's web surface as the simulator serves it: pages, short links, feed APIs and CDN hosts.
//! (Interface fixed; bodies being written by the site owner.)

use serde::Serialize;

use crate::exchange::{SimRequest, SimResponse};

/// One error case of the corpus, listed by `GET /_sim/cases`.
#[derive(Debug, Clone, Serialize)]
pub struct SimCase {
    /// Stable name, e.g. `deleted`, `private_post`, `private_account`, `under_review`,
    /// `region_blocked`, `age_restricted`, `short_link_unknown`, `user_not_found`, `hashtag_not_found`.
    pub name: String,
    /// URL a client would submit.
    pub url: String,
    /// TikTok `statusCode` the page carries, when the case is a status page.
    pub status_code: Option<i64>,
    /// One sentence.
    pub description: String,
}

/// Site construction options.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    pub seed: u64,
    /// Number of regular (public, valid) videos and photo posts in the corpus.
    pub video_count: usize,
    /// Frozen "now" (Unix seconds) used for every timestamp the site renders and checks,
    /// so the same seed gives byte-identical pages.
    pub now_unix: i64,
}

/// The TikTok model. Cheap to share (`Arc`), thread-safe.
#[derive(Debug)]
pub struct TiktokSite {
    _options: SiteOptions,
}

impl TiktokSite {
    pub fn new(options: SiteOptions) -> Self {
        TiktokSite { _options: options }
    }

    /// Whether `host` belongs to TikTok (the proxy answers 403 to every other host).
    pub fn is_tiktok_host(_host: &str) -> bool {
        false
    }

    /// Answers one request to a TikTok host.
    pub fn handle(&self, _request: &SimRequest) -> SimResponse {
        SimResponse::new(http::StatusCode::NOT_IMPLEMENTED)
    }

    /// Ground truth of the first `limit` regular videos after `offset`: `GET /_sim/videos`.
    pub fn ground_truth_videos(&self, _offset: usize, _limit: usize) -> Vec<serde_json::Value> {
        Vec::new()
    }

    /// Every built-in error case of the corpus.
    pub fn status_cases(&self) -> Vec<SimCase> {
        Vec::new()
    }

    /// Valid public videos reserved for fault cases (not part of `ground_truth_videos`):
    /// `(video_id, canonical_url)`.
    pub fn spare_videos(&self, _count: usize) -> Vec<(String, String)> {
        Vec::new()
    }
}
