//! Server-rendered HTML pages: video/photo (desktop and reflow), profile, tag, login, not-found
//! and home, each with one line of `__UNIVERSAL_DATA_FOR_REHYDRATION__` JSON where `/` inside
//! strings is written `\u002F` like the real site.

use serde_json::{Value, json};

use crate::corpus::PostCondition;
use crate::corpus::stats::display_rounded;

use super::TiktokSite;
use super::item::{self, ItemOptions};
use super::item_media;
use super::json_writer::JsonWriter;

/// One-line JSON of `value` with `\u002F` escapes (as in the page's script element).
pub fn page_json(value: &Value) -> String {
    let mut writer = JsonWriter::new(true, 1024);
    writer.value(value);
    writer.finish()
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(character),
        }
    }
    out
}

/// Head metadata of a page.
#[derive(Debug, Default)]
struct PageHead {
    title: String,
    description: String,
    og_image: Option<String>,
    canonical: Option<String>,
    /// `snssdk1233://…` deep link for the app-link meta tags.
    app_link: Option<String>,
}

fn render_html(head: &PageHead, data: &str, body_text: &str) -> String {
    let mut html = String::with_capacity(data.len() + 2048);
    html.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>");
    html.push_str(&format!("<title>{}</title>", html_escape(&head.title)));
    html.push_str(&format!(
        "<meta name=\"description\" content=\"{}\"/>",
        html_escape(&head.description)
    ));
    html.push_str(&format!(
        "<meta property=\"og:title\" content=\"{}\"/>",
        html_escape(&head.title)
    ));
    if let Some(image) = &head.og_image {
        html.push_str(&format!(
            "<meta property=\"og:image\" content=\"{}\"/>",
            html_escape(image)
        ));
    }
    if let Some(canonical) = &head.canonical {
        html.push_str(&format!(
            "<link rel=\"canonical\" href=\"{}\"/>",
            html_escape(canonical)
        ));
        html.push_str(&format!(
            "<meta property=\"og:url\" content=\"{}\"/>",
            html_escape(canonical)
        ));
    }
    if let Some(link) = &head.app_link {
        html.push_str(&format!(
            "<meta property=\"al:ios:url\" content=\"{link}\"/>"
        ));
        html.push_str(&format!(
            "<meta property=\"al:android:url\" content=\"{link}\"/>"
        ));
    }
    html.push_str("</head><body><div id=\"app\">");
    html.push_str(body_text);
    html.push_str(
        "</div><script id=\"__UNIVERSAL_DATA_FOR_REHYDRATION__\" type=\"application/json\">",
    );
    html.push_str(data);
    html.push_str("</script></body></html>");
    html
}

/// The members every page's `__DEFAULT_SCOPE__` starts with (`webapp.app-context` and
/// friends), already serialised; computed once per site.
pub fn base_scope_members(now_unix: i64, web_id: u64, request_id: &str, mobile: bool) -> String {
    let mut writer = JsonWriter::new(true, 1024);
    writer.begin_object();
    writer.key("webapp.app-context").value(&json!({
        "language": "en",
        "region": "US",
        "appId": 1233,
        "appType": "m",
        "wid": web_id.to_string(),
        "webIdCreatedTime": now_unix.to_string(),
        "odinId": web_id.to_string(),
        "botType": "others",
        "requestId": request_id,
        "clusterRegion": "US",
        "isMobile": mobile,
        "abTestVersion": { "versionName": "" },
        "user": {},
    }));
    writer
        .key("webapp.i18n-translation")
        .value(&json!({ "lang": "en" }));
    writer
        .key("webapp.biz-context")
        .value(&json!({ "isSearchEngineBot": false }));
    writer.end_object();
    let text = writer.finish();
    text[1..text.len() - 1].to_string()
}

/// A scope name and the closure writing its value.
type NamedScope<'a> = (&'a str, &'a dyn Fn(&mut JsonWriter));

