//! Serde shape of `Video`.

use chrono::TimeZone;

use super::*;

fn sample_video() -> Video {
    let created_at = Utc.timestamp_opt(1_735_689_612, 0).single().unwrap();
    Video {
        schema_version: VIDEO_SCHEMA_VERSION,
        id: "7454730070402848956".to_string(),
        kind: VideoKind::Video,
        url: "https://www.tiktok.com/@creator.name/video/7454730070402848956".to_string(),
        description: "hi #fyp".to_string(),
        created_at,
        create_time: 1_735_689_612,
        duration_seconds: 18,
        width: Some(576),
        height: Some(1024),
        hashtags: vec![Hashtag {
            id: Some("229207".to_string()),
            name: "fyp".to_string(),
        }],
        mentions: vec![],
        counts: VideoCounts {
            play_count: 1_585_253,
            repost_count: Some(0),
            ..VideoCounts::default()
        },
        counts_exact: true,
        author: Author {
            unique_id: "creator.name".to_string(),
            ..Author::default()
        },
        music: None,
        covers: CoverImages::default(),
        media: VideoMedia::default(),
        images: vec![],
        subtitles: vec![],
        location_created: Some("US".to_string()),
        is_ad: false,
        text_language: Some("en".to_string()),
        diversification_labels: vec![],
        source: VideoSource::Web,
        extracted_at: created_at,
    }
}

#[test]
fn video_serialises_with_snake_case_names_and_rfc3339_times() {
    let json = serde_json::to_value(sample_video()).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["kind"], "video");
    assert_eq!(json["source"], "web");
    assert_eq!(json["id"], "7454730070402848956");
    assert_eq!(json["created_at"], "2025-01-01T00:00:12Z");
    assert_eq!(json["counts"]["play_count"], 1_585_253);
    assert_eq!(json["hashtags"][0]["name"], "fyp");
}

#[test]
fn video_round_trips_through_json() {
    let video = sample_video();
    let json = serde_json::to_string(&video).unwrap();
    assert_eq!(serde_json::from_str::<Video>(&json).unwrap(), video);
}
