//! The TikTok web feed client (docs/design.md "Extraction backends",
//! docs/tiktok-formats.md "Web feeds and APIs"): trending,
//! hashtag, user, search and sound feeds through TikTok's web `/api/…` endpoints with a cookie jar (`msToken`,
//! `ttwid`, `tt_chain_token`), the common web query, a pluggable signer (none, built-in, or an
//! external sign server), the process's egress (browser-grade client, one proxy of the pool per
//! walk, no automatic redirects) and honest classification (`classify`): an empty 200 is `UPSTREAM_EMPTY`, never an
//! empty feed. A walk returns the raw `itemStruct`s (deduplicated, in order) for `map_item` and
//! why it stopped; a failure after some pages keeps the items gathered so far.

pub mod classify;
pub mod comments;
pub mod envelope;
pub mod feeds;
pub mod query;
pub mod search;
pub mod session;
pub mod signer;
pub mod sound;
pub mod user;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokworks_shared::error_code::ErrorCode;

use crate::egress::Egress;
use crate::web_extractor::thumbnail::{CoverOutcome, download_cover};

/// The `Referer` of cover downloads of feed items (the page a browser shows them on).
const FEED_COVER_REFERER: &str = "https://www.tiktok.com/";

pub use classify::FeedFailure;
pub use feeds::{FeedPage, FeedWalker, MAX_PAGE_COUNT};
pub use signer::{SignerChoice, SignerSetupError};

use feeds::WalkState;
use session::WebSession;
use signer::Signer;

/// Settings of the feed client (filled from TIKTOK_MS_TOKEN, TIKTOK_SIGNER_URL … by the
/// caller; proxies and TLS are the egress').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiktokWebSettings {
    /// A real `msToken` (TIKTOK_MS_TOKEN); else the cookie TikTok sets.
    pub ms_token: Option<String>,
    pub signer: SignerChoice,
    /// Bound of one HTTP request (and one signing call).
    pub request_timeout: Duration,
    /// Bound of a whole walk; when it passes the walk fails `EXTRACTOR_TIMEOUT`.
    pub deadline: Duration,
    /// Largest `count` a walk accepts (e.g. 500); larger requests are capped.
    pub max_count: usize,
}

impl Default for TiktokWebSettings {
    fn default() -> Self {
        TiktokWebSettings {
            ms_token: None,
            signer: SignerChoice::None,
            request_timeout: Duration::from_secs(20),
            deadline: Duration::from_secs(300),
            max_count: 500,
        }
    }
}

/// Why the feed client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TiktokWebSetupError {
    #[error(transparent)]
    Signer(#[from] SignerSetupError),
}

/// The result of a walk.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedWalk {
    /// Raw `itemStruct`s, deduplicated by `id`, in feed order, at most `count`.
    pub items: Vec<serde_json::Value>,
    pub stopped: FeedStop,
    /// A sound walk's sound (`/api/music/detail/`), once read.
    pub sound: Option<tokworks_shared::sound::SoundInfo>,
}

/// Why a walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedStop {
    /// `count` items were gathered.
    CountReached,
    /// TikTok said there is no more.
    NoMore,
    /// A request failed; the items of the `pages_fetched` earlier pages are kept.
    Failed {
        code: ErrorCode,
        message: String,
        retry_after: Option<Duration>,
        pages_fetched: usize,
    },
}

/// The feed client: the process's egress and a signer; every walk has its own session (cookie
/// jar, proxy, `device_id`).
#[derive(Debug, Clone)]
pub struct TiktokWebClient {
    egress: Egress,
    signer: Signer,
    settings: TiktokWebSettings,
}

impl TiktokWebClient {
    pub fn new(
        settings: TiktokWebSettings,
        egress: Egress,
    ) -> Result<TiktokWebClient, TiktokWebSetupError> {
        Ok(TiktokWebClient {
            egress,
            signer: Signer::new(&settings.signer, settings.request_timeout)?,
            settings,
        })
    }

    /// The trending (For You) feed, up to `count` items.
    pub fn trending_walker(&self, count: usize) -> FeedWalker<'_> {
        self.walker(WalkState::Trending { stale_pages: 0 }, count)
    }

    /// The videos of hashtag `name` (with or without `#`), up to `count`.
    pub fn hashtag_walker(&self, name: &str, count: usize) -> FeedWalker<'_> {
        let name = name.trim().trim_start_matches('#').to_owned();
        self.walker(WalkState::HashtagStart { name }, count)
    }

    /// The posts of a user (`name`, `@name` or profile URL), newest first, up to `count`.
    pub fn user_walker(&self, username_or_url: &str, count: usize) -> FeedWalker<'_> {
        let input = username_or_url.to_owned();
        self.walker(WalkState::UserStart { input }, count)
    }

    /// TikTok's video search for `query`, up to `count`.
    pub fn search_walker(&self, query: &str, count: usize) -> FeedWalker<'_> {
        let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
        self.walker(
            WalkState::Search {
                query,
                offset: 0,
                search_id: None,
            },
            count,
        )
    }

    /// The videos that use sound `music_id` (its metadata first), up to `count`.
    pub fn sound_walker(&self, music_id: &str, count: usize) -> FeedWalker<'_> {
        let music_id = music_id.trim().to_owned();
        self.walker(WalkState::SoundStart { music_id }, count)
    }

    /// Walks the trending feed to the end.
    pub async fn trending(&self, count: usize) -> FeedWalk {
        self.trending_walker(count).finish().await
    }

    /// Walks a hashtag feed to the end.
    pub async fn hashtag(&self, name: &str, count: usize) -> FeedWalk {
        self.hashtag_walker(name, count).finish().await
    }

    /// Walks a search to the end.
    pub async fn search(&self, query: &str, count: usize) -> FeedWalk {
        self.search_walker(query, count).finish().await
    }

    /// Walks a sound's videos to the end.
    pub async fn sound(&self, music_id: &str, count: usize) -> FeedWalk {
        self.sound_walker(music_id, count).finish().await
    }

    /// Walks a user feed to the end.
    pub async fn user(&self, username_or_url: &str, count: usize) -> FeedWalk {
        self.user_walker(username_or_url, count).finish().await
    }

    /// Downloads the cover of a feed item through the egress with a fresh session and
    /// `Referer: https://www.tiktok.com/` (covers are URL-signed). A failure is reported in the
    /// outcome, never fatal.
    pub async fn download_cover(&self, item: &serde_json::Value) -> CoverOutcome {
        let download = async {
            match self.egress.new_session().await {
                Ok(session) => download_cover(&session, item, FEED_COVER_REFERER).await,
                Err(cooling) => CoverOutcome {
                    thumbnail: None,
                    error: Some(cooling.to_string()),
                    duration: std::time::Duration::ZERO,
                },
            }
        };
        tokio::time::timeout(self.settings.request_timeout, download)
            .await
            .unwrap_or_else(|_| CoverOutcome {
                thumbnail: None,
                error: Some("the cover download timed out".to_owned()),
                duration: self.settings.request_timeout,
            })
    }

    fn walker(&self, state: WalkState, count: usize) -> FeedWalker<'_> {
        let session = WebSession::new(
            self.egress.clone(),
            &self.signer,
            self.settings.ms_token.clone(),
            self.settings.request_timeout,
        );
        FeedWalker {
            session,
            state,
            count: count.min(self.settings.max_count),
            deadline: Instant::now() + self.settings.deadline,
            signed: self.signer.signs(),
            seen: HashSet::new(),
            items: Vec::new(),
            pages_fetched: 0,
            exhausted: false,
            stopped: None,
            sound: None,
        }
    }
}
