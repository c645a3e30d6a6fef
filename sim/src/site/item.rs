//! The web `itemStruct` of a post (camelCase, as pages and feeds share it): top-level fields,
//! author, music, challenges, `textExtra`/`contents`, `stats`/`statsV2`. Written straight to
//! JSON text (this is the hot path of every page and feed).

use crate::corpus::captions::{CaptionSpan, SpanEntity};
use crate::corpus::posts::{Post, PostKind};
use crate::corpus::stats::display_rounded;
use crate::corpus::users::User;
use crate::corpus::{Corpus, PostCondition};

use super::item_media;
use super::json_writer::JsonWriter;
use super::urls::UrlBuilder;

/// Where an item is rendered; the shape differs slightly between places.
#[derive(Debug, Clone, Copy)]
pub struct ItemOptions {
    /// SSR pages carry `createTime` as a numeric string, APIs as an integer.
    pub create_time_as_string: bool,
    /// User post lists add `isPinnedItem`.
    pub in_user_list: bool,
}

/// The `author` object of an item (also the base of `userInfo.user`), left open so callers can
/// add fields before `end_object`.
pub fn open_author(writer: &mut JsonWriter, user: &User, urls: &UrlBuilder<'_>) {
    writer
        .begin_object()
        .field_str("id", &user.id.to_string())
        .field_str("uniqueId", &user.unique_id)
        .field_str("nickname", &user.nickname)
        .field_str(
            "avatarThumb",
            &urls.avatar_url(&user.avatar_key, 100, &user.avatar_refresh_token),
        )
        .field_str(
            "avatarMedium",
            &urls.avatar_url(&user.avatar_key, 720, &user.avatar_refresh_token),
        )
        .field_str(
            "avatarLarger",
            &urls.avatar_url(&user.avatar_key, 1080, &user.avatar_refresh_token),
        )
        .field_str("signature", &user.signature)
        .field_bool("verified", user.verified)
        .field_str("secUid", &user.sec_uid)
        .field_bool("secret", user.private_account)
        .field_bool("ftc", false)
        .field_u64("relation", 0)
        .field_bool("openFavorite", false)
        .field_u64("commentSetting", 0)
        .field_u64("duetSetting", 0)
        .field_u64("stitchSetting", 0)
        .field_u64("downloadSetting", if user.private_account { 3 } else { 0 })
        .field_bool("privateAccount", user.private_account)
        .field_bool("isADVirtual", false)
        .field_bool("isEmbedBanned", false)
        .field_bool("ttSeller", false)
        .field_str("roomId", "")
        .field_u64("UserStoryStatus", 0);
}

/// Writes `"{stats_key}": {…rounded…}, "{stats_v2_key}": {…exact strings…}` of a user.
pub fn write_user_stats(
    writer: &mut JsonWriter,
    stats_key: &str,
    stats_v2_key: &str,
    user: &User,
    video_count: u64,
) {
    let values = [
        ("diggCount", user.digg_count),
        ("followerCount", user.follower_count),
        ("followingCount", user.following_count),
        ("friendCount", user.friend_count),
        ("heart", user.heart_count),
        ("heartCount", user.heart_count),
        ("videoCount", video_count),
    ];
    writer.key(stats_key).begin_object();
    for (name, value) in values {
        writer.field_u64(name, display_rounded(value));
    }
    writer.end_object().key(stats_v2_key).begin_object();
    for (name, value) in values {
        writer.field_str(name, &value.to_string());
    }
    writer.end_object();
}

