//! TikTok egress: everything the worker sends to TikTok (pages, short links, feeds, covers,
//! photo images, subtitles) goes through one browser-grade client (`client`: Chrome's TLS and
//! HTTP/2 fingerprint), in a per-item [`Session`] (`session`: one cookie jar, one proxy), over a
//! pool of proxies that cool down when TikTok refuses them (`proxy_pool`); `hosts` is the
//! allow-list of media downloads; `budget` is the per-host request budget shared by all workers
//! (TIKTOK_MAX_REQUESTS_PER_SECOND). yt-dlp's requests lease their proxy from the same pool.

pub mod budget;
pub mod client;
pub mod hosts;
pub mod proxy_pool;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

pub use client::{
    BROWSER_USER_AGENT, BrowserClient, ClientSetupError, FetchError, Fetched, IMAGE_ACCEPT,
    PAGE_ACCEPT,
};
pub use hosts::{is_media_url, is_tiktok_cdn_domain, is_tiktok_media_host, is_tiktok_owned_host};
pub use proxy_pool::{ProxiesCooling, ProxyOutcome, ProxyPool};
pub use session::{CHAIN_TOKEN_COOKIE, SeedCookie, Session, SessionSeed};

/// The default first cooldown of a refused proxy (TIKTOK_PROXY_COOLDOWN_SECONDS).
pub const DEFAULT_PROXY_COOLDOWN: Duration = Duration::from_secs(60);

/// How TikTok is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressSettings {
    /// The proxy pool (TIKTOK_PROXY_URLS, TIKTOK_PROXY_URL or SCRAPERAPI_KEY); empty: direct.
    pub proxy_urls: Vec<String>,
    /// Accept any certificate: for proxies that re-sign TLS (TIKTOK_PROXY_INSECURE_TLS).
    pub insecure_tls: bool,
    /// First cooldown of a refused proxy; it doubles per refusal in a row.
    pub proxy_cooldown: Duration,
}

impl EgressSettings {
    /// Through one proxy (or none), default cooldown.
    pub fn single(proxy_url: Option<String>, insecure_tls: bool) -> EgressSettings {
        EgressSettings {
            proxy_urls: proxy_url.into_iter().collect(),
            insecure_tls,
            proxy_cooldown: DEFAULT_PROXY_COOLDOWN,
        }
    }
}

/// The process's way out to TikTok; cheap to clone.
#[derive(Debug, Clone)]
pub struct Egress {
    client: BrowserClient,
    pool: Arc<ProxyPool>,
    insecure_tls: bool,
}

impl Egress {
    pub fn new(settings: &EgressSettings) -> Result<Egress, ClientSetupError> {
        Ok(Egress {
            client: BrowserClient::new(settings.insecure_tls)?,
            pool: Arc::new(ProxyPool::new(
                &settings.proxy_urls,
                settings.proxy_cooldown,
            )?),
            insecure_tls: settings.insecure_tls,
        })
    }

    /// A fresh session on the next proxy that is not cooling down (empty jar).
    pub async fn new_session(&self) -> Result<Session, ProxiesCooling> {
        let proxy = self.pool.lease().await?;
        Ok(Session::new(
            self.client.clone(),
            Arc::clone(&self.pool),
            proxy,
        ))
    }

    /// The session a seed describes: its cookies, on its proxy (still the item's proxy even
    /// when it cools down meanwhile: one item, one identity).
    pub fn resume_session(&self, seed: &SessionSeed) -> Session {
        let proxy = seed.proxy_index.and_then(|index| self.pool.slot(index));
        let session = Session::new(self.client.clone(), Arc::clone(&self.pool), proxy);
        session.plant(&seed.cookies);
        session
    }

    /// The proxy pool (yt-dlp leases its proxies here too).
    pub fn proxy_pool(&self) -> &Arc<ProxyPool> {
        &self.pool
    }

    /// Whether certificate checks are off (TIKTOK_PROXY_INSECURE_TLS).
    pub fn insecure_tls(&self) -> bool {
        self.insecure_tls
    }
}
