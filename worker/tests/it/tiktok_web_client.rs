//! The TikTok web feed client against the simulator: trending, hashtag and user walks checked
//! against ground truth, not-found and private cases, an unsigned signed endpoint
//! (`UPSTREAM_EMPTY`), an external carcabot-style sign server, and mid-walk faults that keep the
//! earlier pages' items.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::video::VideoSource;
use tokworks_sim::server::SimHandle;
use tokworks_worker::tiktok::{MapContext, map_item};
use tokworks_worker::tiktok_web::{
    FeedStop, FeedWalk, SignerChoice, TiktokWebClient, TiktokWebSettings,
};

use crate::support::{egress_through, serve_on_loopback, sign_server_answer, start_sim};

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

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|id| id.as_str().expect("a string").to_owned())
        .collect()
}

fn assert_unique(walk: &FeedWalk) {
    let ids = ids(walk);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates in {ids:?}");
}

/// Every item maps; a sample equals the ground truth of `/_sim/videos`.
fn assert_items_map_to_ground_truth(sim: &SimHandle, walk: &FeedWalk) {
    let context = MapContext {
        source: VideoSource::Web,
        extracted_at: chrono::Utc::now(),
    };
    let truth = sim.site().ground_truth_videos(0, 100_000);
    let mut compared = 0;
    for item in &walk.items {
        let video = map_item(item, &context).expect("every feed item maps");
        if let Some(expected) = truth
            .iter()
            .find(|video_truth| video_truth["video_id"] == video.id)
        {
            assert_eq!(json!(video.url), expected["canonical_url"]);
            assert_eq!(video.description, expected["description"]);
            assert_eq!(
                json!(video.counts.play_count),
                expected["stats"]["play_count"]
            );
            compared += 1;
        }
    }
    assert!(compared > 0, "no item of the walk is in the ground truth");
}

async fn add_fault(sim: &SimHandle, rule: Value) {
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("plain client builds")
        .post(format!("{}/_sim/faults", sim.base_url()))
        .json(&rule)
        .send()
        .await
        .expect("the simulator takes the rule")
        .status();
    assert_eq!(status.as_u16(), 201);
}

async fn logged_api_requests(sim: &SimHandle, path_prefix: &str) -> Vec<Value> {
    let answer: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("plain client builds")
        .get(format!("{}/_sim/requests", sim.base_url()))
        .query(&[("path_prefix", path_prefix), ("method", "GET")])
        .send()
        .await
        .expect("the simulator answers /_sim/requests")
        .json()
        .await
        .expect("JSON log");
    answer["entries"].as_array().cloned().unwrap_or_default()
}

