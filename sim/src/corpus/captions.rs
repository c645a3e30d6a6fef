//! Captions with hashtags, @mentions and emoji, and their entity spans in UTF-16 code units
//! (TikTok's `textExtra`: `end` exclusive, the span includes the `#`/`@`).

/// What a caption span points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanEntity {
    /// Index into the corpus hashtag table.
    Hashtag(u32),
    /// Index into the corpus user table.
    Mention(u32),
}

/// One entity span, offsets in UTF-16 code units of the text it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptionSpan {
    pub start: u32,
    pub end: u32,
    pub entity: SpanEntity,
}

/// One line of a caption (TikTok's `contents[]`), spans relative to the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptionLine {
    pub text: String,
    pub spans: Vec<CaptionSpan>,
}

/// A whole caption: `desc`, its spans, and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caption {
    pub text: String,
    pub spans: Vec<CaptionSpan>,
    pub lines: Vec<CaptionLine>,
}

/// One token to place in a caption line.
#[derive(Debug, Clone, Copy)]
pub enum CaptionToken<'a> {
    Plain(&'a str),
    Hashtag { name: &'a str, hashtag: u32 },
    Mention { unique_id: &'a str, user: u32 },
}

/// Builds a caption from lines of tokens, separated by single spaces within a line and by
/// `\n` between lines.
pub fn build_caption(lines: &[Vec<CaptionToken<'_>>]) -> Caption {
    let mut caption = Caption::default();
    let mut offset_before_line: u32 = 0;
    for (line_number, tokens) in lines.iter().enumerate() {
        if line_number > 0 {
            caption.text.push('\n');
            offset_before_line += 1;
        }
        let mut line = CaptionLine {
            text: String::new(),
            spans: Vec::new(),
        };
        let mut line_units: u32 = 0;
        for (token_number, token) in tokens.iter().enumerate() {
            if token_number > 0 {
                line.text.push(' ');
                line_units += 1;
            }
            let (text, entity) = match token {
                CaptionToken::Plain(text) => ((*text).to_string(), None),
                CaptionToken::Hashtag { name, hashtag } => {
                    (format!("#{name}"), Some(SpanEntity::Hashtag(*hashtag)))
                }
                CaptionToken::Mention { unique_id, user } => {
                    (format!("@{unique_id}"), Some(SpanEntity::Mention(*user)))
                }
            };
            let units = utf16_len(&text);
            if let Some(entity) = entity {
                let span = CaptionSpan {
                    start: line_units,
                    end: line_units + units,
                    entity,
                };
                line.spans.push(span);
                caption.spans.push(CaptionSpan {
                    start: offset_before_line + span.start,
                    end: offset_before_line + span.end,
                    entity,
                });
            }
            line.text.push_str(&text);
            line_units += units;
        }
        caption.text.push_str(&line.text);
        offset_before_line += line_units;
        caption.lines.push(line);
    }
    caption
}

/// Length of `text` in UTF-16 code units.
pub fn utf16_len(text: &str) -> u32 {
    text.chars().map(|c| c.len_utf16() as u32).sum()
}

/// The substring of `text` between UTF-16 offsets `[start, end)`, if they fall on character
/// boundaries.
pub fn utf16_slice(text: &str, start: u32, end: u32) -> Option<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let piece = units.get(start as usize..end as usize)?;
    String::from_utf16(piece).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_use_utf16_offsets_like_the_reference_example() {
        let caption = build_caption(&[vec![
            CaptionToken::Plain("testing the new camera 🎥"),
            CaptionToken::Hashtag {
                name: "fyp",
                hashtag: 0,
            },
            CaptionToken::Hashtag {
                name: "cats",
                hashtag: 7,
            },
            CaptionToken::Mention {
                unique_id: "other.user",
                user: 3,
            },
        ]]);
        assert_eq!(
            caption.text,
            "testing the new camera 🎥 #fyp #cats @other.user"
        );
        let offsets: Vec<(u32, u32)> = caption.spans.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(offsets, vec![(26, 30), (31, 36), (37, 48)]);
    }

    #[test]
    fn multi_line_captions_have_line_relative_spans() {
        let caption = build_caption(&[
            vec![
                CaptionToken::Plain("día ☕"),
                CaptionToken::Hashtag {
                    name: "fypシ",
                    hashtag: 1,
                },
            ],
            vec![
                CaptionToken::Plain("part 2 👇"),
                CaptionToken::Mention {
                    unique_id: "a.b",
                    user: 2,
                },
            ],
        ]);
        for span in &caption.spans {
            let piece = utf16_slice(&caption.text, span.start, span.end).unwrap();
            assert!(piece.starts_with('#') || piece.starts_with('@'), "{piece}");
        }
        assert_eq!(caption.lines.len(), 2);
        let second = &caption.lines[1];
        assert_eq!(
            utf16_slice(&second.text, second.spans[0].start, second.spans[0].end).unwrap(),
            "@a.b"
        );
        assert_eq!(
            utf16_slice(&caption.text, caption.spans[0].start, caption.spans[0].end).unwrap(),
            "#fypシ"
        );
    }
}
