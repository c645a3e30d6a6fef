//! The old analyzer's `VideoMetadata` (keys in its order), built from a stored `Video` record,
//! followed by the fields the old service lacked.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::compat::envelope::PLATFORM;
use crate::compat::transcript::{CompatTranscriptFields, TranscriptExtractionResult};
use crate::transcript_view::TranscriptResponse;

/// Longest `title`: yt-dlp's TikTok title is the caption cut by `truncate_string(left=72)`.
const TITLE_MAX_CHARS: usize = 72;

/// `music` (an addition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MusicSummary {
    pub title: Option<String>,
    pub author_name: Option<String>,
}

/// `VideoMetadata`: the old keys in the old order, then tokworks' additions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoMetadata {
    pub url: String,
    pub platform: &'static str,
    pub title: String,
    pub description: String,
    pub duration: u64,
    pub view_count: u64,
    pub like_count: u64,
    pub comment_count: u64,
    pub share_count: u64,
    pub upload_date: String,
    pub thumbnail_url: String,
    /// Always null: thumbnail analysis is not performed yet.
    pub thumbnail_analysis: Option<Value>,
    /// Null unless a transcript was requested (`include_transcript`); see `compat::transcript`.
    pub transcript: Option<TranscriptExtractionResult>,
    /// Null unless a transcript was requested; then whether there is one.
    pub has_transcript: Option<bool>,
    pub transcript_language: Option<String>,
    pub transcript_confidence: Option<f64>,
    pub extracted_at: String,
    pub processing_time_ms: u64,
    pub cache_hit: bool,
    pub video_id: String,
    pub uploader: Option<String>,
    pub author: Option<String>,
    pub hashtags: Vec<String>,
    pub save_count: u64,
    pub music: Option<MusicSummary>,
    pub create_time_iso: Option<String>,
}

/// What the item adds to the stored video.
#[derive(Debug, Clone, Copy)]
pub struct ItemFacts<'a> {
    /// The URL as the client sent it (the old service did not canonicalise it).
    pub input_url: &'a str,
    pub cache_hit: bool,
    pub processing_time_ms: u64,
    pub transcript_requested: bool,
    /// The item's transcript, when the job asked for one and the stage ran.
    pub transcript: Option<&'a TranscriptResponse>,
}

impl VideoMetadata {
    /// Maps a stored `Video` (its JSON) onto the old shape; absent fields become `""` or 0, as
    /// the old service defaulted them.
    pub fn from_video(video: &Value, item: ItemFacts<'_>) -> Self {
        let text = |pointer: &str| video.pointer(pointer).and_then(Value::as_str);
        let count = |pointer: &str| video.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
        let description = text("/description").unwrap_or_default().to_owned();
        let created_at = text("/created_at")
            .and_then(|value| DateTime::parse_from_rfc3339(value).ok())
            .map(|value| value.with_timezone(&Utc));
        let thumbnail_url = [
            "/covers/origin_cover/url",
            "/covers/cover/url",
            "/covers/dynamic_cover/url",
        ]
        .into_iter()
        .find_map(text)
        .unwrap_or_default()
        .to_owned();
        let hashtags = video
            .pointer("/hashtags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(|tag| tag.get("name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let music = video
            .get("music")
            .filter(|music| music.is_object())
            .map(|music| MusicSummary {
                title: music
                    .get("title")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                author_name: music
                    .get("author_name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        let transcript = CompatTranscriptFields::build(
            item.input_url,
            item.transcript_requested,
            item.transcript,
        );
        VideoMetadata {
            url: item.input_url.to_owned(),
            platform: PLATFORM,
            title: yt_dlp_title(&description),
            description,
            duration: count("/duration_seconds"),
            view_count: count("/counts/play_count"),
            like_count: count("/counts/like_count"),
            comment_count: count("/counts/comment_count"),
            share_count: count("/counts/share_count"),
            upload_date: created_at
                .map(|created| created.format("%Y%m%d").to_string())
                .unwrap_or_default(),
            thumbnail_url,
            thumbnail_analysis: None,
            transcript: transcript.transcript,
            has_transcript: transcript.has_transcript,
            transcript_language: transcript.transcript_language,
            transcript_confidence: transcript.transcript_confidence,
            extracted_at: text("/extracted_at").unwrap_or_default().to_owned(),
            processing_time_ms: item.processing_time_ms,
            cache_hit: item.cache_hit,
            video_id: text("/id").unwrap_or_default().to_owned(),
            uploader: text("/author/unique_id").map(str::to_owned),
            author: text("/author/nickname").map(str::to_owned),
            hashtags,
            save_count: count("/counts/collect_count"),
            music,
            create_time_iso: created_at
                .map(|created| created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }
}

/// yt-dlp's `truncate_string(description, left=72)`: captions over 72 characters become their
/// first 69 characters and `...` (72 in all).
pub fn yt_dlp_title(description: &str) -> String {
    if description.chars().count() <= TITLE_MAX_CHARS {
        return description.to_owned();
    }
    let kept: String = description.chars().take(TITLE_MAX_CHARS - 3).collect();
    format!("{kept}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_captions_are_cut_like_yt_dlp() {
        assert_eq!(yt_dlp_title("short"), "short");
        let long = "é".repeat(100);
        let title = yt_dlp_title(&long);
        assert_eq!(title.chars().count(), 72);
        assert!(title.ends_with("..."));
        assert_eq!(yt_dlp_title(&"a".repeat(72)), "a".repeat(72));
    }

    #[test]
    fn upload_date_is_yyyymmdd_in_utc() {
        let video = serde_json::json!({"id": "1", "created_at": "2024-03-10T23:30:00Z"});
        let facts = ItemFacts {
            input_url: "https://vm.tiktok.com/ZMabc/",
            cache_hit: false,
            processing_time_ms: 5,
            transcript_requested: true,
            transcript: None,
        };
        let metadata = VideoMetadata::from_video(&video, facts);
        assert_eq!(metadata.upload_date, "20240310");
        assert_eq!(metadata.url, "https://vm.tiktok.com/ZMabc/");
        assert_eq!(metadata.has_transcript, Some(false));
        assert_eq!(metadata.thumbnail_url, "");
    }
}
