//! Fuzz target: the job event stream's `Last-Event-ID` decoder on arbitrary input must never
//! panic, and a decoded cursor must survive re-encoding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokworks_api::jobs::events::{decode_event_id, encode_event_id};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(cursor) = decode_event_id(text) {
        let again = decode_event_id(&encode_event_id(cursor));
        assert_eq!(again, Some(cursor), "{text:?} did not round-trip");
    }
});
