//! The mapper against hand-written items covering docs/tiktok-formats.md "Parser robustness checklist".

use chrono::TimeZone;
use serde_json::{Value, json};
use tokworks_shared::video::{SubtitleSource, VideoKind, VideoSource};

use super::*;

const EXPIRE: i64 = 1_735_880_400;

fn context() -> MapContext {
    MapContext {
        source: VideoSource::Web,
        extracted_at: Utc.timestamp_opt(1_735_700_000, 0).single().unwrap(),
    }
}

fn expiry() -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(EXPIRE, 0)
}

/// The 2025-style item of docs/tiktok-formats.md "A 2025-style page".
fn universal_item() -> Value {
    let cdn = |host: &str, tag: &str| {
        format!(
            "https://{host}/video/tos/useast5/{tag}/?a=1988&expire={EXPIRE}&signature=abc&tk=tt_chain_token"
        )
    };
    json!({
        "id": "7454730070402848956",
        "desc": "testing the new camera \u{1F3A5} #fyp #cats @other.user",
        "createTime": 1_735_689_612,
        "video": {
            "id": "7454730070402848956", "height": 1024, "width": 576, "duration": 18,
            "cover": format!("https://p16-common-sign.tiktokcdn-us.com/tos/o1~tplv-tiktokx-origin.image?dr=9636&x-expires={EXPIRE}&x-signature=x%3D"),
            "originCover": format!("https://p19-common-sign.tiktokcdn-us.com/tos/o2~tplv.image?x-expires={EXPIRE}"),
            "dynamicCover": "https://p16-common-sign.tiktokcdn-us.com/tos/o3~tplv.image",
            "playAddr": cdn("v16-webapp-prime.us.tiktok.com", "play"),
            "downloadAddr": cdn("v16-webapp-prime.us.tiktok.com", "download"),
            "bitrateInfo": [
                { "Bitrate": 404_677, "CodecType": "h264", "GearName": "normal_540_0",
                  "PlayAddr": { "DataSize": 926_762, "Height": 1024, "Width": 576,
                                "UrlKey": "v35044g50000qwdahvtoqrmdz91s9rum_h264_540p_404677",
                                "UrlList": [cdn("v16-webapp-prime.us.tiktok.com", "540"), cdn("v19-webapp-prime.us.tiktok.com", "540")] } },
                { "Bitrate": 873_954, "CodecType": "h265_hvc1", "GearName": "adapt_lowest_1080_1",
                  "PlayAddr": { "DataSize": "2001466", "Height": 1920, "Width": 1080,
                                "UrlKey": "v35044g50000qwdahvtoqrmdz91s9rum_bytevc1_1080p_873954",
                                "UrlList": [cdn("v16-webapp-prime.us.tiktok.com", "1080"),
                                            "https://www.tiktok.com/aweme/v1/play/?faid=1988&item_id=7454730070402848956"] } },
                { "Bitrate": 500_000, "CodecType": "bytevc2", "GearName": "normal_720_0",
                  "PlayAddr": { "UrlKey": "v35_bytevc2_720p_500000", "UrlList": [cdn("v16-webapp-prime.us.tiktok.com", "vvc")] } }
            ],
            "subtitleInfos": [
                { "Format": "webvtt", "LanguageCodeName": "eng-US", "LanguageID": "2", "Size": 1703, "Source": "ASR",
                  "Url": "https://v16m-webapp.tiktokcdn-us.com/4bdbc776ff40243b5d3f505d09306280/67776ed0/video/tos/sub/?a=1988",
                  "UrlExpire": EXPIRE, "Version": "1:whisper_lid" }
            ],
            "claInfo": { "captionInfos": [
                { "captionFormat": "webvtt", "expire": EXPIRE.to_string(), "isAutoGen": true, "isOriginalCaption": true,
                  "language": "eng-US", "languageCode": "en", "url": "https://v16m-webapp.tiktokcdn-us.com/x" },
                { "captionFormat": "webvtt", "expire": EXPIRE.to_string(), "isAutoGen": false, "isOriginalCaption": false,
                  "language": "spa-ES", "languageCode": "es", "urlList": ["https://v16m-webapp.tiktokcdn-us.com/es"] }
            ] }
        },
        "author": {
            "id": "6968608492350740354", "uniqueId": "creator.name", "nickname": "Creator Name",
            "avatarThumb": "https://p16/avatar100.jpeg?x-expires=1735876800",
            "avatarLarger": "https://p16/avatar1080.jpeg?x-expires=1735876800",
            "signature": "bio line 1\nbio line 2", "verified": true,
            "secUid": "MS4wLjABAAAAAvwdIwzMFPbwM0GDIYYDdy6tDOZaPfEORvL6j4Wp56zJ3DqfsdnUjqluJSjjSAsT",
            "privateAccount": false
        },
        "authorStats": { "followerCount": 427_700, "followingCount": 176, "heart": 6_800_000, "heartCount": 6_800_000, "videoCount": 1605 },
        "authorStatsV2": { "followerCount": "427682", "followingCount": "176", "heart": "6764096", "heartCount": "6764096", "videoCount": "1605" },
        "music": {
            "id": "7454730076952459393", "title": "original sound - Creator Name", "authorName": "Creator Name",
            "album": "", "original": true, "duration": 18,
            "playUrl": "https://v19.tiktokcdn-us.com/fa9b3e20ffa9846f20fb73e54ffc69b1/67776ed0/video/tos/music/?a=1233&mime_type=audio_mpeg",
            "coverLarge": "https://p16/music1080.jpeg"
        },
        "challenges": [
            { "id": "229207", "title": "fyp" },
            { "id": "7301444405251303054", "title": "cats" },
            { "id": "42", "title": "extra" }
        ],
        "stats": { "collectCount": 3207, "commentCount": 504, "diggCount": 38_900, "playCount": 1_600_000, "shareCount": 2124 },
        "statsV2": { "collectCount": "3207", "commentCount": "504", "diggCount": "38884", "playCount": "1585253", "repostCount": "7", "shareCount": "2124" },
        "textExtra": [
            { "start": 37, "end": 48, "hashtagName": "", "type": 0, "userId": "6871947677197174691", "userUniqueId": "other.user",
              "secUid": "MS4wLjABAAAAxrfnD0EaaabS4ThBM3ZSWeohRouTyd5XJTe1odBttv8phITn621qqPfTgOqdS_XJ" },
            { "start": 26, "end": 30, "hashtagId": "229207", "hashtagName": "fyp", "type": 1 },
            { "start": 31, "end": 36, "hashtagId": "7301444405251303054", "hashtagName": "cats", "type": 1 }
        ],
        "isAd": false,
        "textLanguage": "en",
        "locationCreated": "US",
        "diversificationLabels": ["Pets", "Animals"]
    })
}

