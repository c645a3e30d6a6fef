//! Finding and parsing the video data of a TikTok page (docs/tiktok-formats.md
//! "Where the page JSON lives", "Parser robustness checklist"):
//! `__UNIVERSAL_DATA_FOR_REHYDRATION__` (desktop and reflow), SIGI_STATE (script or inline),
//! `__NEXT_DATA__`; the `statusCode`; and the pages that carry no data (WAF challenge, login
//! wall, anonymous shell, layout change).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;

use super::lenient::value_to_i64;
use super::waf::{WafChallenge, find_waf_challenge};

/// Which container the page data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageVariant {
    /// `__UNIVERSAL_DATA_FOR_REHYDRATION__` → `webapp.video-detail` (desktop, 2023 → now).
    Universal,
    /// `__UNIVERSAL_DATA_FOR_REHYDRATION__` → `webapp.reflow.video.detail` (mobile UA, `m.tiktok.com/v/ID.html`).
    Reflow,
    /// `SIGI_STATE` → `ItemModule[id]` + `VideoPage.statusCode` (2021–2023).
    Sigi,
    /// `__NEXT_DATA__` → `props.pageProps` (≤ 2021).
    NextData,
}

/// The video data of a page: TikTok's status and, when it sent one, the raw `itemStruct`.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoPage {
    /// TikTok's `statusCode` (0 when absent, as yt-dlp assumes).
    pub status_code: i64,
    /// TikTok's `statusMsg` (usually empty).
    pub status_message: String,
    /// The `itemStruct`, when present and non-empty.
    pub item: Option<Value>,
    /// Which container it came from.
    pub variant: PageVariant,
}

/// Why a page carries no video data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PageError {
    #[error("TikTok served its JavaScript proof-of-work challenge page")]
    ChallengePage(Box<WafChallenge>),
    #[error("TikTok asked for a login")]
    LoginWall,
    #[error("the page has no known data container (layout change or fingerprint block)")]
    NoData,
    #[error("the page is an anonymous shell without video data (captcha or block)")]
    Shell,
    #[error("the page body is empty")]
    EmptyBody,
    #[error("the page data is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the WAF challenge could not be solved: {0}")]
    ChallengeUnsolved(String),
}

impl PageError {
    /// The item error code for this page.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            PageError::ChallengePage(_) | PageError::ChallengeUnsolved(_) | PageError::Shell => {
                ErrorCode::UpstreamBlocked
            }
            PageError::LoginWall => ErrorCode::LoginRequired,
            PageError::EmptyBody => ErrorCode::UpstreamEmpty,
            PageError::NoData | PageError::InvalidJson(_) => ErrorCode::UpstreamChanged,
        }
    }
}

fn script_pattern(id: &str) -> Option<Regex> {
    Regex::new(&format!(
        r#"(?is)<script\b[^>]*?\sid\s*=\s*["']?{id}["']?[^>]*>(.*?)</script\s*>"#
    ))
    .ok()
}

static UNIVERSAL_SCRIPT: LazyLock<Option<Regex>> =
    LazyLock::new(|| script_pattern("__UNIVERSAL_DATA_FOR_REHYDRATION__"));
static SIGI_SCRIPT: LazyLock<Option<Regex>> =
    LazyLock::new(|| script_pattern("(?:SIGI_STATE|sigi-persisted-data)"));
static NEXT_DATA_SCRIPT: LazyLock<Option<Regex>> =
    LazyLock::new(|| script_pattern("__NEXT_DATA__"));
static SIGI_INLINE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"window\[\s*['"]SIGI_STATE['"]\s*\]\s*=\s*"#).ok());

fn script_body<'html>(pattern: &LazyLock<Option<Regex>>, html: &'html str) -> Option<&'html str> {
    pattern
        .as_ref()?
        .captures(html)?
        .get(1)
        .map(|body| body.as_str())
}

fn parse_json(text: &str) -> Result<Value, PageError> {
    serde_json::from_str(text.trim()).map_err(|error| PageError::InvalidJson(error.to_string()))
}

/// Parses a video page (desktop or mobile) into TikTok's status and item.
pub fn parse_video_page(html: &str) -> Result<VideoPage, PageError> {
    if html.trim().is_empty() {
        return Err(PageError::EmptyBody);
    }
    if let Some(body) = script_body(&UNIVERSAL_SCRIPT, html) {
        return parse_universal(&parse_json(body)?);
    }
    if let Some(body) = script_body(&SIGI_SCRIPT, html) {
        return parse_sigi(&parse_json(body)?);
    }
    if let Some(found) = SIGI_INLINE.as_ref().and_then(|pattern| pattern.find(html)) {
        let rest = &html[found.end()..];
        let value = serde_json::Deserializer::from_str(rest)
            .into_iter::<Value>()
            .next()
            .ok_or(PageError::NoData)?
            .map_err(|error| PageError::InvalidJson(error.to_string()))?;
        return parse_sigi(&value);
    }
    if let Some(body) = script_body(&NEXT_DATA_SCRIPT, html) {
        return parse_next_data(&parse_json(body)?);
    }
    if let Some(challenge) = find_waf_challenge(html)? {
        return Err(PageError::ChallengePage(Box::new(challenge)));
    }
    Err(PageError::NoData)
}

