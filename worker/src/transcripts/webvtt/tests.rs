//! Tests of the WebVTT parser: the shapes TikTok and other tools write, the old analyzer's bugs
//! (short timestamps dropped), and properties (round trip of rendered cues, no panic).

use proptest::prelude::*;

use super::*;

fn cue(start_ms: u64, end_ms: u64, text: &str) -> Cue {
    Cue {
        start_ms,
        end_ms,
        text: text.to_owned(),
    }
}

#[test]
fn short_and_long_timestamps_settings_identifiers_and_tags() {
    // The simulator's shape: numbered cues, MM:SS.mmm and HH:MM:SS.mmm, settings, <c> tags.
    let file = "WEBVTT\n\n1\n00:00.000 --> 00:02.960 align:start position:10%\nhello there friends\n\n\
                2\n00:00:03.000 --> 00:00:05.960\n<c>this is a</c>\n\n3\n00:06.000 --> 00:08.960\ntest\n";
    let parsed = parse_webvtt(file).unwrap();
    assert_eq!(
        parsed.cues,
        vec![
            cue(0, 2_960, "hello there friends"),
            cue(3_000, 5_960, "this is a"),
            cue(6_000, 8_960, "test"),
        ]
    );
    assert_eq!(parsed.text, "hello there friends this is a test");
}

#[test]
fn bom_crlf_header_note_style_and_region_blocks() {
    let file = "\u{feff}WEBVTT - made by a tool\r\nKind: captions\r\nLanguage: en\r\n\r\n\
                NOTE this is a comment\r\nthat spans lines\r\n\r\n\
                STYLE\r\n::cue { color: red }\r\n\r\n\
                REGION\r\nid:fred width:40%\r\n\r\n\
                intro\r\n01:02:03.004 --> 01:02:04.000 line:0\r\nfirst line\r\nsecond line\r\n";
    let parsed = parse_webvtt(file).unwrap();
    assert_eq!(
        parsed.cues,
        vec![cue(3_723_004, 3_724_000, "first line\nsecond line")]
    );
    assert_eq!(parsed.text, "first line second line");
    let old_mac = "WEBVTT\r\r00:01.000 --> 00:02.000\rcarriage returns only\r";
    assert_eq!(
        parse_webvtt(old_mac).unwrap().cues,
        vec![cue(1_000, 2_000, "carriage returns only")]
    );
}

#[test]
fn numeric_character_references_are_decoded_and_bad_ones_kept() {
    let file = "WEBVTT\n\n00:01.000 --> 00:02.000\nit&#8217;s caf&#xE9; &#X1F600;\n\n\
                00:02.000 --> 00:03.000\n&#0; &#xD800; &#99999999; &#12a; &#;";
    let parsed = parse_webvtt(file).unwrap();
    let texts: Vec<&str> = parsed.cues.iter().map(|cue| cue.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "it\u{2019}s caf\u{e9} \u{1F600}",
            "&#0; &#xD800; &#99999999; &#12a; &#;"
        ]
    );
}

#[test]
fn tags_and_character_references_become_plain_text() {
    let file = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Roger Bingham><i>We</i> are <b>in</b> <u>New</u> <c.yellow.bg_blue>York</c>\n\n\
                00:02.000 --> 00:03.000\nfish &amp; chips &lt;3&gt;&nbsp;now&lrm;&rlm;\n\n\
                00:03.000 --> 00:04.000\n<ruby>東京<rt>とうきょう</rt></ruby> is <00:03.500>big\n\n\
                00:04.000 --> 00:05.000\nAT&T & co &unknown; <unterminated";
    let parsed = parse_webvtt(file).unwrap();
    let texts: Vec<&str> = parsed.cues.iter().map(|cue| cue.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "We are in New York",
            "fish & chips <3> now",
            "東京 is big",
            "AT&T & co &unknown;"
        ]
    );
}

#[test]
fn a_timing_line_right_after_the_signature_starts_a_cue() {
    let file = "WEBVTT\n00:01.000 --> 00:02.000\nno blank line\n";
    assert_eq!(
        parse_webvtt(file).unwrap().cues,
        vec![cue(1_000, 2_000, "no blank line")]
    );
}

#[test]
fn repeated_lines_of_rolling_captions_appear_once_in_the_text() {
    let file = "WEBVTT\n\n00:01.000 --> 00:02.000\nhello world\n\n00:02.000 --> 00:03.000\nhello world\nhow are you\n\n\
                00:03.000 --> 00:04.000\nhow are you\n";
    let parsed = parse_webvtt(file).unwrap();
    assert_eq!(parsed.cues.len(), 3);
    assert_eq!(parsed.text, "hello world how are you");
}

