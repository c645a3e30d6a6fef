//! Which subtitle track answers a transcript request: the requested language by TikTok's labels
//! (`en` → `eng-*` or language code `en`, `id` → `ind-*` or `id`), creator captions before ASR
//! before machine translation, the main region (`eng-US`, `ind-ID`) before others. Never another
//! language: without a matching track the transcript is unavailable.

use std::cmp::Reverse;

use tokworks_shared::job_options::Language;
use tokworks_shared::video::{Subtitle, SubtitleSource};

/// TikTok's three-letter prefix of the language's track labels and the preferred label.
fn track_labels(language: Language) -> (&'static str, &'static str) {
    match language {
        Language::En => ("eng", "eng-US"),
        Language::Id => ("ind", "ind-ID"),
    }
}

/// Whether `track` is in `language`.
fn is_in_language(track: &Subtitle, language: Language) -> bool {
    let (prefix, _) = track_labels(language);
    let name = track.language_code_name.to_ascii_lowercase();
    let by_name = name == prefix || name.starts_with(&format!("{prefix}-"));
    let by_code = track
        .language_code
        .as_deref()
        .is_some_and(|code| code.eq_ignore_ascii_case(language.as_str()));
    by_name || by_code
}

/// The answer of [`choose_track`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackChoice<'a> {
    Chosen(&'a Subtitle),
    /// No track in the requested language.
    Unavailable,
}

/// Picks the best track in `language`; deterministic for a given list (ties fall back to the
/// label, then the URL).
pub fn choose_track(tracks: &[Subtitle], language: Language) -> TrackChoice<'_> {
    let (_, preferred_label) = track_labels(language);
    tracks
        .iter()
        .filter(|track| is_in_language(track, language))
        .min_by_key(|track| {
            (
                source_rank(track.source),
                Reverse(track.language_code_name == preferred_label),
                track.language_code_name.as_str(),
                track.url.as_str(),
            )
        })
        .map_or(TrackChoice::Unavailable, TrackChoice::Chosen)
}

/// Creator captions first, then speech recognition, then machine translation.
fn source_rank(source: SubtitleSource) -> u8 {
    match source {
        SubtitleSource::Creator => 0,
        SubtitleSource::Asr => 1,
        SubtitleSource::Mt => 2,
    }
}

/// The labels of every track, sorted, each once.
pub fn available_languages(tracks: &[Subtitle]) -> Vec<String> {
    let mut languages: Vec<String> = tracks
        .iter()
        .map(|track| track.language_code_name.clone())
        .collect();
    languages.sort();
    languages.dedup();
    languages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(name: &str, code: Option<&str>, source: SubtitleSource, url: &str) -> Subtitle {
        Subtitle {
            language_code_name: name.to_owned(),
            language_code: code.map(str::to_owned),
            source,
            format: Some("webvtt".to_owned()),
            url: url.to_owned(),
            expires_at: None,
        }
    }

    #[test]
    fn tiktok_labels_match_the_short_language() {
        let tracks = [
            track("ind-ID", Some("id"), SubtitleSource::Asr, "u1"),
            track("eng-US", Some("en"), SubtitleSource::Mt, "u2"),
        ];
        assert_eq!(
            choose_track(&tracks, Language::En),
            TrackChoice::Chosen(&tracks[1])
        );
        assert_eq!(
            choose_track(&tracks, Language::Id),
            TrackChoice::Chosen(&tracks[0])
        );
    }

    #[test]
    fn creator_before_asr_before_mt_then_the_main_region() {
        let tracks = [
            track("eng-US", None, SubtitleSource::Mt, "mt"),
            track("eng-GB", None, SubtitleSource::Asr, "asr-gb"),
            track("eng-US", None, SubtitleSource::Asr, "asr-us"),
            track("eng-AU", None, SubtitleSource::Creator, "creator"),
        ];
        let pick = |tracks: &[Subtitle]| match choose_track(tracks, Language::En) {
            TrackChoice::Chosen(track) => track.url.clone(),
            TrackChoice::Unavailable => String::new(),
        };
        assert_eq!(pick(&tracks), "creator");
        assert_eq!(pick(&tracks[..3]), "asr-us");
        let mut reversed = tracks[..3].to_vec();
        reversed.reverse();
        assert_eq!(
            pick(&reversed),
            "asr-us",
            "the order of the list does not matter"
        );
        assert_eq!(pick(&tracks[..1]), "mt");
    }

    #[test]
    fn another_language_is_never_substituted() {
        let tracks = [
            track("spa-ES", Some("es"), SubtitleSource::Asr, "es"),
            track("engx-US", None, SubtitleSource::Asr, "not-english"),
        ];
        assert_eq!(
            choose_track(&tracks, Language::En),
            TrackChoice::Unavailable
        );
        assert_eq!(choose_track(&[], Language::Id), TrackChoice::Unavailable);
        assert_eq!(available_languages(&tracks), ["engx-US", "spa-ES"]);
        let by_code = [track("xx", Some("en"), SubtitleSource::Asr, "code")];
        assert_eq!(
            choose_track(&by_code, Language::En),
            TrackChoice::Chosen(&by_code[0])
        );
    }
}
