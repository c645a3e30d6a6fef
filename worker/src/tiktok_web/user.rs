//! Resolving a user feed's input (`name`, `@name`, a profile URL) to TikTok's `secUid`: the
//! signed `/api/user/detail/` when a signer is configured, else (or when it answers an empty
//! 200) the profile page's `webapp.user-detail` scope, as yt-dlp does (docs/ytdlp.md
//! "Feeds").

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::{TiktokUrl, TiktokUrlKind};
use url::Url;

use super::classify::{FeedFailure, api_json};
use super::envelope::{UserDetail, UserRef};
use super::query::WEB_ORIGIN;
use super::session::WebSession;

static UNIVERSAL_SCRIPT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)<script\b[^>]*?\sid\s*=\s*["']?__UNIVERSAL_DATA_FOR_REHYDRATION__["']?[^>]*>(.*?)</script\s*>"#,
    )
    .ok()
});

/// The handle of a user feed input: `name`, `@name` or a profile URL; `INVALID_URL` /
/// `UNSUPPORTED_URL` otherwise.
pub fn user_handle(input: &str) -> Result<String, FeedFailure> {
    let input = input.trim();
    if input.contains("://") || input.contains("tiktok.com/") {
        let parsed = TiktokUrl::parse(input)
            .map_err(|error| FeedFailure::new(error.error_code(), error.to_string()))?;
        return match parsed.kind() {
            TiktokUrlKind::Profile { username } => Ok(username.trim_start_matches('@').to_owned()),
            _ => Err(FeedFailure::new(
                ErrorCode::UnsupportedUrl,
                format!("{input} is not a profile URL"),
            )),
        };
    }
    let handle = input.trim_start_matches('@');
    let valid = !handle.is_empty()
        && handle.len() <= 64
        && handle
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || matches!(character, '.' | '_'));
    if valid {
        Ok(handle.to_owned())
    } else {
        Err(FeedFailure::new(
            ErrorCode::InvalidUrl,
            format!("`{input}` is neither a TikTok username nor a profile URL"),
        ))
    }
}

/// The user behind `handle`; a private account is `VIDEO_PRIVATE`.
pub async fn resolve_user(
    session: &mut WebSession<'_>,
    handle: &str,
    signed: bool,
) -> Result<UserRef, FeedFailure> {
    let user = if signed {
        let params = [("uniqueId", handle.to_owned()), ("secUid", String::new())];
        match session.api("/api/user/detail/", "user", &params).await {
            Ok(value) => UserDetail::parse("/api/user/detail/", value)?,
            Err(failure) if failure.code == ErrorCode::UpstreamEmpty => {
                profile_page_user(session, handle).await?
            }
            Err(failure) => return Err(failure),
        }
    } else {
        profile_page_user(session, handle).await?
    };
    if user.private_account {
        return Err(FeedFailure::new(
            ErrorCode::VideoPrivate,
            format!("@{handle} is a private account"),
        ));
    }
    Ok(user)
}

async fn profile_page_user(
    session: &mut WebSession<'_>,
    handle: &str,
) -> Result<UserRef, FeedFailure> {
    let mut url = Url::parse(WEB_ORIGIN)
        .map_err(|error| FeedFailure::new(ErrorCode::Internal, error.to_string()))?;
    url.set_path(&format!("/@{handle}"));
    let what = "the profile page";
    let fetched = session.page(&url).await?;
    if !fetched.status.is_success() {
        api_json(what, &fetched)?;
    }
    let html = String::from_utf8_lossy(&fetched.body);
    UserDetail::parse(what, user_detail_scope(&html)?)
}

/// `__DEFAULT_SCOPE__["webapp.user-detail"]` of a profile page.
pub fn user_detail_scope(html: &str) -> Result<Value, FeedFailure> {
    if html.trim().is_empty() {
        return Err(FeedFailure::new(
            ErrorCode::UpstreamEmpty,
            "the profile page is empty",
        ));
    }
    let Some(body) = UNIVERSAL_SCRIPT
        .as_ref()
        .and_then(|pattern| pattern.captures(html))
        .and_then(|captures| captures.get(1))
    else {
        let code =
            if crate::tiktok::waf::find_waf_challenge(html).is_ok_and(|found| found.is_none()) {
                ErrorCode::UpstreamChanged
            } else {
                ErrorCode::UpstreamBlocked
            };
        return Err(FeedFailure::new(
            code,
            "the profile page has no __UNIVERSAL_DATA_FOR_REHYDRATION__",
        ));
    };
    let root: Value = serde_json::from_str(body.as_str().trim())
        .map_err(|error| FeedFailure::changed(format!("the profile page data: {error}")))?;
    root.get("__DEFAULT_SCOPE__")
        .and_then(|scope| scope.get("webapp.user-detail"))
        .cloned()
        .ok_or_else(|| FeedFailure::changed("the profile page has no webapp.user-detail scope"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_inputs_are_read() {
        assert_eq!(user_handle("creator.name").unwrap(), "creator.name");
        assert_eq!(user_handle("@creator_name").unwrap(), "creator_name");
        assert_eq!(
            user_handle("https://www.tiktok.com/@creator.name?lang=en").unwrap(),
            "creator.name"
        );
        assert_eq!(
            user_handle("https://www.tiktok.com/tag/funny")
                .unwrap_err()
                .code,
            ErrorCode::UnsupportedUrl
        );
        assert_eq!(
            user_handle("not a user!").unwrap_err().code,
            ErrorCode::InvalidUrl
        );
    }

    #[test]
    fn profile_scope_is_found_and_private_or_missing_users_are_classified() {
        let page = |scope: &str| {
            format!(
                r#"<html><script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">{{"__DEFAULT_SCOPE__":{{"webapp.user-detail":{scope}}}}}</script></html>"#
            )
        };
        let found =
            page(r#"{"userInfo":{"user":{"secUid":"MS4w","uniqueId":"u"}},"statusCode":0}"#);
        let user = UserDetail::parse("p", user_detail_scope(&found).unwrap()).unwrap();
        assert_eq!(user.sec_uid, "MS4w");
        let missing = page(r#"{"statusCode":10202,"statusMsg":""}"#);
        let failure = UserDetail::parse("p", user_detail_scope(&missing).unwrap()).unwrap_err();
        assert_eq!(failure.code, ErrorCode::UserNotFound);
        let private = page(r#"{"statusCode":10222,"userInfo":{"user":{"secUid":"x"}}}"#);
        let failure = UserDetail::parse("p", user_detail_scope(&private).unwrap()).unwrap_err();
        assert_eq!(failure.code, ErrorCode::VideoPrivate);
        assert_eq!(
            user_detail_scope("<html></html>").unwrap_err().code,
            ErrorCode::UpstreamChanged
        );
    }
}