#[test]
fn universal_item_maps_every_field() {
    let video = map_item(&universal_item(), &context()).unwrap();
    assert_eq!(video.schema_version, 1);
    assert_eq!(video.id, "7454730070402848956");
    assert_eq!(video.kind, VideoKind::Video);
    assert_eq!(
        video.url,
        "https://www.tiktok.com/@creator.name/video/7454730070402848956"
    );
    assert_eq!(video.create_time, 1_735_689_612);
    assert_eq!(video.created_at.to_rfc3339(), "2025-01-01T00:00:12+00:00");
    assert_eq!(
        (video.duration_seconds, video.width, video.height),
        (18, Some(576), Some(1024))
    );
    let names: Vec<&str> = video.hashtags.iter().map(|tag| tag.name.as_str()).collect();
    assert_eq!(names, ["fyp", "cats", "extra"]);
    assert_eq!(video.hashtags[0].id.as_deref(), Some("229207"));
    assert_eq!(video.mentions.len(), 1);
    assert_eq!(video.mentions[0].unique_id, "other.user");
    assert_eq!(
        video.mentions[0].user_id.as_deref(),
        Some("6871947677197174691")
    );
    assert!(video.counts_exact);
    assert_eq!(video.counts.play_count, 1_585_253);
    assert_eq!(video.counts.like_count, 38_884);
    assert_eq!(video.counts.repost_count, Some(7));
    assert_eq!(video.author.unique_id, "creator.name");
    assert_eq!(video.author.id.as_deref(), Some("6968608492350740354"));
    assert!(video.author.verified);
    assert_eq!(video.author.follower_count, Some(427_682));
    assert_eq!(video.author.heart_count, Some(6_764_096));
    assert!(video.author.counts_exact);
    assert_eq!(
        video.author.avatar.as_ref().unwrap().url,
        "https://p16/avatar1080.jpeg?x-expires=1735876800"
    );
    let music = video.music.as_ref().unwrap();
    assert_eq!(
        music.title.as_deref(),
        Some("original sound - Creator Name")
    );
    assert_eq!(music.album, None);
    assert!(music.original);
    assert_eq!(
        music.play_url.as_ref().unwrap().expires_at,
        DateTime::from_timestamp(0x6777_6ed0, 0)
    );
    assert_eq!(video.covers.cover.as_ref().unwrap().expires_at, expiry());
    assert_eq!(
        video.covers.origin_cover.as_ref().unwrap().expires_at,
        expiry()
    );
    assert_eq!(
        video.covers.dynamic_cover.as_ref().unwrap().expires_at,
        None
    );
    let play = video.media.play.as_ref().unwrap();
    assert!(!play.watermarked && play.url.contains("/play/") && play.expires_at == expiry());
    let download = video.media.download.as_ref().unwrap();
    assert!(download.watermarked && download.expires_at == expiry());
    assert_eq!(video.media.formats.len(), 2, "bytevc2 is skipped");
    let best = &video.media.formats[0];
    assert_eq!(
        (best.codec.as_deref(), best.width, best.height),
        (Some("h265"), Some(1080), Some(1920))
    );
    assert_eq!(
        (best.bitrate, best.size_bytes),
        (Some(873_954), Some(2_001_466))
    );
    assert_eq!(
        best.urls.len(),
        1,
        "aweme/v1/play is dropped when a CDN URL exists"
    );
    assert_eq!(
        video.media.formats[1].gear_name.as_deref(),
        Some("normal_540_0")
    );
    assert_eq!(video.subtitles.len(), 2);
    assert_eq!(video.subtitles[0].language_code_name, "eng-US");
    assert_eq!(video.subtitles[0].language_code.as_deref(), Some("en"));
    assert_eq!(video.subtitles[0].source, SubtitleSource::Asr);
    assert_eq!(video.subtitles[0].expires_at, expiry());
    assert_eq!(video.subtitles[1].source, SubtitleSource::Mt);
    assert_eq!(
        video.subtitles[1].url,
        "https://v16m-webapp.tiktokcdn-us.com/es"
    );
    assert_eq!(video.location_created.as_deref(), Some("US"));
    assert_eq!(video.text_language.as_deref(), Some("en"));
    assert_eq!(video.diversification_labels, ["Pets", "Animals"]);
    assert!(!video.is_ad);
    assert_eq!(video.source, VideoSource::Web);
}

