//! TikTok URL parsing and canonicalisation: every URL shape of docs/tiktok-formats.md "URL shapes"
//! (full, short vm./vt./`/t/` links, m., photo, embed, share, tiktokv.com) and share text
//! containing such a link, classified into posts, short links, profiles, hashtags, sounds, video
//! searches and other pages.

mod classify;
mod extract;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use crate::error_code::ErrorCode;

/// The longest input (URL or share text) `parse` looks at, in bytes.
pub const MAX_INPUT_BYTES: usize = 4096;
/// The longest URL `parse` accepts, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// What a TikTok URL points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TiktokUrlKind {
    /// A video or photo post: `/@user/video/ID`, `/@user/photo/ID`, `/@/video/ID`, `m.tiktok.com/v/ID.html`,
    /// `/embed/v2/ID`, `/embed/ID`, `/share/video/ID`, `tiktokv.com/share/video/ID`.
    Post {
        /// The post id (decimal, as TikTok writes it).
        video_id: String,
        /// The author's handle when the URL carries one (`_` and empty count as none).
        username: Option<String>,
        /// Whether the URL used the `/photo/` path.
        is_photo: bool,
    },
    /// A short link that redirects to the real URL: `vm.tiktok.com/X`, `vt.tiktok.com/X`, `www.tiktok.com/t/X`.
    ShortLink {
        /// The short code (letters, digits, `-`, `_`).
        code: String,
    },
    /// A profile: `/@user`.
    Profile { username: String },
    /// A hashtag page: `/tag/name` (name percent-decoded).
    Hashtag { name: String },
    /// A sound page: `/music/{slug}-{id}` (and the old `m.tiktok.com/h5/share/music/{id}.html`).
    Sound {
        /// The music id (decimal, as TikTok writes it).
        music_id: String,
    },
    /// A video search: `/search?q=…` or `/search/video?q=…` (the query percent-decoded,
    /// trimmed, inner whitespace collapsed; never empty).
    Search { query: String },
    /// A TikTok URL of another kind (user search, live, effect, collection, home page, ...).
    Other,
}

impl TiktokUrlKind {
    /// What the URL is, for messages that refuse it where a video URL is wanted ("a sound URL:
    /// submit kind `sound`").
    pub fn describe(&self) -> &'static str {
        match self {
            TiktokUrlKind::Post { .. } => "a video or photo post URL",
            TiktokUrlKind::ShortLink { .. } => "a short link",
            TiktokUrlKind::Profile { .. } => "a profile URL: submit kind `user`",
            TiktokUrlKind::Hashtag { .. } => "a hashtag URL: submit kind `hashtag`",
            TiktokUrlKind::Sound { .. } => "a sound URL: submit kind `sound`",
            TiktokUrlKind::Search { .. } => "a search URL: submit kind `search`",
            TiktokUrlKind::Other => "a TikTok page that is not a video or photo post",
        }
    }

    /// Whether a `video` job accepts this kind (posts and short links).
    pub fn is_video_input(&self) -> bool {
        matches!(
            self,
            TiktokUrlKind::Post { .. } | TiktokUrlKind::ShortLink { .. }
        )
    }
}

/// A parsed, validated TikTok URL with its canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TiktokUrl {
    kind: TiktokUrlKind,
    canonical_url: String,
}

/// Why an input is not a usable TikTok URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TiktokUrlError {
    #[error("the input is empty")]
    Empty,
    #[error("the input is longer than {limit} bytes")]
    TooLong { limit: usize },
    #[error("no URL found in the input")]
    NoUrlFound,
    #[error("the URL is malformed: {reason}")]
    Malformed { reason: String },
    #[error("the URL scheme `{scheme}` is not http or https")]
    NotHttp { scheme: String },
    #[error("the URL carries a user name or password")]
    HasCredentials,
    #[error("the URL host is an IP address, not a TikTok host")]
    IpAddressHost,
    #[error("the host `{host}` is not a TikTok host")]
    NotTiktokHost { host: String },
    #[error("the URL names port {port}; only the default port is accepted")]
    BadPort { port: u16 },
    #[error("`{value}` is not a valid TikTok post id")]
    InvalidVideoId { value: String },
    #[error("`{value}` is not a valid TikTok user name")]
    InvalidUsername { value: String },
    #[error("`{value}` is not a valid short-link code")]
    InvalidShortCode { value: String },
    #[error("the host `{host}` is a TikTok service host (CDN, API), not a page")]
    UnrecognisedPath { host: String },
}

impl TiktokUrlError {
    /// The stable item error code: `UNSUPPORTED_URL` for a TikTok host that serves no pages, else `INVALID_URL`.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            TiktokUrlError::UnrecognisedPath { .. } => ErrorCode::UnsupportedUrl,
            _ => ErrorCode::InvalidUrl,
        }
    }
}

impl TiktokUrl {
    /// Accepts every URL shape of docs/tiktok-formats.md "URL shapes" and share text containing a link.
    pub fn parse(input: &str) -> Result<TiktokUrl, TiktokUrlError> {
        let candidate = extract::find_url_candidate(input)?;
        let url = extract::parse_and_validate(&candidate)?;
        let (kind, canonical_url) = classify::classify(&url)?;
        Ok(TiktokUrl {
            kind,
            canonical_url,
        })
    }

    /// What the URL points at.
    pub fn kind(&self) -> &TiktokUrlKind {
        &self.kind
    }

    /// Posts: `https://www.tiktok.com/@{username or _}/video/{id}` (photo: `/photo/{id}`);
    /// short links: `https://vm.tiktok.com/{code}/` (host kept: vm|vt, or `https://www.tiktok.com/t/{code}/`);
    /// profiles: `https://www.tiktok.com/@{username}`; hashtags: `https://www.tiktok.com/tag/{name}`;
    /// sounds: `https://www.tiktok.com/music/{slug}-{id}` (the slug as sent, or `sound`; TikTok
    /// ignores it); searches: `https://www.tiktok.com/search?q={query}`;
    /// other TikTok pages: the input URL normalised (https, lower-case host, no fragment).
    pub fn canonical_url(&self) -> &str {
        &self.canonical_url
    }

    /// The post id, for posts.
    pub fn video_id(&self) -> Option<&str> {
        match &self.kind {
            TiktokUrlKind::Post { video_id, .. } => Some(video_id),
            _ => None,
        }
    }

    /// The handle, for posts that carry one and for profiles.
    pub fn username(&self) -> Option<&str> {
        match &self.kind {
            TiktokUrlKind::Post { username, .. } => username.as_deref(),
            TiktokUrlKind::Profile { username } => Some(username),
            _ => None,
        }
    }

    /// Whether this is a short link that must be resolved (redirect) before extraction.
    pub fn is_short_link(&self) -> bool {
        matches!(self.kind, TiktokUrlKind::ShortLink { .. })
    }
}

impl fmt::Display for TiktokUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.canonical_url)
    }
}

impl FromStr for TiktokUrl {
    type Err = TiktokUrlError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        TiktokUrl::parse(input)
    }
}

/// The Unix time (seconds) encoded in a TikTok id: `id >> 32` (docs/tiktok-formats.md "Ids").
/// It is the object's creation time, a few seconds before `createTime`. `None` for non-numeric ids.
pub fn id_creation_unix_seconds(id: &str) -> Option<i64> {
    let value: u64 = id.parse().ok()?;
    i64::try_from(value >> 32).ok()
}
