//! Deterministic media bytes the CDN serves: fake MP4 (real `ftyp` box), fake MP3 (ID3 header
//! and MPEG frame headers), WebVTT subtitles consistent with the caption, and images.

use bytes::Bytes;

use crate::corpus::ids;
use crate::corpus::posts::{self, Post, SubtitleSource, SubtitleTrack};

use super::jpeg;

fn fill_pseudo_random(out: &mut Vec<u8>, mut state: u64, len: usize) {
    while out.len() < len {
        state = ids::mix64(state);
        let chunk = state.to_le_bytes();
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&chunk[..take]);
    }
}

/// The fake MP4 for `object_key`; its length is [`posts::video_file_len`].
pub fn fake_mp4(object_key: &str) -> Vec<u8> {
    let len = posts::video_file_len(object_key) as usize;
    let mut out = Vec::with_capacity(len);
    // ftyp: major brand isom, minor version 0x200, compatible brands isom iso2 avc1 mp41.
    out.extend_from_slice(&32u32.to_be_bytes());
    out.extend_from_slice(b"ftypisom");
    out.extend_from_slice(&0x200u32.to_be_bytes());
    out.extend_from_slice(b"isomiso2avc1mp41");
    out.extend_from_slice(&8u32.to_be_bytes());
    out.extend_from_slice(b"free");
    out.extend_from_slice(&((len - out.len()) as u32).to_be_bytes());
    out.extend_from_slice(b"mdat");
    fill_pseudo_random(&mut out, ids::hash_bytes(1, object_key.as_bytes()), len);
    out
}

/// The fake MP3 for `audio_key`; its length is [`posts::audio_file_len`].
pub fn fake_mp3(audio_key: &str) -> Vec<u8> {
    let len = posts::audio_file_len(audio_key) as usize;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(b"ID3\x04\x00\x00\x00\x00\x00\x00");
    let mut state = ids::hash_bytes(2, audio_key.as_bytes());
    while out.len() + 417 <= len {
        // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames.
        out.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        let frame_end = out.len() + 413;
        state = ids::mix64(state);
        fill_pseudo_random(&mut out, state, frame_end);
    }
    out
}

/// The JPEG served for an image key (small, with the advertised aspect ratio).
pub fn image_jpeg(key: &str) -> Vec<u8> {
    let (width, height) = posts::image_dimensions(key);
    let scale = 96.0 / width.max(height) as f32;
    let scaled = |value: u32| ((value as f32 * scale).round() as u16).max(8);
    jpeg::encode(
        scaled(width),
        scaled(height),
        ids::hash_bytes(3, key.as_bytes()),
    )
}

fn timestamp(milliseconds: u64, short: bool) -> String {
    let (hours, rest) = (milliseconds / 3_600_000, milliseconds % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1_000, rest % 1_000);
    if short && hours == 0 {
        format!("{minutes:02}:{seconds:02}.{millis:03}")
    } else {
        format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
    }
}

/// Few-word translations so machine-translated tracks read differently from the original.
fn translate(word: &str, language: &str) -> String {
    let table: &[(&str, &str)] = match language {
        "ind-ID" => &[
            ("the", "itu"),
            ("my", "saya"),
            ("new", "baru"),
            ("this", "ini"),
            ("you", "kamu"),
            ("and", "dan"),
        ],
        "eng-US" => &[
            ("cara", "how to"),
            ("bikin", "make"),
            ("resep", "recipe"),
            ("kopi", "coffee"),
            ("día", "day"),
            ("de", "of"),
        ],
        _ => &[],
    };
    table
        .iter()
        .find(|(from, _)| from.eq_ignore_ascii_case(word))
        .map_or_else(|| word.to_string(), |(_, to)| (*to).to_string())
}

/// What `track` says: the caption's spoken words (translated for a machine-translated track),
/// or `[Music]` when the caption has none.
pub fn subtitle_words(post: &Post, track: &SubtitleTrack) -> Vec<String> {
    let language = track.language_code_name();
    let mut words: Vec<String> = post
        .spoken_lines
        .iter()
        .flat_map(|line| line.split_whitespace())
        .map(|word| match track.source {
            SubtitleSource::Asr => word.to_string(),
            SubtitleSource::Mt => translate(word, language),
        })
        .collect();
    if words.is_empty() {
        words.push("[Music]".to_string());
    }
    words
}