#[test]
fn missing_stats_v2_falls_back_to_rounded_stats() {
    let mut item = universal_item();
    item.as_object_mut().unwrap().remove("statsV2");
    item.as_object_mut().unwrap().remove("authorStatsV2");
    let video = map_item(&item, &context()).unwrap();
    assert!(!video.counts_exact);
    assert_eq!(video.counts.play_count, 1_600_000);
    assert_eq!(video.counts.repost_count, None);
    assert!(!video.author.counts_exact);
    assert_eq!(video.author.follower_count, Some(427_700));
}

#[test]
fn sigi_item_with_string_author_and_string_numbers() {
    let item = json!({
        "id": "7045537700000000000", "desc": "cod #callofduty", "createTime": "1640417086",
        "author": "creator.name", "authorId": "7019018000000000000", "authorSecId": "MS4wLjABAAAAsigi",
        "nickname": "Creator", "avatarThumb": "https://p16-sign.tiktokcdn-us.com/a.jpeg?x-expires=1640500000",
        "video": { "id": "7045537700000000000", "height": "576", "width": 1024, "duration": "39",
                   "playAddr": "https://v16-webapp.tiktok.com/0123456789abcdef0123456789abcdef/61c8e5a0/video/tos/x/?a=1988" },
        "music": { "id": 6_995_388_200_000_000_000_u64, "title": "son original" },
        "challenges": [ { "id": "42578", "title": "callofduty" } ],
        "stats": { "diggCount": 56_900, "shareCount": "22", "commentCount": 69, "playCount": 133_000 },
        "authorStats": { "followerCount": 4959 },
        "isAd": 0
    });
    let video = map_item(&item, &context()).unwrap();
    assert_eq!(video.create_time, 1_640_417_086);
    assert_eq!(video.duration_seconds, 39);
    assert_eq!(video.height, Some(576));
    assert_eq!(video.author.unique_id, "creator.name");
    assert_eq!(video.author.id.as_deref(), Some("7019018000000000000"));
    assert_eq!(video.author.sec_uid.as_deref(), Some("MS4wLjABAAAAsigi"));
    assert_eq!(video.author.nickname.as_deref(), Some("Creator"));
    assert!(video.author.avatar.is_some());
    assert_eq!(video.counts.share_count, 22);
    assert!(!video.counts_exact);
    assert_eq!(
        video.music.unwrap().id.as_deref(),
        Some("6995388200000000000")
    );
    assert_eq!(video.hashtags[0].name, "callofduty");
    assert_eq!(
        video.media.play.unwrap().expires_at,
        DateTime::from_timestamp(0x61c8_e5a0, 0)
    );
}

