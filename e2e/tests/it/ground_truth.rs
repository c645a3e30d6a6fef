//! Comparison of an api result (`shared::video::Video` as JSON) with the simulator's ground
//! truth (`GET /_sim/videos`, built by `sim/src/site/ground_truth.rs`). The mapping:
//!
//! | ground truth                    | result (`Video`)                   |
//! |---------------------------------|------------------------------------|
//! | `video_id`                      | `id`                               |
//! | `kind`, `canonical_url`         | `kind`, `url`                      |
//! | `description`, `create_time`    | `description`, `create_time`       |
//! | `duration`, `width`, `height`   | `duration_seconds`, `width`, `height` |
//! | `author.{id,unique_id,nickname,sec_uid,verified,private_account}` | `author.*` (same names) |
//! | `stats.{play,like,comment,share,collect,repost}_count` | `counts.*` (same names), and `counts_exact == true` |
//! | `hashtags[]` (names)            | `hashtags[].name`                  |
//! | `mentions[]` (unique ids)       | `mentions[].unique_id`             |
//! | `music.{id,title,author_name,original}`, `music.duration` | `music.*`, `music.duration_seconds` |
//! | `location_created`, `is_ad`     | `location_created`, `is_ad`        |
//! | `image_count`                   | length of `images`                 |
//!
//! Not compared: media and cover URLs (signed, expiring, re-signed per fetch), subtitles'
//! contents, `pinned` (a profile-grid flag the `Video` type does not carry).
//! Every difference is reported, not just the first.

use serde_json::Value;

/// Scalar fields: (JSON pointer in the ground truth, JSON pointer in the result).
const SCALAR_FIELDS: &[(&str, &str)] = &[
    ("/video_id", "/id"),
    ("/kind", "/kind"),
    ("/canonical_url", "/url"),
    ("/description", "/description"),
    ("/create_time", "/create_time"),
    ("/duration", "/duration_seconds"),
    ("/width", "/width"),
    ("/height", "/height"),
    ("/author/id", "/author/id"),
    ("/author/unique_id", "/author/unique_id"),
    ("/author/nickname", "/author/nickname"),
    ("/author/sec_uid", "/author/sec_uid"),
    ("/author/verified", "/author/verified"),
    ("/author/private_account", "/author/private_account"),
    ("/stats/play_count", "/counts/play_count"),
    ("/stats/like_count", "/counts/like_count"),
    ("/stats/comment_count", "/counts/comment_count"),
    ("/stats/share_count", "/counts/share_count"),
    ("/stats/collect_count", "/counts/collect_count"),
    ("/stats/repost_count", "/counts/repost_count"),
    ("/music/id", "/music/id"),
    ("/music/title", "/music/title"),
    ("/music/author_name", "/music/author_name"),
    ("/music/original", "/music/original"),
    ("/music/duration", "/music/duration_seconds"),
    ("/location_created", "/location_created"),
    ("/is_ad", "/is_ad"),
];

/// The ground truth's video id.
pub fn video_id(truth: &Value) -> &str {
    truth["video_id"]
        .as_str()
        .unwrap_or_else(|| panic!("ground truth without video_id: {truth}"))
}

/// The ground truth's canonical URL (what a client would paste).
pub fn canonical_url(truth: &Value) -> &str {
    truth["canonical_url"]
        .as_str()
        .unwrap_or_else(|| panic!("ground truth without canonical_url: {truth}"))
}

/// Every difference between `result` and `truth`, as readable lines; empty when they agree.
pub fn compare_with_ground_truth(truth: &Value, result: &Value) -> Vec<String> {
    let mut differences = Vec::new();
    for (truth_pointer, result_pointer) in SCALAR_FIELDS {
        let Some(truth_value) = truth.pointer(truth_pointer) else {
            differences.push(format!("ground truth lacks {truth_pointer}"));
            continue;
        };
        let result_value = result.pointer(result_pointer).unwrap_or(&Value::Null);
        if !same_scalar(truth_value, result_value) {
            differences.push(format!(
                "{result_pointer}: expected {truth_value}, got {result_value}"
            ));
        }
    }
    if result["counts_exact"] != Value::Bool(true) {
        differences.push(format!(
            "/counts_exact: expected true, got {}",
            result["counts_exact"]
        ));
    }
    let list_fields = [
        (
            "/hashtags",
            names(&truth["hashtags"], ""),
            names(&result["hashtags"], "name"),
        ),
        (
            "/mentions",
            names(&truth["mentions"], ""),
            names(&result["mentions"], "unique_id"),
        ),
    ];
    for (label, expected, actual) in list_fields {
        if expected != actual {
            differences.push(format!("{label}: expected {expected:?}, got {actual:?}"));
        }
    }
    let expected_images = truth["image_count"].as_u64();
    let actual_images = result["images"]
        .as_array()
        .map(|images| images.len() as u64);
    if expected_images != actual_images {
        differences.push(format!(
            "/images: expected {expected_images:?} images, got {actual_images:?}"
        ));
    }
    differences
}

/// Equal as JSON, treating a number and its decimal string as equal (ids and counts are
/// strings on one side and numbers on the other in places).
fn same_scalar(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(number), Value::String(text))
        | (Value::String(text), Value::Number(number)) => number.to_string() == *text,
        _ => expected == actual,
    }
}

/// A list of strings, or of objects whose `key` is a string, as strings.
fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    if key.is_empty() {
                        item.as_str()
                    } else {
                        item[key].as_str()
                    }
                })
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
