//! Paging of the paginated lists (jobs, items, deliveries, watches, runs, seen videos): opaque
//! page cursors — the last value of a page behind a version prefix of the list's own,
//! base64url-encoded, so clients cannot build or mix them and the encoding can change without
//! breaking old links — and the checked `limit` and query-string errors every list shares.

use std::fmt::Display;
use std::str::FromStr;

use axum::extract::rejection::QueryRejection;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::problem::ApiError;

/// The cursor of `value` in the list whose cursors start with `version`.
pub(crate) fn encode_cursor(version: &str, value: impl Display) -> String {
    URL_SAFE_NO_PAD.encode(format!("{version}{value}"))
}

/// The value of a cursor made by [`encode_cursor`] with `version`; anything else is a 422
/// `INVALID_PARAMETER` naming `cursor`.
pub(crate) fn decode_cursor<T: FromStr>(version: &str, cursor: &str) -> Result<T, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix(version)
                .and_then(|value| value.parse().ok())
        })
        .ok_or_else(|| ApiError::InvalidParameter {
            name: "cursor".to_owned(),
            message: "not a cursor returned by this API".to_owned(),
        })
}

/// A list's `limit`: `default` when absent, else an integer from 1 to `max`; anything else is a
/// 422 `INVALID_PARAMETER` naming `limit`.
pub(crate) fn page_limit(limit: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=max).contains(limit))
            .ok_or_else(|| ApiError::InvalidParameter {
                name: "limit".to_owned(),
                message: format!("must be an integer from 1 to {max}"),
            }),
    }
}

/// A query string that does not parse: 422 `INVALID_PARAMETER`.
pub(crate) fn query_problem(rejection: &QueryRejection) -> ApiError {
    ApiError::InvalidParameter {
        name: "(query)".to_owned(),
        message: rejection.body_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_other_lists_or_garbage_are_refused() {
        let cursor = encode_cursor("v1:item:", 41);
        assert_eq!(decode_cursor::<i32>("v1:item:", &cursor).unwrap(), 41);
        assert!(decode_cursor::<i32>("v1:delivery:", &cursor).is_err());
        assert!(decode_cursor::<i32>("v1:item:", "bm9wZQ").is_err());
        assert!(decode_cursor::<i32>("v1:item:", "not base64!").is_err());
    }

    #[test]
    fn limits_default_and_stay_within_their_range() {
        assert_eq!(page_limit(None, 20, 100).unwrap(), 20);
        assert_eq!(page_limit(Some("100"), 20, 100).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten"] {
            assert!(page_limit(Some(bad), 20, 100).is_err(), "{bad}");
        }
    }
}
