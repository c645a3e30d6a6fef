//! Text from TikTok is stored even when it holds the NUL character, which Postgres refuses in
//! `jsonb` and `text`: it is stored without it.

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use tokworks_shared::db::transcripts::{self, NewTranscript};
use tokworks_shared::db::videos::{self, VideoRecord};
use tokworks_shared::test_fixtures;

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_caption_or_subtitle_holding_nul_is_stored_without_it(pool: PgPool) {
    let video = test_fixtures::video(
        "7300000000000000001",
        json!({
            "url": "https://www.tiktok.com/@a/video/7300000000000000001",
            "description": "odd\u{0} caption", "created_at": "2024-03-10T12:00:00Z",
            "create_time": 1710072000, "duration_seconds": 5,
            "counts": {"play_count": 1}, "counts_exact": true,
            "author": {"unique_id": "a"}, "extracted_at": "2024-03-10T12:00:00Z"
        }),
    );
    let raw_item = json!({"id": "7300000000000000001", "desc": "odd\u{0} caption"});
    let mut transaction = pool.begin().await.unwrap();
    videos::upsert_video(
        &mut transaction,
        &VideoRecord {
            video: &video,
            raw_item: Some(&raw_item),
            fetched_at: Utc::now(),
        },
    )
    .await
    .unwrap();
    transcripts::upsert_transcript(
        &mut transaction,
        &NewTranscript {
            video_id: "7300000000000000001",
            language_code_name: "eng-US",
            source: "asr",
            cues: &json!([{"start_ms": 0, "end_ms": 1000, "text": "hi\u{0}"}]),
            text: "hi\u{0}",
        },
    )
    .await
    .unwrap();
    transaction.commit().await.unwrap();

    let (description, desc, text): (String, String, String) = sqlx::query_as(
        "select v.data->>'description', v.raw_item->>'desc', t.text
         from videos v join transcripts t using (video_id)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (description.as_str(), desc.as_str(), text.as_str()),
        ("odd caption", "odd caption", "hi")
    );
}
