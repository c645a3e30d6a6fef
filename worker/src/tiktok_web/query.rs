//! The common query of TikTok's web `/api/…` endpoints (docs/tiktok-formats.md "Common web request"): the
//! web app's fixed parameters, a 19-digit `device_id`, and browser-fingerprint parameters kept
//! consistent with the `User-Agent` the request is sent (and signed) with ("Signing").

use rand::Rng;
use url::Url;

use crate::egress::BROWSER_USER_AGENT;

/// Origin of every web API request.
pub const WEB_ORIGIN: &str = "https://www.tiktok.com";

/// The browser a session presents: its `User-Agent` and the fingerprint parameters derived
/// from it (`browser_platform`, `os`, `browser_version`, screen size, language, time zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserFingerprint {
    pub user_agent: String,
    pub browser_platform: &'static str,
    pub os: &'static str,
    pub screen_width: u32,
    pub screen_height: u32,
    pub browser_language: &'static str,
    pub tz_name: &'static str,
}

impl BrowserFingerprint {
    /// The desktop Chrome the web extractor also presents.
    pub fn default_browser() -> BrowserFingerprint {
        BrowserFingerprint::from_user_agent(BROWSER_USER_AGENT)
    }

    /// A fingerprint consistent with `user_agent` (a sign server's browser, for instance).
    pub fn from_user_agent(user_agent: &str) -> BrowserFingerprint {
        let (browser_platform, os) = if user_agent.contains("Macintosh") {
            ("MacIntel", "mac")
        } else if user_agent.contains("Linux") && !user_agent.contains("Android") {
            ("Linux x86_64", "linux")
        } else {
            ("Win32", "windows")
        };
        BrowserFingerprint {
            user_agent: user_agent.to_owned(),
            browser_platform,
            os,
            screen_width: 1920,
            screen_height: 1080,
            browser_language: "en-US",
            tz_name: "America/New_York",
        }
    }

    /// `browser_version`: the User-Agent after `Mozilla/` (what `navigator.appVersion` holds).
    pub fn browser_version(&self) -> &str {
        self.user_agent
            .strip_prefix("Mozilla/")
            .unwrap_or(&self.user_agent)
    }
}

/// A random plausible 19-digit web `device_id` (starts with 7, as TikTok's do).
pub fn new_device_id() -> String {
    let tail: u64 = rand::rng().random_range(100_000_000_000_000_000..1_000_000_000_000_000_000);
    format!("7{}", &tail.to_string()[..18])
}

/// A `verifyFp` of TikTok's `verify_{base36 ms}_{8}_{4}_{4}_{4}_{12}` shape (the third group
/// starts with `4`), sent with the unsigned creator list.
pub fn new_verify_fp(now_millis: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut random = rand::rng();
    let mut part = |length: usize| -> String {
        (0..length)
            .map(|_| char::from(ALPHABET[random.random_range(0..ALPHABET.len())]))
            .collect()
    };
    let (a, b, c, d, e) = (part(8), part(4), part(3), part(4), part(12));
    format!(
        "verify_{}_{a}_{b}_4{c}_{d}_{e}",
        to_base36(now_millis).to_ascii_lowercase()
    )
}

fn to_base36(mut value: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// The web app's common parameters for a page of `from_page` (`fyp`, `hashtag`, `user`).
pub fn common_params(
    fingerprint: &BrowserFingerprint,
    device_id: &str,
    from_page: &str,
) -> Vec<(String, String)> {
    let fixed: [(&str, String); 31] = [
        ("WebIdLastTime", "1735689000".to_owned()),
        ("aid", "1988".to_owned()),
        ("app_language", "en".to_owned()),
        ("app_name", "tiktok_web".to_owned()),
        ("browser_language", fingerprint.browser_language.to_owned()),
        ("browser_name", "Mozilla".to_owned()),
        ("browser_online", "true".to_owned()),
        ("browser_platform", fingerprint.browser_platform.to_owned()),
        ("browser_version", fingerprint.browser_version().to_owned()),
        ("channel", "tiktok_web".to_owned()),
        ("cookie_enabled", "true".to_owned()),
        ("data_collection_enabled", "true".to_owned()),
        ("device_id", device_id.to_owned()),
        ("device_platform", "web_pc".to_owned()),
        ("focus_state", "true".to_owned()),
        ("from_page", from_page.to_owned()),
        ("history_len", "2".to_owned()),
        ("is_fullscreen", "false".to_owned()),
        ("is_page_visible", "true".to_owned()),
        ("language", "en".to_owned()),
        ("os", fingerprint.os.to_owned()),
        ("priority_region", String::new()),
        ("referer", String::new()),
        ("region", "US".to_owned()),
        ("screen_height", fingerprint.screen_height.to_string()),
        ("screen_width", fingerprint.screen_width.to_string()),
        ("tz_name", fingerprint.tz_name.to_owned()),
        ("user_is_login", "false".to_owned()),
        ("webcast_language", "en".to_owned()),
        ("coverFormat", "2".to_owned()),
        ("odinId", device_id.to_owned()),
    ];
    fixed
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// `https://www.tiktok.com{path}?{params}` (form-encoded like the web app's `URLSearchParams`).
pub fn api_url(path: &str, params: &[(String, String)]) -> Result<Url, url::ParseError> {
    let mut url = Url::parse(WEB_ORIGIN)?.join(path)?;
    url.query_pairs_mut().extend_pairs(params);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_are_19_digits_and_fingerprints_follow_the_user_agent() {
        for _ in 0..50 {
            let id = new_device_id();
            assert_eq!(id.len(), 19, "{id}");
            assert!(id.starts_with('7') && id.bytes().all(|byte| byte.is_ascii_digit()));
        }
        let mac = BrowserFingerprint::from_user_agent(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15",
        );
        assert_eq!((mac.browser_platform, mac.os), ("MacIntel", "mac"));
        assert!(mac.browser_version().starts_with("5.0 (Macintosh"));
        let default = BrowserFingerprint::default_browser();
        assert_eq!((default.browser_platform, default.os), ("Win32", "windows"));
    }

    #[test]
    fn verify_fp_has_tiktoks_shape_and_the_url_carries_the_common_params() {
        let verify_fp = new_verify_fp(1_735_689_000_000);
        let parts: Vec<&str> = verify_fp.split('_').collect();
        assert_eq!(parts.len(), 7, "{verify_fp}");
        assert_eq!(parts[0], "verify");
        assert!(parts[4].starts_with('4'));
        let fingerprint = BrowserFingerprint::default_browser();
        let params = common_params(&fingerprint, "7454999999999999999", "fyp");
        let url = api_url("/api/recommend/item_list/", &params).unwrap();
        assert_eq!(url.host_str(), Some("www.tiktok.com"));
        assert_eq!(url.path(), "/api/recommend/item_list/");
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(query.contains(&("aid".into(), "1988".into())));
        assert!(query.contains(&("device_id".into(), "7454999999999999999".into())));
        assert!(query.contains(&("browser_platform".into(), "Win32".into())));
        assert!(!query.iter().any(|(name, _)| name == "verifyFp"));
    }
}
