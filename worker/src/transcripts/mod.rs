//! The transcript stage of an item (`options.transcript`): picks the subtitle track of the
//! requested language, serves it from the `transcripts` cache or downloads and parses it, and
//! stores the result with the item. A transcript failure never fails the item: it is recorded as
//! the transcript's own status (`succeeded`, `unavailable`, `failed`) with a stable code.

pub mod fetch;
pub mod track_choice;
pub mod webvtt;

use std::time::Duration;
use tokworks_shared::ids::{ClaimId, ItemId};

use sqlx::PgConnection;
use tokworks_shared::db::transcripts::{self as transcript_db, ItemTranscript, NewTranscript};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::job_options::{Language, StoredJobOptions};
use tokworks_shared::job_status::TranscriptStatus;
use tokworks_shared::video::{Subtitle, SubtitleSource};

use crate::context::JobContext;
use crate::egress::SessionSeed;

pub use fetch::{SubtitleFetchError, SubtitleFetcher};
pub use track_choice::{TrackChoice, available_languages, choose_track};
pub use webvtt::{Cue, ParsedWebVtt, WebVttError, parse_webvtt};

/// A transcript asked for by the job's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranscriptRequest {
    pub language: Language,
    /// `options.refresh`: download the track again instead of using the stored transcript.
    pub refresh: bool,
}

impl TranscriptRequest {
    /// The request in a job's `options`, or `None` when `transcript` is not `true`.
    pub fn from_job_options(options: &StoredJobOptions) -> Option<TranscriptRequest> {
        Some(TranscriptRequest {
            language: options.transcript_language()?,
            refresh: options.refresh,
        })
    }
}

/// What the transcript stage of one item gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranscriptOutcome {
    Succeeded {
        track: Subtitle,
        /// Newly downloaded and parsed (to store); `None` when served from the cache.
        downloaded: Option<ParsedWebVtt>,
        available_languages: Vec<String>,
    },
    /// The post has no track in the requested language (or no track at all).
    Unavailable { available_languages: Vec<String> },
    Failed {
        code: ErrorCode,
        message: String,
        available_languages: Vec<String>,
        /// The subtitle URL expired or was refused: a new extraction would give fresh URLs.
        url_went_stale: bool,
    },
}

impl TranscriptOutcome {
    /// Whether fresh subtitle URLs (a new extraction) could turn this failure into a success.
    pub fn url_went_stale(&self) -> bool {
        matches!(
            self,
            TranscriptOutcome::Failed {
                url_went_stale: true,
                ..
            }
        )
    }

    fn failed(code: ErrorCode, message: String, available_languages: Vec<String>) -> Self {
        TranscriptOutcome::Failed {
            code,
            message,
            available_languages,
            url_went_stale: false,
        }
    }
}

/// What the stage of one item did, to store with the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptStage {
    pub request: TranscriptRequest,
    pub outcome: TranscriptOutcome,
    /// The `transcript` stage timing.
    pub duration: Duration,
}

/// Runs the stage for `video_id`. `fresh_subtitles` are the tracks of the freshly mapped `Video`,
/// or `None` on a cache hit, in which case the stored video's subtitles are read. The track is
/// downloaded in `item_session`, the session of the extraction that found it (when there was
/// one).
pub async fn run_transcript_stage(
    context: &JobContext,
    request: &TranscriptRequest,
    video_id: &str,
    fresh_subtitles: Option<Vec<Subtitle>>,
    item_session: Option<&SessionSeed>,
) -> TranscriptOutcome {
    let (fetcher, pool) = (&context.subtitles, &context.pool);
    let subtitles = match fresh_subtitles {
        Some(subtitles) => Ok(Some(subtitles)),
        None => transcript_db::stored_subtitles(pool, video_id).await,
    };
    let tracks: Vec<Subtitle> = match subtitles {
        Ok(Some(tracks)) => tracks,
        Ok(None) => Vec::new(),
        Err(error) => {
            let message = format!("cannot read the stored video: {error}");
            return TranscriptOutcome::failed(ErrorCode::Internal, message, Vec::new());
        }
    };
    let available = available_languages(&tracks);
    let TrackChoice::Chosen(track) = choose_track(&tracks, request.language) else {
        return TranscriptOutcome::Unavailable {
            available_languages: available,
        };
    };
    if !request.refresh {
        match transcript_db::find_transcript(pool, video_id, &track.language_code_name).await {
            Ok(Some(stored)) if stored.source == source_name(track.source) => {
                return TranscriptOutcome::Succeeded {
                    track: track.clone(),
                    downloaded: None,
                    available_languages: available,
                };
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, video_id, "cannot read the transcript cache"),
        }
    }
    let bytes = match fetcher.fetch(&track.url, video_id, item_session).await {
        Ok(bytes) => bytes,
        Err(error) => {
            return TranscriptOutcome::Failed {
                code: error.error_code(),
                message: format!("{} track: {error}", track.language_code_name),
                available_languages: available,
                url_went_stale: error.url_went_stale(),
            };
        }
    };
    match parse_webvtt(&String::from_utf8_lossy(&bytes)) {
        Ok(parsed) => TranscriptOutcome::Succeeded {
            track: track.clone(),
            downloaded: Some(parsed),
            available_languages: available,
        },
        // TikTok announced a WebVTT file and sent something else: its format changed.
        Err(error) => TranscriptOutcome::failed(
            ErrorCode::UpstreamChanged,
            format!(
                "the {} subtitle track is not valid WebVTT: {error}",
                track.language_code_name
            ),
            available,
        ),
    }
}

