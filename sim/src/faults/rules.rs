//! Fault rule values: what a rule matches, which fault it injects, and how often (the JSON shape
//! accepted by `--fault` and `POST /_sim/faults`).

use serde::{Deserialize, Serialize};

/// Which requests a rule applies to. JSON: `{"video_id":"…"}`, `{"path_prefix":"/api/"}`,
/// `{"host":"www.tiktok.com"}`, `{"user_agent_contains":"Chrome/131"}` or `{"all":true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultMatch {
    /// The 19-digit id anywhere in the path, or in an `itemId` / `aweme_id` query parameter.
    VideoId(String),
    /// Path (without query) starting with this prefix.
    PathPrefix(String),
    /// Exact host name (case-insensitive, without port).
    Host(String),
    /// `User-Agent` header containing this text (case-sensitive): a fault only one client
    /// trips, e.g. a page variant the native client cannot read while yt-dlp can.
    UserAgentContains(String),
    /// Every request to a TikTok host when `true`; nothing when `false`.
    All(bool),
}

/// The fault a rule injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FaultKind {
    /// Only the rule's `latency_ms` / `jitter_ms`; the request then proceeds (other rules still apply).
    #[serde(rename = "latency")]
    Latency,
    #[serde(rename = "http_429")]
    Http429,
    #[serde(rename = "http_403")]
    Http403,
    #[serde(rename = "http_500")]
    Http500,
    #[serde(rename = "http_503")]
    Http503,
    /// HTTP 200 with an empty body.
    #[serde(rename = "empty_200")]
    Empty200,
    /// Close the TCP connection with a RST, without answering.
    #[serde(rename = "reset")]
    Reset,
    /// Never answer; the connection stays open until the client gives up.
    #[serde(rename = "hang")]
    Hang,
    /// Announce the full `Content-Length`, send half of the body, close.
    #[serde(rename = "truncate")]
    Truncate,
    /// The WAF proof-of-work page until the request carries the solved cookie.
    #[serde(rename = "challenge")]
    Challenge,
    /// `302` to `https://www.tiktok.com/login?redirect_url=…`.
    #[serde(rename = "login_wall")]
    LoginWall,
    /// The site's page without its `__UNIVERSAL_DATA_FOR_REHYDRATION__` script; a JSON API answer
    /// drifts instead (`statusCode` 0, items without `id`/`author`; see `faults::layout_drift`).
    #[serde(rename = "layout_change")]
    LayoutChange,
    /// A subtitle file rewritten as SubRip (no `WEBVTT` line, comma decimal separators); other
    /// answers pass unchanged.
    #[serde(rename = "malformed_vtt")]
    MalformedVtt,
}

impl FaultKind {
    /// Every kind, in documentation order.
    pub const ALL: [FaultKind; 13] = [
        FaultKind::Latency,
        FaultKind::Http429,
        FaultKind::Http403,
        FaultKind::Http500,
        FaultKind::Http503,
        FaultKind::Empty200,
        FaultKind::Reset,
        FaultKind::Hang,
        FaultKind::Truncate,
        FaultKind::Challenge,
        FaultKind::LoginWall,
        FaultKind::LayoutChange,
        FaultKind::MalformedVtt,
    ];

    /// The JSON name (`http_429`, `reset`, …).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Latency => "latency",
            FaultKind::Http429 => "http_429",
            FaultKind::Http403 => "http_403",
            FaultKind::Http500 => "http_500",
            FaultKind::Http503 => "http_503",
            FaultKind::Empty200 => "empty_200",
            FaultKind::Reset => "reset",
            FaultKind::Hang => "hang",
            FaultKind::Truncate => "truncate",
            FaultKind::Challenge => "challenge",
            FaultKind::LoginWall => "login_wall",
            FaultKind::LayoutChange => "layout_change",
            FaultKind::MalformedVtt => "malformed_vtt",
        }
    }
}

fn default_probability() -> f64 {
    1.0
}

/// One fault rule as written by a user (`--fault`, `POST /_sim/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleSpec {
    #[serde(rename = "match")]
    pub matcher: FaultMatch,
    pub fault: FaultKind,
    /// Extra delay before the answer when the rule applies (any fault kind).
    #[serde(default)]
    pub latency_ms: u64,
    /// Deterministic extra delay in `0..=jitter_ms` on top of `latency_ms`.
    #[serde(default)]
    pub jitter_ms: u64,
    /// `Retry-After` header value for `http_429` (and `http_503`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Chance in `0.0..=1.0` that a matching request gets the fault (decided by a seeded hash).
    #[serde(default = "default_probability")]
    pub probability: f64,
    /// Apply to only the first N requests that get the fault, then stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

/// Why a fault rule was refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultRuleError {
    #[error("invalid fault rule JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid fault rule: probability must be within 0.0..=1.0, got {0}")]
    Probability(f64),
    #[error("invalid fault rule: video_id must be 19 ASCII digits, got {0:?}")]
    VideoId(String),
    #[error("invalid fault rule: {0} must not be empty")]
    Empty(&'static str),
}

impl FaultRuleSpec {
    /// A rule with defaults (probability 1, no latency, unlimited).
    pub fn new(matcher: FaultMatch, fault: FaultKind) -> Self {
        FaultRuleSpec {
            matcher,
            fault,
            latency_ms: 0,
            jitter_ms: 0,
            retry_after_secs: None,
            probability: 1.0,
            times: None,
        }
    }

