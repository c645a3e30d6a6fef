//! Ground truth for tests: what a correct extractor must report for each regular post, user,
//! hashtag and the trending list (snake_case JSON, exact counts).

use serde_json::{Value, json};

use crate::corpus::posts::{Post, PostKind, SubtitleSource};
use crate::corpus::{CASE_CONDITIONS, PostCondition};

use super::short_links::ShortForm;
use super::urls::{IMAGE_HOST_COMMON_US, IMAGE_HOST_PHOTO_VA};
use super::{SimCase, TiktokSite};

/// Unknown short code listed as the `short_link_unknown` case.
pub const UNKNOWN_SHORT_CODE: &str = "ZMhNotReal1";
/// Unknown handle listed as the `user_not_found` case.
pub const UNKNOWN_USER: &str = "no.such.user.sim";
/// Unknown hashtag listed as the `hashtag_not_found` case.
pub const UNKNOWN_HASHTAG: &str = "nosuchtagsim";

/// Ground truth of one post (see [`TiktokSite::ground_truth_videos`] for the shape).
pub fn video_truth(site: &TiktokSite, post: &Post) -> Value {
    let skeleton = &post.skeleton;
    let urls = site.url_builder("");
    let author = site.corpus.users.get(skeleton.author);
    let stats = &skeleton.stats;
    let hashtags: Vec<&str> = skeleton
        .hashtags
        .iter()
        .filter_map(|index| site.corpus.hashtags.get(*index as usize))
        .map(|hashtag| hashtag.name.as_str())
        .collect();
    let mentions: Vec<&str> = skeleton
        .mentions
        .iter()
        .filter_map(|index| site.corpus.users.get(*index))
        .map(|user| user.unique_id.as_str())
        .collect();
    let images: Vec<Value> = post
        .images
        .iter()
        .map(|image| {
            json!({
                "url": urls.photo_url(IMAGE_HOST_PHOTO_VA, &image.key, "jpeg"),
                "width": image.width,
                "height": image.height,
            })
        })
        .collect();
    let duration = match skeleton.kind {
        PostKind::Video => post.duration,
        PostKind::Photo => post.music.duration,
    };
    let index = skeleton.global_index;
    json!({
        "video_id": skeleton.id.to_string(),
        "canonical_url": site.canonical_url(skeleton),
        "short_urls": {
            "vm": format!("https://vm.tiktok.com/{}/", site.short_codes.code(ShortForm::Vm, index)),
            "vt": format!("https://vt.tiktok.com/{}/", site.short_codes.code(ShortForm::Vt, index)),
            "t": format!("https://www.tiktok.com/t/{}/", site.short_codes.code(ShortForm::T, index)),
        },
        "kind": match skeleton.kind { PostKind::Video => "video", PostKind::Photo => "photo" },
        "description": post.caption.text,
        "create_time": skeleton.create_time,
        "duration": duration,
        "width": post.width,
        "height": post.height,
        "author": author.map(|user| json!({
            "id": user.id.to_string(),
            "unique_id": user.unique_id,
            "nickname": user.nickname,
            "sec_uid": user.sec_uid,
            "verified": user.verified,
            "private_account": user.private_account,
        })),
        "stats": {
            "play_count": stats.play_count,
            "like_count": stats.like_count,
            "comment_count": stats.comment_count,
            "share_count": stats.share_count,
            "collect_count": stats.collect_count,
            "repost_count": stats.repost_count,
        },
        "hashtags": hashtags,
        "mentions": mentions,
        "music": {
            "id": post.music.id.to_string(),
            "title": post.music.title,
            "author_name": post.music.author_name,
            "original": post.music.original,
            "duration": post.music.duration,
        },
        "location_created": post.location,
        "is_ad": skeleton.is_ad,
        "image_count": post.images.len(),
        "images": images,
        "subtitles_on_web_cdn": !post.subtitles.is_empty() && super::urls::subtitles_on_web_cdn(skeleton.id),
        "subtitle_languages": post.subtitles.iter().map(|track| track.language_code_name()).collect::<Vec<_>>(),
        "subtitles": post.subtitles.iter().map(|track| json!({
            "language_code_name": track.language_code_name(),
            "source": match track.source { SubtitleSource::Asr => "asr", SubtitleSource::Mt => "mt" },
            "text": super::media::subtitle_words(post, track).join(" "),
        })).collect::<Vec<_>>(),
        "cover_url": urls.cover_url(IMAGE_HOST_COMMON_US, &post.cover.key, "tplv-tiktokx-origin.image"),
        "pinned": post.pinned,
    })
}