#[test]
fn photo_post_maps_images_and_soundtrack_duration() {
    let image = |name: &str, height: u32| {
        json!({ "imageURL": { "urlList": [format!("https://p16-sign-va.tiktokcdn.com/{name}~tplv-photomode-image.jpeg?x-expires={EXPIRE}"), format!("https://p19/{name}.webp")] },
                "imageWidth": 1080, "imageHeight": height })
    };
    let item = json!({
        "id": "7454730070402848957", "desc": "", "createTime": 1_735_689_700,
        "author": { "id": "1", "uniqueId": "snap.shot" },
        "video": { "duration": 0, "width": 0, "height": 0 },
        "music": { "id": "9", "title": "song", "duration": 25, "playUrl": "https://v19.tiktokcdn-us.com/m.mp3" },
        "imagePost": { "images": [image("one", 1440), image("two", 1350)], "cover": image("cover", 1440), "title": "" },
        "statsV2": { "playCount": "10", "diggCount": "2", "commentCount": "0", "shareCount": "0", "collectCount": "1", "repostCount": "0" }
    });
    let video = map_item(&item, &context()).unwrap();
    assert_eq!(video.kind, VideoKind::Photo);
    assert_eq!(
        video.url,
        "https://www.tiktok.com/@snap.shot/photo/7454730070402848957"
    );
    assert_eq!(video.duration_seconds, 25);
    assert_eq!(video.images.len(), 2);
    assert_eq!(video.images[1].height, Some(1350));
    assert_eq!(video.images[0].urls.len(), 2);
    assert_eq!(video.images[0].expires_at, expiry());
    assert_eq!((video.width, video.height), (Some(1080), Some(1440)));
    assert!(video.covers.cover.as_ref().unwrap().url.contains("cover"));
    assert!(video.media.play.is_none() && video.media.formats.is_empty());
    assert!(video.counts_exact);
}

#[test]
fn play_addr_as_list_camel_case_ladder_and_aweme_only_urls() {
    let item = json!({
        "id": "7300000000000000001", "createTime": 1_700_000_000, "author": { "uniqueId": "a" },
        "video": {
            "playAddr": [{ "src": "https://www.tiktok.com/aweme/v1/play/?video_id=v1" }],
            "bitrateInfo": [ { "gearName": "normal_720_0", "bitrate": "1000", "codecType": "h264",
                               "playAddr": { "urlList": ["https://v16-webapp-prime.tiktok.com/v/?expire=1700003600"], "width": 720, "height": 1280 } },
                             { "GearName": "lower_540_0", "PlayAddr": { "UrlList": ["https://www.tiktok.com/aweme/v1/play/?x=1"] } } ]
        }
    });
    let video = map_item(&item, &context()).unwrap();
    assert_eq!(
        video.media.play.as_ref().unwrap().url,
        "https://v16-webapp-prime.tiktok.com/v/?expire=1700003600"
    );
    assert_eq!(video.media.formats[0].width, Some(720));
    assert_eq!(
        video.media.formats[1].url, "https://www.tiktok.com/aweme/v1/play/?x=1",
        "kept: nothing else"
    );
    assert_eq!(
        video.url,
        "https://www.tiktok.com/@a/video/7300000000000000001"
    );
    assert!(video.hashtags.is_empty() && video.mentions.is_empty());
}

#[test]
fn text_extra_offsets_are_utf16_and_names_can_come_from_the_caption() {
    let item = json!({
        "id": "7300000000000000002", "createTime": 1_700_000_000, "author": { "uniqueId": "a" }, "video": {},
        "desc": "\u{1F600}\u{1F600} #caf\u{E9} hi @bob.x",
        "textExtra": [ { "start": 5, "end": 10, "type": 1 }, { "start": 14, "end": 20, "type": 0 } ]
    });
    let video = map_item(&item, &context()).unwrap();
    assert_eq!(video.hashtags.len(), 1);
    assert_eq!(video.hashtags[0].name, "caf\u{E9}");
    assert_eq!(video.mentions[0].unique_id, "bob.x");
}

#[test]
fn caption_is_read_only_without_spans_and_challenges() {
    let item = json!({
        "id": "7300000000000000003", "createTime": 1_700_000_000, "author": { "uniqueId": "a" }, "video": {},
        "desc": "new #Dance video with @friend.one #dance #fyp"
    });
    let video = map_item(&item, &context()).unwrap();
    let names: Vec<&str> = video.hashtags.iter().map(|tag| tag.name.as_str()).collect();
    assert_eq!(names, ["Dance", "fyp"]);
    assert_eq!(video.mentions[0].unique_id, "friend.one");
}

