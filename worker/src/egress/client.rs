//! The browser-grade HTTP client every TikTok request goes through: `wreq` with `wreq-util`'s
//! Chrome emulation (Chrome's TLS ClientHello, HTTP/2 settings and header order over BoringSSL,
//! docs/tiktok-formats.md "TLS fingerprints"), no automatic redirects, no built-in cookie store
//! (each item's [`super::Session`] keeps its own jar), and [`BrowserClient::send`], the one
//! request path.

use std::time::Duration;

use wreq::header::{self, HeaderMap};
use wreq::{Client, StatusCode};
use wreq_util::{Emulation, EmulationOS, EmulationOption};

/// The browser presented: desktop Chrome 145 on Windows (the desktop page variant). Its
/// `User-Agent` is the one the emulation sends; feed signatures are computed for it.
pub const BROWSER_EMULATION: Emulation = Emulation::Chrome145;
/// The `User-Agent` of [`BROWSER_EMULATION`] on Windows (as `wreq-util` sends it).
pub const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/145.0.0.0 Safari/537.36";
/// `Accept` of a page navigation (Chrome's).
pub const PAGE_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
/// `Accept` of an image request (Chrome's).
pub const IMAGE_ACCEPT: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the HTTP client could not be built. A proxy URL is never part of the message: it may
/// carry credentials.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    #[error("proxy {position} of TIKTOK_PROXY_URLS / TIKTOK_PROXY_URL is not a usable proxy URL")]
    InvalidProxy { position: usize },
    #[error("cannot build the TikTok HTTP client: {0}")]
    Build(#[source] wreq::Error),
}

/// A transport failure or an oversized body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Transport(#[from] wreq::Error),
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
    /// Every `Set-Cookie` of the answer.
    pub set_cookies: Vec<header::HeaderValue>,
    pub body: Vec<u8>,
}

/// The shared client (connection pool; cheap to clone).
#[derive(Clone)]
pub struct BrowserClient {
    client: Client,
}

impl std::fmt::Debug for BrowserClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("BrowserClient")
            .field("emulation", &BROWSER_EMULATION)
            .finish_non_exhaustive()
    }
}

impl BrowserClient {
    /// Builds the client: Chrome's fingerprint, redirects off, certificate checks off when
    /// `insecure_tls` (TIKTOK_PROXY_INSECURE_TLS: proxies that re-sign TLS). Proxies are chosen
    /// per request.
    pub fn new(insecure_tls: bool) -> Result<BrowserClient, ClientSetupError> {
        let emulation = EmulationOption::builder()
            .emulation(BROWSER_EMULATION)
            .emulation_os(EmulationOS::Windows)
            .build();
        let client = Client::builder()
            .emulation(emulation)
            .redirect(wreq::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .cert_verification(!insecure_tls)
            .verify_hostname(!insecure_tls)
            .no_proxy()
            .build()
            .map_err(ClientSetupError::Build)?;
        Ok(BrowserClient { client })
    }

    /// GET `url` with `headers` (over the emulation's defaults), through `proxy` when set. This
    /// is the one path of every TikTok request: a per-host request budget belongs here.
    pub async fn send(
        &self,
        url: &url::Url,
        headers: HeaderMap,
        proxy: Option<&wreq::Proxy>,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        crate::egress::budget::acquire(url.host_str()).await?;
        let mut request = self.client.get(url.as_str()).headers(headers);
        if let Some(proxy) = proxy {
            request = request.proxy(proxy.clone());
        }
        let mut response = request.send().await?;
        let status = response.status();
        crate::worker_metrics::record_upstream_response(status.as_u16());
        let text_header = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let location = text_header(header::LOCATION);
        let retry_after = text_header(header::RETRY_AFTER);
        let content_type = text_header(header::CONTENT_TYPE)
            .and_then(|value| value.split(';').next().map(str::to_owned))
            .map(|value| value.trim().to_ascii_lowercase())
            .filter(|value| !value.is_empty());
        let set_cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
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
            set_cookies,
            body,
        })
    }
}
