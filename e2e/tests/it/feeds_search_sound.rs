//! Search and sound jobs across real processes: a search job walked past its first page with
//! complete videos, a sound job showing its sound (and its cache hit too), and an unknown sound
//! failing with `SOUND_NOT_FOUND`.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{ServiceOptions, TestService};

/// The job's items (all pages), each checked to be a succeeded, complete video.
async fn complete_item_videos(service: &TestService, job_id: Uuid) -> Vec<String> {
    let body = service
        .get_json(&format!("/v1/jobs/{job_id}/items?limit=100"))
        .await;
    assert_eq!(body["has_more"], false, "{body}");
    body["data"]
        .as_array()
        .expect("a data list")
        .iter()
        .map(|item| {
            assert_eq!(item["status"], "succeeded", "{item}");
            let video = &item["result"];
            assert!(video["author"]["unique_id"].is_string(), "{item}");
            assert!(
                video["url"].is_string() && video["created_at"].is_string(),
                "{item}"
            );
            assert!(video["music"].is_object(), "{item}");
            assert_eq!(video["id"], item["video_id"]);
            item["video_id"].as_str().expect("a video id").to_owned()
        })
        .collect()
}

fn post_ids(service: &TestService, indices: &[u32]) -> Vec<String> {
    indices
        .iter()
        .map(|index| service.sim.site().corpus().post_id(*index).to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_job_walks_past_its_first_page_with_complete_videos() {
    let service = TestService::start(ServiceOptions::new("feed_search").sim_video_count(400)).await;
    let (keyword, found) = {
        let site = service.sim.site();
        let corpus = site.corpus();
        corpus
            .hashtags
            .iter()
            .map(|tag| (tag.name.clone(), corpus.search_posts(&tag.name)))
            .max_by_key(|(_, found)| found.len())
            .expect("hashtags")
    };
    let found = post_ids(&service, &found);
    assert!(found.len() > 40, "{keyword}: {}", found.len());
    let job_id = service
        .submit_job(&json!({"kind": "search", "query": format!("  {}  ", keyword.to_uppercase()), "count": 40}))
        .await;
    let job = service
        .await_job_finished(job_id, Duration::from_secs(90))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "search");
    assert_eq!(job["feed"]["query"], keyword.as_str());
    assert_eq!(job["feed"]["walk"]["stopped"]["code"], "COUNT_REACHED");
    assert_eq!(job["feed"]["walk"]["pages_fetched"], 2);
    assert!(job["feed"].get("sound").is_none(), "{job}");
    assert_eq!(
        complete_item_videos(&service, job_id).await,
        found[..40].to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sound_job_shows_its_sound_and_an_unknown_sound_is_not_found() {
    let service = TestService::start(ServiceOptions::new("feed_sound")).await;
    let post = service.sim.site().corpus().post(3).expect("a post");
    let expected = post_ids(
        &service,
        &service.sim.site().corpus().posts_with_music(post.music.id),
    );
    let url = format!("https://www.tiktok.com/music/some-name-{}", post.music.id);
    let job_id = service
        .submit_job(&json!({"kind": "sound", "sound": url, "count": 30}))
        .await;
    let job = service
        .await_job_finished(job_id, Duration::from_secs(90))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let sound: &Value = &job["feed"]["sound"];
    assert_eq!(job["feed"]["music_id"], post.music.id.to_string());
    assert_eq!(sound["id"], post.music.id.to_string(), "{job}");
    assert_eq!(sound["title"], post.music.title.as_str());
    assert_eq!(sound["author"], post.music.author_name.as_str());
    assert_eq!(sound["original"], post.music.original);
    assert_eq!(sound["video_count"], expected.len());
    assert!(sound["play_url"].is_string() && sound["cover_url"].is_string());
    assert_eq!(
        complete_item_videos(&service, job_id).await,
        expected[..expected.len().min(30)].to_vec()
    );

    // The same sound by its bare id: the same feed, answered from the cache with the sound.
    let again = service
        .submit_job(&json!({"kind": "sound", "sound": post.music.id.to_string(), "count": 30}))
        .await;
    let cached = service.get_job(again).await;
    assert_eq!(cached["status"], "succeeded", "{cached}");
    assert_eq!(cached["feed"]["cache_hit"], true);
    assert_eq!(&cached["feed"]["sound"], sound);

    let unknown = service
        .submit_job(&json!({"kind": "sound", "sound": "7000000000000000001"}))
        .await;
    let job = service
        .await_job_finished(unknown, Duration::from_secs(90))
        .await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "SOUND_NOT_FOUND", "{job}");
    assert_eq!(job["feed"]["sound"], Value::Null);
}
