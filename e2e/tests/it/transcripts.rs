//! Transcripts end to end: a video job with `options.transcript` shows the transcript of the
//! requested language in `GET /v1/jobs/{id}` (the text the simulator's track says), in its items
//! and in `GET /v1/videos/{id}`; the compatibility `/extract` fills `has_transcript`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::ground_truth::{canonical_url, video_id};
use crate::harness::{ServiceOptions, TestService};

const JOB_TIMEOUT: Duration = Duration::from_secs(90);

/// What the track `label` of `truth` says.
fn track_text<'a>(truth: &'a Value, label: &str) -> Option<&'a str> {
    truth["subtitles"]
        .as_array()?
        .iter()
        .find(|track| track["language_code_name"] == label)?["text"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_job_with_a_transcript_shows_it_in_the_job_items_and_video() {
    let service = TestService::start(ServiceOptions::new("transcripts")).await;
    let truth = service
        .sim_plain_videos(60)
        .await
        .into_iter()
        .find(|truth| track_text(truth, "ind-ID").is_some())
        .expect("a plain video with an ind-ID track");
    let expected_text = track_text(&truth, "ind-ID").unwrap();
    let options = json!({"transcript": true, "language": "id"});
    let job_id = service
        .submit_job(&json!({"kind": "video", "url": canonical_url(&truth), "options": options}))
        .await;
    let job = service.await_job_finished(job_id, JOB_TIMEOUT).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let transcript = &job["result"]["transcript"];
    assert_eq!(transcript["status"], "succeeded", "{transcript}");
    assert_eq!(transcript["language"], "id");
    assert_eq!(transcript["track_language"], "ind-ID");
    assert_eq!(transcript["text"], expected_text);
    assert!(
        transcript["cues"]
            .as_array()
            .is_some_and(|cues| !cues.is_empty())
    );
    assert_eq!(transcript["error"], Value::Null);
    assert!(
        job["timings"]["stages_ms"]["transcript"].is_number(),
        "{job}"
    );

    let items = service.get_json(&format!("/v1/jobs/{job_id}/items")).await;
    assert_eq!(&items["data"][0]["transcript"], transcript);
    let video = service
        .get_json(&format!("/v1/videos/{}", video_id(&truth)))
        .await;
    assert_eq!(video["transcripts"][0]["track_language"], "ind-ID");
    assert_eq!(video["transcripts"][0]["text"], expected_text);

    // The same video without the option: the result says null, not a stale transcript.
    let plain = service.submit_video(canonical_url(&truth)).await;
    let plain = service.await_job_finished(plain, JOB_TIMEOUT).await;
    assert_eq!(plain["result"]["cache_hit"], true, "{plain}");
    assert_eq!(plain["result"]["transcript"], Value::Null);

    // The old endpoint asks in Indonesian (the old service's first preference): the same track,
    // read from the transcripts cache.
    let response: Value = service
        .http
        .post(format!("{}/extract", service.api_url))
        .header("x-api-key", &service.api_key)
        .json(&json!({"url": canonical_url(&truth), "include_transcript": true}))
        .send()
        .await
        .expect("POST /extract answers")
        .json()
        .await
        .expect("JSON body");
    let data = &response["data"];
    assert_eq!(data["has_transcript"], true, "{response}");
    assert_eq!(data["transcript_language"], "ind-ID");
    assert_eq!(data["transcript"]["transcript"]["full_text"], expected_text);
    assert_eq!(data["transcript_confidence"], Value::Null);
    assert_eq!(data["description"], truth["description"], "not rewritten");
}
