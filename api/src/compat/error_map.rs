//! tokworks' precise item error codes mapped onto the old analyzer's code set; the precise code
//! stays in `error.details.reason`.

use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::{TiktokUrl, TiktokUrlError};

use crate::compat::envelope::{CompatError, CompatErrorCode, ErrorDetails};

/// The old code an item error code maps to (unknown codes: `EXTRACTION_FAILED`).
pub fn compat_code_for(item_code: &str) -> CompatErrorCode {
    let Some(code) = ErrorCode::from_wire(item_code) else {
        return CompatErrorCode::ExtractionFailed;
    };
    match code {
        ErrorCode::InvalidUrl => CompatErrorCode::ValidationError,
        ErrorCode::UnsupportedUrl => CompatErrorCode::UnsupportedPlatform,
        ErrorCode::VideoNotFound
        | ErrorCode::VideoPrivate
        | ErrorCode::VideoRegionBlocked
        | ErrorCode::VideoUnderReview
        | ErrorCode::LoginRequired
        | ErrorCode::AgeRestricted => CompatErrorCode::VideoUnavailable,
        ErrorCode::VideoTooLong => CompatErrorCode::VideoTooLong,
        ErrorCode::NotVideoContent => CompatErrorCode::NotVideoContent,
        ErrorCode::ExtractorTimeout => CompatErrorCode::Timeout,
        ErrorCode::UpstreamBlocked
        | ErrorCode::UpstreamRateLimited
        | ErrorCode::UpstreamEmpty
        | ErrorCode::UpstreamUnavailable => CompatErrorCode::ServiceUnavailable,
        ErrorCode::ThumbnailAnalysisFailed => CompatErrorCode::ThumbnailAnalysisFailed,
        ErrorCode::UpstreamChanged
        | ErrorCode::HashtagNotFound
        | ErrorCode::UserNotFound
        | ErrorCode::SoundNotFound
        | ErrorCode::CommentsDisabled
        | ErrorCode::Canceled
        | ErrorCode::Internal => CompatErrorCode::ExtractionFailed,
    }
}

/// The error of an item that ended with `item_code` (and `message`).
pub fn item_error(url: &str, item_code: &str, message: Option<&str>) -> CompatError {
    let message = message
        .filter(|message| !message.is_empty())
        .map(str::to_owned)
        .or_else(|| ErrorCode::from_wire(item_code).map(|code| code.description().to_owned()))
        .unwrap_or_else(|| format!("extraction failed: {item_code}"));
    CompatError::new(compat_code_for(item_code), message)
        .with_details(ErrorDetails::for_url(url, item_code))
}

/// The error of a URL refused before any job: a non-TikTok web URL is `UNSUPPORTED_PLATFORM`
/// (422, as the old validator answered), a TikTok URL of another kind too, anything that is
/// not an http(s) URL at all `VALIDATION_ERROR` (400). `reason` is `INVALID_URL` or
/// `UNSUPPORTED_URL`.
pub fn refused_url_error(url: &str, item_code: ErrorCode, message: &str) -> CompatError {
    let compat_code = match (item_code, TiktokUrl::parse(url)) {
        (ErrorCode::UnsupportedUrl, _)
        | (_, Err(TiktokUrlError::NotTiktokHost { .. } | TiktokUrlError::IpAddressHost)) => {
            CompatErrorCode::UnsupportedPlatform
        }
        _ => CompatErrorCode::ValidationError,
    };
    CompatError::new(compat_code, message)
        .with_details(ErrorDetails::for_url(url, item_code.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_code_has_an_old_code_with_the_old_status() {
        for code in ErrorCode::ALL {
            let compat = compat_code_for(code.as_str());
            assert!(compat.http_status().as_u16() >= 400, "{code:?}");
        }
        assert_eq!(
            compat_code_for("VIDEO_PRIVATE"),
            CompatErrorCode::VideoUnavailable
        );
        assert_eq!(
            compat_code_for("EXTRACTOR_TIMEOUT"),
            CompatErrorCode::Timeout
        );
        assert_eq!(
            compat_code_for("NO_SUCH_CODE"),
            CompatErrorCode::ExtractionFailed
        );
    }

    #[test]
    fn a_foreign_host_is_an_unsupported_platform_and_garbage_a_validation_error() {
        let foreign = refused_url_error("https://example.com/v/1", ErrorCode::InvalidUrl, "x");
        assert_eq!(foreign.code, CompatErrorCode::UnsupportedPlatform);
        let garbage = refused_url_error("not a url", ErrorCode::InvalidUrl, "x");
        assert_eq!(garbage.code, CompatErrorCode::ValidationError);
        assert_eq!(
            garbage
                .details
                .and_then(|details| details.reason)
                .as_deref(),
            Some("INVALID_URL")
        );
    }
}
