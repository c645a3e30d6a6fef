//! Routing of one parsed request: CONNECT targets, absolute-form proxy requests to TikTok hosts
//! (through the fault table to the site model), and direct requests to the control and OpenAI
//! APIs. Nothing is ever forwarded upstream.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::control;
use crate::control::counters::tiktok_route_family;
use crate::control::request_log::LogEntry;
use crate::exchange::{Scheme, SimRequest, SimResponse};
use crate::faults::challenge::{CHALLENGE_COOKIE, Challenge};
use crate::faults::layout_drift::apply_layout_change;
use crate::faults::{FaultKind, MatchSubject};
use crate::openai;
use crate::server::client_hello::TlsFingerprint;
use crate::server::http::RequestHead;
use crate::server::state::SimState;
use crate::site::TiktokSite;

/// Body of the 403 for hosts that are not TikTok's.
pub const HOST_NOT_ALLOWED: &str = "tokworks-sim: host not allowed";

/// Where a request arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// `Some(host)` inside a CONNECT tunnel to that host.
    pub tunnel_host: Option<String>,
    /// The tunnel's TLS ClientHello, when it could be parsed.
    pub tls: Option<TlsFingerprint>,
}

/// What the connection must do.
#[derive(Debug)]
pub enum Reply {
    Respond(SimResponse),
    /// CONNECT accepted: answer `200 Connection Established`, then TLS for this host.
    Tunnel {
        host: String,
    },
    /// Close with RST, no answer.
    Reset,
    /// Never answer.
    Hang,
    /// Announce the whole body, send half, close.
    Truncate(SimResponse),
}

/// A routed request: the reply, the delay before it and the log entry to complete.
#[derive(Debug)]
pub struct Dispatched {
    pub reply: Reply,
    pub delay: Duration,
    pub entry: LogEntry,
    /// Counted in `/_sim/counters` but kept out of the request log (control API calls).
    pub count_only: bool,
}

/// Host and port of an authority (`host`, `host:port`, `[v6]:port`), host lower-cased.
fn split_authority(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (authority, default_port),
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty()
        || !host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._:".contains(&byte))
    {
        return None;
    }
    Some((host, port))
}

/// `(path, query)` from a path-and-query string.
fn split_path(path_and_query: &str) -> (String, Option<String>) {
    let without_fragment = path_and_query.split('#').next().unwrap_or("");
    match without_fragment.split_once('?') {
        Some((path, query)) => (
            if path.is_empty() {
                "/".to_string()
            } else {
                path.to_string()
            },
            Some(query.to_string()),
        ),
        None if without_fragment.is_empty() => ("/".to_string(), None),
        None => (without_fragment.to_string(), None),
    }
}

/// `(scheme, host, port, path, query)` of an absolute-form target.
fn split_absolute(target: &str) -> Option<(Scheme, String, u16, String, Option<String>)> {
    let lower = target.get(..8)?.to_ascii_lowercase();
    let (scheme, rest, default_port) = if lower.starts_with("http://") {
        (Scheme::Http, &target[7..], 80)
    } else if lower.starts_with("https://") {
        (Scheme::Https, &target[8..], 443)
    } else {
        return None;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, port) = split_authority(&rest[..authority_end], default_port)?;
    let rest = &rest[authority_end..];
    let (path, query) = if rest.starts_with('/') {
        split_path(rest)
    } else {
        split_path(&format!("/{rest}"))
    };
    Some((scheme, host, port, path, query))
}

