//! `JsonBody<T>`: a JSON request body whose every rejection is an `ApiError` (415, 413, 400
//! `MALFORMED_JSON`, 422 `UNKNOWN_FIELD` / `INVALID_FIELD` naming the field's path).

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;
use crate::state::AppState;

/// A JSON body of type `T`, read within `MAX_REQUEST_BODY_BYTES`.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.settings.max_request_body_bytes;
        if !has_json_content_type(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > limit as u64) {
            return Err(ApiError::BodyTooLarge { limit });
        }
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|error| {
                if is_length_limit_error(&error) {
                    ApiError::BodyTooLarge { limit }
                } else {
                    ApiError::MalformedJson {
                        message: format!("the body could not be read: {error}"),
                    }
                }
            })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// `application/json` or any `application/*+json`, parameters (charset) allowed.
fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn is_length_limit_error(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

/// Parses a JSON document (trailing garbage rejected) into `T`, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut deserializer)
        .map_err(|error| classify_error(&error))?;
    deserializer
        .end()
        .map_err(|error| ApiError::MalformedJson {
            message: error.to_string(),
        })?;
    if has_nul_escape(bytes) {
        return Err(nul_character_error(bytes));
    }
    Ok(value)
}

/// Whether the JSON text holds the escape `\u0000` (an odd run of backslashes before
/// `u0000`): the only way a JSON text can carry the NUL character, which Postgres cannot store
/// in `text` or `jsonb`.
fn has_nul_escape(bytes: &[u8]) -> bool {
    bytes
        .windows(5)
        .enumerate()
        .filter(|(_, window)| window.eq_ignore_ascii_case(b"u0000"))
        .any(|(index, _)| {
            let backslashes = bytes[..index]
                .iter()
                .rev()
                .take_while(|byte| **byte == b'\\')
                .count();
            backslashes % 2 == 1
        })
}

/// The 422 for a body holding a NUL character, naming the first field (or key) that holds it.
fn nul_character_error(bytes: &[u8]) -> ApiError {
    let field = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| path_of_nul(&value, String::new()))
        .unwrap_or_default();
    ApiError::InvalidField {
        field: if field.is_empty() {
            "(body)".to_owned()
        } else {
            field
        },
        message: "text may not contain the NUL character (\\u0000)".to_owned(),
    }
}

/// The dotted path (`a.b[2]`) of the first string or object key holding a NUL character.
fn path_of_nul(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(path),
        serde_json::Value::Array(entries) => entries
            .iter()
            .enumerate()
            .find_map(|(index, entry)| path_of_nul(entry, format!("{path}[{index}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, entry)| {
            let field_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                return Some(field_path);
            }
            path_of_nul(entry, field_path)
        }),
        _ => None,
    }
}

fn classify_error(error: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = error.inner();
    if !matches!(inner.classify(), serde_json::error::Category::Data) {
        return ApiError::MalformedJson {
            message: inner.to_string(),
        };
    }
    let path = error.path().to_string();
    let message = strip_position(&inner.to_string());
    if let Some(field) = unknown_field_name(&message) {
        let field = if path == "." || path.is_empty() {
            field.to_owned()
        } else if path.ends_with(field) {
            path
        } else {
            format!("{path}.{field}")
        };
        return ApiError::UnknownField { field };
    }
    let field = if path == "." {
        "(body)".to_owned()
    } else {
        path
    };
    ApiError::InvalidField { field, message }
}

/// serde's message `unknown field `x`, expected …` → `x`.
fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// Drops serde_json's " at line L column C" suffix (the path already says where).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_character_anywhere_is_a_422_naming_its_field() {
        let body = br#"{"metadata": {"a": ["ok", "x\u0000y"]}}"#;
        let error = parse_json::<serde_json::Value>(body).unwrap_err();
        assert!(
            matches!(&error, ApiError::InvalidField { field, .. } if field == "metadata.a[1]"),
            "{error:?}"
        );
        let in_key = br#"{"metadata": {"k\u0000": 1}}"#;
        let error = parse_json::<serde_json::Value>(in_key).unwrap_err();
        assert!(
            matches!(&error, ApiError::InvalidField { field, .. } if field == "metadata.k\0"),
            "{error:?}"
        );
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_plain_text() {
        let body = br#"{"note": "C:\\u0000 and \\\\u0000"}"#;
        let value: serde_json::Value = parse_json(body).unwrap();
        assert_eq!(value["note"], "C:\\u0000 and \\\\u0000");
        assert!(has_nul_escape(br#""\u0000""#));
        assert!(has_nul_escape(br#""\\\u0000""#));
        assert!(!has_nul_escape(br#""\\u0000""#));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // reason: fields exist to be deserialized
    struct Outer {
        name: String,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // reason: fields exist to be deserialized
    struct Inner {
        flag: bool,
    }

    #[test]
    fn unknown_nested_field_is_named_with_its_path() {
        let error =
            parse_json::<Outer>(br#"{"name":"a","inner":{"flag":true,"oops":1}}"#).unwrap_err();
        assert!(
            matches!(&error, ApiError::UnknownField { field } if field == "inner.oops"),
            "{error:?}"
        );
    }

    #[test]
    fn unknown_top_level_field_is_named() {
        let error = parse_json::<Outer>(br#"{"name":"a","extra":1}"#).unwrap_err();
        assert!(
            matches!(&error, ApiError::UnknownField { field } if field == "extra"),
            "{error:?}"
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let error = parse_json::<Outer>(br#"{"name":"a","inner":{"flag":"yes"}}"#).unwrap_err();
        assert!(
            matches!(&error, ApiError::InvalidField { field, .. } if field == "inner.flag"),
            "{error:?}"
        );
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_malformed_json() {
        assert!(matches!(
            parse_json::<Outer>(b"{\"name\":"),
            Err(ApiError::MalformedJson { .. })
        ));
        assert!(matches!(
            parse_json::<Outer>(br#"{"name":"a"} x"#),
            Err(ApiError::MalformedJson { .. })
        ));
    }

    #[test]
    fn json_content_types_are_recognised() {
        let mut headers = HeaderMap::new();
        assert!(!has_json_content_type(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(has_json_content_type(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            "application/merge-patch+json".parse().unwrap(),
        );
        assert!(has_json_content_type(&headers));
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!has_json_content_type(&headers));
    }
}
