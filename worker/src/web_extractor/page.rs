//! Fetching and parsing the video page (docs/tiktok-formats.md "Page request
//! basics", "Page-level failures", "The WAF JavaScript challenge"): the
//! canonical `https://www.tiktok.com/@{user}/video/{id}` (photo posts too), redirects checked
//! like short links, one answered WAF challenge, then `parse_video_page`.

use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::TiktokUrl;
use url::Url;

use crate::egress::{PAGE_ACCEPT, Session};
use crate::extractor::ExtractionFailure;
use crate::tiktok::{PageError, VideoPage, WafChallenge, parse_video_page, solve_waf_challenge};
use crate::web_extractor::classify::{
    RedirectTarget, classify_redirect, fetch_failure, http_status_failure, page_failure,
};
use crate::web_extractor::short_links::MAX_REDIRECT_HOPS;

/// A real page is ~300 KB; anything over this is not a TikTok video page.
pub const PAGE_BYTE_LIMIT: usize = 10 * 1024 * 1024;

/// The parsed page and the URL it was fetched from.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedPage {
    pub page: VideoPage,
    /// The page URL (the `Referer` of CDN requests).
    pub page_url: String,
}

/// `https://www.tiktok.com/@{user or _}/video/{id}` for a post URL (photo posts included:
/// `/video/` serves them too).
pub fn video_page_url(post: &TiktokUrl) -> Result<Url, ExtractionFailure> {
    let video_id = post.video_id().ok_or_else(|| {
        ExtractionFailure::new(
            ErrorCode::UnsupportedUrl,
            format!("{post} is not a post URL"),
        )
    })?;
    let username = post.username().unwrap_or("_");
    let text = format!("https://www.tiktok.com/@{username}/video/{video_id}");
    Url::parse(&text)
        .map_err(|error| ExtractionFailure::new(ErrorCode::InvalidUrl, format!("{text}: {error}")))
}

/// Fetches and parses the page of `post`, answering one WAF challenge on the way.
pub async fn fetch_video_page(
    session: &Session,
    post: &TiktokUrl,
) -> Result<FetchedPage, ExtractionFailure> {
    let mut challenge_cookies = Vec::new();
    let result = fetch_with_challenge(session, post, &mut challenge_cookies).await;
    for name in &challenge_cookies {
        session.clear_tiktok_cookie(name);
    }
    result
}

async fn fetch_with_challenge(
    session: &Session,
    post: &TiktokUrl,
    challenge_cookies: &mut Vec<String>,
) -> Result<FetchedPage, ExtractionFailure> {
    let mut url = video_page_url(post)?;
    let mut redirects = 0;
    loop {
        let answer = session
            .get(&url, PAGE_ACCEPT, None, PAGE_BYTE_LIMIT)
            .await
            .map_err(|error| fetch_failure("the video page", &error))?;
        if answer.status.is_redirection() {
            redirects += 1;
            if redirects > MAX_REDIRECT_HOPS {
                return Err(ExtractionFailure::new(
                    ErrorCode::UpstreamChanged,
                    format!("the video page redirected more than {MAX_REDIRECT_HOPS} times"),
                ));
            }
            let location = answer.location.unwrap_or_default();
            url = match classify_redirect(&url, &location)? {
                RedirectTarget::Post(target) => video_page_url(&target)?,
                RedirectTarget::ShortLink(_) => {
                    return Err(ExtractionFailure::new(
                        ErrorCode::UpstreamChanged,
                        "the video page redirected to a short link",
                    ));
                }
            };
            continue;
        }
        if !answer.status.is_success() {
            return Err(http_status_failure("the video page", answer.status));
        }
        let html = String::from_utf8_lossy(&answer.body);
        match parse_video_page(&html) {
            Ok(page) => {
                return Ok(FetchedPage {
                    page,
                    page_url: url.to_string(),
                });
            }
            Err(PageError::ChallengePage(challenge)) if challenge_cookies.is_empty() => {
                tracing::debug!(page_url = %url, "answering TikTok's WAF challenge");
                challenge_cookies.extend(answer_challenge(session, *challenge).await?);
            }
            Err(error) => {
                let failure = page_failure(&error);
                if failure.code == ErrorCode::UpstreamBlocked {
                    // A wall behind a 200 (an unanswerable challenge): the proxy is refused too.
                    session.report_block();
                }
                return Err(failure);
            }
        }
    }
}

/// Solves the proof of work (on a blocking thread: up to a million SHA-256 rounds) and sets
/// the answer cookie, plus the optional second cookie, on `.tiktok.com`. Returns their names.
async fn answer_challenge(
    session: &Session,
    challenge: WafChallenge,
) -> Result<Vec<String>, ExtractionFailure> {
    let extra_cookie = challenge.extra_cookie.clone();
    let solved = tokio::task::spawn_blocking(move || solve_waf_challenge(&challenge))
        .await
        .map_err(|error| {
            ExtractionFailure::new(
                ErrorCode::Internal,
                format!("the challenge solver stopped: {error}"),
            )
        })?;
    let (name, value) = solved.map_err(|error| page_failure(&error))?;
    session.set_tiktok_cookie(&name, &value);
    let mut names = vec![name];
    if let Some((extra_name, extra_value)) = extra_cookie {
        session.set_tiktok_cookie(&extra_name, &extra_value);
        names.push(extra_name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_urls_use_the_video_path_for_photos_and_underscore_without_user() {
        let photo =
            TiktokUrl::parse("https://www.tiktok.com/@a.b/photo/7300000000000000003").unwrap();
        assert_eq!(
            video_page_url(&photo).unwrap().as_str(),
            "https://www.tiktok.com/@a.b/video/7300000000000000003"
        );
        let anonymous =
            TiktokUrl::parse("https://m.tiktok.com/v/7300000000000000003.html").unwrap();
        assert_eq!(
            video_page_url(&anonymous).unwrap().as_str(),
            "https://www.tiktok.com/@_/video/7300000000000000003"
        );
    }
}