/// `{"__DEFAULT_SCOPE__":{…common scopes…, "{scope}": …}}`; `scope` writes one value.
fn page_data(site: &TiktokSite, mobile: bool, scope: Option<NamedScope<'_>>) -> String {
    let mut writer = JsonWriter::new(true, 32 * 1024);
    writer
        .begin_object()
        .key("__DEFAULT_SCOPE__")
        .begin_object();
    writer.raw_member(if mobile {
        &site.base_scopes_mobile
    } else {
        &site.base_scopes_desktop
    });
    if let Some((name, write_scope)) = scope {
        writer.key(name);
        write_scope(&mut writer);
    }
    writer.end_object().end_object();
    writer.finish()
}

/// A page whose special scope is a small `Value`.
fn value_page(
    site: &TiktokSite,
    head: &PageHead,
    scope_name: &str,
    scope: &Value,
    body_text: &str,
) -> String {
    let data = page_data(
        site,
        false,
        Some((scope_name, &|writer: &mut JsonWriter| {
            writer.value(scope);
        })),
    );
    render_html(head, &data, body_text)
}

/// A video-page status scope (`statusCode` without `itemInfo`).
fn status_video_page(
    site: &TiktokSite,
    scope_name: &str,
    mobile: bool,
    code: i64,
    message: &str,
) -> String {
    let data = page_data(
        site,
        mobile,
        Some((scope_name, &|writer: &mut JsonWriter| {
            writer
                .begin_object()
                .field_i64("statusCode", code)
                .field_str("statusMsg", message)
                .end_object();
        })),
    );
    let head = PageHead {
        title: "TikTok - Make Your Day".to_string(),
        ..PageHead::default()
    };
    render_html(&head, &data, "")
}

/// The video/photo page for post `post_index` (`None` = unknown id → 10204).
pub fn video_page(site: &TiktokSite, post_index: Option<u32>, mobile: bool) -> String {
    let scope_name = if mobile {
        "webapp.reflow.video.detail"
    } else {
        "webapp.video-detail"
    };
    let Some(post) = post_index.and_then(|index| site.corpus.post(index)) else {
        return status_video_page(site, scope_name, mobile, 10204, "item doesn't exist");
    };
    let condition = post.skeleton.condition();
    if !matches!(
        condition,
        PostCondition::Public | PostCondition::AgeRestricted
    ) {
        return status_video_page(
            site,
            scope_name,
            mobile,
            condition.status_code(),
            condition.status_msg(),
        );
    }
    let author = site.corpus.users.get(post.skeleton.author);
    let nickname = author.map_or("", |user| user.nickname.as_str());
    let log_id = site.log_id(post.skeleton.id);
    let urls = site.url_builder(&log_id);
    let share_title = format!("{nickname} on TikTok");
    let data = page_data(
        site,
        mobile,
        Some((scope_name, &|writer: &mut JsonWriter| {
            writer
                .begin_object()
                .key("itemInfo")
                .begin_object()
                .key("itemStruct");
            let options = ItemOptions {
                create_time_as_string: true,
                in_user_list: false,
            };
            item::write_item_struct(writer, &site.corpus, &post, &urls, options);
            writer
                .end_object()
                .key("shareMeta")
                .begin_object()
                .field_str("title", &share_title)
                .field_str("desc", &post.caption.text)
                .end_object()
                .field_i64("statusCode", 0)
                .field_str("statusMsg", "")
                .end_object();
        })),
    );
    let head = PageHead {
        title: if post.caption.text.is_empty() {
            format!("TikTok · {nickname}")
        } else {
            format!("{} | TikTok", post.caption.text)
        },
        description: format!("{nickname} on TikTok: {}", post.caption.text),
        og_image: Some(item_media::cover_url(&post, &urls)),
        canonical: Some(site.canonical_url(&post.skeleton)),
        app_link: Some(format!("snssdk1233://aweme/detail/{}", post.skeleton.id)),
    };
    render_html(&head, &data, "")
}

