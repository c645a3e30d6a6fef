//! One feed walk's TikTok session: the cookie jar (`msToken`, `ttwid`, `tt_chain_token`, kept by
//! the web extractor's [`Session`]), bootstrapped by fetching `https://www.tiktok.com/` when the
//! cookies are missing; a `device_id`; the browser fingerprint; and the request path — common
//! query, `msToken`, signature, headers, timeout, classification.

use std::time::Duration;

use reqwest::Url;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;

use super::classify::{FeedFailure, api_json, fetch_failure, sign_failure};
use super::query::{BrowserFingerprint, WEB_ORIGIN, api_url, common_params, new_device_id};
use super::signer::{Signer, fake_ms_token};
use crate::web_extractor::client::{CHAIN_TOKEN_COOKIE, Fetched, PAGE_ACCEPT, Session};

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
    http: Session<'client>,
    signer: &'client Signer,
    fingerprint: BrowserFingerprint,
    device_id: String,
    configured_ms_token: Option<String>,
    request_timeout: Duration,
    bootstrapped: bool,
}

impl<'client> WebSession<'client> {
    /// A fresh session (empty jar, new `device_id`). `ms_token` (TIKTOK_MS_TOKEN) wins over the
    /// cookie TikTok sets.
    pub fn new(
        client: &'client reqwest::Client,
        signer: &'client Signer,
        ms_token: Option<String>,
        request_timeout: Duration,
    ) -> WebSession<'client> {
        WebSession {
            http: Session::new(client),
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
            .or_else(|| self.http.tiktok_cookie(MS_TOKEN_COOKIE))
    }

    /// The value of a session cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.http.tiktok_cookie(name)
    }

    /// Fetches the home page once when `ttwid` or `tt_chain_token` is missing, so the jar holds
    /// TikTok's session cookies; makes sure an `msToken` exists when a signer will sign.
    pub async fn bootstrap(&mut self) -> Result<(), FeedFailure> {
        if self.bootstrapped {
            return Ok(());
        }
        if self.http.tiktok_cookie(TTWID_COOKIE).is_none()
            || self.http.tiktok_cookie(CHAIN_TOKEN_COOKIE).is_none()
        {
            let home = Url::parse(REFERER).map_err(|error| {
                FeedFailure::new(ErrorCode::Internal, format!("home URL: {error}"))
            })?;
            let fetched = self.page(&home).await?;
            if !fetched.status.is_success() {
                api_json("the home page", &fetched)?;
            }
        }
        if let Some(token) = &self.configured_ms_token {
            self.http.set_tiktok_cookie(MS_TOKEN_COOKIE, token);
        } else if self.signer.signs() && self.http.tiktok_cookie(MS_TOKEN_COOKIE).is_none() {
            self.http
                .set_tiktok_cookie(MS_TOKEN_COOKIE, &fake_ms_token());
        }
        self.bootstrapped = true;
        Ok(())
    }

    /// GET a TikTok page (HTML) with the session's cookies.
    pub async fn page(&self, url: &Url) -> Result<Fetched, FeedFailure> {
        let what = format!("the page {}", url.path());
        let request = self
            .http
            .get(url, PAGE_ACCEPT, Some(REFERER), MAX_PAGE_BYTES);
        match tokio::time::timeout(self.request_timeout, request).await {
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
            for (name, value) in cookies
                .split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .filter(|(name, _)| !name.trim().is_empty())
            {
                self.http.set_tiktok_cookie(name.trim(), value.trim());
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
        let request = self
            .http
            .get_with_headers(&signed.url, headers, MAX_API_BYTES);
        let fetched = match tokio::time::timeout(self.request_timeout, request).await {
            Ok(Ok(fetched)) => fetched,
            Ok(Err(error)) => return Err(fetch_failure(&what, &error)),
            Err(_) => return Err(self.timed_out(&what)),
        };
        api_json(&what, &fetched)
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
