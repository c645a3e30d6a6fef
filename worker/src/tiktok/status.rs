//! TikTok `statusCode` (docs/tiktok-formats.md "statusCode values") → the item `ErrorCode`.
//!
//! Decisions: 0 is success unless the item is age-gated (`isContentClassified` without `video`);
//! deleted/banned/removed posts are `VIDEO_NOT_FOUND`; restricted/masked/recheck states are
//! `VIDEO_UNDER_REVIEW`; captcha and anti-bot codes are `UPSTREAM_BLOCKED`; server errors are
//! `UPSTREAM_UNAVAILABLE`; any code not in TikTok's table (e.g. the undocumented 100004) is
//! `UPSTREAM_CHANGED`, which is retryable — an unknown answer is not proof the post is gone.

use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;

use super::lenient::FlexBool;

/// The error a TikTok `statusCode` means for a video item; `None` when the item can be mapped.
pub fn status_code_error(status_code: i64, item: Option<&Value>) -> Option<ErrorCode> {
    match status_code {
        0 => item
            .filter(|item| is_age_gated(item))
            .map(|_| ErrorCode::AgeRestricted),
        10204 | 10201 | 10215 | 10220 | 10221 => Some(ErrorCode::VideoNotFound),
        10216 | 10222 => Some(ErrorCode::VideoPrivate),
        10217 | 10227 | 10228 | 10229 | 10230 => Some(ErrorCode::VideoUnderReview),
        10231 | 10219 => Some(ErrorCode::VideoRegionBlocked),
        10213 | 10214 => Some(ErrorCode::AgeRestricted),
        10102 => Some(ErrorCode::LoginRequired),
        10202 | 10223 | 10225 => Some(ErrorCode::UserNotFound),
        10205 | 10209 | 10211 | 10212 => Some(ErrorCode::HashtagNotFound),
        10203 | 10218 | 10208 => Some(ErrorCode::NotVideoContent),
        10000 | 10113 | 10114 => Some(ErrorCode::UpstreamBlocked),
        10101 => Some(ErrorCode::UpstreamUnavailable),
        _ => Some(ErrorCode::UpstreamChanged),
    }
}

/// `isContentClassified: true` and no `video` object (yt-dlp: "this post may not be comfortable for some audiences").
fn is_age_gated(item: &Value) -> bool {
    let classified = item
        .get("isContentClassified")
        .and_then(|value| serde_json::from_value::<FlexBool>(value.clone()).ok())
        .is_some_and(|FlexBool(flag)| flag);
    let has_video = item
        .get("video")
        .is_some_and(|video| video.as_object().is_some_and(|object| !object.is_empty()));
    let has_images = item.get("imagePost").is_some_and(Value::is_object);
    classified && !has_video && !has_images
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn documented_codes_map_to_their_errors() {
        assert_eq!(
            status_code_error(0, Some(&json!({"id": "1", "video": {"duration": 3}}))),
            None
        );
        assert_eq!(status_code_error(0, None), None);
        assert_eq!(
            status_code_error(10204, None),
            Some(ErrorCode::VideoNotFound)
        );
        assert_eq!(
            status_code_error(10216, None),
            Some(ErrorCode::VideoPrivate)
        );
        assert_eq!(
            status_code_error(10222, None),
            Some(ErrorCode::VideoPrivate)
        );
        assert_eq!(
            status_code_error(10217, None),
            Some(ErrorCode::VideoUnderReview)
        );
        assert_eq!(
            status_code_error(10231, None),
            Some(ErrorCode::VideoRegionBlocked)
        );
        assert_eq!(
            status_code_error(10219, None),
            Some(ErrorCode::VideoRegionBlocked)
        );
        assert_eq!(
            status_code_error(10000, None),
            Some(ErrorCode::UpstreamBlocked)
        );
        assert_eq!(
            status_code_error(10113, None),
            Some(ErrorCode::UpstreamBlocked)
        );
        assert_eq!(
            status_code_error(10114, None),
            Some(ErrorCode::UpstreamBlocked)
        );
        assert_eq!(
            status_code_error(100004, None),
            Some(ErrorCode::UpstreamChanged)
        );
        assert!(ErrorCode::UpstreamChanged.is_retryable());
    }

    #[test]
    fn classified_item_without_video_is_age_restricted() {
        let gated = json!({"id": "1", "isContentClassified": true});
        assert_eq!(
            status_code_error(0, Some(&gated)),
            Some(ErrorCode::AgeRestricted)
        );
        let classified_but_playable =
            json!({"id": "1", "isContentClassified": true, "video": {"playAddr": "https://x"}});
        assert_eq!(status_code_error(0, Some(&classified_but_playable)), None);
    }
}