#[test]
fn contents_spans_are_used_when_text_extra_is_absent() {
    let item = json!({
        "id": "7300000000000000004", "createTime": 1_700_000_000, "author": { "uniqueId": "a" }, "video": {},
        "desc": "line one #a\nline two #b",
        "contents": [ { "desc": "line one #a", "textExtra": [ { "start": 9, "end": 11, "hashtagName": "a", "type": 1 } ] },
                      { "desc": "line two #b", "textExtra": [ { "start": 9, "end": 11, "hashtagName": "b", "type": 1 } ] } ]
    });
    let names: Vec<String> = map_item(&item, &context())
        .unwrap()
        .hashtags
        .into_iter()
        .map(|tag| tag.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn create_time_falls_back_to_the_id_timestamp() {
    let item = json!({ "id": "7045537727743380782", "author": { "uniqueId": "a" }, "video": {} });
    assert_eq!(
        map_item(&item, &context()).unwrap().create_time,
        1_640_417_084
    );
}

#[test]
fn unusable_items_say_what_is_missing() {
    assert_eq!(
        map_item(&json!("x"), &context()),
        Err(MapError::NotAnObject)
    );
    assert_eq!(
        map_item(&json!({"id": "1", "author": {"uniqueId": "a"}}), &context()),
        Err(MapError::NoMedia)
    );
    assert_eq!(
        map_item(&json!({"id": "1", "isContentClassified": true}), &context())
            .unwrap_err()
            .error_code(),
        ErrorCode::AgeRestricted
    );
    assert_eq!(
        map_item(
            &json!({"id": "awesome", "author": {"uniqueId": "a"}, "video": {"id": "awesome"}}),
            &context()
        ),
        Err(MapError::MissingField { field: "id" })
    );
    assert_eq!(
        map_item(
            &json!({"id": "7300000000000000001", "createTime": 1, "video": {}}),
            &context()
        ),
        Err(MapError::MissingField {
            field: "author.uniqueId"
        })
    );
}

#[test]
fn wrong_types_become_absent_instead_of_failing() {
    let item = json!({
        "id": 7_300_000_000_000_000_005_u64, "createTime": 1_700_000_000, "author": { "uniqueId": "a", "verified": "yes?" },
        "video": { "width": "wide", "bitrateInfo": "none", "subtitleInfos": {} },
        "stats": [], "textExtra": "x", "challenges": [1, {"title": "ok"}], "diversificationLabels": "Pets"
    });
    let video = map_item(&item, &context()).unwrap();
    assert_eq!(video.id, "7300000000000000005");
    assert_eq!(video.width, None);
    assert_eq!(video.hashtags[0].name, "ok");
    assert!(!video.author.verified);
}

#[test]
fn expiry_comes_from_expire_x_expires_or_the_path() {
    assert_eq!(
        url_expiry("https://v16.tiktok.com/v/?a=1&expire=1735880400&sig=x"),
        expiry()
    );
    assert_eq!(
        url_expiry("https://p16.tiktokcdn.com/i.jpeg?x-expires=1735880400"),
        expiry()
    );
    assert_eq!(
        url_expiry(
            "https://v16m.tiktokcdn-us.com/4bdbc776ff40243b5d3f505d09306280/67776ed0/video/x"
        ),
        DateTime::from_timestamp(0x6777_6ed0, 0)
    );
    assert_eq!(
        url_expiry("https://p16.tiktokcdn.com/i.jpeg?x-expires=12"),
        None
    );
    assert_eq!(url_expiry("not a url"), None);
}

fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|number| json!(number)),
        any::<f64>().prop_map(|number| json!(number)),
        "[0-9a-z:/.?=&#@ ]{0,24}".prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("id".to_string()),
        Just("desc".to_string()),
        Just("createTime".to_string()),
        Just("video".to_string()),
        Just("author".to_string()),
        Just("uniqueId".to_string()),
        Just("playAddr".to_string()),
        Just("bitrateInfo".to_string()),
        Just("PlayAddr".to_string()),
        Just("UrlList".to_string()),
        Just("textExtra".to_string()),
        Just("start".to_string()),
        Just("end".to_string()),
        Just("statsV2".to_string()),
        Just("imagePost".to_string()),
        Just("images".to_string()),
        Just("imageURL".to_string()),
        Just("urlList".to_string()),
        Just("music".to_string()),
        Just("subtitleInfos".to_string()),
        "[a-zA-Z]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn mapper_never_panics_on_arbitrary_json(item in arbitrary_json()) {
        let _ = map_item(&item, &context());
    }
}
