//! TikTok's WAF JavaScript proof-of-work challenge page (docs/tiktok-formats.md "The WAF
//! JavaScript challenge"): finding its data in the HTML and solving it the way yt-dlp does.

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use regex::Regex;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::page::PageError;

/// The largest nonce the challenge may need (yt-dlp's bound).
pub const MAX_CHALLENGE_NONCE: u64 = 1_000_000;

/// The data of a WAF challenge page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WafChallenge {
    /// The JSON text decoded from `id="cs"` (`{"v":{"a":…,"c":…},…}`).
    pub challenge_json: String,
    /// `b64decode(v.a)`: the bytes the nonce is appended to.
    pub prefix: Vec<u8>,
    /// `b64decode(v.c)`: the SHA-256 digest to reach.
    pub expected_digest: Vec<u8>,
    /// The cookie to set with the answer: the `class` of `id="wci"` (normally `_wafchallengeid`).
    pub cookie_name: String,
    /// The optional second cookie (`id="rci"` name, `id="rs"` value), set as is.
    pub extra_cookie: Option<(String, String)>,
}

static TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<[A-Za-z][A-Za-z0-9-]*\b([^>]*)>").ok());
static ATTRIBUTE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#).ok()
});

/// Lenient base64: standard or URL-safe alphabet, padding optional.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
    let trimmed = text.trim();
    standard
        .decode(trimmed)
        .ok()
        .or_else(|| url_safe.decode(trimmed).ok())
}

/// `id` → `class` of every element that has both.
fn classes_by_id(html: &str) -> HashMap<String, String> {
    let (Some(tag), Some(attribute)) = (TAG.as_ref(), ATTRIBUTE.as_ref()) else {
        return HashMap::new();
    };
    let mut found = HashMap::new();
    for captures in tag.captures_iter(html) {
        let attributes = captures.get(1).map_or("", |text| text.as_str());
        let mut id = None;
        let mut class = None;
        for pair in attribute.captures_iter(attributes) {
            let value = pair
                .get(2)
                .or(pair.get(3))
                .or(pair.get(4))
                .map_or("", |text| text.as_str())
                .to_string();
            match pair
                .get(1)
                .map(|name| name.as_str().to_ascii_lowercase())
                .as_deref()
            {
                Some("id") => id = Some(value),
                Some("class") => class = Some(value),
                _ => {}
            }
        }
        if let (Some(id), Some(class)) = (id, class) {
            found.entry(id).or_insert(class);
        }
    }
    found
}

/// The challenge of a WAF page, `Ok(None)` when the page is not one, an error when it is one
/// whose data cannot be read.
pub fn find_waf_challenge(html: &str) -> Result<Option<WafChallenge>, PageError> {
    let classes = classes_by_id(html);
    let (Some(encoded), Some(cookie_name)) = (classes.get("cs"), classes.get("wci")) else {
        return if html.contains("Please wait...") && html.contains("id=\"cs\"") {
            Err(PageError::ChallengeUnsolved(
                "challenge data elements are incomplete".to_string(),
            ))
        } else {
            Ok(None)
        };
    };
    let unreadable = |reason: &str| PageError::ChallengeUnsolved(reason.to_string());
    let json_bytes = decode_base64(encoded).ok_or_else(|| unreadable("`cs` is not base64"))?;
    let challenge_json =
        String::from_utf8(json_bytes).map_err(|_| unreadable("`cs` is not UTF-8"))?;
    let data: Value = serde_json::from_str(&challenge_json)
        .map_err(|error| PageError::InvalidJson(error.to_string()))?;
    let field = |name: &str| {
        data.pointer(&format!("/v/{name}"))
            .and_then(Value::as_str)
            .and_then(decode_base64)
    };
    let prefix = field("a").ok_or_else(|| unreadable("`v.a` missing or not base64"))?;
    let expected_digest = field("c").ok_or_else(|| unreadable("`v.c` missing or not base64"))?;
    let extra_cookie = match (classes.get("rci"), classes.get("rs")) {
        (Some(name), Some(value)) if !name.is_empty() => Some((name.clone(), value.clone())),
        _ => None,
    };
    Ok(Some(WafChallenge {
        challenge_json: challenge_json.trim().to_string(),
        prefix,
        expected_digest,
        cookie_name: cookie_name.clone(),
        extra_cookie,
    }))
}