fn write_span(writer: &mut JsonWriter, corpus: &Corpus, span: &CaptionSpan) {
    let (mut hashtag_id, mut hashtag_name, mut sec_uid, mut user_id, mut unique_id) =
        ("", "", "", String::new(), "");
    let kind = match span.entity {
        SpanEntity::Hashtag(index) => {
            if let Some(hashtag) = corpus.hashtags.get(index as usize) {
                hashtag_id = &hashtag.id;
                hashtag_name = &hashtag.name;
            }
            1
        }
        SpanEntity::Mention(index) => {
            if let Some(user) = corpus.users.get(index) {
                sec_uid = &user.sec_uid;
                user_id = user.id.to_string();
                unique_id = &user.unique_id;
            }
            0
        }
    };
    writer
        .begin_object()
        .field_str("awemeId", "")
        .field_u64("end", u64::from(span.end))
        .field_str("hashtagId", hashtag_id)
        .field_str("hashtagName", hashtag_name)
        .field_bool("isCommerce", false)
        .field_str("secUid", sec_uid)
        .field_u64("start", u64::from(span.start))
        .field_u64("subType", 0)
        .field_u64("type", kind)
        .field_str("userId", &user_id)
        .field_str("userUniqueId", unique_id)
        .end_object();
}

fn write_challenges(writer: &mut JsonWriter, corpus: &Corpus, post: &Post) {
    writer.key("challenges").begin_array();
    for hashtag in post
        .skeleton
        .hashtags
        .iter()
        .filter_map(|index| corpus.hashtags.get(*index as usize))
    {
        writer
            .begin_object()
            .field_str("id", &hashtag.id)
            .field_str("title", &hashtag.name)
            .field_str("desc", "");
        for name in [
            "profileThumb",
            "profileMedium",
            "profileLarger",
            "coverThumb",
            "coverMedium",
            "coverLarger",
        ] {
            writer.field_str(name, "");
        }
        writer
            .field_bool("isCommerce", false)
            .field_raw("stats", "{\"videoCount\":0,\"viewCount\":0}")
            .end_object();
    }
    writer.end_array();
}

fn write_music(writer: &mut JsonWriter, post: &Post, urls: &UrlBuilder<'_>) {
    let music = &post.music;
    writer
        .key("music")
        .begin_object()
        .field_str("id", &music.id.to_string())
        .field_str("title", &music.title)
        .field_str("authorName", &music.author_name)
        .field_str("album", &music.album)
        .field_bool("original", music.original)
        .field_u64("duration", u64::from(music.duration))
        .field_str("playUrl", &urls.audio_url(&music.audio_key))
        .field_str("coverThumb", &urls.music_cover_url(&music.cover_key, 100))
        .field_str("coverMedium", &urls.music_cover_url(&music.cover_key, 720))
        .field_str("coverLarge", &urls.music_cover_url(&music.cover_key, 1080))
        .field_bool("isCopyrighted", !music.original)
        .field_bool("private", false)
        .field_raw("tt2dsp", "{}")
        .end_object();
}

fn write_post_stats(writer: &mut JsonWriter, post: &Post) {
    let stats = &post.skeleton.stats;
    let values = [
        ("collectCount", stats.collect_count),
        ("commentCount", stats.comment_count),
        ("diggCount", stats.like_count),
        ("playCount", stats.play_count),
        ("shareCount", stats.share_count),
    ];
    writer.key("stats").begin_object();
    for (name, value) in values {
        writer.field_u64(name, display_rounded(value));
    }
    writer.end_object().key("statsV2").begin_object();
    for (name, value) in values {
        writer.field_str(name, &value.to_string());
    }
    writer
        .field_str("repostCount", &stats.repost_count.to_string())
        .end_object();
}

