//! The WebVTT parser of subtitle files (W3C WebVTT, enough of it for TikTok's tracks and for
//! files written by other tools): signature, header, NOTE/STYLE/REGION blocks, cue identifiers,
//! both timestamp forms, cue settings, multi-line payloads, tags, character references and any
//! line ending. Returns the cues as plain text with times, and the whole text.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One cue: when it shows and its plain text (tags stripped, references decoded, one line per
/// payload line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// A parsed WebVTT file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedWebVtt {
    /// The cues with text, in file order.
    pub cues: Vec<Cue>,
    /// Every cue line joined with spaces; a line equal to the one before it (ASR tracks repeat
    /// the previous line in rolling captions) is kept once.
    pub text: String,
}

/// Why a file is not a usable WebVTT file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebVttError {
    #[error("the file does not start with the WEBVTT signature (starts with {start:?})")]
    MissingSignature { start: String },
    #[error("the WebVTT file has no cue with a valid timing line and text")]
    NoCues,
}

/// Parses a WebVTT file (any line ending, optional byte order mark).
pub fn parse_webvtt(input: &str) -> Result<ParsedWebVtt, WebVttError> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let normalised = input.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = normalised.split('\n').collect();
    let signature = lines.first().copied().unwrap_or_default();
    if !is_signature(signature) {
        return Err(WebVttError::MissingSignature {
            start: signature.chars().take(40).collect(),
        });
    }
    let mut cues = Vec::new();
    for (index, block) in blocks(&lines[1..]).into_iter().enumerate() {
        // The header block follows the signature line without a blank line; a timing line in
        // it starts a cue (the parser of the specification does the same).
        let block = if index == 0 && !signature_line_was_alone(&lines) {
            match block.iter().position(|line| line.contains("-->")) {
                Some(timing) => &block[timing..],
                None => continue,
            }
        } else {
            block
        };
        if let Some(cue) = parse_cue_block(block) {
            cues.push(cue);
        }
    }
    if cues.is_empty() {
        return Err(WebVttError::NoCues);
    }
    let text = plain_text(&cues);
    Ok(ParsedWebVtt { cues, text })
}

