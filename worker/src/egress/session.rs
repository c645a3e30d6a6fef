//! One item's TikTok session: a cookie jar and one proxy of the pool, kept for the page, its
//! cover and photo images, and its subtitles, so CDN URLs marked `tk=tt_chain_token` get the
//! cookie the page set (docs/tiktok-formats.md "CDN access rules"). A session can be handed on
//! as a [`SessionSeed`] (its cookies and proxy) and resumed later, e.g. by the transcript stage
//! after a yt-dlp extraction.

use std::sync::Arc;

use serde::Deserialize;
use wreq::Uri;
use wreq::cookie::{CookieStore, Jar};
use wreq::header::{self, HeaderMap, HeaderValue};

use super::client::{BrowserClient, FetchError, Fetched};
use super::hosts::{is_tiktok_cdn_domain, is_tiktok_media_host};
use super::proxy_pool::{ProxyOutcome, ProxyPool, ProxySlot};

/// Where the session's cookies for `.tiktok.com` are stored and read.
const TIKTOK_COOKIE_ORIGIN: &str = "https://www.tiktok.com/";
/// The cookie that binds CDN URLs to the page session.
pub const CHAIN_TOKEN_COOKIE: &str = "tt_chain_token";

/// A cookie handed from one holder of an item's session to the next.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SeedCookie {
    pub name: String,
    pub value: String,
    /// The cookie's domain (`tiktok.com` when it had none).
    #[serde(default)]
    pub domain: Option<String>,
}

/// What resumes an item's session elsewhere: its cookies, the index of its proxy and the page
/// it fetched (the `Referer` of its media requests).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSeed {
    pub cookies: Vec<SeedCookie>,
    pub proxy_index: Option<usize>,
    pub page_url: Option<String>,
}

/// The cookies and proxy of one item (or one feed walk).
#[derive(Clone)]
pub struct Session {
    client: BrowserClient,
    pool: Arc<ProxyPool>,
    jar: Arc<Jar>,
    proxy: Option<ProxySlot>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Session")
            .field("proxy", &self.proxy_label())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(super) fn new(
        client: BrowserClient,
        pool: Arc<ProxyPool>,
        proxy: Option<ProxySlot>,
    ) -> Session {
        Session {
            client,
            pool,
            jar: Arc::new(Jar::default()),
            proxy,
        }
    }

    /// The proxy's label (`0:host:port`), when the session uses one.
    pub fn proxy_label(&self) -> Option<&str> {
        self.proxy.as_ref().map(|slot| &*slot.label)
    }

    /// The proxy URL (credentials included), for a yt-dlp request of this session.
    pub fn proxy_url(&self) -> Option<&str> {
        self.proxy.as_ref().map(|slot| &*slot.url)
    }

    /// GET `url` with the session's cookies, `Accept` and `Referer`; see [`Session::get_with_headers`].
    pub async fn get(
        &self,
        url: &url::Url,
        accept: &'static str,
        referer: Option<&str>,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        if let Some(referer) = referer.and_then(|referer| HeaderValue::from_str(referer).ok()) {
            headers.insert(header::REFERER, referer);
        }
        self.get_with_headers(url, headers, max_bytes).await
    }

    /// GET `url` through the session's proxy with its cookies and `headers` (which override the
    /// browser's defaults, e.g. a signer's `User-Agent`); stores the cookies the answer sets and
    /// tells the pool how the proxy fared (pages and APIs only: a CDN 403 is about the URL). A redirect is returned as is (its body is not read).
    /// Bodies over `max_bytes` fail with [`FetchError::TooLarge`].
    pub async fn get_with_headers(
        &self,
        url: &url::Url,
        mut headers: HeaderMap,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        if let Some(cookies) = self.cookie_header_for(url) {
            headers.insert(header::COOKIE, cookies);
        }
        let proxy = self.proxy.as_ref().map(|slot| &slot.proxy);
        let result = self.client.send(url, headers, proxy, max_bytes).await;
        if let Some(slot) = &self.proxy {
            let outcome = match &result {
                // The CDN's 403 means a stale URL or a missing cookie, not a refused address.
                Ok(_) if url.host_str().is_some_and(is_tiktok_media_host) => Some(ProxyOutcome::Ok),
                Ok(fetched) => Some(ProxyOutcome::of_status(fetched.status.as_u16())),
                Err(FetchError::Transport(_)) => Some(ProxyOutcome::Transport),
                Err(FetchError::TooLarge { .. }) => Some(ProxyOutcome::Ok),
                // Nothing was sent: the shared budget had no slot in time.
                Err(FetchError::Budget(_)) => None,
            };
            if let Some(outcome) = outcome {
                self.pool.record(slot.index, outcome);
            }
        }
        let fetched = result?;
        if let Ok(uri) = Uri::try_from(url.as_str()) {
            self.jar.set_cookies(&mut fetched.set_cookies.iter(), &uri);
        }
        Ok(fetched)
    }

    /// Tells the pool the session's proxy met a wall an HTTP status does not show (a WAF page
    /// that cannot be answered, an empty 200).
    pub fn report_block(&self) {
        if let Some(slot) = &self.proxy {
            self.pool.record(slot.index, ProxyOutcome::Blocked);
        }
    }

