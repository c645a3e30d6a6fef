//! Feed API, CDN, session and host tests.

use std::collections::HashSet;

use http::{Method, StatusCode, header};
use serde_json::Value;

use super::*;

fn signed(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{SIGNED}")
}

fn json_body(response: &SimResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

#[test]
fn signed_endpoints_answer_empty_without_signature() {
    let site = site(9, 40);
    let user = site.ground_truth_users(0, 1).remove(0);
    let sec_uid = user["sec_uid"].as_str().unwrap();
    for url in [
        "https://www.tiktok.com/api/recommend/item_list/?count=5".to_string(),
        "https://www.tiktok.com/api/challenge/item_list/?challengeID=229207&count=5&cursor=0".to_string(),
        format!("https://www.tiktok.com/api/post/item_list/?secUid={sec_uid}&count=5&cursor=0"),
        "https://www.tiktok.com/api/user/detail/?uniqueId=x".to_string(),
        "https://www.tiktok.com/api/recommend/item_list/?count=5&msToken=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789".to_string(),
        "https://www.tiktok.com/api/recommend/item_list/?count=5&X-Bogus=DFSzswVLAbCdEfGhIjKlMnOpQrSt".to_string(),
    ] {
        let response = get(&site, &url);
        assert_eq!(response.status, StatusCode::OK);
        assert!(response.body.is_empty(), "{url}");
    }
    let unsigned_creator = get(
        &site,
        &format!(
            "https://www.tiktok.com/api/creator/item_list/?secUid={sec_uid}&count=5&cursor=0&type=1"
        ),
    );
    assert_eq!(json_body(&unsigned_creator)["statusCode"], 0);
    let detail = get(
        &site,
        "https://www.tiktok.com/api/challenge/detail/?challengeName=fyp",
    );
    let detail = json_body(&detail);
    assert_eq!(detail["challengeInfo"]["challenge"]["id"], "229207");
    assert!(detail["challengeInfo"]["statsV2"]["videoCount"].is_string());
    assert_eq!(
        json_body(&get(
            &site,
            "https://www.tiktok.com/api/challenge/detail/?challengeName=nosuchtagsim"
        ))["statusCode"],
        10205
    );
    let bad = get(
        &site,
        &signed("https://www.tiktok.com/api/recommend/item_list/?count=abc"),
    );
    assert_eq!(json_body(&bad)["statusCode"], 10201);
    let unknown_user = get(
        &site,
        &signed("https://www.tiktok.com/api/user/detail/?uniqueId=no.such.user.sim"),
    );
    assert_eq!(json_body(&unknown_user)["statusCode"], 10202);
    let known = get(
        &site,
        &signed(&format!(
            "https://www.tiktok.com/api/user/detail/?uniqueId={}",
            user["unique_id"].as_str().unwrap()
        )),
    );
    let known = json_body(&known);
    assert_eq!(known["userInfo"]["user"]["secUid"], sec_uid);
    assert!(known["extra"]["logid"].is_string() && known["log_pb"]["impr_id"].is_string());
}

fn item_ids(page: &Value) -> Vec<String> {
    page["itemList"].as_array().map_or_else(Vec::new, |items| {
        items
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_string())
            .collect()
    })
}

