//! The TikTok page parser and itemStruct mapper against the simulator's TikTok model, without
//! network: pages (desktop and reflow), status cases, short links and feed JSON are requested from
//! `TiktokSite::handle` directly and every mapped field is compared with the ground truth.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: an unwrap failure is a test failure"
)]

use std::collections::HashMap;

use reqwest::Method;
use reqwest::header::{HeaderValue, USER_AGENT};
use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::tiktok_url::TiktokUrl;
use tokworks_shared::video::{Video, VideoSource};
use tokworks_sim::exchange::{Scheme, SimRequest, SimResponse};
use tokworks_sim::site::{SiteOptions, TiktokSite};
use tokworks_worker::tiktok::{
    MapContext, MapError, PageVariant, map_item, parse_video_page, status_code_error,
};

const DESKTOP_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const MOBILE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const VIDEO_COUNT: usize = 300;
/// A plausible msToken / X-Bogus (the simulator checks presence and length, not the algorithm).
const SIGNATURE: &str = "DFSzswVLQBtANjJYtbk1vUs7X8kDZnQf8j5bV0Q2";

fn site() -> TiktokSite {
    TiktokSite::new(SiteOptions {
        seed: 20_261_122,
        video_count: VIDEO_COUNT,
        now_unix: 1_767_000_000,
    })
}

fn context() -> MapContext {
    MapContext {
        source: VideoSource::Web,
        extracted_at: chrono::DateTime::from_timestamp(1_767_000_000, 0).unwrap(),
    }
}

fn get(site: &TiktokSite, url: &str, user_agent: &str) -> SimResponse {
    let parsed = url::Url::parse(url).unwrap();
    let mut request = SimRequest {
        method: Method::GET,
        scheme: Scheme::Https,
        host: parsed.host_str().unwrap().to_string(),
        path: parsed.path().to_string(),
        query: parsed.query().map(str::to_string),
        headers: Default::default(),
        body: Default::default(),
    };
    request
        .headers
        .insert(USER_AGENT, HeaderValue::from_str(user_agent).unwrap());
    site.handle(&request)
}

fn body_text(response: &SimResponse) -> &str {
    std::str::from_utf8(&response.body).unwrap()
}

fn page_video(site: &TiktokSite, url: &str, user_agent: &str, variant: PageVariant) -> Video {
    let response = get(site, url, user_agent);
    assert_eq!(response.status.as_u16(), 200, "{url}");
    let page =
        parse_video_page(body_text(&response)).unwrap_or_else(|error| panic!("{url}: {error}"));
    assert_eq!(page.variant, variant, "{url}");
    assert_eq!(page.status_code, 0, "{url}");
    let item = page.item.unwrap_or_else(|| panic!("{url}: no item"));
    assert_eq!(
        status_code_error(page.status_code, Some(&item)),
        None,
        "{url}"
    );
    map_item(&item, &context()).unwrap_or_else(|error| panic!("{url}: {error}"))
}

