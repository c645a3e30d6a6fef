//! One feed walk's TikTok session: the cookie jar and proxy (`msToken`, `ttwid`,
//! `tt_chain_token`, kept by an egress [`Session`] leased at the walk's first request and kept
//! for all of it), bootstrapped by fetching `https://www.tiktok.com/` when the cookies are
//! missing; a `device_id`; the browser fingerprint; and the request path — common query,
//! `msToken`, signature, headers, timeout, classification.

use std::time::Duration;

use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;
use url::Url;
use wreq::header::{self, HeaderMap, HeaderValue};

use super::classify::{FeedFailure, api_json, fetch_failure, sign_failure};
use super::query::{BrowserFingerprint, WEB_ORIGIN, api_url, common_params, new_device_id};
use super::signer::{Signer, fake_ms_token};
use crate::egress::{CHAIN_TOKEN_COOKIE, Egress, Fetched, PAGE_ACCEPT, Session};

/// Largest API answer read (a 35-item page is about 1 MB).
const MAX_API_BYTES: usize = 16 * 1024 * 1024;
/// Largest page read (home or profile page).
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
const MS_TOKEN_COOKIE: &str = "msToken";
const TTWID_COOKIE: &str = "ttwid";
const REFERER: &str = "https://www.tiktok.com/";

/// The session of one walk.
#[derive(Debug)]
pub struct WebSession<'client> {
    egress: Egress,
    /// Leased at the first request (it may wait for a cooling proxy).
    http: Option<Session>,
    signer: &'client Signer,
    fingerprint: BrowserFingerprint,
    device_id: String,
    configured_ms_token: Option<String>,
    request_timeout: Duration,
    bootstrapped: bool,
}