/// Ground truth of users (public and private) from `offset`.
pub fn users_truth(site: &TiktokSite, offset: usize, limit: usize) -> Vec<Value> {
    site.corpus
        .users
        .users
        .iter()
        .skip(offset)
        .take(limit)
        .map(|user| {
            let video_ids: Vec<String> = site
                .corpus
                .user_posts_newest_first(user.index)
                .map(|index| site.corpus.post_id(index).to_string())
                .collect();
            json!({
                "id": user.id.to_string(),
                "unique_id": user.unique_id,
                "nickname": user.nickname,
                "sec_uid": user.sec_uid,
                "signature": user.signature,
                "verified": user.verified,
                "private_account": user.private_account,
                "profile_url": format!("https://www.tiktok.com/@{}", user.unique_id),
                "follower_count": user.follower_count,
                "following_count": user.following_count,
                "heart_count": user.heart_count,
                "video_count": site.corpus.user_post_count(user.index),
                "pinned_video_id": site.corpus.pinned_regular_of(user.index).map(|index| site.corpus.post_id(index).to_string()),
                "video_ids": video_ids,
            })
        })
        .collect()
}

/// Ground truth of every hashtag.
pub fn hashtags_truth(site: &TiktokSite) -> Vec<Value> {
    site.corpus
        .hashtags
        .iter()
        .map(|hashtag| {
            let posts = site.corpus.hashtag_posts(hashtag.index);
            json!({
                "id": hashtag.id,
                "name": hashtag.name,
                "tag_url": format!(
                    "https://www.tiktok.com/tag/{}",
                    percent_encoding::utf8_percent_encode(&hashtag.name, percent_encoding::NON_ALPHANUMERIC)
                ),
                "video_count": posts.len(),
                "view_count": hashtag.view_count,
                "video_ids": posts.iter().map(|index| site.corpus.post_id(*index).to_string()).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The trending list in serving order.
pub fn trending_truth(site: &TiktokSite) -> Vec<Value> {
    site.corpus
        .trending()
        .iter()
        .enumerate()
        .filter_map(|(position, index)| {
            let skeleton = site.corpus.skeleton(*index)?;
            Some(json!({
                "position": position,
                "video_id": skeleton.id.to_string(),
                "canonical_url": site.canonical_url(&skeleton),
                "play_count": skeleton.stats.play_count,
            }))
        })
        .collect()
}

/// Every built-in error case.
pub fn status_cases(site: &TiktokSite) -> Vec<SimCase> {
    let mut cases: Vec<SimCase> = CASE_CONDITIONS
        .iter()
        .filter_map(|condition| {
            let index = site.corpus.case_index(*condition)?;
            let skeleton = site.corpus.skeleton(index)?;
            Some(SimCase {
                name: condition.case_name().to_string(),
                url: site.canonical_url(&skeleton),
                status_code: Some(condition.status_code()),
                description: condition.description().to_string(),
            })
        })
        .collect();
    cases.push(SimCase {
        name: "video_not_found".to_string(),
        url: format!(
            "https://www.tiktok.com/@_/video/{}",
            site.unknown_video_id()
        ),
        status_code: Some(PostCondition::Deleted.status_code()),
        description: "An id that never existed: statusCode 10204 \"item doesn't exist\"."
            .to_string(),
    });
    cases.push(SimCase {
        name: "short_link_unknown".to_string(),
        url: format!("https://vm.tiktok.com/{UNKNOWN_SHORT_CODE}/"),
        status_code: None,
        description: "An unknown short code: 302 to https://www.tiktok.com/notfound.".to_string(),
    });
    if let Some(url) = super::comments::comments_off_url(site) {
        cases.push(SimCase {
            name: "comments_off".to_string(),
            url,
            // A viewable post (statusCode 0): not an error case of the page.
            status_code: None,
            description: "A public post whose comments are turned off: itemCommentStatus 3, \
                          an empty comment list."
                .to_string(),
        });
    }
    cases.push(SimCase {
        name: "user_not_found".to_string(),
        url: format!("https://www.tiktok.com/@{UNKNOWN_USER}"),
        status_code: Some(10202),
        description: "A profile that does not exist: webapp.user-detail statusCode 10202."
            .to_string(),
    });
    cases.push(SimCase {
        name: "hashtag_not_found".to_string(),
        url: format!("https://www.tiktok.com/tag/{UNKNOWN_HASHTAG}"),
        status_code: Some(10205),
        description:
            "A hashtag that does not exist: statusCode 10205 on the tag page and challenge API."
                .to_string(),
    });
    cases
}