/// Constant flags every item carries.
const ITEM_FLAGS: &str = concat!(
    "\"duetInfo\":{\"duetFromId\":\"0\"},\"duetEnabled\":true,\"stitchEnabled\":true,\"shareEnabled\":true,",
    "\"duetDisplay\":0,\"stitchDisplay\":0,\"adAuthorization\":false,",
    "\"secret\":false,\"forFriend\":false,\"privateItem\":false,\"digged\":false,\"collected\":false,",
    "\"itemMute\":false,\"vl1\":false,\"showNotPass\":false,\"originalItem\":false,\"officalItem\":false,",
    "\"isReviewing\":false,\"indexEnabled\":true,\"textTranslatable\":true,\"AIGCDescription\":\"\",",
    "\"aigcLabelType\":0,\"IsAigc\":false,\"BAInfo\":\"\",\"backendSourceEventTracking\":\"\",",
    "\"item_control\":{\"can_repost\":true},\"playlistId\":\"\",\"channelTags\":[],\"comments\":[],",
    "\"effectStickers\":[],\"stickersOnItem\":[],\"warnInfo\":[],",
    "\"creatorAIComment\":{\"eligibleVideo\":false,\"hasAITopic\":false,\"notEligibleReason\":101}"
);

/// Writes the full `itemStruct` of `post` as one value.
pub fn write_item_struct(
    writer: &mut JsonWriter,
    corpus: &Corpus,
    post: &Post,
    urls: &UrlBuilder<'_>,
    options: ItemOptions,
) {
    let skeleton = &post.skeleton;
    let age_restricted = skeleton.condition() == PostCondition::AgeRestricted;
    writer
        .begin_object()
        .field_str("id", &skeleton.id.to_string())
        .field_str("desc", &post.caption.text);
    if options.create_time_as_string {
        writer.field_str("createTime", &skeleton.create_time.to_string());
    } else {
        writer.field_i64("createTime", skeleton.create_time);
    }
    writer.field_u64("scheduleTime", 0);
    if let Some(author) = corpus.users.get(skeleton.author) {
        writer.key("author");
        open_author(writer, author, urls);
        writer.end_object();
        let video_count = u64::from(corpus.user_post_count(author.index));
        write_user_stats(writer, "authorStats", "authorStatsV2", author, video_count);
    }
    if !age_restricted {
        writer.key("video");
        item_media::write_video(writer, post, urls);
    }
    if skeleton.kind == PostKind::Photo {
        writer.key("imagePost");
        item_media::write_image_post(writer, post, urls);
    }
    write_music(writer, post, urls);
    write_challenges(writer, corpus, post);
    write_post_stats(writer, post);
    writer.key("textExtra").begin_array();
    for span in &post.caption.spans {
        write_span(writer, corpus, span);
    }
    writer.end_array().key("contents").begin_array();
    for line in &post.caption.lines {
        writer
            .begin_object()
            .field_str("desc", &line.text)
            .key("textExtra")
            .begin_array();
        for span in &line.spans {
            write_span(writer, corpus, span);
        }
        writer.end_array().end_object();
    }
    writer.end_array();
    writer.key("isAd").boolean(skeleton.is_ad);
    writer.field_u64("adLabelVersion", u64::from(skeleton.is_ad));
    writer.key("isContentClassified").boolean(age_restricted);
    writer
        .field_str("textLanguage", post.text_language)
        .field_str("locationCreated", post.location);
    writer.key("diversificationLabels").begin_array();
    for label in post.labels {
        writer.string(label);
    }
    writer.end_array();
    writer.field_u64(
        "CategoryType",
        if skeleton.kind == PostKind::Photo {
            101
        } else {
            120
        },
    );
    if options.in_user_list && post.pinned {
        writer.field_bool("isPinnedItem", true);
    }
    let comment_status = if super::comments::comments_off(skeleton) {
        super::comments::COMMENTS_OFF_ITEM_STATUS
    } else {
        0
    };
    writer.field_u64("itemCommentStatus", comment_status);
    // The constant flags are spliced in as raw members of this object.
    writer.raw_member(ITEM_FLAGS);
    writer.end_object();
}

/// The `itemStruct` of `post` as a standalone JSON string.
pub fn item_struct_json(
    corpus: &Corpus,
    post: &Post,
    urls: &UrlBuilder<'_>,
    options: ItemOptions,
    html: bool,
) -> String {
    let mut writer = JsonWriter::new(html, 24 * 1024);
    write_item_struct(&mut writer, corpus, post, urls, options);
    writer.finish()
}
