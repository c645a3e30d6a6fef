//! Postgres cannot store the NUL character (U+0000) in `text` or `jsonb`. Text that comes from
//! upstream — TikTok's JSON, subtitle files — is stored with it removed, so one odd caption
//! cannot fail the transaction that stores a whole feed walk or item.

use std::borrow::Cow;

use serde_json::Value;

/// `text` without NUL characters (borrowed when it has none).
pub fn text_without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', ""))
    } else {
        Cow::Borrowed(text)
    }
}

/// `value` with NUL characters removed from every string and object key (borrowed when it has
/// none).
pub fn json_without_nul(value: &Value) -> Cow<'_, Value> {
    if holds_nul(value) {
        Cow::Owned(strip_nul(value))
    } else {
        Cow::Borrowed(value)
    }
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(entries) => entries.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, entry)| key.contains('\0') || holds_nul(entry)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn strip_nul(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(text.replace('\0', "")),
        Value::Array(entries) => Value::Array(entries.iter().map(strip_nul).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, entry)| (key.replace('\0', ""), strip_nul(entry)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_characters_are_removed_everywhere_and_clean_values_are_borrowed() {
        let dirty = json!({"desc": "a\u{0}b", "list": [1, "c\u{0}"], "k\u{0}ey": {"x": "\u{0}"}});
        assert_eq!(
            json_without_nul(&dirty).into_owned(),
            json!({"desc": "ab", "list": [1, "c"], "key": {"x": ""}})
        );
        let clean = json!({"desc": "ab", "n": 1});
        assert!(matches!(json_without_nul(&clean), Cow::Borrowed(_)));
        assert_eq!(text_without_nul("x\u{0}y"), "xy");
        assert!(matches!(text_without_nul("xy"), Cow::Borrowed(_)));
    }
}