/// A non-empty JSON object.
fn non_empty_object(value: Option<&Value>) -> Option<Value> {
    value
        .filter(|value| value.as_object().is_some_and(|object| !object.is_empty()))
        .cloned()
}

fn status_of(container: &Value) -> (i64, String) {
    let code = ["statusCode", "status_code"]
        .iter()
        .find_map(|key| container.get(*key).and_then(value_to_i64))
        .unwrap_or(0);
    let message = ["statusMsg", "status_msg"]
        .iter()
        .find_map(|key| container.get(*key).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    (code, message)
}

/// The `itemStruct` of a detail object (`itemInfo.itemStruct`, `videoDetail.itemInfo.itemStruct`, `itemStruct`).
fn item_of(detail: &Value) -> Option<Value> {
    non_empty_object(detail.pointer("/itemInfo/itemStruct"))
        .or_else(|| non_empty_object(detail.pointer("/videoDetail/itemInfo/itemStruct")))
        .or_else(|| non_empty_object(detail.get("itemStruct")))
}

fn parse_universal(root: &Value) -> Result<VideoPage, PageError> {
    let scope = root.get("__DEFAULT_SCOPE__").unwrap_or(root);
    for (key, variant) in [
        ("webapp.video-detail", PageVariant::Universal),
        ("webapp.reflow.video.detail", PageVariant::Reflow),
    ] {
        if let Some(detail) = scope.get(key) {
            let (status_code, status_message) = status_of(detail);
            return Ok(VideoPage {
                status_code,
                status_message,
                item: item_of(detail),
                variant,
            });
        }
    }
    if let Some(item) = item_of(scope) {
        let (status_code, status_message) = status_of(scope);
        return Ok(VideoPage {
            status_code,
            status_message,
            item: Some(item),
            variant: PageVariant::Universal,
        });
    }
    if scope
        .get("webapp.app-context")
        .and_then(|context| context.get("redirectUrl"))
        .is_some_and(is_login_redirect)
    {
        return Err(PageError::LoginWall);
    }
    Err(PageError::Shell)
}

fn is_login_redirect(value: &Value) -> bool {
    value.as_str().is_some_and(|url| url.contains("/login"))
}

fn parse_sigi(root: &Value) -> Result<VideoPage, PageError> {
    let (status_code, status_message) = root
        .get("VideoPage")
        .map(status_of)
        .unwrap_or((0, String::new()));
    let item = root
        .get("ItemModule")
        .and_then(Value::as_object)
        .and_then(|items| {
            items
                .values()
                .find(|item| item.as_object().is_some_and(|object| !object.is_empty()))
        })
        .cloned()
        .map(|item| with_sigi_author_stats(root, item));
    let login_redirect = root
        .pointer("/LoginContextModule/redirectUrl")
        .and_then(Value::as_str)
        .is_some_and(|url| !url.is_empty());
    if item.is_none() && login_redirect {
        return Err(PageError::LoginWall);
    }
    if item.is_none() && root.get("VideoPage").is_none() {
        return Err(PageError::Shell);
    }
    Ok(VideoPage {
        status_code,
        status_message,
        item,
        variant: PageVariant::Sigi,
    })
}

/// SIGI keeps the author's stats in `UserModule.stats[handle]`; copy them onto the item as `authorStats`.
fn with_sigi_author_stats(root: &Value, mut item: Value) -> Value {
    let handle = item
        .get("author")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(handle), Some(object)) = (handle, item.as_object_mut())
        && !object.contains_key("authorStats")
        && let Some(stats) = root
            .pointer("/UserModule/stats")
            .and_then(|stats| stats.get(&handle))
    {
        object.insert("authorStats".to_string(), stats.clone());
    }
    item
}

