//! The web extractor (`EXTRACTOR=web`) against the simulator: pages, photo posts, the three
//! short-link forms, the WAF challenge, status and fault cases, the deadline, the CDN request's
//! session cookie and `Referer` (from the simulator's request log), and the handler end to end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::video::{Video, VideoSource};
use tokworks_sim::server::SimHandle;
use tokworks_worker::extract_item::{ExtractItemOutcome, run_extract_item};
use tokworks_worker::extractor::{Extraction, ExtractionFailure, VideoExtractor};
use tokworks_worker::tiktok::{MapContext, map_item, status_code_error};
use tokworks_worker::web_extractor::WebExtractor;

use crate::support::{
    CASE_ERROR_CODES, context, egress_through, insert_job, item_row, logged_requests, sim_case_url,
    sim_videos, start_sim, unique_queue,
};

fn web_extractor(sim: &SimHandle, deadline: Duration) -> WebExtractor {
    WebExtractor::new(egress_through(sim), deadline)
}

/// The outcome the handler derives from an extraction: its failure code, the status mapping,
/// then the mapper's verdict (`None` = a storable video).
fn handler_code(result: &Result<Extraction, ExtractionFailure>) -> Option<ErrorCode> {
    match result {
        Err(failure) => Some(failure.code),
        Ok(extraction) => status_code_error(extraction.status_code, Some(&extraction.item))
            .or_else(|| map(extraction).err()),
    }
}

fn map(extraction: &Extraction) -> Result<Video, ErrorCode> {
    let context = MapContext {
        source: VideoSource::Web,
        extracted_at: chrono::Utc::now(),
    };
    map_item(&extraction.item, &context).map_err(|error| error.error_code())
}

fn first_of_kind(sim: &SimHandle, kind: &str) -> Value {
    sim_videos(sim, 60)
        .into_iter()
        .find(|video| video["kind"] == kind)
        .unwrap_or_else(|| panic!("a {kind} in the corpus"))
}

