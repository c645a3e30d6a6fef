//! Behaviour tests of the site: shared request helpers; the tests live in `pages` (pages,
//! statuses, short links, determinism) and `feeds_cdn` (feed APIs, CDN rules, sessions) and `search_music` (search and sound APIs).

mod comments;
mod feeds_cdn;
mod pages;
mod search_music;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use serde_json::Value;

use super::{SiteOptions, TiktokSite};
use crate::exchange::{Scheme, SimRequest, SimResponse};

pub(super) const NOW: i64 = 1_767_225_600;
pub(super) const SIGNED: &str =
    "msToken=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789&X-Bogus=DFSzswVLAbCdEfGhIjKlMnOpQrSt";

pub(super) fn site(seed: u64, count: usize) -> TiktokSite {
    TiktokSite::new(SiteOptions {
        seed,
        video_count: count,
        now_unix: NOW,
    })
}

pub(super) fn request(
    method: Method,
    url: &str,
    cookie: Option<&str>,
    user_agent: &str,
    range: Option<&str>,
) -> SimRequest {
    let parsed = url::Url::parse(url).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::USER_AGENT,
        HeaderValue::from_str(user_agent).unwrap(),
    );
    if let Some(cookie) = cookie {
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
    }
    if let Some(range) = range {
        headers.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
    }
    SimRequest {
        method,
        scheme: Scheme::Https,
        host: parsed.host_str().unwrap().to_string(),
        path: parsed.path().to_string(),
        query: parsed.query().map(str::to_string),
        headers,
        body: Bytes::new(),
    }
}

pub(super) const DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
pub(super) const MOBILE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";

pub(super) fn get(site: &TiktokSite, url: &str) -> SimResponse {
    site.handle(&request(Method::GET, url, None, DESKTOP, None))
}

pub(super) fn get_with(
    site: &TiktokSite,
    url: &str,
    cookie: Option<&str>,
    range: Option<&str>,
) -> SimResponse {
    site.handle(&request(Method::GET, url, cookie, DESKTOP, range))
}

pub(super) fn body_text(response: &SimResponse) -> String {
    String::from_utf8(response.body.to_vec()).unwrap()
}

/// The universal-data JSON of a page, and its raw text.
pub(super) fn universal_data(response: &SimResponse) -> (Value, String) {
    let html = body_text(response);
    let marker = "<script id=\"__UNIVERSAL_DATA_FOR_REHYDRATION__\" type=\"application/json\">";
    let start = html.find(marker).expect("universal data script") + marker.len();
    let end = start + html[start..].find("</script>").unwrap();
    let raw = html[start..end].to_string();
    (serde_json::from_str(&raw).unwrap(), raw)
}

pub(super) fn scope<'a>(data: &'a Value, name: &str) -> &'a Value {
    &data["__DEFAULT_SCOPE__"][name]
}

pub(super) fn chain_cookie(response: &SimResponse) -> String {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("tt_chain_token="))
        .map(|rest| format!("tt_chain_token={}", rest.split(';').next().unwrap()))
        .expect("tt_chain_token cookie")
}