#[test]
fn invalid_cues_are_skipped_and_the_rest_kept() {
    let file = "WEBVTT\n\n00:61.000 --> 00:62.000\nbad seconds\n\n1:00.000 --> 1:01.000\none-digit minutes\n\n\
                00:01,000 --> 00:02,000\ncomma decimals\n\n00:03.000 --> 00:04.000\n\n\
                just text without timing\n\n00:05.000 --> 00:06.000\ngood\n";
    assert_eq!(
        parse_webvtt(file).unwrap().cues,
        vec![cue(5_000, 6_000, "good")]
    );
}

#[test]
fn files_without_signature_or_cues_are_errors() {
    let srt = "1\n00:00:01,000 --> 00:00:02,000\nhello\n";
    assert!(matches!(
        parse_webvtt(srt),
        Err(WebVttError::MissingSignature { .. })
    ));
    assert!(matches!(
        parse_webvtt(""),
        Err(WebVttError::MissingSignature { .. })
    ));
    assert!(matches!(
        parse_webvtt("WEBVTTX\n\n00:01.000 --> 00:02.000\nx"),
        Err(WebVttError::MissingSignature { .. })
    ));
    assert_eq!(parse_webvtt("WEBVTT\n\n"), Err(WebVttError::NoCues));
    assert_eq!(
        parse_webvtt("WEBVTT\n\nNOTE only a note\n\n00:01.000 --> 00:02.000\n<i></i>\n"),
        Err(WebVttError::NoCues)
    );
}

#[test]
fn timestamps_follow_the_specification() {
    assert_eq!(parse_timestamp("00:02.400"), Some(2_400));
    assert_eq!(parse_timestamp("00:01:02.400"), Some(62_400));
    assert_eq!(parse_timestamp("123:00:00.001"), Some(442_800_001));
    assert_eq!(parse_timestamp("0:00:00.000"), None);
    assert_eq!(parse_timestamp("00:60.000"), None);
    assert_eq!(parse_timestamp("00:00.00"), None);
    assert_eq!(parse_timestamp("00:00:00:00.000"), None);
    assert_eq!(parse_timestamp("+0:00.000"), None);
}

/// Renders a timestamp in the short (`MM:SS.mmm`, under an hour) or the long form.
fn render_timestamp(ms: u64, short: bool) -> String {
    let (hours, minutes, seconds, millis) = (
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000,
    );
    if short && hours == 0 {
        format!("{minutes:02}:{seconds:02}.{millis:03}")
    } else {
        format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cue_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9éü東&<>',.!?-]{1,8}", 1..6).prop_map(|words| words.join(" "))
}

proptest! {
    #[test]
    fn rendered_cues_parse_back(
        cues in prop::collection::vec((0u64..20_000_000, 0u64..100_000, cue_text(), any::<bool>(), any::<bool>(), any::<bool>()), 1..12),
        crlf in any::<bool>(),
    ) {
        let mut file = String::from("WEBVTT\n\n");
        let mut expected = Vec::new();
        for (index, (start, length, text, short, identifier, settings)) in cues.into_iter().enumerate() {
            let end = start + length;
            if identifier {
                file.push_str(&format!("cue-{index}\n"));
            }
            file.push_str(&format!("{} --> {}", render_timestamp(start, short), render_timestamp(end, !short)));
            if settings {
                file.push_str(" align:start position:10% line:-1");
            }
            file.push_str(&format!("\n<c.x>{}</c>\n\n", escape(&text)));
            expected.push(cue(start, end, &text));
        }
        if crlf {
            file = file.replace('\n', "\r\n");
        }
        let parsed = parse_webvtt(&file).unwrap();
        prop_assert_eq!(parsed.cues, expected);
    }

    #[test]
    fn arbitrary_input_never_panics(input in "(?s).{0,400}") {
        let _ = parse_webvtt(&input);
        let _ = parse_webvtt(&format!("WEBVTT\n\n{input}"));
    }

    #[test]
    fn arbitrary_vtt_like_input_never_panics(
        lines in prop::collection::vec("(WEBVTT|NOTE|STYLE|[0-9:.]{0,12} --> [0-9:.]{0,12}|<[a-z/.0-9: ]{0,6}>?|&[a-z#0-9]{0,5};?|[a-z ]{0,10}|)", 0..30)
    ) {
        let _ = parse_webvtt(&lines.join("\n"));
        let _ = parse_webvtt(&format!("WEBVTT\n{}", lines.join("\r")));
    }
}