#[tokio::test]
async fn a_sim_video_is_extracted_with_its_cover_and_maps_to_the_ground_truth() {
    let sim = start_sim().await;
    let extractor = web_extractor(&sim, Duration::from_secs(30));
    assert_eq!(extractor.source(), VideoSource::Web);
    let truth = first_of_kind(&sim, "video");
    let url = truth["canonical_url"].as_str().unwrap();

    let extraction = extractor.extract(url).await.expect("extraction succeeds");

    assert_eq!(extraction.status_code, 0);
    assert_eq!(extraction.webpage_url, url);
    assert_eq!(extraction.thumbnail_error, None);
    let thumbnail = extraction.thumbnail.clone().expect("cover downloaded");
    assert!(
        thumbnail.bytes.len() > 100,
        "{} bytes",
        thumbnail.bytes.len()
    );
    assert!(
        thumbnail.content_type.starts_with("image/"),
        "{}",
        thumbnail.content_type
    );
    assert!(extraction.thumbnail_duration.is_some());
    let video = map(&extraction).expect("maps");
    assert_eq!(video.source, VideoSource::Web);
    let mapped = json!({
        "video_id": video.id,
        "canonical_url": video.url,
        "description": video.description,
        "create_time": video.create_time,
        "duration": video.duration_seconds,
        "author": video.author.unique_id,
        "play_count": video.counts.play_count,
        "like_count": video.counts.like_count,
        "hashtags": video.hashtags.iter().map(|tag| tag.name.clone()).collect::<Vec<_>>(),
    });
    let expected = json!({
        "video_id": truth["video_id"],
        "canonical_url": truth["canonical_url"],
        "description": truth["description"],
        "create_time": truth["create_time"],
        "duration": truth["duration"],
        "author": truth["author"]["unique_id"],
        "play_count": truth["stats"]["play_count"],
        "like_count": truth["stats"]["like_count"],
        "hashtags": truth["hashtags"],
    });
    assert_eq!(mapped, expected);

    // The cover request rode on the page's session: its tt_chain_token and Referer = page URL.
    let cover_host = url::Url::parse(&thumbnail.source_url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    let cover_requests = logged_requests(&sim, &cover_host).await;
    let cover = cover_requests
        .iter()
        .find(|entry| entry["method"] == "GET" && entry["status"] == 200)
        .unwrap_or_else(|| panic!("no cover request in {cover_requests:#?}"));
    assert_eq!(cover["referer"].as_str(), Some(url));
    assert!(
        cover["cookie_names"]
            .as_array()
            .unwrap()
            .contains(&json!("tt_chain_token")),
        "{cover}"
    );
    let pages = logged_requests(&sim, "www.tiktok.com").await;
    assert_eq!(pages.len(), 1, "one page request: {pages:#?}");
    assert_eq!(pages[0]["cookie_names"], json!([]), "a fresh session");
}

#[tokio::test]
async fn photo_posts_and_all_three_short_link_forms_are_extracted() {
    let sim = start_sim().await;
    let extractor = web_extractor(&sim, Duration::from_secs(30));
    let video = first_of_kind(&sim, "video");
    for form in ["vm", "vt", "t"] {
        let short = video["short_urls"][form].as_str().unwrap();
        let extraction = extractor
            .extract(short)
            .await
            .unwrap_or_else(|failure| panic!("{short}: {failure}"));
        assert_eq!(extraction.item["id"], video["video_id"], "{short}");
        assert_eq!(
            extraction.webpage_url,
            video["canonical_url"].as_str().unwrap()
        );
        assert!(extraction.thumbnail.is_some(), "{short}");
    }

    let photo = first_of_kind(&sim, "photo");
    let photo_url = photo["canonical_url"].as_str().unwrap();
    assert!(photo_url.contains("/photo/"), "{photo_url}");
    for url in [photo_url, photo["short_urls"]["vt"].as_str().unwrap()] {
        let extraction = extractor
            .extract(url)
            .await
            .unwrap_or_else(|failure| panic!("{url}: {failure}"));
        assert_eq!(extraction.item["id"], photo["video_id"], "{url}");
        assert!(extraction.thumbnail.is_some(), "{url}");
        let mapped = map(&extraction).expect("photo maps");
        assert_eq!(
            mapped.images.len(),
            photo["image_count"].as_u64().unwrap() as usize
        );
    }
}

#[tokio::test]
async fn the_waf_challenge_is_solved_once_and_the_page_is_served() {
    let sim = start_sim().await;
    let extractor = web_extractor(&sim, Duration::from_secs(30));
    let url = sim_case_url(&sim, "fault_challenge");

    let extraction = extractor.extract(&url).await.expect("challenge solved");

    assert!(extraction.item["id"].is_string());
    assert_eq!(handler_code(&Ok(extraction)), None);
    let pages = logged_requests(&sim, "www.tiktok.com").await;
    let faults: Vec<&Value> = pages.iter().map(|entry| &entry["fault"]).collect();
    assert_eq!(
        faults,
        [&json!("challenge"), &json!("challenge_solved")],
        "{pages:#?}"
    );
}

#[tokio::test]
async fn each_status_and_fault_case_maps_to_its_error_code() {
    let sim = start_sim().await;
    let extractor = web_extractor(&sim, Duration::from_secs(20));
    let expectations = CASE_ERROR_CODES;
    let mut mismatches = Vec::new();
    for (case, expected) in expectations {
        let url = sim_case_url(&sim, case);
        let result = extractor.extract(&url).await;
        let code = handler_code(&result);
        if code != Some(expected) {
            mismatches.push(format!(
                "{case}: {code:?} ({result:?}), expected {expected}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[tokio::test]
async fn a_hanging_page_ends_with_extractor_timeout_at_the_deadline() {
    let sim = start_sim().await;
    let extractor = web_extractor(&sim, Duration::from_secs(2));
    let started = Instant::now();

    let failure = extractor
        .extract(&sim_case_url(&sim, "fault_hang"))
        .await
        .unwrap_err();

    assert_eq!(failure.code, ErrorCode::ExtractorTimeout, "{failure}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "deadline enforced: {:?}",
        started.elapsed()
    );
    let video = first_of_kind(&sim, "video");
    let next = extractor
        .extract(video["canonical_url"].as_str().unwrap())
        .await;
    assert!(next.is_ok(), "still serves: {next:?}");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_handler_stores_a_web_extracted_video_with_source_web(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = Arc::new(web_extractor(&sim, Duration::from_secs(30)));
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor);
    let truth = first_of_kind(&sim, "video");
    let short = truth["short_urls"]["t"].as_str().unwrap();
    let (_job_id, tasks) = insert_job(&pool, &[short], 3, json!({})).await;

    let outcome = run_extract_item(&context, tasks[0]).await.unwrap();

    let video_id = truth["video_id"].as_str().unwrap().to_owned();
    assert_eq!(
        outcome,
        ExtractItemOutcome::Succeeded {
            video_id: video_id.clone(),
            cache_hit: false
        }
    );
    assert_eq!(item_row(&pool, tasks[0].item_id).await.status, "succeeded");
    let (source, data): (String, Value) =
        sqlx::query_as("select source, data from videos where video_id = $1")
            .bind(&video_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(source, "web");
    assert_eq!(data["source"], "web");
    assert_eq!(data["description"], truth["description"]);
    let thumbnail = tokworks_shared::db::videos::thumbnail(&pool, &video_id)
        .await
        .unwrap()
        .expect("thumbnail stored");
    assert!(!thumbnail.bytes.is_empty());
    queue.delete_all_keys().await.unwrap();
}
