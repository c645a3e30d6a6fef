//! The HTTP side of the web extractor: one shared `reqwest` client (proxy, TLS, connection pool,
//! no automatic redirects, no built-in cookie store) and a per-extraction [`Session`] that keeps
//! its own cookie jar, so the CDN request rides on the cookies of the page request that
//! preceded it and nothing leaks between unrelated URLs (docs/tiktok-formats.md "CDN access rules").

use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode, Url};

/// The browser the extractor presents itself as (desktop Chrome: the desktop page variant).
pub const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// `Accept` of a page navigation.
pub const PAGE_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
/// `Accept` of an image request.
pub const IMAGE_ACCEPT: &str = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
const ACCEPT_LANGUAGE: &str = "en-US,en;q=0.9";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the session's cookies for `.tiktok.com` are stored and read.
const TIKTOK_COOKIE_ORIGIN: &str = "https://www.tiktok.com/";
/// The cookie that binds CDN URLs to the page session.
pub const CHAIN_TOKEN_COOKIE: &str = "tt_chain_token";

/// Network settings of the web extractor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebNetwork {
    /// All TikTok traffic goes through this proxy when set (TIKTOK_PROXY_URL / SCRAPERAPI_KEY).
    pub proxy_url: Option<String>,
    /// Accept any certificate: for proxies that re-sign TLS (TIKTOK_PROXY_INSECURE_TLS).
    pub insecure_tls: bool,
}

/// Why the HTTP client could not be built. The proxy URL is never part of the message: it may
/// carry credentials.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    #[error("TIKTOK_PROXY_URL is not a usable proxy URL")]
    InvalidProxy(#[source] reqwest::Error),
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// Builds the shared client: browser headers, proxy, redirects off, optional insecure TLS.
pub fn build_client(network: &WebNetwork) -> Result<Client, ClientSetupError> {
    let mut default_headers = HeaderMap::new();
    default_headers.insert(
        header::ACCEPT_LANGUAGE,
        HeaderValue::from_static(ACCEPT_LANGUAGE),
    );
    let mut builder = Client::builder()
        .user_agent(BROWSER_USER_AGENT)
        .default_headers(default_headers)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .danger_accept_invalid_certs(network.insecure_tls);
    if let Some(proxy_url) = &network.proxy_url {
        let proxy = reqwest::Proxy::all(proxy_url).map_err(ClientSetupError::InvalidProxy)?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(ClientSetupError::Build)
}

/// A transport failure or an oversized body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Budget(#[from] crate::egress::budget::BudgetExhausted),
}

/// One answer, body read (up to a cap) unless it is a redirect.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: StatusCode,
    /// `Location` of a redirect.
    pub location: Option<String>,
    /// `Content-Type` without parameters.
    pub content_type: Option<String>,
    /// `Retry-After` of the answer, as sent (seconds or an HTTP date).
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// The cookies and client of one extraction.
#[derive(Debug)]
pub struct Session<'client> {
    client: &'client Client,
    jar: Jar,
}

