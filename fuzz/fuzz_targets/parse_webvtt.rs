//! Fuzz target: `parse_webvtt` on arbitrary input (lossily decoded, as the worker decodes a
//! downloaded file) must never panic, every cue it returns has text, and the joined text is
//! made of the cues' lines.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokworks_worker::transcripts::parse_webvtt;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for input in [text.to_string(), format!("WEBVTT\n\n{text}")] {
        if let Ok(parsed) = parse_webvtt(&input) {
            assert!(!parsed.cues.is_empty());
            assert!(parsed.cues.iter().all(|cue| !cue.text.trim().is_empty()));
            for cue in &parsed.cues {
                for line in cue.text.lines() {
                    assert!(parsed.text.contains(line), "{line:?} missing from the text");
                }
            }
        }
    }
});
