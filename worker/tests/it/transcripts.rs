//! The transcript stage of `extract_item` against the simulator's subtitle tracks, real Postgres
//! and the real yt-dlp: transcripts in both languages equal what the tracks say, an absent
//! language is unavailable, a malformed file fails the transcript and not the item, and a cached
//! video whose subtitle URL is refused is extracted again for fresh URLs.

use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::transcripts::{self as transcript_db, ItemTranscriptRow};
use tokworks_shared::job_status::TranscriptStatus;
use tokworks_sim::faults::FaultRuleSpec;
use tokworks_sim::server::SimHandle;
use tokworks_sim::site::urls::SUBTITLE_HOST;
use tokworks_worker::context::JobContext;
use tokworks_worker::extract_item::{ExtractItemOutcome, run_extract_item};
use tokworks_worker::extractor::VideoExtractor;

use crate::support::replay::ReplayExtractor;
use crate::support::{
    CountingExtractor, context, insert_job, item_row, sim_videos, start_sim, subtitles_through,
    unique_queue,
};

async fn transcript_context(
    pool: &PgPool,
    sim: &SimHandle,
    extractor: Arc<dyn VideoExtractor>,
) -> JobContext {
    let mut context = context(pool.clone(), unique_queue().await, extractor);
    context.subtitles = subtitles_through(sim);
    context
}

/// The first regular video (within the test context's 600 s limit) whose tracks satisfy `wanted`
/// and live on the path-signed subtitle host (the cookie-bound web CDN is `egress.rs`'s).
fn find_video(sim: &SimHandle, wanted: impl Fn(&[&str]) -> bool) -> Value {
    sim_videos(sim, 300)
        .into_iter()
        .find(|video| {
            let languages: Vec<&str> = video["subtitle_languages"]
                .as_array()
                .expect("subtitle_languages is a list")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            video["kind"] == "video"
                && video["subtitles_on_web_cdn"] == false
                && video["duration"]
                    .as_u64()
                    .is_some_and(|seconds| seconds <= 600)
                && wanted(&languages)
        })
        .expect("the corpus has such a video")
}

/// What the simulator's track `language` of `truth` says, and its source.
fn track_truth<'a>(truth: &'a Value, language: &str) -> (&'a str, &'a str) {
    let track = truth["subtitles"]
        .as_array()
        .expect("subtitles is a list")
        .iter()
        .find(|track| track["language_code_name"] == language)
        .expect("the track exists");
    (
        track["text"].as_str().expect("a text"),
        track["source"].as_str().expect("a source"),
    )
}

/// Runs one job for `truth`'s URL with `options`; returns the item's transcript row.
async fn run_job(
    pool: &PgPool,
    context: &JobContext,
    truth: &Value,
    options: Value,
) -> (ExtractItemOutcome, ItemTranscriptRow) {
    let url = truth["canonical_url"].as_str().expect("a URL");
    let (_, tasks) = insert_job(pool, &[url], 1, options).await;
    let outcome = run_extract_item(context, tasks[0])
        .await
        .expect("the handler runs");
    let item = item_row(pool, tasks[0].item_id).await;
    assert_eq!(
        item.status, "succeeded",
        "{outcome:?} {:?}",
        item.error_code
    );
    let mut rows = transcript_db::list_item_transcripts(pool, &[tasks[0].item_id])
        .await
        .expect("the transcript row is readable");
    (outcome, rows.pop().expect("the item exists"))
}