/// The WebVTT file of `track`: [`subtitle_words`] spread over the video's duration, with short
/// `MM:SS.mmm` and full timestamps, cue settings and `<c>` styling tags.
pub fn webvtt(post: &Post, track: &SubtitleTrack) -> String {
    let words = subtitle_words(post, track);
    let chunks: Vec<String> = words.chunks(4).map(|chunk| chunk.join(" ")).collect();
    let total_ms = u64::from(post.duration.max(1)) * 1_000;
    let step = (total_ms / chunks.len() as u64).clamp(400, 4_000);
    let mut out = String::from("WEBVTT\n\n");
    for (number, text) in chunks.iter().enumerate() {
        let start = number as u64 * step;
        let end = start + step - 40;
        let short = number % 2 == 0;
        let settings = if number == 0 {
            " align:start position:10%"
        } else {
            ""
        };
        let body = if number % 3 == 1 {
            format!("<c>{text}</c>")
        } else {
            text.clone()
        };
        out.push_str(&format!(
            "{}\n{} --> {}{settings}\n{body}\n\n",
            number + 1,
            timestamp(start, short),
            timestamp(end, short)
        ));
    }
    out
}

/// A WebVTT body rewritten as SubRip: the `WEBVTT` header block dropped, `.` → `,` in timing
/// lines. Any other body is returned unchanged.
pub fn webvtt_as_subrip(body: &Bytes) -> Bytes {
    let Some(text) = std::str::from_utf8(body)
        .ok()
        .filter(|text| text.starts_with("WEBVTT"))
    else {
        return body.clone();
    };
    let cues = text.split_once("\n\n").map_or("", |(_, cues)| cues);
    let subrip: Vec<String> = cues
        .lines()
        .map(|line| {
            if line.contains("-->") {
                line.replace('.', ",")
            } else {
                line.to_owned()
            }
        })
        .collect();
    Bytes::from(subrip.join("\n"))
}

/// How a `Range` header applies to a body of known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOutcome {
    /// No usable single range: serve the whole body (200).
    Whole,
    /// Serve bytes `start..=end` (206).
    Partial(usize, usize),
    /// 416 Range Not Satisfiable.
    Unsatisfiable,
}

/// Interprets a `Range` header value (`bytes=a-b`, `bytes=a-`, `bytes=-n`) for a body of `len`.
pub fn byte_range(range: &str, len: usize) -> RangeOutcome {
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return RangeOutcome::Whole;
    };
    if spec.contains(',') {
        return RangeOutcome::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeOutcome::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let last_byte = len.saturating_sub(1);
    let bounds = if first.is_empty() {
        match last.parse::<usize>() {
            Ok(0) => return RangeOutcome::Unsatisfiable,
            Ok(suffix) => (len.saturating_sub(suffix), last_byte),
            Err(_) => return RangeOutcome::Whole,
        }
    } else {
        let Ok(start) = first.parse::<usize>() else {
            return RangeOutcome::Whole;
        };
        if last.is_empty() {
            (start, last_byte)
        } else {
            match last.parse::<usize>() {
                Ok(end) => (start, end.min(last_byte)),
                Err(_) => return RangeOutcome::Whole,
            }
        }
    };
    if len == 0 || bounds.0 >= len || bounds.0 > bounds.1 {
        return RangeOutcome::Unsatisfiable;
    }
    RangeOutcome::Partial(bounds.0, bounds.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp4_starts_with_ftyp_and_has_the_advertised_length() {
        let bytes = fake_mp4("oAbc");
        assert_eq!(&bytes[4..8], b"ftyp");
        assert_eq!(bytes.len() as u64, posts::video_file_len("oAbc"));
        assert_eq!(&bytes[44..48], b"mdat");
    }

    #[test]
    fn mp3_has_id3_and_frame_sync() {
        let bytes = fake_mp3("oXyz");
        assert_eq!(&bytes[..3], b"ID3");
        assert_eq!(&bytes[10..12], &[0xFF, 0xFB]);
        assert_eq!(bytes.len() as u64, posts::audio_file_len("oXyz"));
    }

    #[test]
    fn ranges_follow_http_semantics() {
        assert_eq!(byte_range("bytes=0-", 10), RangeOutcome::Partial(0, 9));
        assert_eq!(byte_range("bytes=2-4", 10), RangeOutcome::Partial(2, 4));
        assert_eq!(byte_range("bytes=5-100", 10), RangeOutcome::Partial(5, 9));
        assert_eq!(byte_range("bytes=-3", 10), RangeOutcome::Partial(7, 9));
        assert_eq!(byte_range("bytes=10-", 10), RangeOutcome::Unsatisfiable);
        assert_eq!(byte_range("items=0-1", 10), RangeOutcome::Whole);
    }

    #[test]
    fn webvtt_becomes_subrip_and_other_bodies_pass() {
        let vtt =
            Bytes::from_static(b"WEBVTT\n\n1\n00:00.000 --> 00:02.960 align:start\nhi there\n");
        assert_eq!(
            &webvtt_as_subrip(&vtt)[..],
            b"1\n00:00,000 --> 00:02,960 align:start\nhi there"
        );
        let page = Bytes::from_static(b"<html>x.y</html>");
        assert_eq!(webvtt_as_subrip(&page), page);
    }

    #[test]
    fn short_and_long_timestamps() {
        assert_eq!(timestamp(2_400, true), "00:02.400");
        assert_eq!(timestamp(62_400, false), "00:01:02.400");
    }
}
