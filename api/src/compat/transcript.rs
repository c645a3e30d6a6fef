//! The old analyzer's transcript fields of `VideoMetadata` (`transcript`, `has_transcript`,
//! `transcript_language`, `transcript_confidence`), built from tokworks' transcript. Kept: the
//! `TranscriptExtractionResult` keys (`url`, `success`, `transcript`, `available_subtitles`,
//! `error_message`, `fallback_used`, `quality_assessment`) and TikTok's track label as
//! `transcript_language`. Changed on purpose: `available_subtitles` lists track labels, not the
//! signed CDN URLs; the confidence and quality heuristics are gone (null); no language fallback;
//! the `description` is never rewritten with the transcript appended.

use serde::Serialize;
use serde_json::Value;
use tokworks_shared::job_status::TranscriptStatus;

use crate::jobs::transcript_view::TranscriptResponse;

/// `TranscriptExtractionResult`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptExtractionResult {
    pub url: String,
    pub success: bool,
    pub transcript: Option<VideoTranscript>,
    /// The labels of the post's tracks (`eng-US`, …).
    pub available_subtitles: Vec<String>,
    pub error_message: Option<String>,
    /// Always false: another language is never substituted.
    pub fallback_used: bool,
    /// Always null: no quality heuristic.
    pub quality_assessment: Option<Value>,
}

/// `VideoTranscript`: the track's segments with times in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoTranscript {
    /// TikTok's label of the track, e.g. `eng-US`.
    pub language: Option<String>,
    /// `asr`, `mt` or `creator`.
    pub source: Option<String>,
    pub full_text: String,
    pub segments: Vec<TranscriptSegment>,
    /// Always null: TikTok gives no confidence.
    pub confidence: Option<f64>,
}

/// One cue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptSegment {
    /// Seconds.
    pub start: f64,
    /// Seconds.
    pub end: f64,
    pub text: String,
}

/// The four transcript fields of `VideoMetadata`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompatTranscriptFields {
    pub transcript: Option<TranscriptExtractionResult>,
    pub has_transcript: Option<bool>,
    pub transcript_language: Option<String>,
    pub transcript_confidence: Option<f64>,
}

impl CompatTranscriptFields {
    /// All null when no transcript was requested; otherwise the result of the transcript stage
    /// (`has_transcript` false when there is none).
    pub fn build(
        input_url: &str,
        requested: bool,
        transcript: Option<&TranscriptResponse>,
    ) -> CompatTranscriptFields {
        if !requested {
            return CompatTranscriptFields::default();
        }
        let Some(transcript) = transcript else {
            return CompatTranscriptFields {
                has_transcript: Some(false),
                ..CompatTranscriptFields::default()
            };
        };
        let succeeded = transcript.status == TranscriptStatus::Succeeded;
        let video_transcript = succeeded.then(|| VideoTranscript {
            language: transcript.track_language.clone(),
            source: transcript.source.clone(),
            full_text: transcript.text.clone().unwrap_or_default(),
            segments: segments(&transcript.cues),
            confidence: None,
        });
        let error_message = match (&transcript.error, transcript.status) {
            (Some(error), _) => Some(format!("{}: {}", error.code, error.message)),
            (None, TranscriptStatus::Unavailable) => Some(format!(
                "the video has no {} subtitle track",
                transcript.language
            )),
            _ => None,
        };
        CompatTranscriptFields {
            transcript: Some(TranscriptExtractionResult {
                url: input_url.to_owned(),
                success: succeeded,
                transcript: video_transcript,
                available_subtitles: transcript.available_languages.clone(),
                error_message,
                fallback_used: false,
                quality_assessment: None,
            }),
            has_transcript: Some(succeeded),
            transcript_language: transcript.track_language.clone().filter(|_| succeeded),
            transcript_confidence: None,
        }
    }
}

/// The cues (`[{start_ms, end_ms, text}]`) as segments in seconds.
fn segments(cues: &Value) -> Vec<TranscriptSegment> {
    let seconds = |cue: &Value, key: &str| {
        cue.get(key)
            .and_then(Value::as_u64)
            .map_or(0.0, |ms| ms as f64 / 1000.0)
    };
    cues.as_array()
        .map(|cues| {
            cues.iter()
                .map(|cue| TranscriptSegment {
                    start: seconds(cue, "start_ms"),
                    end: seconds(cue, "end_ms"),
                    text: cue
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn succeeded() -> TranscriptResponse {
        TranscriptResponse {
            status: TranscriptStatus::Succeeded,
            language: "en".to_owned(),
            track_language: Some("eng-US".to_owned()),
            source: Some("asr".to_owned()),
            cues: json!([{"start_ms": 0, "end_ms": 1500, "text": "hello"}]),
            text: Some("hello".to_owned()),
            available_languages: vec!["eng-US".to_owned(), "ind-ID".to_owned()],
            error: None,
        }
    }

    #[test]
    fn not_requested_is_all_null_and_requested_without_stage_is_false() {
        assert_eq!(
            CompatTranscriptFields::build("u", false, Some(&succeeded())),
            CompatTranscriptFields::default()
        );
        assert_eq!(
            CompatTranscriptFields::build("u", true, None).has_transcript,
            Some(false)
        );
    }

    #[test]
    fn a_transcript_becomes_segments_in_seconds() {
        let fields = CompatTranscriptFields::build("u", true, Some(&succeeded()));
        assert_eq!(fields.has_transcript, Some(true));
        assert_eq!(fields.transcript_language.as_deref(), Some("eng-US"));
        assert_eq!(fields.transcript_confidence, None);
        let result = serde_json::to_value(fields.transcript.unwrap()).unwrap();
        assert_eq!(
            result,
            json!({
                "url": "u", "success": true,
                "transcript": {"language": "eng-US", "source": "asr", "full_text": "hello",
                               "segments": [{"start": 0.0, "end": 1.5, "text": "hello"}],
                               "confidence": null},
                "available_subtitles": ["eng-US", "ind-ID"], "error_message": null,
                "fallback_used": false, "quality_assessment": null
            })
        );
    }

    #[test]
    fn an_unavailable_language_says_so() {
        let unavailable = TranscriptResponse {
            status: TranscriptStatus::Unavailable,
            language: "id".to_owned(),
            track_language: None,
            source: None,
            cues: json!([]),
            text: None,
            available_languages: vec!["eng-US".to_owned()],
            error: None,
        };
        let fields = CompatTranscriptFields::build("u", true, Some(&unavailable));
        assert_eq!(fields.has_transcript, Some(false));
        assert_eq!(fields.transcript_language, None);
        let result = fields.transcript.unwrap();
        assert!(!result.success && result.transcript.is_none());
        assert_eq!(
            result.error_message.as_deref(),
            Some("the video has no id subtitle track")
        );
    }
}
