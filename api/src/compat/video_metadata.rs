//! The old analyzer's `VideoMetadata` (keys in its order), built from a stored `Video` record,
//! followed by the fields the old service lacked.

use serde::Serialize;
use serde_json::Value;

use crate::compat::envelope::PLATFORM;
use crate::compat::transcript::{CompatTranscriptFields, TranscriptExtractionResult};
use crate::jobs::transcript_view::TranscriptResponse;
use tokworks_shared::video::Video;

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
    /// Maps a stored `Video` onto the old shape; absent covers become `""`, as the old service
    /// defaulted them.
    pub fn from_video(video: &Video, item: ItemFacts<'_>) -> Self {
        let description = video.description.clone();
        let created_at = video.created_at;
        let covers = &video.covers;
        let thumbnail_url = [&covers.origin_cover, &covers.cover, &covers.dynamic_cover]
            .into_iter()
            .find_map(|cover| cover.as_ref().map(|cover| cover.url.clone()))
            .unwrap_or_default();
        let hashtags = video
            .hashtags
            .iter()
            .map(|hashtag| hashtag.name.clone())
            .collect();
        let music = video.music.as_ref().map(|music| MusicSummary {
            title: music.title.clone(),
            author_name: music.author_name.clone(),
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
            duration: u64::from(video.duration_seconds),
            view_count: video.counts.play_count,
            like_count: video.counts.like_count,
            comment_count: video.counts.comment_count,
            share_count: video.counts.share_count,
            upload_date: created_at.format("%Y%m%d").to_string(),
            thumbnail_url,
            thumbnail_analysis: None,
            transcript: transcript.transcript,
            has_transcript: transcript.has_transcript,
            transcript_language: transcript.transcript_language,
            transcript_confidence: transcript.transcript_confidence,
            extracted_at: video
                .extracted_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            processing_time_ms: item.processing_time_ms,
            cache_hit: item.cache_hit,
            video_id: video.id.clone(),
            uploader: Some(video.author.unique_id.clone()),
            author: video.author.nickname.clone(),
            hashtags,
            save_count: video.counts.collect_count,
            music,
            create_time_iso: Some(created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
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
        let video = tokworks_shared::test_fixtures::video(
            "1",
            serde_json::json!({
                "url": "https://www.tiktok.com/@a/video/1",
                "created_at": "2024-03-10T23:30:00Z", "create_time": 1710113400,
                "author": {"unique_id": "a"}, "extracted_at": "2024-03-10T23:31:00Z"
            }),
        );
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