/// `asr`, `mt` or `creator` (the `transcripts.source` values).
pub fn source_name(source: SubtitleSource) -> &'static str {
    match source {
        SubtitleSource::Asr => "asr",
        SubtitleSource::Mt => "mt",
        SubtitleSource::Creator => "creator",
    }
}

/// Stores the outcome in the transaction that ends the item: a downloaded transcript into the
/// cache, and the item's transcript columns (and those of its duplicates).
pub async fn store_transcript(
    connection: &mut PgConnection,
    item_id: ItemId,
    claim_id: ClaimId,
    video_id: &str,
    stage: &TranscriptStage,
) -> Result<(), StoreTranscriptError> {
    let language = stage.request.language.as_str().to_owned();
    let item = match &stage.outcome {
        TranscriptOutcome::Succeeded {
            track,
            downloaded,
            available_languages,
        } => {
            if let Some(parsed) = downloaded {
                let cues = serde_json::to_value(&parsed.cues)?;
                transcript_db::upsert_transcript(
                    connection,
                    &NewTranscript {
                        video_id,
                        language_code_name: &track.language_code_name,
                        source: source_name(track.source),
                        cues: &cues,
                        text: &parsed.text,
                    },
                )
                .await?;
            }
            ItemTranscript {
                status: TranscriptStatus::Succeeded,
                language,
                track_language: Some(track.language_code_name.clone()),
                available_languages: available_languages.clone(),
                error_code: None,
                error_message: None,
            }
        }
        TranscriptOutcome::Unavailable {
            available_languages,
        } => ItemTranscript {
            status: TranscriptStatus::Unavailable,
            language,
            track_language: None,
            available_languages: available_languages.clone(),
            error_code: None,
            error_message: None,
        },
        TranscriptOutcome::Failed {
            code,
            message,
            available_languages,
            ..
        } => ItemTranscript {
            status: TranscriptStatus::Failed,
            language,
            track_language: None,
            available_languages: available_languages.clone(),
            error_code: Some(code.as_str().to_owned()),
            error_message: Some(message.clone()),
        },
    };
    transcript_db::record_item_transcript(connection, item_id, claim_id, &item).await?;
    Ok(())
}

/// Why the transcript could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreTranscriptError {
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot serialise the cues: {0}")]
    Serialise(#[from] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_request_follows_the_job_options() {
        let options = |value| serde_json::from_value::<StoredJobOptions>(value).unwrap();
        assert_eq!(
            TranscriptRequest::from_job_options(&options(json!({}))),
            None
        );
        assert_eq!(
            TranscriptRequest::from_job_options(&options(
                json!({"transcript": false, "language": "id"})
            )),
            None
        );
        assert_eq!(
            TranscriptRequest::from_job_options(&options(
                json!({"transcript": true, "language": "id"})
            )),
            Some(TranscriptRequest {
                language: Language::Id,
                refresh: false
            })
        );
        assert_eq!(
            TranscriptRequest::from_job_options(&options(
                json!({"transcript": true, "refresh": true})
            )),
            Some(TranscriptRequest {
                language: Language::En,
                refresh: true
            })
        );
    }
}