/// Finds `i ≤ 1 000 000` with `sha256(prefix ‖ i) == digest` and returns the cookie to set
/// (on `.tiktok.com`) before re-requesting the page: `(name, base64(challenge JSON + "d": base64(i)))`.
pub fn solve_waf_challenge(challenge: &WafChallenge) -> Result<(String, String), PageError> {
    let nonce = (0..=MAX_CHALLENGE_NONCE)
        .find(|nonce| {
            let mut hasher = Sha256::new();
            hasher.update(&challenge.prefix);
            hasher.update(nonce.to_string().as_bytes());
            hasher.finalize().as_slice() == challenge.expected_digest.as_slice()
        })
        .ok_or_else(|| {
            PageError::ChallengeUnsolved(format!("no nonce up to {MAX_CHALLENGE_NONCE} matches"))
        })?;
    let answer = STANDARD.encode(nonce.to_string());
    let answered_json = with_answer(&challenge.challenge_json, &answer)?;
    Ok((
        challenge.cookie_name.clone(),
        general_purpose::STANDARD.encode(answered_json),
    ))
}

/// The challenge JSON with `"d": answer` added, keeping the original key order (as yt-dlp's
/// `json.dumps` does) when the object has no `d` yet.
fn with_answer(challenge_json: &str, answer: &str) -> Result<String, PageError> {
    let mut data: Value = serde_json::from_str(challenge_json)
        .map_err(|error| PageError::InvalidJson(error.to_string()))?;
    let object = data.as_object_mut().ok_or_else(|| {
        PageError::ChallengeUnsolved("challenge data is not an object".to_string())
    })?;
    let answer_json = Value::String(answer.to_string()).to_string();
    if !object.contains_key("d")
        && let Some(body) = challenge_json.trim().strip_suffix('}')
    {
        let body = body.trim_end();
        let separator = if body.ends_with('{') { "" } else { "," };
        return Ok(format!("{body}{separator}\"d\":{answer_json}}}"));
    }
    object.insert("d".to_string(), Value::String(answer.to_string()));
    Ok(data.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge_page(nonce: u64) -> String {
        let prefix = b"tokworks-prefix-";
        let mut hasher = Sha256::new();
        hasher.update(prefix);
        hasher.update(nonce.to_string().as_bytes());
        let digest = hasher.finalize();
        let json = format!(
            r#"{{"v":{{"a":"{}","b":"x","c":"{}"}},"s":"abc"}}"#,
            STANDARD.encode(prefix),
            STANDARD.encode(digest)
        );
        let encoded = STANDARD.encode(json).trim_end_matches('=').to_string();
        format!(
            r#"<html><head><title>Please wait...</title></head><body><p>Please wait...</p>
            <div class="{encoded}" id="cs"></div><span id="wci" class="_wafchallengeid"></span>
            <i id="rci" class="waforiginalreid"></i><i class="12345" id="rs"></i></body></html>"#
        )
    }

    #[test]
    fn challenge_page_is_detected_and_solved() {
        let page = challenge_page(4242);
        let challenge = match super::super::page::parse_video_page(&page) {
            Err(PageError::ChallengePage(challenge)) => challenge,
            other => panic!("expected a challenge, got {other:?}"),
        };
        assert_eq!(challenge.cookie_name, "_wafchallengeid");
        assert_eq!(
            challenge.extra_cookie,
            Some(("waforiginalreid".to_string(), "12345".to_string()))
        );
        let (name, value) = solve_waf_challenge(&challenge).unwrap();
        assert_eq!(name, "_wafchallengeid");
        let decoded: Value = serde_json::from_slice(&STANDARD.decode(value).unwrap()).unwrap();
        assert_eq!(decoded["d"], STANDARD.encode("4242"));
        assert_eq!(decoded["s"], "abc");
    }

    #[test]
    fn unsolvable_challenge_is_an_error() {
        let mut challenge = match find_waf_challenge(&challenge_page(1)) {
            Ok(Some(challenge)) => challenge,
            other => panic!("expected a challenge, got {other:?}"),
        };
        challenge.expected_digest = vec![0; 32];
        assert!(matches!(
            solve_waf_challenge(&challenge),
            Err(PageError::ChallengeUnsolved(_))
        ));
    }
}
