//! Search and sound API tests: signing, the offset cursor, the `search_id` rule, unknown sounds.

use http::StatusCode;
use serde_json::Value;

use super::*;

fn signed(url: &str) -> String {
    format!("{url}&{SIGNED}")
}

fn json_body(response: &SimResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

fn ids(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn search_walks_by_offset_and_needs_its_search_id() {
    let site = site(5, 300);
    let unsigned = get(
        &site,
        "https://www.tiktok.com/api/search/item/full/?keyword=fyp&offset=0&count=5",
    );
    assert_eq!(unsigned.status, StatusCode::OK);
    assert!(unsigned.body.is_empty());

    let first = json_body(&get(
        &site,
        &signed("https://www.tiktok.com/api/search/item/full/?keyword=fyp&offset=0&count=5"),
    ));
    assert_eq!(first["status_code"], 0);
    assert_eq!(first["has_more"], 1);
    assert_eq!(first["cursor"], 5);
    let search_id = first["log_pb"]["impr_id"].as_str().unwrap().to_string();
    assert_eq!(first["extra"]["logid"], search_id.as_str());
    let first_ids = ids(&first, "item_list");
    assert_eq!(first_ids.len(), 5);
    assert!(first["item_list"][0]["author"]["uniqueId"].is_string());

    let second = json_body(&get(
        &site,
        &signed(&format!(
            "https://www.tiktok.com/api/search/item/full/?keyword=fyp&offset=5&count=5&search_id={search_id}"
        )),
    ));
    let second_ids = ids(&second, "item_list");
    assert_eq!(second_ids.len(), 5);
    assert!(second_ids.iter().all(|id| !first_ids.contains(id)));
    assert_eq!(second["cursor"], 10);

    for bad in ["", "&search_id=20260101000000AAAAAAAAAAAAAAAAAAAA"] {
        let lost = json_body(&get(
            &site,
            &signed(&format!(
                "https://www.tiktok.com/api/search/item/full/?keyword=fyp&offset=5&count=5{bad}"
            )),
        ));
        assert_eq!(lost["has_more"], 0, "{bad}");
        assert!(ids(&lost, "item_list").is_empty());
    }

    let all = site.corpus().search_posts("fyp").len();
    let last = json_body(&get(
        &site,
        &signed(&format!(
            "https://www.tiktok.com/api/search/item/full/?keyword=fyp&offset={}&count=35&search_id={search_id}",
            all.saturating_sub(2)
        )),
    ));
    assert_eq!(last["has_more"], 0);
    assert_eq!(ids(&last, "item_list").len(), 2.min(all));

    let nothing = json_body(&get(
        &site,
        &signed(
            "https://www.tiktok.com/api/search/item/full/?keyword=zzqxnotaword&offset=0&count=5",
        ),
    ));
    assert_eq!(nothing["has_more"], 0);
    assert!(ids(&nothing, "item_list").is_empty());
}

#[test]
fn sounds_have_detail_and_an_offset_list_and_unknown_ones_say_10203() {
    let site = site(5, 300);
    let post = site.corpus().post(12).unwrap();
    let music_id = post.music.id;
    let detail = json_body(&get(
        &site,
        &format!("https://www.tiktok.com/api/music/detail/?musicId={music_id}"),
    ));
    assert_eq!(detail["statusCode"], 0);
    assert_eq!(detail["musicInfo"]["music"]["id"], music_id.to_string());
    assert_eq!(
        detail["musicInfo"]["music"]["title"],
        post.music.title.as_str()
    );
    let uses = site.corpus().posts_with_music(music_id).len();
    assert_eq!(
        detail["musicInfo"]["statsV2"]["videoCount"],
        uses.to_string()
    );

    let unsigned = get(
        &site,
        &format!("https://www.tiktok.com/api/music/item_list/?musicID={music_id}&count=5&cursor=0"),
    );
    assert!(unsigned.body.is_empty());
    let list = json_body(&get(
        &site,
        &signed(&format!(
            "https://www.tiktok.com/api/music/item_list/?musicID={music_id}&count=35&cursor=0"
        )),
    ));
    let listed = ids(&list, "itemList");
    assert_eq!(listed.len(), uses.min(35));
    assert!(listed.contains(&post.skeleton.id.to_string()));
    assert_eq!(list["cursor"], listed.len().to_string());

    for url in [
        "https://www.tiktok.com/api/music/detail/?musicId=7000000000000000001".to_string(),
        "https://www.tiktok.com/api/music/detail/?musicId=abc".to_string(),
        signed(
            "https://www.tiktok.com/api/music/item_list/?musicID=7000000000000000001&count=5&cursor=0",
        ),
    ] {
        let answer = json_body(&get(&site, &url));
        assert_eq!(answer["statusCode"], 10203, "{url}");
        assert!(answer.get("musicInfo").is_none());
    }
}

#[test]
fn a_shared_track_lists_many_posts_across_pages() {
    let site = site(5, 300);
    let shared = (0..300)
        .map(|index| site.corpus().post(index).unwrap().music.id)
        .find(|id| site.corpus().posts_with_music(*id).len() > 3)
        .expect("a licensed track used by several posts");
    let uses = site.corpus().posts_with_music(shared).len();
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    loop {
        let page = json_body(&get(
            &site,
            &signed(&format!(
                "https://www.tiktok.com/api/music/item_list/?musicID={shared}&count=2&cursor={cursor}"
            )),
        ));
        seen.extend(ids(&page, "itemList"));
        if page["hasMore"] != true {
            break;
        }
        cursor = page["cursor"].as_str().unwrap().to_string();
    }
    assert_eq!(seen.len(), uses);
}
