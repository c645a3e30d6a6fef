//! A small streaming JSON writer for the hot paths (items, pages, feeds): no intermediate
//! `Value` tree, and optional `\u002F`/`\u003C` escaping as TikTok's server-rendered pages do.

use std::fmt::Write as _;

/// Bytes that need escaping in a JSON string (1 = escape).
const fn escape_table(for_html: bool) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = 1;
        byte += 1;
    }
    table[b'"' as usize] = 1;
    table[b'\\' as usize] = 1;
    if for_html {
        table[b'/' as usize] = 1;
        table[b'<' as usize] = 1;
    }
    table
}

static ESCAPE_PLAIN: [u8; 256] = escape_table(false);
static ESCAPE_HTML: [u8; 256] = escape_table(true);

/// Writes one JSON document into a `String`.
#[derive(Debug)]
pub struct JsonWriter {
    out: String,
    /// One entry per open container: `true` until its first element is written.
    first: Vec<bool>,
    after_key: bool,
    escape_for_html: bool,
}

impl JsonWriter {
    /// `escape_for_html`: write `/` as `\u002F` and `<` as `\u003C` inside strings.
    pub fn new(escape_for_html: bool, capacity: usize) -> Self {
        JsonWriter {
            out: String::with_capacity(capacity),
            first: Vec::with_capacity(16),
            after_key: false,
            escape_for_html,
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn separator(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.out.push(',');
            }
            *first = false;
        }
    }

    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
        } else {
            self.separator();
        }
    }

    fn escaped(&mut self, text: &str) {
        let table = if self.escape_for_html {
            &ESCAPE_HTML
        } else {
            &ESCAPE_PLAIN
        };
        self.out.push('"');
        let bytes = text.as_bytes();
        let mut start = 0;
        for (position, byte) in bytes.iter().enumerate() {
            if table[usize::from(*byte)] == 0 {
                continue;
            }
            self.out.push_str(&text[start..position]);
            match byte {
                b'"' => self.out.push_str("\\\""),
                b'\\' => self.out.push_str("\\\\"),
                b'\n' => self.out.push_str("\\n"),
                b'\r' => self.out.push_str("\\r"),
                b'\t' => self.out.push_str("\\t"),
                b'/' => self.out.push_str("\\u002F"),
                b'<' => self.out.push_str("\\u003C"),
                _ => {
                    let _ = write!(self.out, "\\u{byte:04x}");
                }
            }
            start = position + 1;
        }
        self.out.push_str(&text[start..]);
        self.out.push('"');
    }

    pub fn key(&mut self, key: &str) -> &mut Self {
        self.separator();
        self.escaped(key);
        self.out.push(':');
        self.after_key = true;
        self
    }

    pub fn begin_object(&mut self) -> &mut Self {
        self.before_value();
        self.out.push('{');
        self.first.push(true);
        self
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.first.pop();
        self.out.push('}');
        self
    }

    pub fn begin_array(&mut self) -> &mut Self {
        self.before_value();
        self.out.push('[');
        self.first.push(true);
        self
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.first.pop();
        self.out.push(']');
        self
    }

    pub fn string(&mut self, value: &str) -> &mut Self {
        self.before_value();
        self.escaped(value);
        self
    }

    pub fn unsigned(&mut self, value: u64) -> &mut Self {
        self.before_value();
        let _ = write!(self.out, "{value}");
        self
    }

    pub fn signed(&mut self, value: i64) -> &mut Self {
        self.before_value();
        let _ = write!(self.out, "{value}");
        self
    }

    pub fn float(&mut self, value: f64) -> &mut Self {
        self.before_value();
        if value.is_finite() {
            let _ = write!(self.out, "{value}");
        } else {
            self.out.push_str("null");
        }
        self
    }

    pub fn boolean(&mut self, value: bool) -> &mut Self {
        self.before_value();
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// Inserts already-serialised JSON as one value.
    pub fn raw(&mut self, json: &str) -> &mut Self {
        self.before_value();
        self.out.push_str(json);
        self
    }

    /// Inserts already-serialised members (`"a":1,"b":2`) into the open object.
    pub fn raw_member(&mut self, members: &str) -> &mut Self {
        self.separator();
        self.out.push_str(members);
        self
    }

    /// Serialises a `serde_json::Value` as one value (for small, cold parts).
    pub fn value(&mut self, value: &serde_json::Value) -> &mut Self {
        match value {
            serde_json::Value::Null => self.raw("null"),
            serde_json::Value::Bool(flag) => self.boolean(*flag),
            serde_json::Value::Number(number) => self.raw(&number.to_string()),
            serde_json::Value::String(text) => self.string(text),
            serde_json::Value::Array(items) => {
                self.begin_array();
                for item in items {
                    self.value(item);
                }
                self.end_array()
            }
            serde_json::Value::Object(map) => {
                self.begin_object();
                for (key, item) in map {
                    self.key(key).value(item);
                }
                self.end_object()
            }
        }
    }

    pub fn field_str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).string(value)
    }

    pub fn field_u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key).unsigned(value)
    }

    pub fn field_i64(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key).signed(value)
    }

    pub fn field_bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).boolean(value)
    }

    pub fn field_raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).raw(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json_with_html_escapes() {
        let mut writer = JsonWriter::new(true, 64);
        writer
            .begin_object()
            .field_str("url", "https://a/b<c\"\n\u{1}é🎥")
            .key("list")
            .begin_array();
        writer
            .unsigned(1)
            .signed(-2)
            .boolean(false)
            .float(1.5)
            .begin_object()
            .end_object()
            .end_array();
        writer.field_raw("raw", "{\"x\":1}").end_object();
        let text = writer.finish();
        assert!(!text.contains('/') && !text.contains('<'));
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["url"], "https://a/b<c\"\n\u{1}é🎥");
        assert_eq!(parsed["list"], serde_json::json!([1, -2, false, 1.5, {}]));
        assert_eq!(parsed["raw"]["x"], 1);
    }
}