fn parse_next_data(root: &Value) -> Result<VideoPage, PageError> {
    let props = root.pointer("/props/pageProps").ok_or(PageError::NoData)?;
    let (status_code, status_message) = status_of(props);
    Ok(VideoPage {
        status_code,
        status_message,
        item: item_of(props),
        variant: PageVariant::NextData,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn universal(scope: &Value) -> String {
        let data = json!({ "__DEFAULT_SCOPE__": scope })
            .to_string()
            .replace('/', "\\u002F");
        format!(
            "<html><head></head><body><script type=\"application/json\" id=\"__UNIVERSAL_DATA_FOR_REHYDRATION__\" nonce=\"x\">{data}</script></body></html>"
        )
    }

    #[test]
    fn universal_desktop_page_with_escaped_slashes() {
        let scope = json!({
            "webapp.app-context": { "language": "en" },
            "webapp.video-detail": { "itemInfo": { "itemStruct": { "id": "7", "video": { "playAddr": "https://v16/x" } } }, "statusCode": 0, "statusMsg": "" }
        });
        let page = parse_video_page(&universal(&scope)).unwrap();
        assert_eq!(page.variant, PageVariant::Universal);
        assert_eq!(page.status_code, 0);
        assert_eq!(page.item.unwrap()["video"]["playAddr"], "https://v16/x");
    }

    #[test]
    fn reflow_page_and_error_status_without_item() {
        let scope = json!({ "webapp.reflow.video.detail": { "itemInfo": { "itemStruct": {} }, "statusCode": "10216", "statusMsg": "private" } });
        let page = parse_video_page(&universal(&scope)).unwrap();
        assert_eq!(page.variant, PageVariant::Reflow);
        assert_eq!(
            (page.status_code, page.status_message.as_str()),
            (10216, "private")
        );
        assert!(page.item.is_none());
    }

    #[test]
    fn missing_status_with_item_is_ok_and_nested_video_detail_is_found() {
        let scope = json!({ "webapp.video-detail": { "videoDetail": { "itemInfo": { "itemStruct": { "id": "7" } } } } });
        let page = parse_video_page(&universal(&scope)).unwrap();
        assert_eq!(page.status_code, 0);
        assert_eq!(page.item.unwrap()["id"], "7");
    }

    #[test]
    fn anonymous_shell_is_not_data() {
        let scope =
            json!({ "webapp.app-context": { "language": "en" }, "webapp.i18n-translation": {} });
        assert_eq!(parse_video_page(&universal(&scope)), Err(PageError::Shell));
        assert_eq!(PageError::Shell.error_code(), ErrorCode::UpstreamBlocked);
    }

    #[test]
    fn sigi_script_and_inline_pages() {
        let state = json!({
            "VideoPage": { "statusCode": 0, "statusMsg": "" },
            "ItemModule": { "7045537700000000000": { "id": "7045537700000000000", "author": "creator.name", "video": {} } },
            "UserModule": { "stats": { "creator.name": { "followerCount": 4959 } } }
        });
        let script =
            format!("<script id=\"SIGI_STATE\" type=\"application/json\">{state}</script>");
        let page = parse_video_page(&script).unwrap();
        assert_eq!(page.variant, PageVariant::Sigi);
        assert_eq!(
            page.item.as_ref().unwrap()["authorStats"]["followerCount"],
            4959
        );
        let inline =
            format!("<script>window['SIGI_STATE']={state};window['SIGI_RETRY']={{}};</script>");
        assert_eq!(parse_video_page(&inline).unwrap().item, page.item);
    }

    #[test]
    fn sigi_login_wall() {
        let state = json!({ "LoginContextModule": { "redirectUrl": "https://www.tiktok.com/login" }, "ItemModule": {} });
        let html = format!("<script id=\"SIGI_STATE\">{state}</script>");
        assert_eq!(parse_video_page(&html), Err(PageError::LoginWall));
        assert_eq!(PageError::LoginWall.error_code(), ErrorCode::LoginRequired);
    }

    #[test]
    fn next_data_page() {
        let data = json!({ "props": { "pageProps": { "statusCode": 10204, "statusMsg": "", "itemInfo": {} } } });
        let html = format!(
            "<script id=\"__NEXT_DATA__\" type=\"application/json\" crossorigin=\"anonymous\">{data}</script>"
        );
        let page = parse_video_page(&html).unwrap();
        assert_eq!(
            (page.variant, page.status_code, page.item),
            (PageVariant::NextData, 10204, None)
        );
    }

    #[test]
    fn empty_stub_and_broken_pages() {
        assert_eq!(parse_video_page("  "), Err(PageError::EmptyBody));
        assert_eq!(
            parse_video_page("<html><body>hello</body></html>"),
            Err(PageError::NoData)
        );
        let broken =
            "<script id=\"__UNIVERSAL_DATA_FOR_REHYDRATION__\">{\"__DEFAULT_SCOPE__\":</script>";
        assert!(matches!(
            parse_video_page(broken),
            Err(PageError::InvalidJson(_))
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(html in ".{0,400}") {
            let _ = parse_video_page(&html);
        }

        #[test]
        fn parse_never_panics_on_near_miss_pages(body in "[{}\\[\\]\":a-zA-Z0-9_.,-]{0,200}", id in "(__UNIVERSAL_DATA_FOR_REHYDRATION__|SIGI_STATE|__NEXT_DATA__|cs|wci)") {
            let _ = parse_video_page(&format!("<script id=\"{id}\" class=\"{body}\">{body}</script><div id=\"wci\" class=\"w\">"));
        }
    }
}
