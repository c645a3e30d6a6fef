//! Classifying a validated TikTok URL by host and path into a `TiktokUrlKind`, and building the
//! canonical URL of each kind.

use percent_encoding::percent_decode_str;
use url::Url;

use super::{TiktokUrlError, TiktokUrlKind};

/// Hosts that serve TikTok web pages.
const PAGE_HOSTS: &[&str] = &[
    "www.tiktok.com",
    "tiktok.com",
    "m.tiktok.com",
    "www.tiktokv.com",
    "tiktokv.com",
    "m.tiktokv.com",
];
/// Hosts that serve only short-link redirects.
const SHORT_LINK_HOSTS: &[&str] = &["vm.tiktok.com", "vt.tiktok.com"];

/// The longest accepted short-link code, user name and hashtag, in characters.
const MAX_SHORT_CODE_CHARS: usize = 64;
const MAX_USERNAME_CHARS: usize = 64;
const MAX_HASHTAG_CHARS: usize = 150;
/// The longest search query a search URL may carry, in characters.
const MAX_SEARCH_QUERY_CHARS: usize = 500;

/// Classifies the URL and builds its canonical form.
pub(super) fn classify(url: &Url) -> Result<(TiktokUrlKind, String), TiktokUrlError> {
    let host = url.host_str().unwrap_or_default();
    let segments: Vec<String> = url
        .path_segments()
        .map(|parts| {
            parts
                .filter(|part| !part.is_empty())
                .map(|part| percent_decode_str(part).decode_utf8_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();

    let kind = if SHORT_LINK_HOSTS.contains(&host) {
        match segments.first() {
            Some(code) => short_link(code)?,
            None => TiktokUrlKind::Other,
        }
    } else if PAGE_HOSTS.contains(&host) {
        classify_page_path(&segments, url)?
    } else {
        return Err(TiktokUrlError::UnrecognisedPath {
            host: host.to_string(),
        });
    };
    let canonical = canonical_url_for(&kind, host, url);
    Ok((kind, canonical))
}

/// Path rules for the page hosts (docs/tiktok-formats.md "URL shapes").
fn classify_page_path(segments: &[String], url: &Url) -> Result<TiktokUrlKind, TiktokUrlError> {
    let keyword = |index: usize| {
        segments
            .get(index)
            .map(|segment| segment.to_ascii_lowercase())
    };
    let Some(first) = segments.first() else {
        return Ok(TiktokUrlKind::Other);
    };
    if let Some(handle) = first.strip_prefix('@') {
        return match (keyword(1).as_deref(), segments.get(2)) {
            (Some(kind @ ("video" | "photo")), Some(id)) => post(id, Some(handle), kind == "photo"),
            (None, _) if !handle.is_empty() => {
                if is_valid_username(handle) {
                    Ok(TiktokUrlKind::Profile {
                        username: handle.to_string(),
                    })
                } else {
                    Err(TiktokUrlError::InvalidUsername {
                        value: handle.to_string(),
                    })
                }
            }
            _ => Ok(TiktokUrlKind::Other),
        };
    }
    match (keyword(0).as_deref(), keyword(1).as_deref()) {
        (Some("t"), Some(_)) => short_link(&segments[1]),
        (Some("video" | "v"), Some(_)) => post(&segments[1], None, false),
        (Some("photo"), Some(_)) => post(&segments[1], None, true),
        (Some("embed"), Some("v2")) => match segments.get(2) {
            Some(id) => post(id, None, false),
            None => Ok(TiktokUrlKind::Other),
        },
        (Some("embed"), Some(_)) => match segments[1].strip_prefix('@') {
            Some(handle) if is_valid_username(handle) => Ok(TiktokUrlKind::Profile {
                username: handle.to_string(),
            }),
            Some(_) => Ok(TiktokUrlKind::Other),
            None => post(&segments[1], None, false),
        },
        (Some("share"), Some("video")) => match segments.get(2) {
            Some(id) => post(id, None, false),
            None => Ok(TiktokUrlKind::Other),
        },
        (Some("node"), Some("share")) if keyword(2).as_deref() == Some("video") => {
            // `/node/share/video/@user/ID` (historical).
            match (segments.get(3), segments.get(4)) {
                (Some(handle), Some(id)) => post(id, handle.strip_prefix('@'), false),
                (Some(id), None) => post(id, None, false),
                _ => Ok(TiktokUrlKind::Other),
            }
        }
        (Some("tag"), Some(_)) => Ok(hashtag(&segments[1])),
        (Some("music"), Some(_)) => Ok(sound(&segments[1])),
        (Some("h5"), Some("share")) if keyword(2).as_deref() == Some("music") => {
            // `m.tiktok.com/h5/share/music/{id}.html` (historical).
            Ok(segments.get(3).map_or(TiktokUrlKind::Other, |segment| {
                sound(segment.strip_suffix(".html").unwrap_or(segment))
            }))
        }
        (Some("search"), None | Some("video")) if segments.len() <= 2 => Ok(search(url)),
        _ => Ok(TiktokUrlKind::Other),
    }
}

/// A sound from a `{slug}-{id}` (or bare `{id}`) segment; `Other` without a valid id.
fn sound(segment: &str) -> TiktokUrlKind {
    let id = segment.rsplit('-').next().unwrap_or(segment);
    if is_valid_video_id(id) {
        TiktokUrlKind::Sound {
            music_id: id.to_string(),
        }
    } else {
        TiktokUrlKind::Other
    }
}

/// A video search from the `q` parameter (trimmed, whitespace collapsed); `Other` without one.
fn search(url: &Url) -> TiktokUrlKind {
    let query = url
        .query_pairs()
        .find(|(name, _)| name == "q")
        .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    if query.is_empty() || query.chars().count() > MAX_SEARCH_QUERY_CHARS {
        TiktokUrlKind::Other
    } else {
        TiktokUrlKind::Search { query }
    }
}

/// A post from an id segment (`123`, `123.html`) and an optional handle.
fn post(
    id_segment: &str,
    handle: Option<&str>,
    is_photo: bool,
) -> Result<TiktokUrlKind, TiktokUrlError> {
    let id = id_segment.strip_suffix(".html").unwrap_or(id_segment);
    if !is_valid_video_id(id) {
        return Err(TiktokUrlError::InvalidVideoId {
            value: id.to_string(),
        });
    }
    let username = handle
        .filter(|handle| *handle != "_" && is_valid_username(handle))
        .map(str::to_string);
    Ok(TiktokUrlKind::Post {
        video_id: id.to_string(),
        username,
        is_photo,
    })
}

fn short_link(code: &str) -> Result<TiktokUrlKind, TiktokUrlError> {
    let valid = !code.is_empty()
        && code.chars().count() <= MAX_SHORT_CODE_CHARS
        && code.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        });
    if valid {
        Ok(TiktokUrlKind::ShortLink {
            code: code.to_string(),
        })
    } else {
        Err(TiktokUrlError::InvalidShortCode {
            value: code.to_string(),
        })
    }
}

fn hashtag(segment: &str) -> TiktokUrlKind {
    let name = segment.trim_start_matches('#');
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_HASHTAG_CHARS
        && !name.chars().any(|character| {
            character.is_whitespace() || character.is_control() || character == '/'
        });
    if valid {
        TiktokUrlKind::Hashtag {
            name: name.to_string(),
        }
    } else {
        TiktokUrlKind::Other
    }
}

/// Post ids are decimal 64-bit integers (19 digits today; a few shorter historical ones).
pub(super) fn is_valid_video_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 20
        && id.bytes().all(|byte| byte.is_ascii_digit())
        && id.parse::<u64>().is_ok_and(|value| value > 0)
}

