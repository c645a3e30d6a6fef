//! Fuzz target: the feed job fields (`hashtag`, `username`, `count`) on arbitrary input must
//! never panic, and an accepted hashtag or username must be accepted again unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokworks_api::jobs::feed_request::{parse_count, parse_hashtag, parse_username};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let value = Value::String(text.to_owned());
    if let Ok(name) = parse_hashtag(Some(&value)) {
        let again = parse_hashtag(Some(&Value::String(name.clone())));
        assert_eq!(again.ok().as_deref(), Some(name.as_str()));
    }
    if let Ok(name) = parse_username(Some(&value)) {
        let again = parse_username(Some(&Value::String(name.clone())));
        assert_eq!(again.ok().as_deref(), Some(name.as_str()));
    }
    if let Ok(json) = serde_json::from_slice::<Value>(data) {
        let _ = parse_count(Some(&json), 500);
        let _ = parse_hashtag(Some(&json));
        let _ = parse_username(Some(&json));
    }
});