/// `WEBVTT`, alone or followed by a space or tab and any text.
fn is_signature(line: &str) -> bool {
    line.strip_prefix("WEBVTT")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Whether a blank line follows the signature line (so the first block is not the header).
fn signature_line_was_alone(lines: &[&str]) -> bool {
    lines.get(1).is_none_or(|line| line.trim().is_empty())
}

/// The lines grouped into blocks separated by blank lines.
fn blocks<'a>(lines: &'a [&'a str]) -> Vec<&'a [&'a str]> {
    lines
        .split(|line| line.trim().is_empty())
        .filter(|block| !block.is_empty())
        .collect()
}

/// One cue block: optional identifier, timing line, payload. `None` for NOTE, STYLE and REGION
/// blocks, blocks without a valid timing line, and cues without text.
fn parse_cue_block(block: &[&str]) -> Option<Cue> {
    let first = *block.first()?;
    let timing_index = if first.contains("-->") {
        0
    } else if is_keyword_block(first, "NOTE")
        || is_keyword_block(first, "STYLE")
        || is_keyword_block(first, "REGION")
    {
        return None;
    } else if block.get(1).is_some_and(|line| line.contains("-->")) {
        1
    } else {
        return None;
    };
    let (start_ms, end_ms) = parse_timing_line(block[timing_index])?;
    let lines: Vec<String> = block[timing_index + 1..]
        .iter()
        .take_while(|line| !line.contains("-->"))
        .map(|line| cue_line_text(line))
        .filter(|line| !line.is_empty())
        .collect();
    if lines.is_empty() {
        return None;
    }
    Some(Cue {
        start_ms,
        end_ms,
        text: lines.join("\n"),
    })
}

/// `NOTE`, `STYLE`, `REGION`: the keyword alone or followed by whitespace.
fn is_keyword_block(line: &str, keyword: &str) -> bool {
    line.strip_prefix(keyword)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// `start --> end [settings]`: the two times in milliseconds; the settings are ignored.
fn parse_timing_line(line: &str) -> Option<(u64, u64)> {
    let (start, rest) = line.split_once("-->")?;
    let start = parse_timestamp(start.trim())?;
    let rest = rest.trim_start();
    let end_text = rest.split([' ', '\t']).next().unwrap_or_default();
    let end = parse_timestamp(end_text)?;
    Some((start, end))
}

/// `HH:MM:SS.mmm` (hours: two or more digits) or `MM:SS.mmm`; minutes and seconds 00–59.
pub fn parse_timestamp(text: &str) -> Option<u64> {
    let (clock, millis) = text.split_once('.')?;
    let millis = three_digits(millis)?;
    let parts: Vec<&str> = clock.split(':').collect();
    let (hours, minutes, seconds) = match parts.as_slice() {
        [minutes, seconds] => (0, *minutes, *seconds),
        [hours, minutes, seconds] => {
            if hours.len() < 2 || !hours.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            (hours.parse::<u64>().ok()?, *minutes, *seconds)
        }
        _ => return None,
    };
    let minutes = two_digits_below_60(minutes)?;
    let seconds = two_digits_below_60(seconds)?;
    hours
        .checked_mul(3_600_000)?
        .checked_add(minutes * 60_000 + seconds * 1_000 + millis)
}

fn three_digits(text: &str) -> Option<u64> {
    (text.len() == 3 && text.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn two_digits_below_60(text: &str) -> Option<u64> {
    (text.len() == 2 && text.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .filter(|value| *value < 60)
}

/// One payload line as plain text: tags removed (ruby annotations `<rt>…</rt>` with their
/// text), character references decoded, whitespace runs collapsed, trimmed.
fn cue_line_text(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    let mut in_ruby_text = 0usize;
    while let Some(position) = rest.find(['<', '&']) {
        if in_ruby_text == 0 {
            out.push_str(&rest[..position]);
        }
        rest = &rest[position..];
        if rest.starts_with('<') {
            let (tag, consumed) = match rest.find('>') {
                Some(end) => (&rest[1..end], end + 1),
                None => (&rest[1..], rest.len()),
            };
            let name = tag.split(['.', ' ', '\t']).next().unwrap_or_default();
            match name {
                "rt" => in_ruby_text += 1,
                "/rt" => in_ruby_text = in_ruby_text.saturating_sub(1),
                _ => {}
            }
            rest = &rest[consumed..];
        } else {
            let (decoded, consumed) = character_reference(rest);
            if in_ruby_text == 0 {
                out.push_str(&decoded);
            }
            rest = &rest[consumed..];
        }
    }
    if in_ruby_text == 0 {
        out.push_str(rest);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text a character reference at the start of `text` stands for, and its length: the named
/// references WebVTT knows and numeric ones (`&#8217;`, `&#x2019;`). An unknown, unterminated or
/// invalid reference (NUL, a surrogate, beyond U+10FFFF) is kept as written (only the `&` is
/// consumed).
fn character_reference(text: &str) -> (Cow<'static, str>, usize) {
    const NAMED: [(&str, &str); 9] = [
        ("&amp;", "&"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&nbsp;", " "),
        ("&lrm;", ""),
        ("&rlm;", ""),
        ("&quot;", "\""),
        ("&apos;", "'"),
        ("&#39;", "'"),
    ];
    if let Some((reference, decoded)) = NAMED
        .iter()
        .find(|(reference, _)| text.starts_with(reference))
    {
        return (Cow::Borrowed(decoded), reference.len());
    }
    numeric_reference(text).unwrap_or((Cow::Borrowed("&"), 1))
}

/// `&#N;` or `&#xH;` (at most 8 digits) at the start of `text`.
fn numeric_reference(text: &str) -> Option<(Cow<'static, str>, usize)> {
    let body = text.strip_prefix("&#")?;
    let (digits, radix, prefix_len) = match body.strip_prefix(['x', 'X']) {
        Some(hex) => (hex, 16, 3),
        None => (body, 10, 2),
    };
    let end = digits.find(';')?;
    let number = &digits[..end];
    if number.is_empty() || number.len() > 8 || !number.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let character = u32::from_str_radix(number, radix)
        .ok()
        .filter(|code| *code != 0)
        .and_then(char::from_u32)?;
    Some((Cow::Owned(character.to_string()), prefix_len + end + 1))
}

/// The cue lines joined with spaces, consecutive repeated lines kept once.
fn plain_text(cues: &[Cue]) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in cues.iter().flat_map(|cue| cue.text.lines()) {
        if kept.last() != Some(&line) {
            kept.push(line);
        }
    }
    kept.join(" ")
}

#[cfg(test)]
mod tests;
