//! Lenient JSON leaf types and field deserializers for TikTok's drifting JSON: numbers as ints
//! or decimal strings, booleans as 0/1, URL fields as a string or a list, and any field whose type
//! changed becoming "absent" instead of failing the whole item.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A non-negative integer written as a JSON number or a decimal string (`"38884"`, `38884`, `38884.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlexU64(pub u64);

/// A signed integer written as a JSON number or a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlexI64(pub i64);

/// A string that TikTok sometimes sends as a number (ids in the app API).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlexString(pub String);

/// A boolean written as `true`/`false`, `0`/`1` or `"true"`/`"false"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlexBool(pub bool);

/// URLs from a field that is a string, a list of strings, a list of `{ "src": url }`, or an
/// object with `urlList`/`UrlList`/`url_list`/`url`/`src`. Empty strings are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlField(pub Vec<String>);

/// Converts a JSON value to `u64` when it holds a non-negative integer in any of TikTok's spellings.
pub fn value_to_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.is_finite() && *float >= 0.0 && *float < 1.8e19)
                .map(|float| float as u64)
        }),
        Value::String(text) => {
            let trimmed = text.trim();
            trimmed.parse::<u64>().ok().or_else(|| {
                trimmed
                    .parse::<f64>()
                    .ok()
                    .filter(|float| float.is_finite() && *float >= 0.0 && *float < 1.8e19)
                    .map(|float| float as u64)
            })
        }
        _ => None,
    }
}

/// Converts a JSON value to `i64` (number or decimal string).
pub fn value_to_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for FlexU64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        value_to_u64(&value)
            .map(FlexU64)
            .ok_or_else(|| serde::de::Error::custom("not a non-negative integer"))
    }
}

impl<'de> Deserialize<'de> for FlexI64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        value_to_i64(&value)
            .map(FlexI64)
            .ok_or_else(|| serde::de::Error::custom("not an integer"))
    }
}

impl<'de> Deserialize<'de> for FlexString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(FlexString(text)),
            Value::Number(number) => Ok(FlexString(number.to_string())),
            _ => Err(serde::de::Error::custom("not a string or number")),
        }
    }
}

impl<'de> Deserialize<'de> for FlexBool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Bool(flag) => Ok(FlexBool(flag)),
            Value::Number(number) => {
                Ok(FlexBool(number.as_f64().is_some_and(|float| float != 0.0)))
            }
            Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(FlexBool(true)),
                "false" | "0" | "" => Ok(FlexBool(false)),
                _ => Err(serde::de::Error::custom("not a boolean")),
            },
            _ => Err(serde::de::Error::custom("not a boolean")),
        }
    }
}

impl<'de> Deserialize<'de> for UrlField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let mut urls = Vec::new();
        collect_urls(&value, &mut urls, 0);
        Ok(UrlField(urls))
    }
}

fn collect_urls(value: &Value, urls: &mut Vec<String>, depth: usize) {
    if depth > 3 {
        return;
    }
    match value {
        Value::String(text) if !text.trim().is_empty() => urls.push(text.trim().to_string()),
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_urls(item, urls, depth + 1)),
        Value::Object(object) => {
            for key in ["urlList", "UrlList", "url_list", "src", "url", "Url"] {
                if let Some(inner) = object.get(key) {
                    collect_urls(inner, urls, depth + 1);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// Field deserializer: `Some(T)` when the value has T's shape, `None` when it is null or of
/// another type (TikTok changed it), never an error.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    Ok(T::deserialize(value).ok())
}

/// Field deserializer for lists: elements of the wrong shape are skipped; a non-list is empty.
pub fn lenient_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| T::deserialize(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_accept_ints_strings_and_floats() {
        assert_eq!(value_to_u64(&json!(38884)), Some(38884));
        assert_eq!(value_to_u64(&json!("1585253")), Some(1_585_253));
        assert_eq!(value_to_u64(&json!(" 12 ")), Some(12));
        assert_eq!(value_to_u64(&json!(12.0)), Some(12));
        assert_eq!(value_to_u64(&json!(-1)), None);
        assert_eq!(value_to_u64(&json!("abc")), None);
        assert_eq!(value_to_i64(&json!("1640417086")), Some(1_640_417_086));
    }

    #[test]
    fn url_fields_accept_strings_lists_and_src_objects() {
        let parse = |value: Value| serde_json::from_value::<UrlField>(value).unwrap().0;
        assert_eq!(parse(json!("https://a")), vec!["https://a"]);
        assert_eq!(
            parse(json!([{"src": "https://a"}, {"src": "https://b"}])),
            vec!["https://a", "https://b"]
        );
        assert_eq!(
            parse(json!({"UrlList": ["https://a", ""]})),
            vec!["https://a"]
        );
        assert!(parse(json!("")).is_empty());
    }
}