    /// Parses and validates one rule from JSON.
    pub fn from_json(text: &str) -> Result<Self, FaultRuleError> {
        let spec: FaultRuleSpec = serde_json::from_str(text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the value ranges serde cannot express.
    pub fn validate(&self) -> Result<(), FaultRuleError> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(FaultRuleError::Probability(self.probability));
        }
        match &self.matcher {
            FaultMatch::VideoId(id)
                if id.len() != 19 || !id.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Err(FaultRuleError::VideoId(id.clone()))
            }
            FaultMatch::PathPrefix(prefix) if prefix.is_empty() => {
                Err(FaultRuleError::Empty("path_prefix"))
            }
            FaultMatch::Host(host) if host.is_empty() => Err(FaultRuleError::Empty("host")),
            FaultMatch::UserAgentContains(text) if text.is_empty() => {
                Err(FaultRuleError::Empty("user_agent_contains"))
            }
            _ => Ok(()),
        }
    }
}

/// What the matcher looks at in one request, computed once per request.
#[derive(Debug, Clone)]
pub struct MatchSubject<'a> {
    pub host: &'a str,
    pub path: &'a str,
    /// Every 19-digit id found in the path and in `itemId` / `aweme_id`.
    pub video_ids: Vec<String>,
    /// The `User-Agent` header (empty when absent).
    pub user_agent: &'a str,
}

impl<'a> MatchSubject<'a> {
    pub fn new(host: &'a str, path: &'a str, query: Option<&str>) -> Self {
        let mut video_ids = nineteen_digit_runs(path);
        if let Some(query) = query {
            for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                if key == "itemId" || key == "aweme_id" {
                    video_ids.extend(nineteen_digit_runs(&value));
                }
            }
        }
        MatchSubject {
            host,
            path,
            video_ids,
            user_agent: "",
        }
    }

    /// The same subject with the request's `User-Agent`.
    pub fn with_user_agent(self, user_agent: &'a str) -> Self {
        MatchSubject { user_agent, ..self }
    }
}

impl FaultMatch {
    pub fn matches(&self, subject: &MatchSubject<'_>) -> bool {
        match self {
            FaultMatch::VideoId(id) => subject.video_ids.iter().any(|found| found == id),
            FaultMatch::PathPrefix(prefix) => subject.path.starts_with(prefix.as_str()),
            FaultMatch::Host(host) => subject.host.eq_ignore_ascii_case(host),
            FaultMatch::UserAgentContains(text) => subject.user_agent.contains(text.as_str()),
            FaultMatch::All(all) => *all,
        }
    }
}

/// Maximal runs of exactly 19 ASCII digits.
fn nineteen_digit_runs(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut start = None;
    for index in 0..=bytes.len() {
        let is_digit = bytes.get(index).is_some_and(u8::is_ascii_digit);
        match (is_digit, start) {
            (true, None) => start = Some(index),
            (false, Some(begin)) => {
                if index - begin == 19 {
                    runs.push(text[begin..index].to_string());
                }
                start = None;
            }
            _ => {}
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_shape() {
        let rule = FaultRuleSpec::from_json(
            r#"{"match":{"video_id":"7454730070402848956"},"fault":"http_429","retry_after_secs":3,"times":2}"#,
        )
        .unwrap();
        assert_eq!(rule.fault, FaultKind::Http429);
        assert_eq!(rule.probability, 1.0);
        assert_eq!(rule.times, Some(2));
        for kind in FaultKind::ALL {
            let text = format!(r#"{{"match":{{"all":true}},"fault":"{}"}}"#, kind.name());
            assert_eq!(FaultRuleSpec::from_json(&text).unwrap().fault, kind);
        }
        assert!(
            FaultRuleSpec::from_json(r#"{"match":{"path_prefix":"/api/"},"fault":"reset"}"#)
                .is_ok()
        );
        assert!(
            FaultRuleSpec::from_json(r#"{"match":{"host":"vm.tiktok.com"},"fault":"hang"}"#)
                .is_ok()
        );
    }

    #[test]
    fn refuses_bad_rules() {
        assert!(FaultRuleSpec::from_json(r#"{"match":{"all":true},"fault":"explode"}"#).is_err());
        assert!(
            FaultRuleSpec::from_json(r#"{"match":{"all":true},"fault":"reset","probability":2}"#)
                .is_err()
        );
        assert!(
            FaultRuleSpec::from_json(r#"{"match":{"video_id":"12"},"fault":"reset"}"#).is_err()
        );
        assert!(
            FaultRuleSpec::from_json(r#"{"match":{"all":true},"fault":"reset","bogus":1}"#)
                .is_err()
        );
    }

    #[test]
    fn a_user_agent_rule_matches_only_that_client() {
        let rule = FaultRuleSpec::from_json(
            r#"{"match":{"user_agent_contains":"Chrome/131.0.0.0"},"fault":"layout_change"}"#,
        )
        .unwrap();
        let native = MatchSubject::new("www.tiktok.com", "/@a/video/1", None)
            .with_user_agent("Mozilla/5.0 (X11) Chrome/131.0.0.0 Safari/537.36");
        let other = MatchSubject::new("www.tiktok.com", "/@a/video/1", None)
            .with_user_agent("Mozilla/5.0 (X11) Chrome/137.0.0.0 Safari/537.36");
        assert!(rule.matcher.matches(&native));
        assert!(!rule.matcher.matches(&other));
        assert!(
            FaultRuleSpec::from_json(r#"{"match":{"user_agent_contains":""},"fault":"reset"}"#)
                .is_err()
        );
    }

    #[test]
    fn finds_video_ids_in_path_and_query() {
        let subject = MatchSubject::new(
            "www.tiktok.com",
            "/@user/video/7454730070402848956",
            Some("itemId=7454730070402848957&x=74547300704028489588"),
        );
        assert_eq!(
            subject.video_ids,
            vec!["7454730070402848956", "7454730070402848957"]
        );
    }
}
