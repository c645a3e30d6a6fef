//! HTTP `Retry-After` values (delay-seconds or an HTTP date), as TikTok and webhook receivers send them.

use std::time::Duration;

use chrono::Utc;

/// The longest `Retry-After` taken as given; longer values are clamped to it (callers clamp
/// further to their own limits), so no peer can make a wait overflow a clock.
pub const RETRY_AFTER_CEILING: Duration = Duration::from_secs(24 * 60 * 60);

/// `Retry-After` as delay-seconds or an HTTP date, at most [`RETRY_AFTER_CEILING`].
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let delay = if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        // More seconds than a u64 holds is still "very long", not "unreadable".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (date.with_timezone(&Utc) - Utc::now()).to_std().ok()?
    };
    Some(delay.min(RETRY_AFTER_CEILING))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_values_are_clamped_to_a_day() {
        assert_eq!(
            parse_retry_after("99999999999999999999"),
            Some(RETRY_AFTER_CEILING),
            "more seconds than a u64 holds"
        );
        assert_eq!(
            parse_retry_after("18446744073709551615"),
            Some(RETRY_AFTER_CEILING)
        );
        assert_eq!(parse_retry_after("86401"), Some(RETRY_AFTER_CEILING));
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("soon"), None);
        let future = (Utc::now() + chrono::Duration::seconds(60)).to_rfc2822();
        let parsed = parse_retry_after(&future).unwrap();
        assert!(parsed > Duration::from_secs(55) && parsed <= Duration::from_secs(60));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
