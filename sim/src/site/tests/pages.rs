//! Page, status, short-link and determinism tests.

use std::collections::HashSet;

use http::{Method, StatusCode, header};

use super::*;
use crate::corpus::captions::utf16_slice;

#[test]
fn video_page_carries_a_complete_item_with_escaped_slashes() {
    let site = site(1, 50);
    let truth = site.ground_truth_videos(0, 1).remove(0);
    let response = get(&site, truth["canonical_url"].as_str().unwrap());
    assert_eq!(response.status, StatusCode::OK);
    let (data, raw) = universal_data(&response);
    assert!(!raw.contains('/'), "slashes must be written \\u002F");
    assert!(raw.contains("\\u002F"));
    assert!(!raw.contains('\n'));
    assert!(data["__DEFAULT_SCOPE__"]["webapp.app-context"].is_object());
    let detail = scope(&data, "webapp.video-detail");
    assert_eq!(detail["statusCode"], 0);
    let item = &detail["itemInfo"]["itemStruct"];
    assert_eq!(item["id"], truth["video_id"]);
    assert_eq!(item["desc"], truth["description"]);
    assert_eq!(
        item["statsV2"]["playCount"],
        truth["stats"]["play_count"].as_u64().unwrap().to_string()
    );
    assert_eq!(item["author"]["uniqueId"], truth["author"]["unique_id"]);
    let play = item["video"]["playAddr"].as_str().unwrap();
    assert!(play.starts_with("https://v16-webapp-prime.tiktok.com/video/tos/"));
    assert!(
        play.contains("expire=")
            && play.contains("signature=")
            && play.contains("tk=tt_chain_token")
    );
    for gear in item["video"]["bitrateInfo"].as_array().unwrap() {
        let url_key = gear["PlayAddr"]["UrlKey"].as_str().unwrap();
        assert!(url_key.starts_with(item["video"]["videoID"].as_str().unwrap()));
        if gear["GearName"].as_str().unwrap().contains("540") {
            assert_eq!(gear["PlayAddr"]["Width"], 576);
        }
    }
    let id: u64 = item["id"].as_str().unwrap().parse().unwrap();
    let create_time: i64 = item["createTime"].as_str().unwrap().parse().unwrap();
    assert!((id >> 32) as i64 <= create_time);
}

