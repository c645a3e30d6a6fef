//! The targets of the `search` and `sound` feed kinds: `query` (1 to 100 characters after
//! trimming; normalised trimmed, whitespace collapsed, lowercased) and `sound` (a 19-digit music
//! id or a sound URL `https://www.tiktok.com/music/<name>-<id>`, normalised to the id). Anything
//! else is a 422 with `INVALID_FIELD` (or `UNSUPPORTED_URL` for a TikTok URL of another kind).

use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::sound::{
    MAX_SEARCH_QUERY_CHARS, SoundTargetError, normalise_search_query, parse_sound_target,
};

use crate::problem::ApiError;

/// Checks a search query: a string of 1 to [`MAX_SEARCH_QUERY_CHARS`] characters after
/// trimming; returns it normalised.
pub fn parse_query(query: Option<&Value>) -> Result<String, ApiError> {
    let invalid = |message: String| ApiError::InvalidField {
        field: "query".to_owned(),
        message,
    };
    match query {
        None => Err(invalid(
            "missing field `query` (what to search for, e.g. \"ramen\")".to_owned(),
        )),
        Some(Value::String(text)) => normalise_search_query(text).ok_or_else(|| {
            invalid(format!(
                "must have 1 to {MAX_SEARCH_QUERY_CHARS} characters after trimming"
            ))
        }),
        Some(_) => Err(invalid("must be a string such as \"ramen\"".to_owned())),
    }
}

/// Checks a sound: a 19-digit music id or a sound URL; returns the music id.
pub fn parse_sound(sound: Option<&Value>) -> Result<String, ApiError> {
    let invalid = |message: String| ApiError::InvalidField {
        field: "sound".to_owned(),
        message,
    };
    let text = match sound {
        None => {
            return Err(invalid(
                "missing field `sound` (a music id or https://www.tiktok.com/music/<name>-<id>)"
                    .to_owned(),
            ));
        }
        Some(Value::String(text)) => text,
        Some(_) => return Err(invalid(SoundTargetError::Malformed.to_string())),
    };
    parse_sound_target(text).map_err(|error| match error {
        SoundTargetError::Malformed => invalid(error.to_string()),
        SoundTargetError::NotASound { .. } => ApiError::InvalidUrl {
            field: "sound".to_owned(),
            code: ErrorCode::UnsupportedUrl,
            message: error.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::jobs::feed_request::tests::accepted_feed;

    #[test]
    fn search_and_sound_jobs_are_feeds_with_their_own_keys() {
        let search =
            accepted_feed(r#"{"kind":"search","query":"  Spicy   Ramen ","count":20}"#).unwrap();
        assert_eq!(search.feed_key(), "search|spicy ramen|20");
        assert_eq!(search.normalised_request()["query"], "spicy ramen");
        let sound = accepted_feed(
            r#"{"kind":"sound","sound":"https://www.tiktok.com/music/x-7454730076952459393"}"#,
        )
        .unwrap();
        assert_eq!(sound.feed_key(), "sound|7454730076952459393|30");
        assert_eq!(sound.normalised_request()["sound"], "7454730076952459393");
        for body in [
            r#"{"kind":"search","query":"a","sound":"7454730076952459393"}"#,
            r#"{"kind":"sound","sound":"7454730076952459393","query":"a"}"#,
            r#"{"kind":"hashtag","hashtag":"a","query":"a"}"#,
            r#"{"kind":"search"}"#,
            r#"{"kind":"sound","sound":"123"}"#,
        ] {
            assert_eq!(
                accepted_feed(body).unwrap_err().code(),
                "INVALID_FIELD",
                "{body}"
            );
        }
    }

    #[test]
    fn queries_are_normalised_or_refused() {
        assert_eq!(
            parse_query(Some(&json!("  Spicy   Ramen "))).unwrap(),
            "spicy ramen"
        );
        assert_eq!(
            parse_query(Some(&json!("x".repeat(100)))).unwrap().len(),
            100
        );
        for bad in [
            json!(""),
            json!("   "),
            json!("x".repeat(101)),
            json!(3),
            json!(null),
        ] {
            assert_eq!(
                parse_query(Some(&bad)).unwrap_err().code(),
                "INVALID_FIELD",
                "{bad}"
            );
        }
        assert_eq!(parse_query(None).unwrap_err().code(), "INVALID_FIELD");
    }

    #[test]
    fn sounds_are_ids_or_sound_urls() {
        let id = "7454730076952459393";
        for input in [
            id.to_owned(),
            format!("https://www.tiktok.com/music/original-sound-{id}"),
            format!("https://www.tiktok.com/music/Espresso-{id}?lang=en"),
        ] {
            assert_eq!(parse_sound(Some(&json!(input))).unwrap(), id, "{input}");
        }
        for (bad, code) in [
            (json!("12345"), "INVALID_FIELD"),
            (json!("ramen"), "INVALID_FIELD"),
            (json!(7_454_730_076_952_459_393_u64), "INVALID_FIELD"),
            (json!("https://example.com/music/x-1"), "INVALID_FIELD"),
            (json!("https://www.tiktok.com/tag/food"), "UNSUPPORTED_URL"),
            (
                json!(format!("https://www.tiktok.com/@a/video/{id}")),
                "UNSUPPORTED_URL",
            ),
        ] {
            assert_eq!(parse_sound(Some(&bad)).unwrap_err().code(), code, "{bad}");
        }
        assert_eq!(parse_sound(None).unwrap_err().code(), "INVALID_FIELD");
    }

    proptest! {
        #[test]
        fn any_string_is_a_query_or_a_field_error(text in "\\PC{0,130}") {
            match parse_query(Some(&json!(text))) {
                Ok(query) => {
                    prop_assert_eq!(parse_query(Some(&json!(query.clone()))).ok(), Some(query.clone()));
                    prop_assert_eq!(query.to_lowercase(), query);
                }
                Err(error) => prop_assert_eq!(error.code(), "INVALID_FIELD"),
            }
        }

        #[test]
        fn any_string_is_a_music_id_or_a_4xx(text in "\\PC{0,100}") {
            match parse_sound(Some(&json!(text))) {
                Ok(id) => prop_assert!(id.bytes().all(|byte| byte.is_ascii_digit())),
                Err(error) => prop_assert!(matches!(error.code(), "INVALID_FIELD" | "UNSUPPORTED_URL")),
            }
        }
    }
}