fn failed_code(walk: &FeedWalk) -> ErrorCode {
    match &walk.stopped {
        FeedStop::Failed { code, .. } => *code,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn trending_walks_follow_the_ground_truth_order() {
    let sim = start_sim().await;
    let client = feed_client(&sim, SignerChoice::BuiltIn);
    let truth: Vec<String> = sim
        .site()
        .ground_truth_trending()
        .iter()
        .map(|entry| entry["video_id"].as_str().unwrap().to_owned())
        .collect();
    for count in [30, 100] {
        let walk = client.trending(count).await;
        let expected: Vec<String> = truth.iter().take(count).cloned().collect();
        assert_eq!(ids(&walk), expected, "trending {count}");
        let stop = if truth.len() > count {
            FeedStop::CountReached
        } else {
            FeedStop::NoMore
        };
        assert_eq!(walk.stopped, stop);
        assert_unique(&walk);
        assert_items_map_to_ground_truth(&sim, &walk);
    }
}

#[tokio::test]
async fn hashtag_walks_every_offset_page_and_stops_at_count() {
    let sim = start_sim().await;
    let client = feed_client(&sim, SignerChoice::BuiltIn);
    let hashtags = sim.site().ground_truth_hashtags();
    let tag = hashtags
        .iter()
        .max_by_key(|tag| tag["video_count"].as_u64().unwrap())
        .unwrap();
    let name = tag["name"].as_str().unwrap();
    let all = strings(&tag["video_ids"]);
    assert!(
        all.len() > 35,
        "a tag with more than one page: {}",
        all.len()
    );

    let walk = client.hashtag(&format!("#{name}"), 500).await;
    assert_eq!(walk.stopped, FeedStop::NoMore);
    assert_eq!(ids(&walk), all);
    assert_items_map_to_ground_truth(&sim, &walk);

    let walk = client.hashtag(name, 40).await;
    assert_eq!(walk.stopped, FeedStop::CountReached);
    assert_eq!(ids(&walk), all[..40].to_vec());
    let pages = logged_api_requests(&sim, "/api/challenge/item_list/").await;
    assert!(
        pages.len() >= 2 + all.len().div_ceil(35),
        "{} pages",
        pages.len()
    );

    let missing = client.hashtag("no_such_tag_zz_9", 30).await;
    assert_eq!(failed_code(&missing), ErrorCode::HashtagNotFound);
    assert!(missing.items.is_empty());
}

fn public_user_with_posts(sim: &SimHandle) -> Value {
    sim.site()
        .ground_truth_users(0, 1000)
        .into_iter()
        .filter(|user| user["private_account"] == false)
        .max_by_key(|user| user["video_count"].as_u64().unwrap_or(0))
        .expect("a public user")
}

#[tokio::test]
async fn user_walks_signed_and_unsigned_return_the_users_posts() {
    let sim = start_sim().await;
    let user = public_user_with_posts(&sim);
    let handle = user["unique_id"].as_str().unwrap();
    let all = strings(&user["video_ids"]);

    let signed = feed_client(&sim, SignerChoice::BuiltIn);
    let by_name = signed.user(handle, 500).await;
    assert_eq!(by_name.stopped, FeedStop::NoMore);
    let mut got = ids(&by_name);
    assert_unique(&by_name);
    got.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(got, expected, "post/item_list returns every post");
    assert!(
        !logged_api_requests(&sim, "/api/post/item_list/")
            .await
            .is_empty()
    );
    assert_items_map_to_ground_truth(&sim, &by_name);

    let unsigned = feed_client(&sim, SignerChoice::None);
    let by_url = unsigned
        .user(user["profile_url"].as_str().unwrap(), 500)
        .await;
    assert_eq!(by_url.stopped, FeedStop::NoMore);
    assert_eq!(ids(&by_url), all, "creator/item_list: newest first");
    assert!(
        !logged_api_requests(&sim, "/api/creator/item_list/")
            .await
            .is_empty()
    );

    let few = unsigned.user(&format!("@{handle}"), 3).await;
    assert_eq!(few.stopped, FeedStop::CountReached);
    assert_eq!(ids(&few), all[..3].to_vec());

    let missing = signed.user("no_such_user_zz_9", 30).await;
    assert_eq!(failed_code(&missing), ErrorCode::UserNotFound);
    let missing = unsigned.user("no_such_user_zz_9", 30).await;
    assert_eq!(failed_code(&missing), ErrorCode::UserNotFound);

    let private = sim
        .site()
        .ground_truth_users(0, 1000)
        .into_iter()
        .find(|user| user["private_account"] == true)
        .expect("a private user");
    let private_handle = private["unique_id"].as_str().unwrap();
    for client in [&signed, &unsigned] {
        let walk = client.user(private_handle, 30).await;
        assert_eq!(failed_code(&walk), ErrorCode::VideoPrivate);
    }
}

#[tokio::test]
async fn unsigned_signed_endpoints_are_upstream_empty_not_an_empty_feed() {
    let sim = start_sim().await;
    let client = feed_client(&sim, SignerChoice::None);
    let trending = client.trending(30).await;
    assert_eq!(failed_code(&trending), ErrorCode::UpstreamEmpty);
    assert!(trending.items.is_empty());
    let tag = &sim.site().ground_truth_hashtags()[0];
    let hashtag = client.hashtag(tag["name"].as_str().unwrap(), 30).await;
    assert_eq!(failed_code(&hashtag), ErrorCode::UpstreamEmpty);
}

/// A carcabot-style sign server: signs with fixed `X-Bogus`/`X-Gnarly`, a browser UA and cookies.
async fn start_sign_server() -> (String, tokio::task::JoinHandle<()>) {
    let sign =
        |axum::Json(body): axum::Json<Value>| async move { axum::Json(sign_server_answer(&body)) };
    let app = axum::Router::new().route("/signature", axum::routing::post(sign));
    serve_on_loopback(app).await
}

#[tokio::test]
async fn an_external_sign_server_signs_the_requests_sent() {
    let sim = start_sim().await;
    let (url, server) = start_sign_server().await;
    let client = feed_client(&sim, SignerChoice::External { url });
    let walk = client.trending(40).await;
    assert_eq!(walk.items.len(), 40, "{:?}", walk.stopped);
    let requests = logged_api_requests(&sim, "/api/recommend/item_list/").await;
    assert!(!requests.is_empty());
    for request in &requests {
        let query = request["query"].as_str().unwrap();
        assert!(
            query.contains("X-Bogus=DFSzswVLsignedBySignServer01"),
            "{query}"
        );
        assert!(
            query.contains("X-Gnarly=gnarlySignedBySignServer"),
            "{query}"
        );
        assert!(query.contains("msToken=signerMsToken_"), "{query}");
        assert!(
            request["user_agent"]
                .as_str()
                .unwrap()
                .contains("SignerBrowser/1.0")
        );
        assert!(request["cookie_names"].to_string().contains("ttwid"));
    }
    server.abort();
}

#[tokio::test]
async fn mid_walk_faults_fail_the_walk_and_keep_earlier_pages() {
    let sim = start_sim().await;
    let client = feed_client(&sim, SignerChoice::BuiltIn);
    let tag = sim
        .site()
        .ground_truth_hashtags()
        .into_iter()
        .max_by_key(|tag| tag["video_count"].as_u64().unwrap())
        .unwrap();
    let name = tag["name"].as_str().unwrap().to_owned();
    let all = strings(&tag["video_ids"]);
    let cases = [
        (
            json!({"fault": "http_429", "retry_after_secs": 30}),
            ErrorCode::UpstreamRateLimited,
        ),
        (json!({"fault": "empty_200"}), ErrorCode::UpstreamEmpty),
        (json!({"fault": "challenge"}), ErrorCode::UpstreamBlocked),
        (json!({"fault": "http_500"}), ErrorCode::UpstreamUnavailable),
    ];
    for (fault, expected) in cases {
        let mut walker = client.hashtag_walker(&name, 100);
        let first = walker.next_page().await.expect("a first page");
        assert_eq!(first.new_items.len(), 35);
        let mut rule = fault.clone();
        rule["match"] = json!({"path_prefix": "/api/challenge/item_list/"});
        rule["times"] = json!(1);
        add_fault(&sim, rule).await;
        let walk = walker.finish().await;
        assert_eq!(failed_code(&walk), expected, "{fault}");
        assert_eq!(ids(&walk), all[..35].to_vec());
        if let FeedStop::Failed {
            pages_fetched,
            retry_after,
            ..
        } = &walk.stopped
        {
            assert_eq!(*pages_fetched, 1);
            if expected == ErrorCode::UpstreamRateLimited {
                assert_eq!(*retry_after, Some(Duration::from_secs(30)));
            }
        }
    }
}