impl<'client> WebSession<'client> {
    /// A fresh session (empty jar, new `device_id`, a proxy at the first request). `ms_token`
    /// (TIKTOK_MS_TOKEN) wins over the cookie TikTok sets.
    pub fn new(
        egress: Egress,
        signer: &'client Signer,
        ms_token: Option<String>,
        request_timeout: Duration,
    ) -> WebSession<'client> {
        WebSession {
            egress,
            http: None,
            signer,
            fingerprint: BrowserFingerprint::default_browser(),
            device_id: new_device_id(),
            configured_ms_token: ms_token.filter(|token| !token.trim().is_empty()),
            request_timeout,
            bootstrapped: false,
        }
    }

    /// The session's `device_id`.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// A new `device_id` (TikTok repeats a page forever for a bad one).
    pub fn rotate_device_id(&mut self) {
        self.device_id = new_device_id();
    }

    /// The `msToken` sent: TIKTOK_MS_TOKEN, else the cookie TikTok set.
    pub fn ms_token(&self) -> Option<String> {
        self.configured_ms_token
            .clone()
            .or_else(|| self.cookie(MS_TOKEN_COOKIE))
    }

    /// The value of a session cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.http.as_ref()?.tiktok_cookie(name)
    }

    /// The walk's egress session, leased from the proxy pool at the first call.
    async fn http(&mut self) -> Result<&Session, FeedFailure> {
        if self.http.is_none() {
            let session = self.egress.new_session().await.map_err(|cooling| {
                let mut failure = FeedFailure::new(cooling.code, cooling.to_string());
                failure.retry_after = Some(cooling.retry_after);
                failure
            })?;
            self.http = Some(session);
        }
        self.http
            .as_ref()
            .ok_or_else(|| FeedFailure::new(ErrorCode::Internal, "no egress session"))
    }

    /// Fetches the home page once when `ttwid` or `tt_chain_token` is missing, so the jar holds
    /// TikTok's session cookies; makes sure an `msToken` exists when a signer will sign.
    pub async fn bootstrap(&mut self) -> Result<(), FeedFailure> {
        if self.bootstrapped {
            return Ok(());
        }
        if self.cookie(TTWID_COOKIE).is_none() || self.cookie(CHAIN_TOKEN_COOKIE).is_none() {
            let home = Url::parse(REFERER).map_err(|error| {
                FeedFailure::new(ErrorCode::Internal, format!("home URL: {error}"))
            })?;
            let fetched = self.page(&home).await?;
            if !fetched.status.is_success() {
                api_json("the home page", &fetched)?;
            }
        }
        let signs = self.signer.signs();
        let configured = self.configured_ms_token.clone();
        let http = self.http().await?;
        if let Some(token) = &configured {
            http.set_tiktok_cookie(MS_TOKEN_COOKIE, token);
        } else if signs && http.tiktok_cookie(MS_TOKEN_COOKIE).is_none() {
            http.set_tiktok_cookie(MS_TOKEN_COOKIE, &fake_ms_token());
        }
        self.bootstrapped = true;
        Ok(())
    }

    /// GET a TikTok page (HTML) with the session's cookies.
    pub async fn page(&mut self, url: &Url) -> Result<Fetched, FeedFailure> {
        let what = format!("the page {}", url.path());
        let request_timeout = self.request_timeout;
        let http = self.http().await?;
        let request = http.get(url, PAGE_ACCEPT, Some(REFERER), MAX_PAGE_BYTES);
        match tokio::time::timeout(request_timeout, request).await {
            Ok(Ok(fetched)) => Ok(fetched),
            Ok(Err(error)) => Err(fetch_failure(&what, &error)),
            Err(_) => Err(self.timed_out(&what)),
        }
    }

    /// GET `https://www.tiktok.com{path}` with the common query for `from_page`, `params`, the
    /// `msToken` and (when a signer is configured) the signature; the answer's JSON object.
    pub async fn api(
        &mut self,
        path: &str,
        from_page: &str,
        params: &[(&str, String)],
    ) -> Result<Value, FeedFailure> {
        self.bootstrap().await?;
        let what = format!("{WEB_ORIGIN}{path}");
        let mut query = common_params(&self.fingerprint, &self.device_id, from_page);
        query.extend(
            params
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone())),
        );
        if let Some(token) = self.ms_token() {
            query.push((MS_TOKEN_COOKIE.to_owned(), token));
        }
        let url = api_url(path, &query)
            .map_err(|error| FeedFailure::new(ErrorCode::Internal, format!("{what}: {error}")))?;
        let signing = self.signer.sign(&url, &self.fingerprint.user_agent);
        let signed = match tokio::time::timeout(self.request_timeout, signing).await {
            Ok(Ok(signed)) => signed,
            Ok(Err(error)) => return Err(sign_failure(&error)),
            Err(_) => return Err(self.timed_out("the sign server")),
        };
        if let Some(cookies) = &signed.cookies {
            let http = self.http().await?;
            for (name, value) in cookies
                .split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .filter(|(name, _)| !name.trim().is_empty())
            {
                http.set_tiktok_cookie(name.trim(), value.trim());
            }
        }
        if signed.user_agent != self.fingerprint.user_agent {
            self.fingerprint = BrowserFingerprint::from_user_agent(&signed.user_agent);
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, */*"),
        );
        headers.insert(header::REFERER, HeaderValue::from_static(REFERER));
        let user_agent = HeaderValue::from_str(&signed.user_agent)
            .map_err(|_| FeedFailure::changed("the signer's User-Agent is not a header value"))?;
        headers.insert(header::USER_AGENT, user_agent);
        let request_timeout = self.request_timeout;
        let http = self.http().await?;
        let request = http.get_with_headers(&signed.url, headers, MAX_API_BYTES);
        let fetched = match tokio::time::timeout(request_timeout, request).await {
            Ok(Ok(fetched)) => fetched,
            Ok(Err(error)) => return Err(fetch_failure(&what, &error)),
            Err(_) => return Err(self.timed_out(&what)),
        };
        let answer = api_json(&what, &fetched);
        if let (Err(failure), Some(http)) = (&answer, &self.http)
            && failure.code == ErrorCode::UpstreamBlocked
            && fetched.status.as_u16() != 403
        {
            // A captcha or WAF wall behind a 200: the proxy is refused as by a 403.
            http.report_block();
        }
        answer
    }

    fn timed_out(&self, what: &str) -> FeedFailure {
        FeedFailure::new(
            ErrorCode::UpstreamUnavailable,
            format!(
                "{what} did not answer within {} s",
                self.request_timeout.as_secs_f64()
            ),
        )
    }
}
