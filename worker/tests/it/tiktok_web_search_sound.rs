//! The search and sound walkers against the simulator: pages walked to `count` (the search's
//! `search_id` carried from its first page), `has_more` false ending `NO_MORE`, the sound's
//! metadata, an unknown sound (`SOUND_NOT_FOUND`), an unsigned search (`UPSTREAM_EMPTY`) and a
//! 429 mid-walk that keeps the earlier pages.

use std::time::Duration;

use serde_json::{Value, json};
use tokworks_shared::error_code::ErrorCode;
use tokworks_sim::server::{SimConfig, SimHandle};
use tokworks_worker::tiktok_web::{
    FeedStop, FeedWalk, SignerChoice, TiktokWebClient, TiktokWebSettings,
};

use crate::support::egress_through;

async fn start_sim(video_count: usize) -> SimHandle {
    tokworks_sim::server::start(SimConfig {
        video_count,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn feed_client(sim: &SimHandle, signer: SignerChoice) -> TiktokWebClient {
    TiktokWebClient::new(
        TiktokWebSettings {
            signer,
            request_timeout: Duration::from_secs(20),
            deadline: Duration::from_secs(120),
            ..TiktokWebSettings::default()
        },
        egress_through(sim),
    )
    .expect("client builds")
}

fn ids(walk: &FeedWalk) -> Vec<String> {
    walk.items
        .iter()
        .map(|item| item["id"].as_str().expect("string id").to_owned())
        .collect()
}

/// The ids of the corpus posts `indices`, in order.
fn post_ids(sim: &SimHandle, indices: &[u32]) -> Vec<String> {
    indices
        .iter()
        .map(|index| sim.site().corpus().post_id(*index).to_string())
        .collect()
}

fn failed_code(walk: &FeedWalk) -> ErrorCode {
    match &walk.stopped {
        FeedStop::Failed { code, .. } => *code,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("plain client builds")
}

async fn add_fault(sim: &SimHandle, rule: Value) {
    let status = plain_client()
        .post(format!("{}/_sim/faults", sim.base_url()))
        .json(&rule)
        .send()
        .await
        .expect("the simulator takes the rule")
        .status();
    assert_eq!(status.as_u16(), 201);
}

async fn logged_queries(sim: &SimHandle, path_prefix: &str) -> Vec<String> {
    let answer: Value = plain_client()
        .get(format!("{}/_sim/requests", sim.base_url()))
        .query(&[("path_prefix", path_prefix), ("method", "GET")])
        .send()
        .await
        .expect("the simulator answers /_sim/requests")
        .json()
        .await
        .expect("JSON log");
    answer["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|entry| entry["query"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The hashtag word that finds the most posts, and what it finds (newest first).
fn busiest_keyword(sim: &SimHandle) -> (String, Vec<String>) {
    let site = sim.site();
    let corpus = site.corpus();
    let (name, found) = corpus
        .hashtags
        .iter()
        .map(|tag| (tag.name.clone(), corpus.search_posts(&tag.name)))
        .max_by_key(|(_, found)| found.len())
        .expect("hashtags");
    let found = post_ids(sim, &found);
    (name, found)
}

/// A sound used by the most posts, and those posts (newest first).
fn busiest_sound(sim: &SimHandle) -> (String, Vec<String>) {
    let site = sim.site();
    let corpus = site.corpus();
    let (id, posts) = (0..corpus.regular_count())
        .filter_map(|index| corpus.post(index))
        .map(|post| post.music.id)
        .map(|id| (id, corpus.posts_with_music(id)))
        .max_by_key(|(_, posts)| posts.len())
        .expect("posts");
    (id.to_string(), post_ids(sim, &posts))
}

#[tokio::test]
async fn a_search_walks_its_pages_with_the_search_id_to_count_then_to_the_end() {
    let sim = start_sim(400).await;
    let client = feed_client(&sim, SignerChoice::BuiltIn);
    let (keyword, found) = busiest_keyword(&sim);
    assert!(found.len() > 40, "{keyword} finds {}", found.len());

    let walk = client
        .search(&format!("  {}  ", keyword.to_uppercase()), 40)
        .await;
    assert_eq!(walk.stopped, FeedStop::CountReached);
    assert_eq!(ids(&walk), found[..40].to_vec());
    let queries = logged_queries(&sim, "/api/search/item/full/").await;
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert!(!queries[0].contains("search_id="), "{}", queries[0]);
    assert!(queries[1].contains("search_id=") && queries[1].contains("offset=35"));

    let all = client.search(&keyword, 500).await;
    assert_eq!(all.stopped, FeedStop::NoMore);
    assert_eq!(ids(&all), found);
    assert!(all.sound.is_none());

    let nothing = client.search("zzqx nothing matches", 10).await;
    assert_eq!(nothing.stopped, FeedStop::NoMore);
    assert!(nothing.items.is_empty());
}

#[tokio::test]
async fn a_sound_walk_reads_the_sound_then_its_videos_across_pages() {
    let sim = start_sim(1000).await;
    let client = feed_client(&sim, SignerChoice::BuiltIn);
    let (music_id, posts) = busiest_sound(&sim);
    assert!(posts.len() > 35, "{} posts", posts.len());

    let walk = client.sound(&music_id, 500).await;
    assert_eq!(walk.stopped, FeedStop::NoMore);
    assert_eq!(ids(&walk), posts);
    let sound = walk.sound.expect("the sound's metadata");
    assert_eq!(sound.id, music_id);
    let first = sim
        .site()
        .corpus()
        .music_by_id(music_id.parse().expect("numeric"))
        .expect("a known sound")
        .0;
    assert_eq!(sound.title, first.title);
    assert_eq!(sound.author.as_deref(), Some(first.author_name.as_str()));
    assert_eq!(sound.original, first.original);
    assert_eq!(sound.video_count, Some(posts.len() as u64));
    assert!(sound.play_url.is_some() && sound.cover_url.is_some());

    let short = client.sound(&music_id, 3).await;
    assert_eq!(short.stopped, FeedStop::CountReached);
    assert_eq!(ids(&short), posts[..3].to_vec());
}

#[tokio::test]
async fn an_unknown_sound_is_not_found_and_an_unsigned_search_is_upstream_empty() {
    let sim = start_sim(200).await;
    let signed = feed_client(&sim, SignerChoice::BuiltIn);
    let unknown = signed.sound("7000000000000000001", 30).await;
    assert_eq!(failed_code(&unknown), ErrorCode::SoundNotFound);
    assert!(unknown.items.is_empty() && unknown.sound.is_none());

    let unsigned = feed_client(&sim, SignerChoice::None);
    let search = unsigned.search("fyp", 30).await;
    assert_eq!(failed_code(&search), ErrorCode::UpstreamEmpty);
    assert!(search.items.is_empty());
}

#[tokio::test]
async fn a_429_mid_walk_keeps_the_earlier_pages() {
    let sim = start_sim(1000).await;
    let client = feed_client(&sim, SignerChoice::BuiltIn);
    let (keyword, found) = busiest_keyword(&sim);
    let (music_id, posts) = busiest_sound(&sim);
    for (path, expected) in [
        ("/api/search/item/full/", found),
        ("/api/music/item_list/", posts),
    ] {
        let mut walker = if path.contains("search") {
            client.search_walker(&keyword, 100)
        } else {
            client.sound_walker(&music_id, 100)
        };
        let first = walker.next_page().await.expect("a first page");
        assert_eq!(first.new_items.len(), 35, "{path}");
        add_fault(
            &sim,
            json!({"fault": "http_429", "retry_after_secs": 30,
                   "match": {"path_prefix": path}, "times": 1}),
        )
        .await;
        let walk = walker.finish().await;
        assert_eq!(failed_code(&walk), ErrorCode::UpstreamRateLimited, "{path}");
        assert_eq!(ids(&walk), expected[..35].to_vec(), "{path}");
        let FeedStop::Failed {
            pages_fetched,
            retry_after,
            ..
        } = &walk.stopped
        else {
            unreachable!("checked above");
        };
        assert_eq!(
            (*pages_fetched, *retry_after),
            (1, Some(Duration::from_secs(30)))
        );
    }
}