fn assert_cues_follow_each_other(cues: &Value) {
    let cues = cues.as_array().expect("cues are a list");
    assert!(!cues.is_empty());
    let mut previous_end = 0;
    for cue in cues {
        let (start, end) = (
            cue["start_ms"].as_u64().expect("start_ms"),
            cue["end_ms"].as_u64().expect("end_ms"),
        );
        assert!(start >= previous_end && end > start, "{cue}");
        assert!(cue["text"].as_str().is_some_and(|text| !text.is_empty()));
        previous_end = end;
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn english_and_indonesian_transcripts_say_what_the_tracks_say(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let context = transcript_context(&pool, &sim, extractor).await;
    for (language, label) in [("en", "eng-US"), ("id", "ind-ID")] {
        let truth = find_video(&sim, |languages| languages.contains(&label));
        let options = json!({"transcript": true, "language": language});
        let (outcome, row) = run_job(&pool, &context, &truth, options.clone()).await;
        assert!(matches!(outcome, ExtractItemOutcome::Succeeded { .. }));
        let (text, source) = track_truth(&truth, label);
        assert_eq!(row.status, Some(TranscriptStatus::Succeeded), "{row:?}");
        assert!(row.requested);
        assert_eq!(row.requested_language, language);
        assert_eq!(row.track_language.as_deref(), Some(label));
        assert_eq!(row.source.as_deref(), Some(source));
        assert_eq!(
            row.text.as_deref(),
            Some(text),
            "{label} of {}",
            truth["video_id"]
        );
        assert_cues_follow_each_other(row.cues.as_ref().unwrap());
        let mut expected: Vec<String> =
            serde_json::from_value(truth["subtitle_languages"].clone()).unwrap();
        expected.sort();
        assert_eq!(row.available_languages, Some(expected));
        assert_eq!((row.error_code, row.error_message), (None, None));

        // A second job is served from both caches: same transcript, no new download.
        let downloads_before = subtitle_requests(&sim).await;
        let (outcome, again) = run_job(&pool, &context, &truth, options).await;
        assert!(matches!(
            outcome,
            ExtractItemOutcome::Succeeded {
                cache_hit: true,
                ..
            }
        ));
        assert_eq!(again.text.as_deref(), Some(text));
        assert_eq!(subtitle_requests(&sim).await, downloads_before);
    }
}

/// How many requests the simulator's subtitle CDN got (`GET /_sim/requests`).
async fn subtitle_requests(sim: &SimHandle) -> usize {
    let answer: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("plain client builds")
        .get(format!("{}/_sim/requests", sim.base_url()))
        .query(&[("host", SUBTITLE_HOST)])
        .send()
        .await
        .expect("the simulator answers /_sim/requests")
        .json()
        .await
        .expect("JSON log");
    answer["entries"].as_array().map_or(0, Vec::len)
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_absent_language_is_unavailable_and_lists_the_tracks(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let context = transcript_context(&pool, &sim, extractor).await;
    let english_only = find_video(&sim, |languages| languages == ["eng-US"]);
    let options = json!({"transcript": true, "language": "id"});
    let (outcome, row) = run_job(&pool, &context, &english_only, options.clone()).await;
    assert!(matches!(outcome, ExtractItemOutcome::Succeeded { .. }));
    assert_eq!(row.status, Some(TranscriptStatus::Unavailable));
    assert_eq!(row.available_languages, Some(vec!["eng-US".to_owned()]));
    assert_eq!((row.track_language, row.text), (None, None));

    let without_tracks = find_video(&sim, |languages| languages.is_empty());
    let (_, row) = run_job(&pool, &context, &without_tracks, options).await;
    assert_eq!(row.status, Some(TranscriptStatus::Unavailable));
    assert_eq!(row.available_languages, Some(Vec::new()));
    assert_eq!(subtitle_requests(&sim).await, 0, "nothing to download");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_malformed_subtitle_file_fails_the_transcript_not_the_item(pool: PgPool) {
    let sim = start_sim().await;
    let rule = json!({"match": {"host": SUBTITLE_HOST}, "fault": "malformed_vtt"});
    sim.add_fault(FaultRuleSpec::from_json(&rule.to_string()).unwrap())
        .unwrap();
    let extractor = ReplayExtractor::new(&sim);
    let context = transcript_context(&pool, &sim, extractor).await;
    let truth = find_video(&sim, |languages| languages.contains(&"eng-US"));
    let (outcome, row) = run_job(&pool, &context, &truth, json!({"transcript": true})).await;
    assert!(matches!(outcome, ExtractItemOutcome::Succeeded { .. }));
    assert_eq!(row.status, Some(TranscriptStatus::Failed));
    assert_eq!(row.error_code.as_deref(), Some("UPSTREAM_CHANGED"));
    let message = row.error_message.unwrap();
    assert!(
        message.contains("eng-US") && message.contains("WEBVTT"),
        "{message}"
    );
    let video_id = truth["video_id"].as_str().unwrap();
    let stored = transcript_db::list_video_transcripts(&pool, video_id)
        .await
        .unwrap();
    assert!(stored.is_empty(), "a failed transcript is not cached");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_cached_video_whose_subtitle_url_is_refused_is_extracted_again(pool: PgPool) {
    let sim = start_sim().await;
    let ytdlp = ReplayExtractor::new(&sim);
    let counting = CountingExtractor::new(ytdlp);
    let context = transcript_context(&pool, &sim, counting.clone()).await;
    let truth = find_video(&sim, |languages| languages.contains(&"eng-US"));
    let (outcome, row) = run_job(&pool, &context, &truth, json!({})).await;
    assert!(matches!(outcome, ExtractItemOutcome::Succeeded { .. }));
    assert!(!row.requested && row.status.is_none());
    assert_eq!(counting.calls(), 1);

    // The stored subtitle URL is refused once (as an expired signature is): the worker extracts
    // the video again for fresh URLs instead of failing the transcript.
    let rule = json!({"match": {"host": SUBTITLE_HOST}, "fault": "http_403", "times": 1});
    sim.add_fault(FaultRuleSpec::from_json(&rule.to_string()).unwrap())
        .unwrap();
    let (outcome, row) = run_job(&pool, &context, &truth, json!({"transcript": true})).await;
    assert_eq!(counting.calls(), 2);
    assert!(matches!(
        outcome,
        ExtractItemOutcome::Succeeded {
            cache_hit: false,
            ..
        }
    ));
    assert_eq!(row.status, Some(TranscriptStatus::Succeeded), "{row:?}");
    assert_eq!(row.text.as_deref(), Some(track_truth(&truth, "eng-US").0));
    let stages: Vec<String> = sqlx::query_scalar(
        "select stage from item_stage_timings where item_id = $1 and stage = 'transcript'",
    )
    .bind(row.item_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(stages, ["transcript"]);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_duplicate_in_a_batch_gets_the_transcript_of_its_first_item(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let context = transcript_context(&pool, &sim, extractor).await;
    let truth = find_video(&sim, |languages| languages.contains(&"eng-US"));
    let url = truth["canonical_url"].as_str().expect("a URL");
    let (_, tasks) = insert_job(&pool, &[url, url], 1, json!({"transcript": true})).await;
    sqlx::query("update job_items set duplicate_of = $1 where item_id = $2")
        .bind(tasks[0].item_id)
        .bind(tasks[1].item_id)
        .execute(&pool)
        .await
        .unwrap();

    run_extract_item(&context, tasks[0]).await.unwrap();

    assert_eq!(item_row(&pool, tasks[1].item_id).await.status, "succeeded");
    let rows = transcript_db::list_item_transcripts(&pool, &[tasks[0].item_id, tasks[1].item_id])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let expected = track_truth(&truth, "eng-US").0;
    for row in rows {
        assert_eq!(row.status, Some(TranscriptStatus::Succeeded), "{row:?}");
        assert_eq!(row.text.as_deref(), Some(expected));
    }
}
