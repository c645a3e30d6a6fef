//! `GET /api/search/item/full/` (docs/tiktok-formats.md "Search"): TikTok's web video search,
//! signed like the other item lists. Snake-case envelope: `item_list` (full `itemStruct`s),
//! `has_more` as 0/1, `cursor` an integer offset (the next request's `offset`).
//!
//! The first page (offset 0) issues the search's `search_id` as its `log_pb.impr_id` and
//! `extra.logid`; a later page must send it back as `search_id`. TikTok's answer to a later page
//! without it is not documented publicly; the simulator answers an empty list with `has_more` 0
//! (so a client that drops the `search_id` sees the search end early, never wrong items).
//! Results: the regular posts whose caption holds every word of `keyword`, newest first.

use serde_json::json;

use crate::corpus::ids;
use crate::exchange::{SimRequest, SimResponse};

use super::TiktokSite;
use super::feeds::{envelope, parse_count, respond, respond_items_as, status};

/// The `search_id` of a keyword: a log id derived from the normalised keyword (the same search
/// gets the same id, so later pages can be checked without state).
pub fn search_id(site: &TiktokSite, keyword: &str) -> String {
    let normalised = keyword
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    site.log_id(ids::hash_bytes(0x5EA2_C400, normalised.as_bytes()))
}

/// `offset` (TikTok-Api also sends `cursor`): absent → 0; `Err` when not a number.
fn parse_offset(request: &SimRequest) -> Result<u64, ()> {
    match request
        .query_param("offset")
        .or_else(|| request.query_param("cursor"))
    {
        None => Ok(0),
        Some(text) if text.trim().is_empty() => Ok(0),
        Some(text) => text.trim().parse::<u64>().map_err(|_| ()),
    }
}

pub(super) fn search_items(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let (Ok(count), Ok(offset)) = (parse_count(request), parse_offset(request)) else {
        return status(site, request, 10201, "invalid params");
    };
    let Some(keyword) = request
        .query_param("keyword")
        .filter(|keyword| !keyword.trim().is_empty())
    else {
        return status(site, request, 10201, "invalid params");
    };
    let expected_id = search_id(site, &keyword);
    let mut map = envelope(site, request, 0, "");
    map.insert("backtrace".to_string(), json!(""));
    if offset == 0 {
        map.insert(
            "extra".to_string(),
            json!({ "fatal_item_ids": [], "logid": expected_id, "now": site.options.now_unix * 1_000 }),
        );
        map.insert("log_pb".to_string(), json!({ "impr_id": expected_id }));
    } else if request.query_param("search_id").as_deref() != Some(expected_id.as_str()) {
        map.insert("has_more".to_string(), json!(0));
        map.insert("cursor".to_string(), json!(offset));
        map.insert("item_list".to_string(), json!([]));
        return respond(map);
    }
    let posts = site.corpus.search_posts(&keyword);
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(posts.len());
    let end = (start + count).min(posts.len());
    map.insert("has_more".to_string(), json!(u8::from(end < posts.len())));
    map.insert("cursor".to_string(), json!(end));
    respond_items_as(site, request, &map, &posts[start..end], false, "item_list")
}