/// `userInfo` of `user_index` (shared by the profile page and `/api/user/detail/`).
pub fn user_info_json(site: &TiktokSite, user_index: u32, log_id: &str) -> Option<(Value, Value)> {
    let user = site.corpus.users.get(user_index)?;
    let urls = site.url_builder(log_id);
    let video_count = u64::from(site.corpus.user_post_count(user_index));
    let mut writer = JsonWriter::new(false, 4096);
    writer.begin_object().key("user");
    item::open_author(&mut writer, user, &urls);
    writer.end_object();
    item::write_user_stats(&mut writer, "stats", "statsV2", user, video_count);
    writer.end_object();
    let mut parts: Value = serde_json::from_str(&writer.finish()).ok()?;
    let mut user_json = parts.get_mut("user")?.take();
    let stats = parts.get_mut("stats")?.take();
    let stats_v2 = parts.get_mut("statsV2")?.take();
    if let Value::Object(map) = &mut user_json {
        map.insert("shortId".to_string(), json!(""));
        map.insert("createTime".to_string(), json!(user.create_time));
        map.insert("bioLink".to_string(), json!({ "link": "", "risk": 0 }));
        map.insert(
            "commerceUserInfo".to_string(),
            json!({ "commerceUser": false }),
        );
        map.insert("region".to_string(), json!(user.region));
        map.insert("language".to_string(), json!("en"));
        map.insert("uniqueIdModifyTime".to_string(), json!(0));
        map.insert("nickNameModifyTime".to_string(), json!(0));
        map.insert("followingVisibility".to_string(), json!(1));
        map.insert("profileEmbedPermission".to_string(), json!(1));
        map.insert("canExpPlaylist".to_string(), json!(false));
        map.insert("isOrganization".to_string(), json!(0));
        map.insert("eventList".to_string(), json!([]));
        map.insert("suggestAccountBind".to_string(), json!(false));
        map.insert(
            "profileTab".to_string(),
            json!({ "showMusicTab": false, "showQuestionTab": false, "showPlayListTab": false }),
        );
    }
    let share_meta = json!({
        "title": format!("{} on TikTok", user.nickname),
        "desc": format!(
            "@{} {} Followers, {} Following, {} Likes - Watch awesome short videos created by {}",
            user.unique_id,
            compact_count(user.follower_count),
            compact_count(user.following_count),
            compact_count(user.heart_count),
            user.nickname
        ),
    });
    let user_info =
        json!({ "user": user_json, "stats": stats, "statsV2": stats_v2, "itemList": [] });
    Some((user_info, share_meta))
}

/// `427.7k`, `6.8m`, `176` (TikTok's share text style).
fn compact_count(value: u64) -> String {
    let rounded = display_rounded(value);
    match rounded {
        0..=9_999 => rounded.to_string(),
        10_000..=999_999 => format!("{:.1}k", rounded as f64 / 1_000.0),
        1_000_000..=999_999_999 => format!("{:.1}m", rounded as f64 / 1_000_000.0),
        _ => format!("{:.1}b", rounded as f64 / 1_000_000_000.0),
    }
}

/// The profile page `/@{unique_id}`: unknown → 10202, private → 10222.
pub fn profile_page(site: &TiktokSite, unique_id: &str) -> String {
    let Some(user) = site.corpus.users.by_unique_id(unique_id) else {
        let head = PageHead {
            title: "Couldn't find this account | TikTok".to_string(),
            ..PageHead::default()
        };
        let scope = json!({ "statusCode": 10202, "statusMsg": "" });
        return value_page(
            site,
            &head,
            "webapp.user-detail",
            &scope,
            "<p>Couldn’t find this account</p>",
        );
    };
    let log_id = site.log_id(user.id);
    let Some((mut user_info, share_meta)) = user_info_json(site, user.index, &log_id) else {
        return render_html(&PageHead::default(), &page_data(site, false, None), "");
    };
    let status_code = if user.private_account {
        if let Some(stats) = user_info.get_mut("stats") {
            stats["videoCount"] = json!(0);
        }
        if let Some(stats) = user_info.get_mut("statsV2") {
            stats["videoCount"] = json!("0");
        }
        10222
    } else {
        0
    };
    let head = PageHead {
        title: format!("{} (@{}) | TikTok", user.nickname, user.unique_id),
        description: share_meta["desc"].as_str().unwrap_or_default().to_string(),
        canonical: Some(format!("https://www.tiktok.com/@{}", user.unique_id)),
        app_link: Some(format!("snssdk1233://user/profile/{}", user.id)),
        ..PageHead::default()
    };
    let scope = json!({
        "userInfo": user_info,
        "shareMeta": share_meta,
        "statusCode": status_code,
        "statusMsg": "",
        "needFix": true,
    });
    value_page(site, &head, "webapp.user-detail", &scope, "")
}

