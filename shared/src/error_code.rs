//! The stable error codes of items and jobs (docs/design.md "Error codes"): their wire names and whether a retry can help.

use serde::{Deserialize, Serialize};

/// A stable, documented error code. The wire form is SCREAMING_SNAKE_CASE and never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidUrl,
    UnsupportedUrl,
    VideoNotFound,
    VideoPrivate,
    VideoRegionBlocked,
    VideoUnderReview,
    LoginRequired,
    AgeRestricted,
    VideoTooLong,
    NotVideoContent,
    HashtagNotFound,
    UserNotFound,
    SoundNotFound,
    CommentsDisabled,
    UpstreamBlocked,
    UpstreamRateLimited,
    UpstreamEmpty,
    UpstreamChanged,
    UpstreamUnavailable,
    ExtractorTimeout,
    ThumbnailAnalysisFailed,
    Canceled,
    Internal,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::InvalidUrl,
        ErrorCode::UnsupportedUrl,
        ErrorCode::VideoNotFound,
        ErrorCode::VideoPrivate,
        ErrorCode::VideoRegionBlocked,
        ErrorCode::VideoUnderReview,
        ErrorCode::LoginRequired,
        ErrorCode::AgeRestricted,
        ErrorCode::VideoTooLong,
        ErrorCode::NotVideoContent,
        ErrorCode::HashtagNotFound,
        ErrorCode::UserNotFound,
        ErrorCode::SoundNotFound,
        ErrorCode::CommentsDisabled,
        ErrorCode::UpstreamBlocked,
        ErrorCode::UpstreamRateLimited,
        ErrorCode::UpstreamEmpty,
        ErrorCode::UpstreamChanged,
        ErrorCode::UpstreamUnavailable,
        ErrorCode::ExtractorTimeout,
        ErrorCode::ThumbnailAnalysisFailed,
        ErrorCode::Canceled,
        ErrorCode::Internal,
    ];

    /// The wire name, e.g. `VIDEO_PRIVATE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidUrl => "INVALID_URL",
            ErrorCode::UnsupportedUrl => "UNSUPPORTED_URL",
            ErrorCode::VideoNotFound => "VIDEO_NOT_FOUND",
            ErrorCode::VideoPrivate => "VIDEO_PRIVATE",
            ErrorCode::VideoRegionBlocked => "VIDEO_REGION_BLOCKED",
            ErrorCode::VideoUnderReview => "VIDEO_UNDER_REVIEW",
            ErrorCode::LoginRequired => "LOGIN_REQUIRED",
            ErrorCode::AgeRestricted => "AGE_RESTRICTED",
            ErrorCode::VideoTooLong => "VIDEO_TOO_LONG",
            ErrorCode::NotVideoContent => "NOT_VIDEO_CONTENT",
            ErrorCode::HashtagNotFound => "HASHTAG_NOT_FOUND",
            ErrorCode::UserNotFound => "USER_NOT_FOUND",
            ErrorCode::SoundNotFound => "SOUND_NOT_FOUND",
            ErrorCode::CommentsDisabled => "COMMENTS_DISABLED",
            ErrorCode::UpstreamBlocked => "UPSTREAM_BLOCKED",
            ErrorCode::UpstreamRateLimited => "UPSTREAM_RATE_LIMITED",
            ErrorCode::UpstreamEmpty => "UPSTREAM_EMPTY",
            ErrorCode::UpstreamChanged => "UPSTREAM_CHANGED",
            ErrorCode::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            ErrorCode::ExtractorTimeout => "EXTRACTOR_TIMEOUT",
            ErrorCode::ThumbnailAnalysisFailed => "THUMBNAIL_ANALYSIS_FAILED",
            ErrorCode::Canceled => "CANCELED",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// Parses a wire name back into a code.
    pub fn from_wire(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == name)
    }

    /// Whether trying again later can succeed (transient upstream trouble), as documented to clients.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::UpstreamBlocked
                | ErrorCode::UpstreamRateLimited
                | ErrorCode::UpstreamEmpty
                | ErrorCode::UpstreamChanged
                | ErrorCode::UpstreamUnavailable
                | ErrorCode::ExtractorTimeout
                | ErrorCode::LoginRequired
                | ErrorCode::Internal
        )
    }

    /// One sentence for documentation and problem details.
    pub fn description(self) -> &'static str {
        match self {
            ErrorCode::InvalidUrl => "The input is not a well-formed TikTok URL.",
            ErrorCode::UnsupportedUrl => {
                "A TikTok URL of a kind this job does not accept (e.g. a profile sent as a video)."
            }
            ErrorCode::VideoNotFound => {
                "The post does not exist or was deleted (TikTok status 10204)."
            }
            ErrorCode::VideoPrivate => {
                "The post or its account is private (TikTok status 10216/10222)."
            }
            ErrorCode::VideoRegionBlocked => {
                "The post is not available in the region of the egress IP (TikTok status 10231)."
            }
            ErrorCode::VideoUnderReview => {
                "The post is under review or taken down pending review (TikTok status 10217)."
            }
            ErrorCode::LoginRequired => "TikTok asked for a login (often a soft rate limit).",
            ErrorCode::AgeRestricted => "The post is age-restricted and needs a logged-in session.",
            ErrorCode::VideoTooLong => "The video is longer than MAX_VIDEO_DURATION_SECONDS.",
            ErrorCode::NotVideoContent => {
                "The URL points at something that is not a video or photo post."
            }
            ErrorCode::HashtagNotFound => "The hashtag does not exist.",
            ErrorCode::UserNotFound => "The user does not exist.",
            ErrorCode::SoundNotFound => {
                "The sound (music id) does not exist (TikTok status 10203)."
            }
            ErrorCode::CommentsDisabled => {
                "The video's author turned comments off; there are none to list."
            }
            ErrorCode::UpstreamBlocked => "TikTok served a captcha, WAF wall or IP block.",
            ErrorCode::UpstreamRateLimited => "TikTok answered 429 Too Many Requests.",
            ErrorCode::UpstreamEmpty => {
                "TikTok answered 200 with an empty body (bot detection), not an empty result."
            }
            ErrorCode::UpstreamChanged => {
                "TikTok's page or JSON layout was not recognised (layout drift)."
            }
            ErrorCode::UpstreamUnavailable => "TikTok or the network failed (5xx, reset, refused).",
            ErrorCode::ExtractorTimeout => "Extraction did not finish within its deadline.",
            ErrorCode::ThumbnailAnalysisFailed => {
                "The vision model did not produce a valid analysis."
            }
            ErrorCode::Canceled => "The job was canceled before this item ran.",
            ErrorCode::Internal => "An internal error; reported with a request id.",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde_and_from_wire() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
        }
    }

    #[test]
    fn permanent_content_errors_are_not_retryable() {
        assert!(!ErrorCode::VideoNotFound.is_retryable());
        assert!(!ErrorCode::VideoPrivate.is_retryable());
        assert!(!ErrorCode::InvalidUrl.is_retryable());
        assert!(ErrorCode::UpstreamRateLimited.is_retryable());
        assert!(ErrorCode::ExtractorTimeout.is_retryable());
    }
}