fn cookie_names(request: &SimRequest) -> Vec<String> {
    request
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| {
            pair.split_once('=')
                .map(|(name, _)| name.trim().to_string())
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn header_text(request: &SimRequest, name: header::HeaderName) -> Option<String> {
    request
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

fn log_entry(request: &SimRequest, route: String) -> LogEntry {
    LogEntry {
        seq: 0,
        received_at_ms: chrono::Utc::now().timestamp_millis(),
        method: request.method.to_string(),
        scheme: match request.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        },
        host: request.host.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        status: None,
        bytes: 0,
        duration_ms: 0.0,
        route,
        user_agent: request.user_agent().to_string(),
        referer: header_text(request, header::REFERER),
        cookie_names: cookie_names(request),
        range: header_text(request, header::RANGE),
        fault: None,
        tls: None,
    }
}

fn text(status: StatusCode, body: &str) -> SimResponse {
    SimResponse::text(status, format!("{body}\n"))
}

/// Routes one request.
pub fn dispatch(state: &SimState, arrival: &Arrival, head: RequestHead, body: Bytes) -> Dispatched {
    let RequestHead {
        method,
        target,
        headers,
        ..
    } = head;
    let mut request = SimRequest {
        method,
        scheme: Scheme::Http,
        host: String::new(),
        path: String::new(),
        query: None,
        headers,
        body,
    };

    if request.method == Method::CONNECT {
        request.path = target.clone();
        let mut entry = log_entry(&request, "connect".to_string());
        if arrival.tunnel_host.is_some() {
            return respond(
                entry,
                text(
                    StatusCode::BAD_REQUEST,
                    "tokworks-sim: CONNECT inside a CONNECT tunnel",
                ),
            );
        }
        let Some((host, port)) = split_authority(&target, 0) else {
            return respond(
                entry,
                text(
                    StatusCode::BAD_REQUEST,
                    &format!("tokworks-sim: bad CONNECT target {target:?}; expected host:443"),
                ),
            );
        };
        entry.host = host.clone();
        if port != 443 || !TiktokSite::is_tiktok_host(&host) {
            entry.route = "denied".to_string();
            return respond(
                entry,
                text(
                    StatusCode::FORBIDDEN,
                    &format!("{HOST_NOT_ALLOWED}: {host}:{port}"),
                ),
            );
        }
        return Dispatched {
            reply: Reply::Tunnel { host },
            delay: Duration::ZERO,
            entry,
            count_only: false,
        };
    }

    if let Some(tunnel_host) = &arrival.tunnel_host {
        request.scheme = Scheme::Https;
        if let Some((_, host, _, path, query)) = split_absolute(&target) {
            (request.host, request.path, request.query) = (host, path, query);
        } else if target.starts_with('/') {
            (request.path, request.query) = split_path(&target);
            request.host = tunnel_host.clone();
        } else {
            request.host = tunnel_host.clone();
            request.path = target.clone();
            let entry = log_entry(&request, "malformed".to_string());
            return respond(
                entry,
                text(
                    StatusCode::BAD_REQUEST,
                    &format!("tokworks-sim: bad request target {target:?}"),
                ),
            );
        }
        return proxied(state, &request);
    }

    if let Some((scheme, host, port, path, query)) = split_absolute(&target) {
        request.scheme = scheme;
        (request.host, request.path, request.query) = (host, path, query);
        let is_self = port == state.addr.port()
            && matches!(request.host.as_str(), "127.0.0.1" | "localhost" | "::1");
        if !is_self {
            return proxied(state, &request);
        }
    } else if target.starts_with('/') {
        (request.path, request.query) = split_path(&target);
        request.host = header_text(&request, header::HOST)
            .and_then(|host| split_authority(&host, 80))
            .map_or_else(|| "127.0.0.1".to_string(), |(host, _)| host);
    } else {
        request.path = target.clone();
        let entry = log_entry(&request, "malformed".to_string());
        return respond(
            entry,
            text(
                StatusCode::BAD_REQUEST,
                &format!(
                    "tokworks-sim: bad request target {target:?}; use /path or http://host/path"
                ),
            ),
        );
    }
    direct(state, &request)
}

fn respond(entry: LogEntry, response: SimResponse) -> Dispatched {
    Dispatched {
        reply: Reply::Respond(response),
        delay: Duration::ZERO,
        entry,
        count_only: false,
    }
}

/// Direct request to the simulator itself.
fn direct(state: &SimState, request: &SimRequest) -> Dispatched {
    let path = request.path.as_str();
    if path == "/_sim" || path.starts_with("/_sim/") {
        let entry = log_entry(request, "control".to_string());
        let response = control::handle(state, request);
        return Dispatched {
            reply: Reply::Respond(response),
            delay: Duration::ZERO,
            entry,
            count_only: true,
        };
    }
    if path == "/v1" || path.starts_with("/v1/") {
        let entry = log_entry(request, "openai".to_string());
        let knobs = state.openai_knobs();
        let mut dispatched = respond(entry, openai::handle(request, &knobs));
        dispatched.delay = openai::latency_for(&knobs);
        return dispatched;
    }
    let entry = log_entry(request, "direct_other".to_string());
    let message = format!(
        "tokworks-sim: no route for direct request {} {}; the control API is under /_sim/, the OpenAI API under /v1/, \
         and TikTok is reached through this port as an HTTP proxy",
        request.method, request.path
    );
    respond(entry, text(StatusCode::NOT_FOUND, &message))
}

/// Proxied request (absolute form, or inside a tunnel).
fn proxied(state: &SimState, request: &SimRequest) -> Dispatched {
    if !TiktokSite::is_tiktok_host(&request.host) {
        let entry = log_entry(request, "denied".to_string());
        return respond(entry, text(StatusCode::FORBIDDEN, HOST_NOT_ALLOWED));
    }
    let mut entry = log_entry(request, tiktok_route_family(&request.host, &request.path));
    if !state.rate_limit.admit(std::time::Instant::now()) {
        entry.fault = Some("rate_limit".to_string());
        let response =
            status_page(StatusCode::TOO_MANY_REQUESTS).append_header(header::RETRY_AFTER, "1");
        return respond(entry, response);
    }
    let subject = MatchSubject::new(&request.host, &request.path, request.query.as_deref())
        .with_user_agent(request.user_agent());
    let challenge_solved = || {
        request.cookie(CHALLENGE_COOKIE).is_some_and(|value| {
            Challenge::for_path(state.seed, &request.path).is_solved_by(&value)
        })
    };
    let decision = state.faults.decide(&subject, &challenge_solved);
    if decision.challenge_solved {
        entry.fault = Some("challenge_solved".to_string());
    }
    let Some(fault) = decision.fault else {
        let response = state.site.handle(request);
        return Dispatched {
            reply: Reply::Respond(response),
            delay: decision.delay,
            entry,
            count_only: false,
        };
    };
    entry.fault = Some(fault.kind.name().to_string());
    let reply = match fault.kind {
        FaultKind::Latency => Reply::Respond(state.site.handle(request)),
        FaultKind::Http429 => {
            let mut response = status_page(StatusCode::TOO_MANY_REQUESTS);
            let retry_after = fault.retry_after_secs.map(|secs| secs.to_string());
            if let Some(value) = retry_after.and_then(|text| HeaderValue::from_str(&text).ok()) {
                response.headers.insert(header::RETRY_AFTER, value);
            }
            Reply::Respond(response)
        }
        FaultKind::Http403 => Reply::Respond(status_page(StatusCode::FORBIDDEN)),
        FaultKind::Http500 => Reply::Respond(status_page(StatusCode::INTERNAL_SERVER_ERROR)),
        FaultKind::Http503 => {
            let mut response = status_page(StatusCode::SERVICE_UNAVAILABLE);
            if let Some(value) = fault
                .retry_after_secs
                .and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok())
            {
                response.headers.insert(header::RETRY_AFTER, value);
            }
            Reply::Respond(response)
        }
        FaultKind::Empty200 => Reply::Respond(SimResponse::html(StatusCode::OK, Bytes::new())),
        FaultKind::Reset => Reply::Reset,
        FaultKind::Hang => Reply::Hang,
        FaultKind::Truncate => Reply::Truncate(state.site.handle(request)),
        FaultKind::Challenge => {
            let page = Challenge::for_path(state.seed, &request.path).page(&request.path);
            Reply::Respond(SimResponse::html(StatusCode::OK, page))
        }
        FaultKind::LoginWall => {
            let redirect = utf8_percent_encode(&request.url(), NON_ALPHANUMERIC).to_string();
            let location = format!(
                "https://www.tiktok.com/login?redirect_url={redirect}&lang=en&enter_method=mandatory"
            );
            Reply::Respond(SimResponse::redirect(StatusCode::FOUND, &location))
        }
        FaultKind::LayoutChange => {
            let mut response = state.site.handle(request);
            apply_layout_change(&mut response);
            Reply::Respond(response)
        }
        FaultKind::MalformedVtt => {
            let mut response = state.site.handle(request);
            response.body = crate::site::media::webvtt_as_subrip(&response.body);
            Reply::Respond(response)
        }
    };
    Dispatched {
        reply,
        delay: decision.delay,
        entry,
        count_only: false,
    }
}

/// Small HTML error page for an injected HTTP status.
fn status_page(status: StatusCode) -> SimResponse {
    let reason = status.canonical_reason().unwrap_or("Error");
    SimResponse::html(
        status,
        format!(
            "<!DOCTYPE html><html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1></body></html>",
            code = status.as_u16()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_targets() {
        assert_eq!(
            split_authority("www.tiktok.com:443", 0),
            Some(("www.tiktok.com".into(), 443))
        );
        assert_eq!(split_authority("[::1]:8080", 0), Some(("::1".into(), 8080)));
        assert_eq!(split_authority("bad host:1", 0), None);
        let (scheme, host, port, path, query) =
            split_absolute("http://WWW.tiktok.com/@u/video/1?a=b#f").unwrap();
        assert_eq!(
            (scheme, host.as_str(), port, path.as_str(), query.as_deref()),
            (
                Scheme::Http,
                "www.tiktok.com",
                80,
                "/@u/video/1",
                Some("a=b")
            )
        );
        assert_eq!(split_absolute("http://vm.tiktok.com").unwrap().3, "/");
    }
}