/// `challengeInfo` of a hashtag (shared by the tag page and `/api/challenge/detail/`).
pub fn challenge_info_json(site: &TiktokSite, hashtag_index: u32) -> Option<(Value, Value)> {
    let hashtag = site.corpus.hashtags.get(hashtag_index as usize)?;
    let video_count = site.corpus.hashtag_posts(hashtag_index).len() as u64;
    let challenge = json!({
        "id": hashtag.id, "title": hashtag.name, "desc": "", "splitTitle": "",
        "profileThumb": "", "profileMedium": "", "profileLarger": "",
        "coverThumb": "", "coverMedium": "", "coverLarger": "",
        "isCommerce": false,
        "stats": { "videoCount": 0, "viewCount": display_rounded(hashtag.view_count) },
    });
    let info = json!({
        "challenge": challenge,
        "challengeAnnouncement": { "body": "", "title": "" },
        "stats": { "videoCount": 0, "viewCount": display_rounded(hashtag.view_count) },
        "statsV2": { "videoCount": video_count.to_string(), "viewCount": hashtag.view_count.to_string() },
    });
    let share_meta = json!({
        "title": format!("#{} on TikTok", hashtag.name),
        "desc": format!("Watch the latest videos about #{} on TikTok.", hashtag.name),
    });
    Some((info, share_meta))
}

/// The tag page `/tag/{name}`: unknown → 10205 and "Couldn't find this hashtag".
pub fn tag_page(site: &TiktokSite, name: &str) -> String {
    let found = site.corpus.hashtag_by_name(name).and_then(|hashtag| {
        let (info, share_meta) = challenge_info_json(site, hashtag.index)?;
        Some((hashtag.id.clone(), hashtag.name.clone(), info, share_meta))
    });
    let Some((id, title, info, share_meta)) = found else {
        let head = PageHead {
            title: "Couldn't find this hashtag | TikTok".to_string(),
            ..PageHead::default()
        };
        let scope = json!({ "statusCode": 10205, "statusMsg": "" });
        return value_page(
            site,
            &head,
            "webapp.challenge-detail",
            &scope,
            "<p>Couldn’t find this hashtag</p>",
        );
    };
    let head = PageHead {
        title: format!("#{title} | TikTok"),
        description: share_meta["desc"].as_str().unwrap_or_default().to_string(),
        canonical: Some(format!(
            "https://www.tiktok.com/tag/{}",
            percent_encoding::utf8_percent_encode(&title, percent_encoding::NON_ALPHANUMERIC)
        )),
        app_link: Some(format!("snssdk1233://challenge/detail/{id}")),
        ..PageHead::default()
    };
    let scope =
        json!({ "challengeInfo": info, "shareMeta": share_meta, "statusCode": 0, "statusMsg": "" });
    value_page(site, &head, "webapp.challenge-detail", &scope, "")
}

/// `/`, `/login`, `/notfound`: shell pages with only the common scopes.
pub fn shell_page(site: &TiktokSite, title: &str, body_text: &str) -> String {
    let head = PageHead {
        title: title.to_string(),
        ..PageHead::default()
    };
    render_html(&head, &page_data(site, false, None), body_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_json_escapes_slashes_only_inside_strings() {
        let text = page_json(&json!({ "url": "https://a/b?x=1&y=2", "n": 1 }));
        assert_eq!(
            text,
            r#"{"n":1,"url":"https:\u002F\u002Fa\u002Fb?x=1&y=2"}"#
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["url"], "https://a/b?x=1&y=2");
    }

    #[test]
    fn compact_counts_match_share_text_style() {
        assert_eq!(compact_count(427_682), "427.7k");
        assert_eq!(compact_count(6_764_096), "6.8m");
        assert_eq!(compact_count(176), "176");
    }
}
