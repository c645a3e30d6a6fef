//! Built-in fault cases: one spare video of the corpus per fault kind, so tests can pick
//! "the video that answers 429" by name from `GET /_sim/cases`.

use serde::Serialize;

use super::{FaultEngine, FaultKind, FaultMatch, FaultRuleSpec, RuleOrigin};
use crate::site::TiktokSite;

/// One entry of `GET /_sim/cases`, for both the site's status cases and the fault cases.
#[derive(Debug, Clone, Serialize)]
pub struct CaseEntry {
    pub name: String,
    pub url: String,
    /// TikTok `statusCode` of a status page; `null` for fault cases.
    pub status_code: Option<i64>,
    /// Fault kind of a fault case; `null` for status cases.
    pub fault: Option<FaultKind>,
    pub description: String,
}

/// The fault kinds that get a built-in case, with their case name and description.
pub const BUILTIN_FAULT_CASES: [(FaultKind, &str, &str); 10] = [
    (
        FaultKind::Http429,
        "fault_http_429",
        "The page answers HTTP 429 Too Many Requests with Retry-After: 30.",
    ),
    (
        FaultKind::Http403,
        "fault_http_403",
        "The page answers HTTP 403 Forbidden (edge block).",
    ),
    (
        FaultKind::Http500,
        "fault_http_500",
        "The page answers HTTP 500 Internal Server Error.",
    ),
    (
        FaultKind::Empty200,
        "fault_empty_200",
        "The page answers HTTP 200 with an empty body.",
    ),
    (
        FaultKind::Reset,
        "fault_reset",
        "The connection is reset (RST) without an answer.",
    ),
    (
        FaultKind::Hang,
        "fault_hang",
        "The page never answers; the client must time out.",
    ),
    (
        FaultKind::Truncate,
        "fault_truncate",
        "Content-Length announces the whole page but half of it is sent, then the connection closes.",
    ),
    (
        FaultKind::Challenge,
        "fault_challenge",
        "The WAF proof-of-work page until the solved _wafchallengeid cookie is sent; then the normal page.",
    ),
    (
        FaultKind::LoginWall,
        "fault_login_wall",
        "302 redirect to https://www.tiktok.com/login?redirect_url=…",
    ),
    (
        FaultKind::LayoutChange,
        "fault_layout_change",
        "The normal page without its __UNIVERSAL_DATA_FOR_REHYDRATION__ script.",
    ),
];

/// Attaches one built-in fault rule to each spare video; returns the cases.
pub fn install_builtin_cases(site: &TiktokSite, engine: &FaultEngine) -> Vec<CaseEntry> {
    let spares = site.spare_videos(BUILTIN_FAULT_CASES.len());
    spares
        .into_iter()
        .zip(BUILTIN_FAULT_CASES)
        .map(|((video_id, url), (kind, name, description))| {
            let mut spec = FaultRuleSpec::new(FaultMatch::VideoId(video_id), kind);
            if kind == FaultKind::Http429 {
                spec.retry_after_secs = Some(30);
            }
            engine.add(spec, RuleOrigin::Builtin);
            CaseEntry {
                name: name.to_string(),
                url,
                status_code: None,
                fault: Some(kind),
                description: description.to_string(),
            }
        })
        .collect()
}

/// The site's status cases followed by the fault cases.
pub fn all_cases(site: &TiktokSite, fault_cases: &[CaseEntry]) -> Vec<CaseEntry> {
    site.status_cases()
        .into_iter()
        .map(|case| CaseEntry {
            name: case.name,
            url: case.url,
            status_code: case.status_code,
            fault: None,
            description: case.description,
        })
        .chain(fault_cases.iter().cloned())
        .collect()
}
