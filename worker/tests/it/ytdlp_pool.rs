//! The yt-dlp helper pool against the simulator and the real yt-dlp.

use std::time::{Duration, Instant};

use tokworks_shared::error_code::ErrorCode;
use tokworks_worker::extractor::VideoExtractor;

use crate::support::{CASE_ERROR_CODES, sim_case_url, sim_videos, start_sim, start_ytdlp};

#[tokio::test]
async fn extracting_a_sim_video_returns_its_item_and_cover_bytes() {
    let sim = start_sim().await;
    let extractor = start_ytdlp(&sim, 1, Duration::from_secs(30)).await;
    let truth = sim_videos(&sim, 20)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .expect("a video in the corpus");
    let url = truth["canonical_url"].as_str().unwrap();

    let extraction = extractor.extract(url).await.expect("extraction succeeds");

    assert_eq!(extraction.item["id"].as_str(), truth["video_id"].as_str());
    assert_eq!(
        extraction.item["desc"].as_str(),
        truth["description"].as_str()
    );
    assert_eq!(extraction.status_code, 0);
    let thumbnail = extraction.thumbnail.expect("cover downloaded");
    assert!(
        thumbnail.bytes.len() > 100,
        "cover has {} bytes",
        thumbnail.bytes.len()
    );
    assert!(
        thumbnail.content_type.starts_with("image/"),
        "{}",
        thumbnail.content_type
    );
}

#[tokio::test]
async fn short_links_and_photo_posts_are_extracted() {
    let sim = start_sim().await;
    let extractor = start_ytdlp(&sim, 1, Duration::from_secs(30)).await;
    let videos = sim_videos(&sim, 60);
    let video = videos
        .iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let short = video["short_urls"]["vm"].as_str().unwrap();
    let from_short = extractor.extract(short).await.expect("short link resolves");
    assert_eq!(from_short.item["id"].as_str(), video["video_id"].as_str());

    let photo = videos
        .iter()
        .find(|video| video["kind"] == "photo")
        .expect("a photo post");
    let photo_url = photo["canonical_url"].as_str().unwrap();
    assert!(photo_url.contains("/photo/"), "{photo_url}");
    let from_photo_url = extractor.extract(photo_url).await.expect("photo URL works");
    assert_eq!(
        from_photo_url.item["id"].as_str(),
        photo["video_id"].as_str()
    );
    let photo_short = photo["short_urls"]["vt"].as_str().unwrap();
    let from_photo_short = extractor
        .extract(photo_short)
        .await
        .expect("photo short link works");
    assert_eq!(
        from_photo_short.item["id"].as_str(),
        photo["video_id"].as_str()
    );
    assert!(
        from_photo_short.item["imagePost"]["images"]
            .as_array()
            .is_some_and(|images| !images.is_empty())
    );
}

#[tokio::test]
async fn each_sim_error_case_maps_to_its_error_code() {
    let sim = start_sim().await;
    let extractor = start_ytdlp(&sim, 2, Duration::from_secs(30)).await;
    let expectations = CASE_ERROR_CODES;
    let mut mismatches = Vec::new();
    for (case, expected) in expectations {
        let url = sim_case_url(&sim, case);
        match extractor.extract(&url).await {
            Ok(_) => mismatches.push(format!("{case}: succeeded, expected {expected}")),
            Err(failure) if failure.code != expected => {
                mismatches.push(format!(
                    "{case}: {} ({}), expected {expected}",
                    failure.code, failure.message
                ));
            }
            Err(_) => {}
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");

    let challenge = sim_case_url(&sim, "fault_challenge");
    let solved = extractor
        .extract(&challenge)
        .await
        .expect("yt-dlp solves the WAF challenge");
    assert!(solved.item["id"].is_string());
}

#[tokio::test]
async fn a_hanging_page_times_out_kills_the_helper_and_the_pool_keeps_serving() {
    let sim = start_sim().await;
    let extractor = start_ytdlp(&sim, 1, Duration::from_secs(3)).await;
    let pool = extractor.pool().clone();
    let pid_before = pool.idle_process_ids().await;

    let started = Instant::now();
    let failure = extractor
        .extract(&sim_case_url(&sim, "fault_hang"))
        .await
        .unwrap_err();
    assert_eq!(failure.code, ErrorCode::ExtractorTimeout);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "deadline enforced: {:?}",
        started.elapsed()
    );
    assert_eq!(pool.processes_killed(), 1);
    let killed_pid = pid_before[0];
    let proc_path = format!("/proc/{killed_pid}");
    let gone = tokio::time::timeout(Duration::from_secs(5), async {
        while std::fs::read_to_string(format!("{proc_path}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
        {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(gone.is_ok(), "the hung helper {killed_pid} was not killed");

    let video = sim_videos(&sim, 5)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let next = extractor
        .extract(video["canonical_url"].as_str().unwrap())
        .await;
    assert!(next.is_ok(), "pool still serves: {next:?}");
    assert_eq!(pool.processes_started(), 2);
}

#[tokio::test]
async fn a_crashed_helper_is_replaced() {
    let sim = start_sim().await;
    let extractor = start_ytdlp(&sim, 1, Duration::from_secs(30)).await;
    let pool = extractor.pool().clone();
    let pids = pool.idle_process_ids().await;
    let status = std::process::Command::new("kill")
        .arg("-9")
        .arg(pids[0].to_string())
        .status()
        .unwrap();
    assert!(status.success());

    let video = sim_videos(&sim, 5)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let extraction = extractor
        .extract(video["canonical_url"].as_str().unwrap())
        .await;
    assert!(extraction.is_ok(), "{extraction:?}");
    assert_eq!(pool.processes_started(), 2);
    assert_ne!(pool.idle_process_ids().await, pids);
}