impl<'client> Session<'client> {
    /// A session with an empty cookie jar.
    pub fn new(client: &'client Client) -> Session<'client> {
        Session {
            client,
            jar: Jar::default(),
        }
    }

    /// GET `url` with the session's cookies; stores the cookies it sets. A redirect is returned
    /// as is (its body is not read). Bodies over `max_bytes` fail with [`FetchError::TooLarge`].
    pub async fn get(
        &self,
        url: &Url,
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

    /// GET `url` with the session's cookies and `headers` (which override the client's
    /// defaults, e.g. a signer's `User-Agent`); otherwise as [`Session::get`].
    pub async fn get_with_headers(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        crate::egress::budget::acquire(url.host_str()).await?;
        let mut request = self.client.get(url.clone()).headers(headers);
        if let Some(cookies) = self.cookie_header_for(url) {
            request = request.header(header::COOKIE, cookies);
        }
        let mut response = request.send().await?;
        let mut set_cookies = response.headers().get_all(header::SET_COOKIE).iter();
        self.jar.set_cookies(&mut set_cookies, url);
        let status = response.status();
        crate::worker_metrics::record_upstream_response(status.as_u16());
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase())
            .filter(|value| !value.is_empty());
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        if !status.is_redirection() {
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > max_bytes {
                    return Err(FetchError::TooLarge { limit: max_bytes });
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Fetched {
            status,
            location,
            content_type,
            retry_after,
            body,
        })
    }

    /// The `Cookie` header for `url`: the jar's cookies for it; on TikTok's own CDN domains
    /// (`tiktokcdn*.com`, where a browser jar holds nothing) the session's `tt_chain_token`,
    /// so every CDN request is tied to the session that fetched the page.
    fn cookie_header_for(&self, url: &Url) -> Option<HeaderValue> {
        if let Some(cookies) = self.jar.cookies(url) {
            return Some(cookies);
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
        if let Ok(origin) = Url::parse(TIKTOK_COOKIE_ORIGIN) {
            self.jar.add_cookie_str(
                &format!("{name}={value}; Domain=.tiktok.com; Path=/; Secure"),
                &origin,
            );
        }
    }

    /// Removes a cookie set with [`Session::set_tiktok_cookie`].
    pub fn clear_tiktok_cookie(&self, name: &str) {
        if let Ok(origin) = Url::parse(TIKTOK_COOKIE_ORIGIN) {
            self.jar.add_cookie_str(
                &format!("{name}=; Domain=.tiktok.com; Path=/; Secure; Max-Age=0"),
                &origin,
            );
        }
    }

    /// The value of a session cookie that `www.tiktok.com` would receive.
    pub fn tiktok_cookie(&self, name: &str) -> Option<String> {
        let origin = Url::parse(TIKTOK_COOKIE_ORIGIN).ok()?;
        let header = self.jar.cookies(&origin)?;
        let text = header.to_str().ok()?;
        text.split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(cookie_name, _)| *cookie_name == name)
            .map(|(_, value)| value.to_owned())
    }
}

/// Whether `host` is TikTok's (page, API or CDN): `tiktok.com`, `tiktokv.com`, `tiktokcdn.com`,
/// `tiktokcdn-us.com`, `tiktokcdn-eu.com` or a subdomain of one of them.
pub fn is_tiktok_owned_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["tiktok.com", "tiktokv.com"]
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
        || is_tiktok_cdn_domain(&host)
}

/// Whether `host` is on one of TikTok's separate CDN domains (`*.tiktokcdn*.com`).
pub fn is_tiktok_cdn_domain(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["tiktokcdn.com", "tiktokcdn-us.com", "tiktokcdn-eu.com"]
        .iter()
        .any(|domain| host.ends_with(&format!(".{domain}")))
}

/// Whether `host` serves TikTok's media (covers, videos, subtitles): its separate CDN domains
/// (`*.tiktokcdn*.com`) and its web CDN hosts under `tiktok.com`, whose first label is a
/// numbered edge (`v16-webapp-prime.tiktok.com`, `v19-webapp-prime.us.tiktok.com`,
/// `p16-sign.tiktok.com`). Pages and APIs (`www.tiktok.com`, `m.tiktok.com`) are not media hosts.
pub fn is_tiktok_media_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if is_tiktok_cdn_domain(&host) {
        return true;
    }
    let Some(subdomain) = host.strip_suffix(".tiktok.com") else {
        return false;
    };
    let first_label = subdomain.split('.').next().unwrap_or_default();
    let mut characters = first_label.chars();
    matches!(characters.next(), Some('v' | 'p'))
        && characters
            .next()
            .is_some_and(|character| character.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_hosts_include_tiktoks_web_cdn_but_not_its_pages_or_lookalikes() {
        for host in [
            "v16-webapp-prime.tiktok.com",
            "v19-webapp-prime.us.tiktok.com",
            "p16-sign.tiktok.com",
            "v16m-webapp.tiktokcdn-us.com",
            "p16-sign-va.tiktokcdn.com",
        ] {
            assert!(is_tiktok_media_host(host), "{host}");
        }
        for host in [
            "www.tiktok.com",
            "m.tiktok.com",
            "tiktok.com",
            "vm.tiktok.com",
            "v16-webapp-prime.tiktok.com.evil.example",
            "v16.eviltiktok.com",
            "127.0.0.1",
        ] {
            assert!(!is_tiktok_media_host(host), "{host}");
        }
    }

    #[test]
    fn tiktok_hosts_are_recognised_and_lookalikes_are_not() {
        assert!(is_tiktok_owned_host("www.tiktok.com"));
        assert!(is_tiktok_owned_host("v16-webapp-prime.us.tiktok.com"));
        assert!(is_tiktok_owned_host("p16-common-sign.tiktokcdn-us.com"));
        assert!(is_tiktok_owned_host("p16-sign-va.tiktokcdn.com"));
        assert!(!is_tiktok_owned_host("eviltiktok.com"));
        assert!(!is_tiktok_owned_host("tiktokcdn.com.evil.example"));
        assert!(!is_tiktok_owned_host("127.0.0.1"));
    }

    #[test]
    fn session_cookies_reach_the_cdn_but_not_other_hosts() {
        let client = Client::new();
        let session = Session::new(&client);
        session.set_tiktok_cookie(CHAIN_TOKEN_COOKIE, "abc");
        assert_eq!(
            session.tiktok_cookie(CHAIN_TOKEN_COOKIE).as_deref(),
            Some("abc")
        );
        let cdn = Url::parse("https://p16-common-sign.tiktokcdn-us.com/x.jpeg").unwrap();
        assert_eq!(
            session.cookie_header_for(&cdn).unwrap(),
            "tt_chain_token=abc"
        );
        let video = Url::parse("https://v16-webapp-prime.us.tiktok.com/video/x").unwrap();
        assert!(
            session
                .cookie_header_for(&video)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("tt_chain_token=abc")
        );
        let elsewhere = Url::parse("https://example.com/").unwrap();
        assert!(session.cookie_header_for(&elsewhere).is_none());
        session.clear_tiktok_cookie(CHAIN_TOKEN_COOKIE);
        assert!(session.tiktok_cookie(CHAIN_TOKEN_COOKIE).is_none());
    }
}
