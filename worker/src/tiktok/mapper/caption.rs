//! Hashtags and mentions of a caption: from `textExtra` spans (UTF-16 offsets into `desc`, caption
//! order), else the per-piece spans of `contents`, completed by `challenges`; the caption text
//! itself is read only when TikTok sent neither spans nor challenges.

use std::sync::LazyLock;

use regex::Regex;
use tokworks_shared::video::{Hashtag, Mention};

use crate::tiktok::item::{ItemStruct, TextExtra, non_empty};
use crate::tiktok::lenient::{FlexI64, FlexU64};

static HASHTAG_IN_TEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"#([\p{L}\p{N}\p{M}_]+)").ok());
static MENTION_IN_TEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"@([A-Za-z0-9._]+)").ok());

/// The `[start, end)` UTF-16 code-unit span of `text`, when it is inside the text.
pub(super) fn utf16_slice(text: &str, start: u64, end: u64) -> Option<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let start = usize::try_from(start).ok()?;
    let end = usize::try_from(end).ok()?;
    (start < end && end <= units.len()).then(|| String::from_utf16_lossy(&units[start..end]))
}

/// Hashtags (with ids when known) and mentions, in caption order, without duplicates.
pub(super) fn hashtags_and_mentions(
    item: &ItemStruct,
    description: &str,
) -> (Vec<Hashtag>, Vec<Mention>) {
    let mut hashtags: Vec<Hashtag> = Vec::new();
    let mut mentions: Vec<Mention> = Vec::new();

    let pieces: Vec<(&str, &[TextExtra])> = if item.text_extra.is_empty() {
        item.contents
            .iter()
            .map(|piece| {
                (
                    piece.desc.as_deref().unwrap_or_default(),
                    piece.text_extra.as_slice(),
                )
            })
            .collect()
    } else {
        vec![(description, item.text_extra.as_slice())]
    };
    for (text, spans) in pieces {
        let mut ordered: Vec<&TextExtra> = spans.iter().collect();
        ordered.sort_by_key(|span| span.start.map_or(u64::MAX, |FlexU64(start)| start));
        for span in ordered {
            add_span(span, text, &mut hashtags, &mut mentions);
        }
    }

    for challenge in &item.challenges {
        let Some(name) = non_empty(challenge.title.as_deref()) else {
            continue;
        };
        let id = challenge
            .id
            .as_ref()
            .map(|id| id.0.trim().to_string())
            .filter(|id| !id.is_empty() && id != "0");
        match hashtags
            .iter_mut()
            .find(|hashtag| hashtag.name.eq_ignore_ascii_case(&name))
        {
            Some(existing) => {
                if existing.id.is_none() {
                    existing.id = id;
                }
            }
            None => hashtags.push(Hashtag { id, name }),
        }
    }

    let has_spans = !item.text_extra.is_empty()
        || item
            .contents
            .iter()
            .any(|piece| !piece.text_extra.is_empty());
    if !has_spans && item.challenges.is_empty() {
        if let Some(pattern) = HASHTAG_IN_TEXT.as_ref() {
            for captures in pattern.captures_iter(description) {
                push_hashtag(
                    &mut hashtags,
                    Hashtag {
                        id: None,
                        name: captures[1].to_string(),
                    },
                );
            }
        }
        if let Some(pattern) = MENTION_IN_TEXT.as_ref() {
            for captures in pattern.captures_iter(description) {
                let unique_id = captures[1].trim_end_matches('.').to_string();
                push_mention(
                    &mut mentions,
                    Mention {
                        user_id: None,
                        unique_id,
                        sec_uid: None,
                    },
                );
            }
        }
    }
    (hashtags, mentions)
}

fn add_span(
    span: &TextExtra,
    text: &str,
    hashtags: &mut Vec<Hashtag>,
    mentions: &mut Vec<Mention>,
) {
    let span_text = match (span.start, span.end) {
        (Some(FlexU64(start)), Some(FlexU64(end))) => utf16_slice(text, start, end),
        _ => None,
    };
    let kind = span.kind.map(|FlexI64(kind)| kind);
    let hashtag_name = non_empty(span.hashtag_name.as_deref());
    let user_unique_id = non_empty(span.user_unique_id.as_deref());
    let is_hashtag = kind == Some(1)
        || hashtag_name.is_some()
        || (kind.is_none()
            && user_unique_id.is_none()
            && span_text
                .as_deref()
                .is_some_and(|text| text.starts_with('#')));
    if is_hashtag {
        let name = hashtag_name.or_else(|| {
            span_text
                .as_deref()
                .and_then(|text| non_empty(Some(text.trim_start_matches('#'))))
        });
        if let Some(name) = name {
            let id = span
                .hashtag_id
                .as_ref()
                .map(|id| id.0.trim().to_string())
                .filter(|id| !id.is_empty() && id != "0");
            push_hashtag(hashtags, Hashtag { id, name });
        }
        return;
    }
    let unique_id = user_unique_id.or_else(|| {
        span_text
            .as_deref()
            .filter(|text| text.starts_with('@'))
            .and_then(|text| non_empty(Some(text.trim_start_matches('@'))))
    });
    if let Some(unique_id) = unique_id {
        push_mention(
            mentions,
            Mention {
                user_id: span
                    .user_id
                    .as_ref()
                    .map(|id| id.0.trim().to_string())
                    .filter(|id| !id.is_empty() && id != "0"),
                unique_id,
                sec_uid: non_empty(span.sec_uid.as_deref()),
            },
        );
    }
}

fn push_hashtag(hashtags: &mut Vec<Hashtag>, hashtag: Hashtag) {
    if !hashtags
        .iter()
        .any(|existing| existing.name.eq_ignore_ascii_case(&hashtag.name))
    {
        hashtags.push(hashtag);
    }
}

fn push_mention(mentions: &mut Vec<Mention>, mention: Mention) {
    if !mentions
        .iter()
        .any(|existing| existing.unique_id.eq_ignore_ascii_case(&mention.unique_id))
    {
        mentions.push(mention);
    }
}
