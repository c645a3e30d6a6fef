//! Short-link resolution (docs/tiktok-formats.md "Short links"): GET `vm.`/`vt.tiktok.com/{code}/` or
//! `www.tiktok.com/t/{code}/` without following, read `Location`, re-check it with
//! `TiktokUrl::parse` (the SSRF guard), at most [`MAX_REDIRECT_HOPS`] hops.

use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::{TiktokUrl, TiktokUrlKind};
use url::Url;

use crate::egress::{PAGE_ACCEPT, Session};
use crate::extractor::ExtractionFailure;
use crate::web_extractor::classify::{
    RedirectTarget, classify_redirect, fetch_failure, http_status_failure,
};

/// Redirects followed for one URL (short-link hops plus page redirects).
pub const MAX_REDIRECT_HOPS: usize = 5;
/// A short-link answer that is not a redirect is read up to this size (and ignored).
const SHORT_LINK_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Follows `url` (a post or a short link) to the post it names.
pub async fn resolve_to_post(
    session: &Session,
    url: TiktokUrl,
) -> Result<TiktokUrl, ExtractionFailure> {
    let mut current = url;
    for _ in 0..=MAX_REDIRECT_HOPS {
        match current.kind() {
            TiktokUrlKind::Post { .. } => return Ok(current),
            TiktokUrlKind::ShortLink { .. } => {}
            _ => {
                return Err(ExtractionFailure::new(
                    ErrorCode::UnsupportedUrl,
                    "only video and photo post URLs (or short links to them) can be extracted",
                ));
            }
        }
        current = match follow_short_link(session, &current).await? {
            RedirectTarget::Post(post) => post,
            RedirectTarget::ShortLink(short) => short,
        };
    }
    Err(ExtractionFailure::new(
        ErrorCode::UpstreamChanged,
        format!("the short link redirected more than {MAX_REDIRECT_HOPS} times"),
    ))
}

/// One hop: the redirect target of a short link.
async fn follow_short_link(
    session: &Session,
    short_link: &TiktokUrl,
) -> Result<RedirectTarget, ExtractionFailure> {
    let url = Url::parse(short_link.canonical_url()).map_err(|error| {
        ExtractionFailure::new(
            ErrorCode::InvalidUrl,
            format!("short link {short_link}: {error}"),
        )
    })?;
    let answer = session
        .get(&url, PAGE_ACCEPT, None, SHORT_LINK_BODY_LIMIT)
        .await
        .map_err(|error| fetch_failure("short link", &error))?;
    if answer.status.is_redirection() {
        let location = answer.location.ok_or_else(|| {
            ExtractionFailure::new(
                ErrorCode::UpstreamChanged,
                format!(
                    "the short link answered HTTP {} without Location",
                    answer.status
                ),
            )
        })?;
        return classify_redirect(&url, &location);
    }
    if answer.status.is_success() {
        // TikTok answers unknown codes with a redirect to /notfound or the home page; a page
        // instead of a redirect means the same: the link leads nowhere.
        return Err(ExtractionFailure::new(
            ErrorCode::VideoNotFound,
            format!(
                "the short link answered HTTP {} instead of redirecting to a post",
                answer.status
            ),
        ));
    }
    Err(http_status_failure("the short link", answer.status))
}