/// Handles are `[A-Za-z0-9._-]` (TikTok allows letters, digits, `.` and `_`; old ones may have `-`).
pub(super) fn is_valid_username(handle: &str) -> bool {
    !handle.is_empty()
        && handle.chars().count() <= MAX_USERNAME_CHARS
        && handle.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-')
        })
}

/// The canonical URL of each kind (see `TiktokUrl::canonical_url`).
fn canonical_url_for(kind: &TiktokUrlKind, host: &str, url: &Url) -> String {
    match kind {
        TiktokUrlKind::Post {
            video_id,
            username,
            is_photo,
        } => {
            let path = if *is_photo { "photo" } else { "video" };
            format!(
                "https://www.tiktok.com/@{}/{path}/{video_id}",
                username.as_deref().unwrap_or("_")
            )
        }
        TiktokUrlKind::ShortLink { code } if SHORT_LINK_HOSTS.contains(&host) => {
            format!("https://{host}/{code}/")
        }
        TiktokUrlKind::ShortLink { code } => format!("https://www.tiktok.com/t/{code}/"),
        TiktokUrlKind::Profile { username } => format!("https://www.tiktok.com/@{username}"),
        TiktokUrlKind::Hashtag { name } => {
            let mut canonical =
                Url::parse("https://www.tiktok.com/tag").unwrap_or_else(|_| url.clone());
            if let Ok(mut segments) = canonical.path_segments_mut() {
                segments.clear().push("tag").push(name);
            }
            canonical.set_query(None);
            canonical.to_string()
        }
        TiktokUrlKind::Sound { music_id } => {
            let slug = url
                .path_segments()
                .and_then(|mut parts| parts.nth(1))
                .map(|segment| percent_decode_str(segment).decode_utf8_lossy().into_owned())
                .and_then(|segment| segment.rsplit_once('-').map(|(slug, _)| slug.to_string()))
                .filter(|slug| !slug.is_empty() && url.path().starts_with("/music/"))
                .unwrap_or_else(|| "sound".to_string());
            let mut canonical =
                Url::parse("https://www.tiktok.com/music").unwrap_or_else(|_| url.clone());
            if let Ok(mut segments) = canonical.path_segments_mut() {
                segments
                    .clear()
                    .push("music")
                    .push(&format!("{slug}-{music_id}"));
            }
            canonical.set_query(None);
            canonical.to_string()
        }
        TiktokUrlKind::Search { query } => {
            let mut canonical =
                Url::parse("https://www.tiktok.com/search").unwrap_or_else(|_| url.clone());
            canonical.query_pairs_mut().clear().append_pair("q", query);
            canonical.to_string()
        }
        TiktokUrlKind::Other => {
            let mut normalised = url.clone();
            // Both are special schemes, so this cannot fail; if it did the http URL is kept.
            let _ = normalised.set_scheme("https");
            normalised.to_string()
        }
    }
}