#[test]
fn text_extra_spans_slice_the_caption_in_utf16_units() {
    let site = site(2, 120);
    let mut checked = 0;
    for truth in site.ground_truth_videos(0, 120) {
        let (data, _) = universal_data(&get(&site, truth["canonical_url"].as_str().unwrap()));
        let item = &scope(&data, "webapp.video-detail")["itemInfo"]["itemStruct"];
        let desc = item["desc"].as_str().unwrap();
        let mut hashtags = Vec::new();
        for span in item["textExtra"].as_array().unwrap() {
            let piece = utf16_slice(
                desc,
                span["start"].as_u64().unwrap() as u32,
                span["end"].as_u64().unwrap() as u32,
            )
            .unwrap();
            if span["type"] == 1 {
                assert_eq!(piece, format!("#{}", span["hashtagName"].as_str().unwrap()));
                hashtags.push(span["hashtagName"].as_str().unwrap().to_string());
            } else {
                assert_eq!(
                    piece,
                    format!("@{}", span["userUniqueId"].as_str().unwrap())
                );
            }
            checked += 1;
        }
        let expected: Vec<String> = truth["hashtags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tag| tag.as_str().unwrap().to_string())
            .collect();
        assert_eq!(hashtags, expected);
        for line in item["contents"].as_array().unwrap() {
            let text = line["desc"].as_str().unwrap();
            for span in line["textExtra"].as_array().unwrap() {
                let piece = utf16_slice(
                    text,
                    span["start"].as_u64().unwrap() as u32,
                    span["end"].as_u64().unwrap() as u32,
                )
                .unwrap();
                assert!(piece.starts_with('#') || piece.starts_with('@'));
            }
        }
    }
    assert!(checked > 100);
}

#[test]
fn pages_are_deterministic_per_seed() {
    let first = site(7, 30);
    let second = site(7, 30);
    let other = site(8, 30);
    let url = first.ground_truth_videos(3, 1)[0]["canonical_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&first, &url).body, get(&second, &url).body);
    let user = first.ground_truth_users(0, 1)[0]["profile_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&first, &user).body, get(&second, &user).body);
    assert_eq!(
        get(&first, "https://www.tiktok.com/tag/fyp").body,
        get(&second, "https://www.tiktok.com/tag/fyp").body
    );
    let other_url = other.ground_truth_videos(3, 1)[0]["canonical_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(get(&first, &url).body, get(&other, &other_url).body);
    assert_ne!(url, other_url);
}

#[test]
fn every_status_case_renders_its_code() {
    let site = site(3, 40);
    let cases = site.status_cases();
    let names: HashSet<&str> = cases.iter().map(|case| case.name.as_str()).collect();
    for name in [
        "deleted",
        "private_post",
        "private_account",
        "under_review",
        "region_blocked",
        "age_restricted",
        "short_link_unknown",
        "user_not_found",
        "hashtag_not_found",
    ] {
        assert!(names.contains(name), "{name}");
    }
    for case in &cases {
        let response = get(&site, &case.url);
        match case.name.as_str() {
            "short_link_unknown" => {
                assert_eq!(response.status, StatusCode::FOUND);
                assert_eq!(
                    response.headers[header::LOCATION],
                    "https://www.tiktok.com/notfound"
                );
            }
            "user_not_found" => {
                let (data, _) = universal_data(&response);
                assert_eq!(scope(&data, "webapp.user-detail")["statusCode"], 10202);
            }
            "hashtag_not_found" => {
                let (data, _) = universal_data(&response);
                assert_eq!(scope(&data, "webapp.challenge-detail")["statusCode"], 10205);
                assert!(body_text(&response).contains("Couldn’t find this hashtag"));
            }
            "comments_off" => {
                let (data, _) = universal_data(&response);
                let item = &scope(&data, "webapp.video-detail")["itemInfo"]["itemStruct"];
                assert_eq!(item["itemCommentStatus"], 3);
            }
            "age_restricted" => {
                let (data, _) = universal_data(&response);
                let detail = scope(&data, "webapp.video-detail");
                assert_eq!(detail["statusCode"], 0);
                assert_eq!(
                    detail["itemInfo"]["itemStruct"]["isContentClassified"],
                    true
                );
                assert!(detail["itemInfo"]["itemStruct"].get("video").is_none());
            }
            _ => {
                assert_eq!(response.status, StatusCode::OK);
                let (data, _) = universal_data(&response);
                let detail = scope(&data, "webapp.video-detail");
                assert_eq!(
                    detail["statusCode"],
                    case.status_code.unwrap(),
                    "{}",
                    case.name
                );
                assert!(detail.get("itemInfo").is_none());
            }
        }
    }
}

#[test]
fn private_profiles_and_mobile_pages() {
    let site = site(4, 60);
    let private_user = site
        .ground_truth_users(0, 1000)
        .into_iter()
        .find(|user| user["private_account"] == true)
        .unwrap();
    let (data, _) = universal_data(&get(&site, private_user["profile_url"].as_str().unwrap()));
    let detail = scope(&data, "webapp.user-detail");
    assert_eq!(detail["statusCode"], 10222);
    assert_eq!(detail["userInfo"]["stats"]["videoCount"], 0);
    let truth = site.ground_truth_videos(5, 1).remove(0);
    let id = truth["video_id"].as_str().unwrap();
    let mobile = site.handle(&request(
        Method::GET,
        truth["canonical_url"].as_str().unwrap(),
        None,
        MOBILE,
        None,
    ));
    let (data, _) = universal_data(&mobile);
    assert_eq!(
        scope(&data, "webapp.reflow.video.detail")["itemInfo"]["itemStruct"]["id"],
        id
    );
    for url in [
        format!("https://m.tiktok.com/v/{id}.html"),
        format!("https://tiktok.com/@_/video/{id}"),
        format!("https://www.tiktok.com/share/video/{id}"),
        format!("https://www.tiktok.com/embed/v2/{id}"),
    ] {
        let (data, _) = universal_data(&get(&site, &url));
        let scope_value = data["__DEFAULT_SCOPE__"]
            .get("webapp.video-detail")
            .or_else(|| data["__DEFAULT_SCOPE__"].get("webapp.reflow.video.detail"))
            .unwrap();
        assert_eq!(scope_value["itemInfo"]["itemStruct"]["id"], id, "{url}");
    }
    let (data, _) = universal_data(&get(
        &site,
        "https://www.tiktok.com/@_/video/7300000000000000001",
    ));
    assert_eq!(scope(&data, "webapp.video-detail")["statusCode"], 10204);
}

#[test]
fn photo_posts_have_images_and_an_audio_track() {
    let site = site(5, 40);
    let truth = site
        .ground_truth_videos(0, 40)
        .into_iter()
        .find(|video| video["kind"] == "photo")
        .unwrap();
    let canonical = truth["canonical_url"].as_str().unwrap();
    assert!(canonical.contains("/photo/"));
    let as_video = canonical.replace("/photo/", "/video/");
    let (data, _) = universal_data(&get(&site, &as_video));
    let item = &scope(&data, "webapp.video-detail")["itemInfo"]["itemStruct"];
    assert_eq!(item["video"]["duration"], 0);
    assert_eq!(
        item["imagePost"]["images"].as_array().unwrap().len() as u64,
        truth["image_count"].as_u64().unwrap()
    );
    let audio = item["music"]["playUrl"].as_str().unwrap();
    let response = get(&site, audio);
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(&response.body[..3], b"ID3");
    let image = truth["images"][0]["url"].as_str().unwrap();
    let response = get(&site, image);
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(&response.body[..2], &[0xFF, 0xD8]);
    let second = get(&site, truth["images"][1]["url"].as_str().unwrap());
    assert_ne!(response.body, second.body);
}

#[test]
fn short_links_redirect_to_the_canonical_url() {
    let site = site(6, 30);
    for truth in site.ground_truth_videos(0, 30) {
        let canonical = truth["canonical_url"].as_str().unwrap();
        for form in ["vm", "vt", "t"] {
            let short = truth["short_urls"][form].as_str().unwrap();
            let head = site.handle(&request(
                Method::HEAD,
                short,
                None,
                "facebookexternalhit/1.1",
                None,
            ));
            assert_eq!(head.status, StatusCode::MOVED_PERMANENTLY, "{short}");
            let location = head.headers[header::LOCATION].to_str().unwrap();
            assert!(
                location.starts_with(&format!("{canonical}?_r=1&_t=ZT-")),
                "{location}"
            );
            let get_response = get(&site, short);
            assert_eq!(get_response.status, StatusCode::FOUND);
            assert_eq!(get_response.headers[header::LOCATION], location);
        }
    }
    let dashed = site.ground_truth_videos(1, 1)[0]["short_urls"]["vt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(dashed.contains('-'));
    let unknown = get(&site, "https://vt.tiktok.com/ZSdoesnotexist/");
    assert_eq!(
        unknown.headers[header::LOCATION],
        "https://www.tiktok.com/notfound"
    );
}