    /// The `Cookie` header for `url`: the jar's cookies for it; on TikTok's own CDN domains
    /// (`tiktokcdn*.com`, where a browser jar holds nothing) the session's `tt_chain_token`,
    /// so every CDN request is tied to the session that fetched the page.
    fn cookie_header_for(&self, url: &url::Url) -> Option<HeaderValue> {
        let uri = Uri::try_from(url.as_str()).ok()?;
        let cookies = self.jar.cookies(&uri);
        if !cookies.is_empty() {
            let joined = cookies
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect::<Vec<_>>()
                .join("; ");
            return HeaderValue::from_str(&joined).ok();
        }
        let host = url.host_str()?;
        if !is_tiktok_cdn_domain(host) {
            return None;
        }
        let token = self.tiktok_cookie(CHAIN_TOKEN_COOKIE)?;
        HeaderValue::from_str(&format!("{CHAIN_TOKEN_COOKIE}={token}")).ok()
    }

    /// Sets a cookie on `.tiktok.com` (as the WAF challenge script does).
    pub fn set_tiktok_cookie(&self, name: &str, value: &str) {
        self.jar.add_cookie_str(
            &format!("{name}={value}; Domain=.tiktok.com; Path=/; Secure"),
            TIKTOK_COOKIE_ORIGIN,
        );
    }

    /// Removes a cookie set with [`Session::set_tiktok_cookie`].
    pub fn clear_tiktok_cookie(&self, name: &str) {
        self.jar.add_cookie_str(
            &format!("{name}=; Domain=.tiktok.com; Path=/; Secure; Max-Age=0"),
            TIKTOK_COOKIE_ORIGIN,
        );
    }

    /// The value of a session cookie that `www.tiktok.com` would receive.
    pub fn tiktok_cookie(&self, name: &str) -> Option<String> {
        let uri = Uri::from_static(TIKTOK_COOKIE_ORIGIN);
        self.jar.cookies(&uri).iter().find_map(|value| {
            let (cookie_name, cookie_value) = value.to_str().ok()?.split_once('=')?;
            (cookie_name.trim() == name).then(|| cookie_value.trim().to_owned())
        })
    }

    /// Adds the cookies of a seed (on their domain, `tiktok.com` when they name none).
    pub(super) fn plant(&self, cookies: &[SeedCookie]) {
        for cookie in cookies {
            let domain = cookie
                .domain
                .as_deref()
                .map(|domain| domain.trim_start_matches('.'))
                .filter(|domain| !domain.is_empty())
                .unwrap_or("tiktok.com");
            self.jar.add_cookie_str(
                &format!("{}={}; Domain=.{domain}; Path=/", cookie.name, cookie.value),
                format!("https://{domain}/").as_str(),
            );
        }
    }

    /// The seed that resumes this session: its cookies and proxy, and `page_url`.
    pub fn seed(&self, page_url: Option<&str>) -> SessionSeed {
        SessionSeed {
            cookies: self
                .jar
                .get_all()
                .map(|cookie| SeedCookie {
                    name: cookie.name().to_owned(),
                    value: cookie.value().to_owned(),
                    domain: cookie.domain().map(str::to_owned),
                })
                .collect(),
            proxy_index: self.proxy.as_ref().map(|slot| slot.index),
            page_url: page_url.map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn session() -> Session {
        let client = BrowserClient::new(false).unwrap();
        let pool = Arc::new(ProxyPool::new(&[], Duration::from_secs(1)).unwrap());
        Session::new(client, pool, None)
    }

    #[test]
    fn session_cookies_reach_the_cdn_but_not_other_hosts() {
        let session = session();
        session.set_tiktok_cookie(CHAIN_TOKEN_COOKIE, "abc");
        assert_eq!(
            session.tiktok_cookie(CHAIN_TOKEN_COOKIE).as_deref(),
            Some("abc")
        );
        let cdn = url::Url::parse("https://p16-common-sign.tiktokcdn-us.com/x.jpeg").unwrap();
        assert_eq!(
            session.cookie_header_for(&cdn).unwrap(),
            "tt_chain_token=abc"
        );
        let video = url::Url::parse("https://v16-webapp-prime.us.tiktok.com/video/x").unwrap();
        assert!(
            session
                .cookie_header_for(&video)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("tt_chain_token=abc")
        );
        let elsewhere = url::Url::parse("https://example.com/").unwrap();
        assert!(session.cookie_header_for(&elsewhere).is_none());
        session.clear_tiktok_cookie(CHAIN_TOKEN_COOKIE);
        assert!(session.tiktok_cookie(CHAIN_TOKEN_COOKIE).is_none());
    }

    #[test]
    fn a_seed_resumes_the_cookies_of_a_session() {
        let first = session();
        first.set_tiktok_cookie(CHAIN_TOKEN_COOKIE, "chain");
        first.set_tiktok_cookie("ttwid", "wid");
        let seed = first.seed(None);
        assert_eq!(seed.cookies.len(), 2);
        let second = session();
        second.plant(&seed.cookies);
        assert_eq!(
            second.tiktok_cookie(CHAIN_TOKEN_COOKIE).as_deref(),
            Some("chain")
        );
        let subtitles =
            url::Url::parse("https://v19-webapp-prime.us.tiktok.com/sub/?tk=tt_chain_token")
                .unwrap();
        let header = second.cookie_header_for(&subtitles).unwrap();
        assert!(header.to_str().unwrap().contains("tt_chain_token=chain"));
    }
}
