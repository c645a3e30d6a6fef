//! A TikTok sound (music) as the feed walker reads it from `/api/music/detail/`
//! (docs/tiktok-formats.md "Music") and stores it with the walk (`feed_walks.sound`, decoded in
//! `shared::db::feed_walks::sounds`), so every job the walk serves (cache hits too) shows it; and
//! the two feed targets of issue #15 as the api and the feed keys normalise them: a search query
//! and a music id.

use serde::{Deserialize, Serialize};

use crate::tiktok_url::{TiktokUrl, TiktokUrlKind};

/// Longest accepted search query, in characters (after trimming).
pub const MAX_SEARCH_QUERY_CHARS: usize = 100;
/// Digits of a music id given bare (not as a URL).
pub const MUSIC_ID_DIGITS: usize = 19;

/// A sound's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SoundInfo {
    /// The music id (decimal string).
    pub id: String,
    pub title: String,
    /// The author's name (`music.authorName`, else the author's nickname or unique id).
    pub author: Option<String>,
    pub album: Option<String>,
    pub duration_seconds: Option<u32>,
    /// Whether it is an original sound (made with a video) rather than a licensed track.
    pub original: bool,
    pub cover_url: Option<String>,
    pub play_url: Option<String>,
    /// How many videos use it, as TikTok counts them (`statsV2` preferred).
    pub video_count: Option<u64>,
}

/// A search query as feeds key it: trimmed, inner whitespace collapsed to one space,
/// lowercased. `None` when nothing is left or it is longer than [`MAX_SEARCH_QUERY_CHARS`].
pub fn normalise_search_query(text: &str) -> Option<String> {
    let query = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let chars = query.chars().count();
    (1..=MAX_SEARCH_QUERY_CHARS)
        .contains(&chars)
        .then_some(query)
}

/// Why a sound target is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoundTargetError {
    #[error(
        "must be a 19-digit music id or a sound URL (https://www.tiktok.com/music/<name>-<id>)"
    )]
    Malformed,
    #[error("not a sound URL: {what}")]
    NotASound { what: &'static str },
}

/// The music id of a sound target: a bare [`MUSIC_ID_DIGITS`]-digit id, or a TikTok sound URL
/// (`tiktok.com/music/<slug>-<id>`, the old `h5/share/music/<id>.html`).
pub fn parse_sound_target(text: &str) -> Result<String, SoundTargetError> {
    let text = text.trim();
    if text.len() == MUSIC_ID_DIGITS && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return match text.parse::<u64>() {
            Ok(value) if value > 0 => Ok(text.to_owned()),
            _ => Err(SoundTargetError::Malformed),
        };
    }
    if !(text.contains('/') || text.contains("tiktok.")) {
        return Err(SoundTargetError::Malformed);
    }
    let url = TiktokUrl::parse(text).map_err(|_| SoundTargetError::Malformed)?;
    match url.kind() {
        TiktokUrlKind::Sound { music_id } => Ok(music_id.clone()),
        other => Err(SoundTargetError::NotASound {
            what: other.describe(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn queries_are_trimmed_collapsed_and_lowercased() {
        assert_eq!(
            normalise_search_query("  Spicy \t RAMEN\n").as_deref(),
            Some("spicy ramen")
        );
        assert_eq!(normalise_search_query("   "), None);
        assert_eq!(
            normalise_search_query(&"a".repeat(100)).as_deref(),
            Some(&*"a".repeat(100))
        );
        assert_eq!(normalise_search_query(&"a".repeat(101)), None);
        assert_eq!(
            normalise_search_query(&format!("  {}  ", "é".repeat(100))).map(|q| q.chars().count()),
            Some(100)
        );
    }

    #[test]
    fn sound_targets_are_ids_or_sound_urls() {
        let id = "7454730076952459393";
        for input in [
            id.to_owned(),
            format!(" {id} "),
            format!("https://www.tiktok.com/music/original-sound-{id}"),
            format!("www.tiktok.com/music/Espresso-{id}?lang=en"),
        ] {
            assert_eq!(parse_sound_target(&input).as_deref(), Ok(id), "{input}");
        }
        for bad in [
            "",
            "123",
            "74547300769524593930",
            "abc",
            "0000000000000000000",
        ] {
            assert_eq!(
                parse_sound_target(bad),
                Err(SoundTargetError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            parse_sound_target("https://www.tiktok.com/tag/food"),
            Err(SoundTargetError::NotASound {
                what: "a hashtag URL: submit kind `hashtag`"
            })
        );
    }

    proptest! {
        #[test]
        fn a_normalised_query_is_stable(text in "\\PC{0,120}") {
            if let Some(query) = normalise_search_query(&text) {
                prop_assert_eq!(normalise_search_query(&query), Some(query.clone()));
                prop_assert!(!query.starts_with(' ') && !query.ends_with(' '));
                prop_assert!(!query.contains("  "));
            }
        }

        #[test]
        fn any_text_is_a_music_id_or_an_error(text in "\\PC{0,80}") {
            if let Ok(id) = parse_sound_target(&text) {
                prop_assert!(id.bytes().all(|byte| byte.is_ascii_digit()));
            }
        }
    }
}
