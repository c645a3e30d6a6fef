//! Finding the URL in user input (a bare URL, a scheme-less URL, or share text) and validating its
//! scheme, credentials, host and port before the path is classified.

use std::sync::LazyLock;

use regex::Regex;
use url::{Host, Url};

use super::{MAX_INPUT_BYTES, MAX_URL_BYTES, TiktokUrlError};

/// An `http(s)://` URL inside free text.
static HTTP_URL_IN_TEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"(?i)https?://[^\s<>"'`{}|\\^\[\]]+"#).ok());

/// A scheme-less TikTok URL inside free text (`vm.tiktok.com/ZM…`, `www.tiktok.com/@u/video/1`).
static BARE_TIKTOK_URL_IN_TEXT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[\s(])((?:[a-z0-9-]+\.)?tiktokv?\.com(?:/[^\s<>"'`{}|\\^\[\]]*)?)"#).ok()
});

/// Characters trimmed from the end of a URL found in text (sentence punctuation, closing brackets).
const TRAILING_PUNCTUATION: &[char] = &['.', ',', ';', ':', '!', '?', ')', '\'', '"', '>'];

/// Picks the URL out of the input: the input itself when it is one token, else the first http(s)
/// URL in it, else the first scheme-less TikTok URL in it.
pub(super) fn find_url_candidate(input: &str) -> Result<String, TiktokUrlError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(TiktokUrlError::Empty);
    }
    if trimmed.len() > MAX_INPUT_BYTES {
        return Err(TiktokUrlError::TooLong {
            limit: MAX_INPUT_BYTES,
        });
    }
    if !trimmed.contains(char::is_whitespace) {
        return Ok(add_default_scheme(
            trimmed.trim_end_matches(TRAILING_PUNCTUATION),
        ));
    }
    let in_text = HTTP_URL_IN_TEXT
        .as_ref()
        .and_then(|pattern| pattern.find(trimmed))
        .map(|found| found.as_str().to_string())
        .or_else(|| {
            BARE_TIKTOK_URL_IN_TEXT
                .as_ref()
                .and_then(|pattern| pattern.captures(trimmed))
                .and_then(|captures| captures.get(1))
                .map(|found| add_default_scheme(found.as_str()))
        });
    match in_text {
        Some(found) => Ok(found.trim_end_matches(TRAILING_PUNCTUATION).to_string()),
        None => Err(TiktokUrlError::NoUrlFound),
    }
}

/// `www.tiktok.com/x` → `https://www.tiktok.com/x`; anything with a scheme is left alone.
fn add_default_scheme(token: &str) -> String {
    let has_scheme = token.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme.chars().all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character))
            && scheme.starts_with(|character: char| character.is_ascii_alphabetic())
            // `tiktok.com:443/x` is a host with a port, not a scheme.
            && !rest.starts_with(|character: char| character.is_ascii_digit())
    });
    if has_scheme || token.starts_with("//") {
        if let Some(rest) = token.strip_prefix("//") {
            return format!("https://{rest}");
        }
        token.to_string()
    } else {
        format!("https://{token}")
    }
}

/// Parses the candidate and checks scheme, credentials, host kind, port and length.
/// The host is returned lower-case without a trailing dot (inside the `Url`).
pub(super) fn parse_and_validate(candidate: &str) -> Result<Url, TiktokUrlError> {
    if candidate.len() > MAX_URL_BYTES {
        return Err(TiktokUrlError::TooLong {
            limit: MAX_URL_BYTES,
        });
    }
    let mut url = Url::parse(candidate).map_err(|error| TiktokUrlError::Malformed {
        reason: error.to_string(),
    })?;
    let scheme = url.scheme().to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(TiktokUrlError::NotHttp { scheme });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TiktokUrlError::HasCredentials);
    }
    let host = match url.host() {
        Some(Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => return Err(TiktokUrlError::IpAddressHost),
        None => {
            return Err(TiktokUrlError::Malformed {
                reason: "the URL has no host".to_string(),
            });
        }
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err(TiktokUrlError::IpAddressHost);
    }
    if let Some(port) = url.port() {
        return Err(TiktokUrlError::BadPort { port });
    }
    if !is_tiktok_domain(&host) {
        return Err(TiktokUrlError::NotTiktokHost { host });
    }
    if url.host_str() != Some(host.as_str()) {
        url.set_host(Some(&host))
            .map_err(|error| TiktokUrlError::Malformed {
                reason: error.to_string(),
            })?;
    }
    url.set_fragment(None);
    Ok(url)
}

/// `tiktok.com`, `tiktokv.com` and their subdomains.
fn is_tiktok_domain(host: &str) -> bool {
    ["tiktok.com", "tiktokv.com"].iter().any(|domain| {
        host == *domain
            || host
                .strip_suffix(domain)
                .is_some_and(|prefix| prefix.ends_with('.'))
    })
}