#[test]
fn every_cursor_style_walks_to_the_end_without_duplicates() {
    let site = site(10, 400);
    // Hashtag: offset cursors.
    let fyp = site
        .ground_truth_hashtags()
        .into_iter()
        .find(|tag| tag["name"] == "fyp")
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let page = json_body(&get(
            &site,
            &signed(&format!(
                "https://www.tiktok.com/api/challenge/item_list/?challengeID=229207&count=7&cursor={cursor}"
            )),
        ));
        assert!(page["itemList"].as_array().unwrap().len() <= 7);
        seen.extend(item_ids(&page));
        cursor = page["cursor"].as_str().unwrap().to_string();
        if page["hasMore"] == false {
            break;
        }
    }
    let expected: Vec<String> = fyp["video_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, expected);
    // User posts: ms-timestamp cursors, pinned first.
    let user = site
        .ground_truth_users(0, 10)
        .into_iter()
        .find(|user| !user["pinned_video_id"].is_null())
        .unwrap();
    let sec_uid = user["sec_uid"].as_str().unwrap();
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    let mut first_page = true;
    loop {
        let page = json_body(&get(
            &site,
            &signed(&format!(
                "https://www.tiktok.com/api/post/item_list/?secUid={sec_uid}&count=4&cursor={cursor}"
            )),
        ));
        if first_page {
            assert_eq!(page["itemList"][0]["isPinnedItem"], true);
            first_page = false;
        }
        seen.extend(item_ids(&page));
        cursor = page["cursor"].as_str().unwrap().to_string();
        if page["hasMore"] == false {
            break;
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    assert_eq!(seen.len() as u64, user["video_count"].as_u64().unwrap());
    // Creator list: client-computed cursor from the last createTime.
    let mut seen = Vec::new();
    let mut cursor = (NOW * 1000).to_string();
    loop {
        let page = json_body(&get(
            &site,
            &format!(
                "https://www.tiktok.com/api/creator/item_list/?secUid={sec_uid}&count=3&cursor={cursor}&type=1"
            ),
        ));
        seen.extend(item_ids(&page));
        if page["hasMorePrevious"] == false {
            break;
        }
        let last = page["itemList"].as_array().unwrap().last().unwrap()["createTime"]
            .as_i64()
            .unwrap();
        cursor = (last * 1000).to_string();
    }
    let expected: Vec<String> = user["video_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, expected);
    // Trending: session batches until hasMore is false.
    let trending = site.ground_truth_trending();
    let mut seen = Vec::new();
    loop {
        let page = json_body(&get(
            &site,
            &signed(
                "https://www.tiktok.com/api/recommend/item_list/?count=50&device_id=7300000000000000123",
            ),
        ));
        let ids = item_ids(&page);
        assert!(ids.len() <= 35);
        seen.extend(ids);
        if page["hasMore"] == false {
            break;
        }
    }
    let expected: Vec<String> = trending
        .iter()
        .map(|entry| entry["video_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn cdn_enforces_cookie_signature_expiry_and_ranges() {
    let site = site(11, 30);
    let truth = site
        .ground_truth_videos(0, 30)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap();
    let page = get(&site, truth["canonical_url"].as_str().unwrap());
    let cookie = chain_cookie(&page);
    let (data, _) = universal_data(&page);
    let item = &scope(&data, "webapp.video-detail")["itemInfo"]["itemStruct"];
    let play = item["video"]["playAddr"].as_str().unwrap();
    assert_eq!(
        get_with(&site, play, None, None).status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_with(
            &site,
            play,
            Some("tt_chain_token=uiu06/A07IgETEOnRD+0Qg=="),
            None
        )
        .status,
        StatusCode::FORBIDDEN
    );
    let full = get_with(&site, play, Some(&cookie), None);
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(&full.body[4..8], b"ftyp");
    assert_eq!(full.headers[header::CONTENT_TYPE], "video/mp4");
    let size = item["video"]["size"].as_u64().unwrap();
    assert_eq!(full.body.len() as u64, size);
    let partial = get_with(&site, play, Some(&cookie), Some("bytes=0-99"));
    assert_eq!(partial.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(partial.body.len(), 100);
    assert_eq!(
        partial.headers[header::CONTENT_RANGE],
        format!("bytes 0-99/{size}")
    );
    assert_eq!(partial.headers[header::ACCEPT_RANGES], "bytes");
    let open = get_with(&site, play, Some(&cookie), Some("bytes=10-"));
    assert_eq!(open.body.len() as u64, size - 10);
    let expired = site.resign_video_url(play, NOW - 1).unwrap();
    assert_eq!(
        get_with(&site, &expired, Some(&cookie), None).status,
        StatusCode::FORBIDDEN
    );
    let resigned = site.resign_video_url(play, NOW + 10).unwrap();
    assert_eq!(
        get_with(&site, &resigned, Some(&cookie), None).status,
        StatusCode::OK
    );
    let tampered = play.replace("signature=", "signature=0");
    assert_eq!(
        get_with(&site, &tampered, Some(&cookie), None).status,
        StatusCode::FORBIDDEN
    );
    for gear in item["video"]["bitrateInfo"].as_array().unwrap() {
        let url = gear["PlayAddr"]["UrlList"][1].as_str().unwrap();
        let response = get_with(&site, url, Some(&cookie), None);
        assert_eq!(
            response.body.len() as u64,
            gear["PlayAddr"]["DataSize"].as_u64().unwrap()
        );
    }
    let cover = item["video"]["cover"].as_str().unwrap();
    let image = get(&site, cover);
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(
        get(&site, &cover.replace("x-expires=", "x-expires=1")).status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&site, cover.split('?').next().unwrap()).status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&site, "https://p16-common-sign.tiktokcdn-us.com/nothing").status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn subtitles_are_webvtt_consistent_with_the_caption() {
    let site = site(12, 60);
    let truth = site
        .ground_truth_videos(0, 60)
        .into_iter()
        .find(|video| {
            video["subtitle_languages"]
                .as_array()
                .is_some_and(|langs| !langs.is_empty())
                && video["description"] != ""
                && video["subtitles_on_web_cdn"] == false
        })
        .unwrap();
    let (data, _) = universal_data(&get(&site, truth["canonical_url"].as_str().unwrap()));
    let video = &scope(&data, "webapp.video-detail")["itemInfo"]["itemStruct"]["video"];
    let info = &video["subtitleInfos"][0];
    let response = get(&site, info["Url"].as_str().unwrap());
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers[header::CONTENT_TYPE], "text/vtt");
    let text = body_text(&response);
    assert!(text.starts_with("WEBVTT\n\n"));
    assert_eq!(text.len() as u64, info["Size"].as_u64().unwrap());
    let first_word = truth["description"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(text.contains(&first_word), "{text}");
    assert_eq!(video["claInfo"]["captionInfos"][0]["url"], info["Url"]);
    // The ground truth's text of the track is its cue lines joined with spaces.
    let cue_lines: Vec<String> = text
        .split("\n\n")
        .skip(1)
        .filter_map(|cue| cue.lines().nth(2))
        .map(|line| line.replace("<c>", "").replace("</c>", ""))
        .collect();
    let track = &truth["subtitles"][0];
    assert_eq!(track["language_code_name"], info["LanguageCodeName"]);
    assert_eq!(track["text"], cue_lines.join(" "));
}

#[test]
fn subtitles_on_the_web_cdn_need_the_page_sessions_chain_token() {
    let site = site(12, 60);
    let truth = site
        .ground_truth_videos(0, 60)
        .into_iter()
        .find(|video| video["subtitles_on_web_cdn"] == true)
        .unwrap();
    let (data, _) = universal_data(&get(&site, truth["canonical_url"].as_str().unwrap()));
    let video = &scope(&data, "webapp.video-detail")["itemInfo"]["itemStruct"]["video"];
    let url = video["subtitleInfos"][0]["Url"].as_str().unwrap();
    assert!(
        url.starts_with("https://v16-webapp-prime.tiktok.com/")
            && url.ends_with("&tk=tt_chain_token"),
        "{url}"
    );
    assert_eq!(get(&site, url).status, StatusCode::FORBIDDEN);
    let forged = get_with(
        &site,
        url,
        Some("tt_chain_token=bm90IGlzc3VlZCBoZXJl"),
        None,
    );
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cookie = format!("tt_chain_token={}", site.signer.issue_chain_token());
    let served = get_with(&site, url, Some(&cookie), None);
    assert_eq!(served.status, StatusCode::OK);
    assert!(body_text(&served).starts_with("WEBVTT"));
}

#[test]
fn sessions_cookies_head_and_unknown_routes() {
    let site = site(13, 20);
    let page = get(&site, "https://www.tiktok.com/");
    let names: Vec<String> = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split('=')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        ["tt_chain_token", "ttwid", "tt_csrf_token", "msToken"]
    );
    for value in page.headers.get_all(header::SET_COOKIE) {
        assert!(
            value
                .to_str()
                .unwrap()
                .contains("Domain=.tiktok.com; Path=/; Secure")
        );
    }
    let cookie = chain_cookie(&page);
    let again = get_with(&site, "https://www.tiktok.com/", Some(&cookie), None);
    assert!(again.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(again.body, page.body);
    let url = site.ground_truth_videos(0, 1)[0]["canonical_url"]
        .as_str()
        .unwrap()
        .to_string();
    let head = site.handle(&request(Method::HEAD, &url, None, DESKTOP, None));
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers[header::CONTENT_LENGTH],
        get(&site, &url).body.len().to_string()
    );
    for unknown in [
        "https://www.tiktok.com/foo/bar/baz/qux",
        "https://www.tiktok.com/api/nothing/",
        "https://v16-webapp-prime.tiktok.com/elsewhere",
    ] {
        let response = get(&site, unknown);
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{unknown}");
        assert_eq!(body_text(&response), "tokworks-sim: no route");
    }
    assert_eq!(
        get(&site, "https://www.tiktok.com/@x/video/notanumber").status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn tiktok_hosts_are_recognised() {
    for host in [
        "tiktok.com",
        "www.tiktok.com",
        "vm.tiktok.com",
        "v16-webapp-prime.us.tiktok.com",
        "www.tiktokv.com",
        "api16-normal-c-useast1a.tiktokv.com",
        "p16-sign-va.tiktokcdn.com",
        "p16-common-sign.tiktokcdn-us.com",
        "p16-pu-sign-no.tiktokcdn-eu.com",
        "sf16-website-login.neutral.ttwstatic.com",
        "ttwstatic.com",
    ] {
        assert!(TiktokSite::is_tiktok_host(host), "{host}");
    }
    for host in [
        "nottiktok.com",
        "tiktok.com.evil.net",
        "example.com",
        "tiktokcdn.com.example",
        "",
    ] {
        assert!(!TiktokSite::is_tiktok_host(host), "{host}");
    }
}

#[test]
fn ground_truth_and_spares_are_disjoint_and_valid() {
    let site = site(14, 25);
    let truth = site.ground_truth_videos(0, 1000);
    assert_eq!(truth.len(), 25);
    assert_eq!(site.ground_truth_videos(20, 10).len(), 5);
    let ids: HashSet<String> = truth
        .iter()
        .map(|video| video["video_id"].as_str().unwrap().to_string())
        .collect();
    let spares = site.spare_videos(5);
    assert_eq!(spares.len(), 5);
    for (id, url) in spares {
        assert!(!ids.contains(&id));
        let (data, _) = universal_data(&get(&site, &url));
        assert_eq!(
            scope(&data, "webapp.video-detail")["itemInfo"]["itemStruct"]["id"],
            id
        );
    }
    assert!(
        truth
            .iter()
            .any(|video| video["duration"].as_u64().unwrap() > 300)
    );
}
