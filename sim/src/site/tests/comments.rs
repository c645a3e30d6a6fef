//! The comment APIs: signing, the offset cursor to the end, replies, deleted and pinned
//! comments, mentions, and the post with comments turned off.

use std::collections::HashSet;

use serde_json::Value;

use super::{SIGNED, body_text, get, site, universal_data};
use crate::exchange::SimResponse;
use crate::site::comments;

fn signed(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{SIGNED}")
}

fn json_body(response: &SimResponse) -> Value {
    serde_json::from_str(&body_text(response)).unwrap()
}

fn list_url(video_id: &str, cursor: u64, count: u64) -> String {
    signed(&format!(
        "https://www.tiktok.com/api/comment/list/?aweme_id={video_id}&cursor={cursor}&count={count}"
    ))
}

/// Walks a list with `count` per page; returns every entry and the pages.
fn walk(site: &crate::site::TiktokSite, url_of: impl Fn(u64) -> String) -> (Vec<Value>, usize) {
    let (mut cursor, mut pages, mut all) = (0, 0, Vec::new());
    loop {
        let page = json_body(&get(site, &url_of(cursor)));
        assert_eq!(page["status_code"], 0, "{page}");
        pages += 1;
        all.extend(page["comments"].as_array().cloned().unwrap_or_default());
        if page["has_more"] == 0 {
            return (all, pages);
        }
        assert_eq!(page["has_more"], 1);
        let next = page["cursor"].as_u64().unwrap();
        assert!(next > cursor);
        cursor = next;
        assert!(pages < 100);
    }
}

/// A ground-truth video with more than 40 top-level comments (more than two pages of 20).
fn first_video_id(site: &crate::site::TiktokSite) -> String {
    site.ground_truth_videos(0, 30)
        .iter()
        .filter_map(|video| video["video_id"].as_str().map(str::to_string))
        .find(|id| {
            comments::truth(site, id).unwrap()["comments"]
                .as_array()
                .unwrap()
                .len()
                > 40
        })
        .unwrap()
}

#[test]
fn the_comment_lists_are_signed() {
    let site = site(7, 50);
    let id = first_video_id(&site);
    let unsigned = get(
        &site,
        &format!("https://www.tiktok.com/api/comment/list/?aweme_id={id}&cursor=0&count=20"),
    );
    assert_eq!(unsigned.status, 200);
    assert!(unsigned.body.is_empty());
    let signed = json_body(&get(&site, &list_url(&id, 0, 20)));
    assert_eq!(signed["comments"].as_array().unwrap().len(), 20);
}

#[test]
fn the_cursor_walks_every_comment_once_and_replies_add_up_to_the_total() {
    let site = site(7, 50);
    let id = first_video_id(&site);
    let (top, pages) = walk(&site, |cursor| list_url(&id, cursor, 20));
    assert!(pages >= 3, "{pages} pages");
    let ids: HashSet<&str> = top.iter().map(|c| c["cid"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), top.len(), "no comment twice");
    assert_eq!(top[0]["stick_position"], 1, "the first comment is pinned");
    assert_eq!(top[0]["author_pin"], true);
    assert!(top.iter().any(|c| c["is_author_digged"] == true));
    let deleted = top
        .iter()
        .filter(|c| c["status"] == comments::STATUS_DELETED)
        .count();
    assert!(deleted > 0, "some comments are deleted");
    let mention = top
        .iter()
        .find(|c| c["text_extra"].as_array().is_some_and(|e| !e.is_empty()))
        .expect("a comment mentions someone");
    let text = mention["text"].as_str().unwrap();
    let extra = &mention["text_extra"][0];
    assert_eq!(extra["type"], 0);
    let end = extra["end"].as_u64().unwrap() as usize;
    assert!(text.starts_with('@') && text.chars().nth(end).is_none_or(|c| c == ' '));

    let mut visible = 0;
    let mut replied = 0;
    for comment in top
        .iter()
        .filter(|c| c["status"] == comments::STATUS_PUBLISHED)
    {
        visible += 1;
        let expected = comment["reply_comment_total"].as_u64().unwrap();
        let cid = comment["cid"].as_str().unwrap().to_string();
        let (replies, _) = walk(&site, |cursor| {
            signed(&format!(
                "https://www.tiktok.com/api/comment/list/reply/?item_id={id}&comment_id={cid}&cursor={cursor}&count=20"
            ))
        });
        let shown = replies
            .iter()
            .filter(|r| r["status"] == comments::STATUS_PUBLISHED)
            .inspect(|r| assert_eq!(r["reply_id"].as_str(), Some(cid.as_str())))
            .count() as u64;
        assert_eq!(shown, expected, "reply_comment_total of {cid}");
        replied += shown;
    }
    let first = json_body(&get(&site, &list_url(&id, 0, 20)));
    assert_eq!(first["total"].as_u64().unwrap(), visible + replied);
}

#[test]
fn a_post_with_comments_off_says_so_and_lists_nothing() {
    let site = site(7, 50);
    let url = comments::comments_off_url(&site).unwrap();
    let id = url.rsplit('/').next().unwrap().to_string();
    let (data, _) = universal_data(&get(&site, &url));
    let item = &data["__DEFAULT_SCOPE__"]["webapp.video-detail"]["itemInfo"]["itemStruct"];
    assert_eq!(
        item["itemCommentStatus"],
        comments::COMMENTS_OFF_ITEM_STATUS
    );
    let page = json_body(&get(&site, &list_url(&id, 0, 20)));
    assert_eq!(page["comments"], Value::Null);
    assert_eq!(page["total"], 0);
    assert_eq!(page["has_more"], 0);
    let truth = comments::truth(&site, &id).unwrap();
    assert_eq!(truth["comments_off"], true);
    // An open post's item says 0.
    let open = site.ground_truth_videos(0, 1)[0]["canonical_url"]
        .as_str()
        .unwrap()
        .to_string();
    let (data, _) = universal_data(&get(&site, &open));
    let item = &data["__DEFAULT_SCOPE__"]["webapp.video-detail"]["itemInfo"]["itemStruct"];
    assert_eq!(item["itemCommentStatus"], 0);
}
