//! The options of a job as stored in `jobs.options` and read by the worker: versioned, typed,
//! with the one `Language` of analyses, prompts and transcripts.

use serde::{Deserialize, Serialize};

/// The current [`StoredJobOptions::v`]. Bump it (and keep reading the old one) on any change.
pub const JOB_OPTIONS_VERSION: u32 = 1;

/// The language a job asks its thumbnail analysis and transcript in (`options.language`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Id,
}

impl Language {
    /// Every language, in catalogue order.
    pub const ALL: [Language; 2] = [Language::En, Language::Id];

    /// The ISO 639-1 code: `en` or `id`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Id => "id",
        }
    }

    /// `en` or `id`; anything else is `None`.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.as_str() == code)
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A job's options as stored (`jobs.options`) and read by the worker. Every field has a default,
/// so rows written before the version field (and `{}`) still decode; unknown fields are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredJobOptions {
    /// Version of this shape, [`JOB_OPTIONS_VERSION`]; rows without it are version 1.
    #[serde(default = "first_version")]
    pub v: u32,
    /// Bypass the cache and fetch from TikTok again (a copy fetched since the job was submitted
    /// still serves).
    #[serde(default)]
    pub refresh: bool,
    /// Analyse the thumbnail in `language`.
    #[serde(default)]
    pub analyze_thumbnail: bool,
    #[serde(default)]
    pub language: Language,
    /// Fetch the transcript in `language`.
    #[serde(default)]
    pub transcript: bool,
}

fn first_version() -> u32 {
    1
}

impl Default for StoredJobOptions {
    fn default() -> Self {
        StoredJobOptions {
            v: JOB_OPTIONS_VERSION,
            refresh: false,
            analyze_thumbnail: false,
            language: Language::default(),
            transcript: false,
        }
    }
}

impl StoredJobOptions {
    /// The language of the thumbnail analysis the job asked for, or `None` when it asked for none.
    pub fn analysis_language(&self) -> Option<Language> {
        self.analyze_thumbnail.then_some(self.language)
    }

    /// The language of the transcript the job asked for, or `None` when it asked for none.
    pub fn transcript_language(&self) -> Option<Language> {
        self.transcript.then_some(self.language)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_written_before_the_version_and_empty_rows_decode() {
        let old: StoredJobOptions = serde_json::from_value(json!({
            "refresh": true, "analyze_thumbnail": false, "language": "id", "transcript": true
        }))
        .unwrap();
        assert_eq!(old.v, 1);
        assert!(old.refresh && old.transcript && !old.analyze_thumbnail);
        assert_eq!(old.transcript_language(), Some(Language::Id));
        assert_eq!(old.analysis_language(), None);
        let empty: StoredJobOptions = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty, StoredJobOptions::default());
    }

    #[test]
    fn options_are_stored_with_their_version() {
        let stored = serde_json::to_value(StoredJobOptions::default()).unwrap();
        assert_eq!(stored["v"], JOB_OPTIONS_VERSION);
        assert_eq!(stored["language"], "en");
    }

    #[test]
    fn languages_read_their_codes_only() {
        for language in Language::ALL {
            assert_eq!(Language::from_code(language.as_str()), Some(language));
        }
        assert_eq!(Language::from_code("fr"), None);
    }
}