/// Every field of `video` that the ground truth knows, as readable differences.
fn differences(truth: &Value, video: &Video) -> Vec<String> {
    let mut found = Vec::new();
    let mut check = |field: &str, expected: Value, actual: Value| {
        if expected != actual {
            found.push(format!(
                "{}: {field}: expected {expected}, got {actual}",
                video.id
            ));
        }
    };
    let json = |value: &dyn erased::ToJson| value.to_json();
    check("id", truth["video_id"].clone(), json(&video.id));
    check("url", truth["canonical_url"].clone(), json(&video.url));
    check(
        "kind",
        truth["kind"].clone(),
        serde_json::to_value(video.kind).unwrap(),
    );
    check(
        "description",
        truth["description"].clone(),
        json(&video.description),
    );
    check(
        "create_time",
        truth["create_time"].clone(),
        json(&video.create_time),
    );
    check(
        "duration",
        truth["duration"].clone(),
        json(&video.duration_seconds),
    );
    check("width", truth["width"].clone(), json(&video.width));
    check("height", truth["height"].clone(), json(&video.height));
    let author = &truth["author"];
    check("author.id", author["id"].clone(), json(&video.author.id));
    check(
        "author.unique_id",
        author["unique_id"].clone(),
        json(&video.author.unique_id),
    );
    check(
        "author.nickname",
        author["nickname"].clone(),
        json(&video.author.nickname),
    );
    check(
        "author.sec_uid",
        author["sec_uid"].clone(),
        json(&video.author.sec_uid),
    );
    check(
        "author.verified",
        author["verified"].clone(),
        json(&video.author.verified),
    );
    check(
        "author.private_account",
        author["private_account"].clone(),
        json(&video.author.private_account),
    );
    let stats = &truth["stats"];
    check(
        "play_count",
        stats["play_count"].clone(),
        json(&video.counts.play_count),
    );
    check(
        "like_count",
        stats["like_count"].clone(),
        json(&video.counts.like_count),
    );
    check(
        "comment_count",
        stats["comment_count"].clone(),
        json(&video.counts.comment_count),
    );
    check(
        "share_count",
        stats["share_count"].clone(),
        json(&video.counts.share_count),
    );
    check(
        "collect_count",
        stats["collect_count"].clone(),
        json(&video.counts.collect_count),
    );
    check(
        "repost_count",
        stats["repost_count"].clone(),
        json(&video.counts.repost_count),
    );
    check("counts_exact", Value::Bool(true), json(&video.counts_exact));
    let hashtag_names: Vec<&str> = video.hashtags.iter().map(|tag| tag.name.as_str()).collect();
    check("hashtags", truth["hashtags"].clone(), json(&hashtag_names));
    let mention_ids: Vec<&str> = video
        .mentions
        .iter()
        .map(|mention| mention.unique_id.as_str())
        .collect();
    check("mentions", truth["mentions"].clone(), json(&mention_ids));
    let music = video.music.clone().unwrap_or_default();
    let expected_music = &truth["music"];
    check("music.id", expected_music["id"].clone(), json(&music.id));
    check(
        "music.title",
        expected_music["title"].clone(),
        json(&music.title),
    );
    check(
        "music.author_name",
        expected_music["author_name"].clone(),
        json(&music.author_name),
    );
    check(
        "music.original",
        expected_music["original"].clone(),
        json(&music.original),
    );
    check(
        "music.duration",
        expected_music["duration"].clone(),
        json(&music.duration_seconds),
    );
    check(
        "location_created",
        truth["location_created"].clone(),
        json(&video.location_created),
    );
    check("is_ad", truth["is_ad"].clone(), json(&video.is_ad));
    check(
        "image_count",
        truth["image_count"].clone(),
        json(&video.images.len()),
    );
    for (index, (expected, image)) in truth["images"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .zip(&video.images)
        .enumerate()
    {
        check(
            &format!("images[{index}].url"),
            expected["url"].clone(),
            json(&image.urls.first()),
        );
        check(
            &format!("images[{index}].width"),
            expected["width"].clone(),
            json(&image.width),
        );
        check(
            &format!("images[{index}].height"),
            expected["height"].clone(),
            json(&image.height),
        );
    }
    let languages: Vec<&str> = video
        .subtitles
        .iter()
        .map(|track| track.language_code_name.as_str())
        .collect();
    check(
        "subtitle_languages",
        truth["subtitle_languages"].clone(),
        json(&languages),
    );
    let cover = video.covers.cover.as_ref().map(|cover| cover.url.as_str());
    check("cover_url", truth["cover_url"].clone(), json(&cover));
    if video.kind == tokworks_shared::video::VideoKind::Video {
        let play = video.media.play.as_ref();
        if play.is_none_or(|link| link.watermarked || link.expires_at.is_none()) {
            found.push(format!(
                "{}: play URL missing, watermarked or without expiry",
                video.id
            ));
        }
        if video.media.formats.is_empty() {
            found.push(format!("{}: no formats", video.id));
        }
    }
    found
}

/// `serde_json::to_value` for the comparisons above, without a `Result` at every call.
mod erased {
    pub trait ToJson {
        fn to_json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> ToJson for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

fn assert_no_differences(mut all: Vec<String>) {
    let count = all.len();
    all.truncate(40);
    assert!(
        all.is_empty(),
        "{count} differences, first ones:\n{}",
        all.join("\n")
    );
}

#[test]
fn every_corpus_page_maps_to_its_ground_truth() {
    let site = site();
    let truths = site.ground_truth_videos(0, VIDEO_COUNT);
    assert!(
        truths.len() >= 200,
        "the corpus has {} videos",
        truths.len()
    );
    let count_where = |field: &str| {
        truths
            .iter()
            .filter(|truth| truth[field].as_array().is_some_and(|list| !list.is_empty()))
            .count()
    };
    assert!(
        truths.iter().any(|truth| truth["kind"] == "photo"),
        "no photo post in the corpus"
    );
    let (with_hashtags, with_mentions, with_subtitles) = (
        count_where("hashtags"),
        count_where("mentions"),
        count_where("subtitle_languages"),
    );
    eprintln!(
        "{} posts: {with_hashtags} with hashtags, {with_mentions} with mentions, {with_subtitles} with subtitles",
        truths.len()
    );
    assert!(
        with_hashtags > 0 && with_mentions > 0 && with_subtitles > 0,
        "the corpus exercises too little"
    );
    let mut all = Vec::new();
    for truth in &truths {
        let url = truth["canonical_url"].as_str().unwrap();
        let parsed = TiktokUrl::parse(url).unwrap();
        assert_eq!(parsed.canonical_url(), url);
        assert_eq!(parsed.video_id(), truth["video_id"].as_str());
        let video = page_video(&site, url, DESKTOP_UA, PageVariant::Universal);
        all.extend(differences(truth, &video));
    }
    assert_no_differences(all);
}

#[test]
fn reflow_pages_for_mobile_user_agents_map_the_same() {
    let site = site();
    let mut all = Vec::new();
    for truth in site.ground_truth_videos(0, VIDEO_COUNT).iter().step_by(4) {
        let url = truth["canonical_url"].as_str().unwrap();
        let mobile = page_video(&site, url, MOBILE_UA, PageVariant::Reflow);
        all.extend(differences(truth, &mobile));
        let id = truth["video_id"].as_str().unwrap();
        let via_m = page_video(
            &site,
            &format!("https://m.tiktok.com/v/{id}.html"),
            MOBILE_UA,
            PageVariant::Reflow,
        );
        all.extend(differences(truth, &via_m));
    }
    assert_no_differences(all);
}

#[test]
fn short_links_redirect_to_urls_that_parse_to_the_same_post() {
    let site = site();
    for truth in site.ground_truth_videos(0, VIDEO_COUNT).iter().step_by(10) {
        for form in ["vm", "vt", "t"] {
            let short = truth["short_urls"][form].as_str().unwrap();
            assert!(TiktokUrl::parse(short).unwrap().is_short_link(), "{short}");
            let response = get(&site, short, DESKTOP_UA);
            assert!(
                response.status.is_redirection(),
                "{short}: {}",
                response.status
            );
            let location = response.headers.get("location").unwrap().to_str().unwrap();
            let target =
                TiktokUrl::parse(location).unwrap_or_else(|error| panic!("{location}: {error}"));
            assert_eq!(
                target.video_id(),
                truth["video_id"].as_str(),
                "{short} → {location}"
            );
        }
    }
}

#[test]
fn status_cases_map_to_their_error_codes() {
    let site = site();
    let expected: HashMap<&str, ErrorCode> = HashMap::from([
        ("deleted", ErrorCode::VideoNotFound),
        ("video_not_found", ErrorCode::VideoNotFound),
        ("private_post", ErrorCode::VideoPrivate),
        ("private_account", ErrorCode::VideoPrivate),
        ("under_review", ErrorCode::VideoUnderReview),
        ("region_blocked", ErrorCode::VideoRegionBlocked),
        ("age_restricted", ErrorCode::AgeRestricted),
    ]);
    let mut seen = 0;
    for case in site.status_cases() {
        let Some(code) = expected.get(case.name.as_str()) else {
            continue;
        };
        seen += 1;
        for user_agent in [DESKTOP_UA, MOBILE_UA] {
            let response = get(&site, &case.url, user_agent);
            let page = parse_video_page(body_text(&response))
                .unwrap_or_else(|error| panic!("{}: {error}", case.name));
            assert_eq!(Some(page.status_code), case.status_code, "{}", case.name);
            assert_eq!(
                status_code_error(page.status_code, page.item.as_ref()),
                Some(*code),
                "{}",
                case.name
            );
            if let Some(item) = &page.item {
                let error = map_item(item, &context()).expect_err(&case.name);
                if *code == ErrorCode::AgeRestricted {
                    assert_eq!(error, MapError::AgeRestricted);
                }
            }
        }
    }
    assert_eq!(
        seen,
        expected.len(),
        "status cases missing from the simulator"
    );
}

fn feed_items(site: &TiktokSite, path_and_query: &str) -> Vec<Value> {
    let url = format!(
        "https://www.tiktok.com{path_and_query}&aid=1988&msToken={SIGNATURE}&X-Bogus={SIGNATURE}"
    );
    let response = get(site, &url, DESKTOP_UA);
    assert_eq!(response.status.as_u16(), 200, "{url}");
    let body: Value =
        serde_json::from_slice(&response.body).unwrap_or_else(|error| panic!("{url}: {error}"));
    assert_eq!(body["statusCode"], 0, "{url}: {body}");
    body["itemList"].as_array().cloned().unwrap_or_default()
}

#[test]
fn feed_items_map_like_pages() {
    let site = site();
    let truths: HashMap<String, Value> = site
        .ground_truth_videos(0, VIDEO_COUNT)
        .into_iter()
        .map(|truth| (truth["video_id"].as_str().unwrap().to_string(), truth))
        .collect();
    let mut items = Vec::new();
    for hashtag in site.ground_truth_hashtags().iter().take(5) {
        let id = hashtag["id"].as_str().unwrap();
        items.extend(feed_items(
            &site,
            &format!("/api/challenge/item_list/?challengeID={id}&count=30&cursor=0"),
        ));
    }
    for truth in truths.values().take(3) {
        let sec_uid = truth["author"]["sec_uid"].as_str().unwrap();
        let encoded: String = url::form_urlencoded::byte_serialize(sec_uid.as_bytes()).collect();
        items.extend(feed_items(
            &site,
            &format!("/api/creator/item_list/?secUid={encoded}&count=15&cursor=0&type=1"),
        ));
        items.extend(feed_items(
            &site,
            &format!("/api/post/item_list/?secUid={encoded}&count=30&cursor=0"),
        ));
    }
    items.extend(feed_items(
        &site,
        "/api/recommend/item_list/?count=30&from_page=fyp&device_id=7250000000000000001",
    ));
    assert!(items.len() >= 30, "only {} feed items", items.len());
    let mut all = Vec::new();
    let mut compared = 0;
    for item in &items {
        let video = map_item(item, &context()).unwrap_or_else(|error| panic!("{error}: {item}"));
        if let Some(truth) = truths.get(&video.id) {
            compared += 1;
            all.extend(differences(truth, &video));
        }
    }
    assert!(compared > 0, "no feed item is in the ground truth");
    assert_no_differences(all);
}
