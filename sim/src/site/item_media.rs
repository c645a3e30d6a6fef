//! The media parts of an `itemStruct`: the `video` object (renditions in PascalCase
//! `bitrateInfo`, covers, subtitles, `claInfo`) and the photo post's `imagePost`.

use crate::corpus::ids;
use crate::corpus::posts::{Codec, Gear, ImageSpec, Post, PostKind, SubtitleSource};
use crate::corpus::words;

use super::json_writer::JsonWriter;
use super::media;
use super::urls::{
    self, DOWNLOAD_PATH_PREFIX, IMAGE_HOST_COMMON_US, IMAGE_HOST_COMMON_US_P19,
    IMAGE_HOST_PHOTO_US_P19, IMAGE_HOST_PHOTO_VA, UrlBuilder, VIDEO_PATH_PREFIX,
};

fn codec_names(codec: Codec) -> (&'static str, &'static str) {
    match codec {
        Codec::H264 => ("h264", "h264"),
        Codec::Bytevc1 => ("h265_hvc1", "bytevc1"),
    }
}

fn write_play_addr(writer: &mut JsonWriter, post: &Post, gear: &Gear, urls: &UrlBuilder<'_>) {
    let (_, url_codec) = codec_names(gear.codec);
    writer
        .begin_object()
        .field_u64("DataSize", gear.data_size)
        .field_str(
            "FileCs",
            &format!(
                "c:0-{}-{}",
                gear.data_size.saturating_sub(70),
                &gear.file_hash[..4]
            ),
        )
        .field_str("FileHash", &gear.file_hash)
        .field_u64("Height", u64::from(gear.height))
        .field_u64("Width", u64::from(gear.width))
        .field_str("Uri", &post.storage_uri)
        .field_str(
            "UrlKey",
            &format!(
                "{}_{url_codec}_{}p_{}",
                post.storage_uri, gear.resolution, gear.bitrate
            ),
        )
        .key("UrlList")
        .begin_array()
        .string(&urls.video_url(
            urls::VIDEO_HOST_V16_US,
            VIDEO_PATH_PREFIX,
            &gear.object_key,
            gear.bitrate,
        ))
        .string(&urls.video_url(
            urls::VIDEO_HOST_V19_US,
            VIDEO_PATH_PREFIX,
            &gear.object_key,
            gear.bitrate,
        ))
        .string(&urls.aweme_play_url(post.skeleton.id, &post.storage_uri, &gear.object_key))
        .end_array()
        .end_object();
}

fn write_bitrate_info(writer: &mut JsonWriter, post: &Post, gear: &Gear, urls: &UrlBuilder<'_>) {
    let (codec_type, _) = codec_names(gear.codec);
    let vmaf = 80.0 + (gear.bitrate % 170) as f64 / 10.0;
    writer
        .begin_object()
        .field_u64("Bitrate", gear.bitrate)
        .field_u64("BitrateFPS", 30)
        .field_str("CodecType", codec_type)
        .field_str("Format", "mp4")
        .field_str("GearName", gear.name)
        .field_str(
            "MVMAF",
            &format!(
                "\"{{\\\"v2.0\\\": {{\\\"ori\\\": {{\\\"v{}\\\": {vmaf:.1}}}}}}}\"",
                gear.resolution
            ),
        )
        .key("PlayAddr");
    write_play_addr(writer, post, gear, urls);
    writer
        .field_u64("QualityType", u64::from(gear.quality_type))
        .field_str(
            "VideoExtra",
            &format!("{{\"audio_bit_rate\":{}}}", 64_000 + gear.bitrate % 1_000),
        )
        .end_object();
}

fn write_covers(writer: &mut JsonWriter, cover: &ImageSpec, urls: &UrlBuilder<'_>) {
    writer
        .field_str(
            "cover",
            &urls.cover_url(
                IMAGE_HOST_COMMON_US,
                &cover.key,
                "tplv-tiktokx-origin.image",
            ),
        )
        .field_str(
            "originCover",
            &urls.cover_url(
                IMAGE_HOST_COMMON_US_P19,
                &cover.key,
                "tplv-tiktokx-origin.image",
            ),
        )
        .field_str(
            "reflowCover",
            &urls.cover_url(IMAGE_HOST_COMMON_US, &cover.key, "tplv-tiktokx-360p.jpeg"),
        )
        .key("shareCover")
        .begin_array()
        .string("")
        .string(&urls.cover_url(
            IMAGE_HOST_COMMON_US,
            &cover.key,
            "tplv-tiktokx-share-play.jpeg",
        ))
        .end_array()
        .key("zoomCover")
        .begin_object();
    for size in [240u32, 480, 720, 960] {
        let template = format!("tplv-photomode-zoomcover:{size}:{size}.avif");
        writer.field_str(
            &size.to_string(),
            &urls.cover_url(IMAGE_HOST_COMMON_US, &cover.key, &template),
        );
    }
    writer.end_object();
}

fn write_subtitles(writer: &mut JsonWriter, post: &Post, urls: &UrlBuilder<'_>) {
    let expire = urls.video_expiry();
    let tracks: Vec<(
        String,
        &'static str,
        &'static str,
        &'static str,
        bool,
        usize,
    )> = post
        .subtitles
        .iter()
        .map(|track| {
            let (name, code, language_id) = words::SUBTITLE_LANGUAGES[track.language];
            let size = media::webvtt(post, track).len();
            (
                urls.subtitle_url(post.skeleton.id, name),
                name,
                code,
                language_id,
                track.source == SubtitleSource::Asr,
                size,
            )
        })
        .collect();
    if !tracks.is_empty() {
        writer.key("subtitleInfos").begin_array();
        for (url, name, _, language_id, original, size) in &tracks {
            writer
                .begin_object()
                .field_str("Format", "webvtt")
                .field_str("LanguageCodeName", name)
                .field_str("LanguageID", language_id)
                .field_u64("Size", *size as u64)
                .field_str("Source", if *original { "ASR" } else { "MT" })
                .field_str("Url", url)
                .field_i64("UrlExpire", expire)
                .field_str("Version", if *original { "1:whisper_lid" } else { "4" })
                .end_object();
        }
        writer.end_array();
    }
    writer.key("claInfo").begin_object();
    let Some((_, first_name, first_code, first_id, _, _)) = tracks.first() else {
        writer
            .field_u64("captionsType", 0)
            .field_bool("enableAutoCaption", false)
            .field_bool("hasOriginalAudio", true)
            .field_u64("noCaptionReason", 1)
            .end_object();
        return;
    };
    writer.key("captionInfos").begin_array();
    for (number, (url, name, code, language_id, original, _)) in tracks.iter().enumerate() {
        let sub_hash = ids::mix64(post.skeleton.id ^ number as u64);
        writer
            .begin_object()
            .field_str("captionFormat", "webvtt")
            .field_str(
                "claSubtitleID",
                &((post.skeleton.id >> 32 << 32) | (sub_hash & 0xFFFF_FFFF)).to_string(),
            )
            .field_str("expire", &expire.to_string())
            .field_bool("isAutoGen", true)
            .field_bool("isOriginalCaption", *original)
            .field_str("language", name)
            .field_str("languageCode", code)
            .field_str("languageID", language_id)
            .field_str("subID", &((sub_hash >> 32) as i32).to_string())
            .field_str("subtitleType", if *original { "1" } else { "4" })
            .field_str("translationType", if *original { "0" } else { "2" })
            .field_str("url", url)
            .key("urlList")
            .begin_array()
            .string(url)
            .end_array()
            .field_str("variant", if *original { "whisper_lid" } else { "default" })
            .end_object();
    }
    writer
        .end_array()
        .field_u64("captionsType", 1)
        .field_bool("enableAutoCaption", true)
        .field_bool("hasOriginalAudio", true)
        .field_u64("noCaptionReason", 0)
        .key("originalLanguageInfo")
        .begin_object()
        .field_bool("canTranslateRealTimeNoCheck", true)
        .field_str("language", first_name)
        .field_str("languageCode", first_code)
        .field_str("languageID", first_id)
        .end_object()
        .end_object();
}

/// The URL of the post's main cover (`video.cover`).
pub fn cover_url(post: &Post, urls: &UrlBuilder<'_>) -> String {
    urls.cover_url(
        IMAGE_HOST_COMMON_US,
        &post.cover.key,
        "tplv-tiktokx-origin.image",
    )
}

/// Writes the `video` object.
pub fn write_video(writer: &mut JsonWriter, post: &Post, urls: &UrlBuilder<'_>) {
    writer
        .begin_object()
        .field_str("id", &post.skeleton.id.to_string())
        .field_u64("height", u64::from(post.height))
        .field_u64("width", u64::from(post.width))
        .field_u64("duration", u64::from(post.duration))
        .field_str("ratio", "540p")
        .field_str("definition", "540p")
        .field_str("encodeUserTag", "")
        .key("volumeInfo")
        .begin_object()
        .key("Loudness")
        .float(post.loudness)
        .key("Peak")
        .float(post.peak)
        .end_object();
    write_covers(writer, &post.cover, urls);
    if post.skeleton.kind == PostKind::Photo {
        writer.raw_member(concat!(
            "\"dynamicCover\":\"\",\"playAddr\":\"\",\"downloadAddr\":\"\",\"bitrate\":0,\"codecType\":\"\",",
            "\"encodedType\":\"\",\"format\":\"\",\"videoQuality\":\"\",\"size\":0,\"VQScore\":\"\""
        ));
        writer.end_object();
        return;
    }
    let dynamic_key = format!("{}d", &post.cover.key[..31]);
    writer.field_str(
        "dynamicCover",
        &urls.cover_url(
            IMAGE_HOST_COMMON_US,
            &dynamic_key,
            "tplv-tiktokx-origin.image",
        ),
    );
    let main = post
        .gears
        .iter()
        .find(|gear| gear.name == "normal_540_0")
        .or(post.gears.first());
    if let Some(main) = main {
        writer.field_str(
            "playAddr",
            &urls.video_url(
                urls::VIDEO_HOST_V16,
                VIDEO_PATH_PREFIX,
                &main.object_key,
                main.bitrate,
            ),
        );
        writer.key("PlayAddrStruct");
        write_play_addr(writer, post, main, urls);
        writer
            .field_u64("bitrate", main.bitrate)
            .field_u64("size", main.data_size);
    }
    writer
        .field_str(
            "downloadAddr",
            &urls.video_url(
                urls::VIDEO_HOST_V16_US,
                DOWNLOAD_PATH_PREFIX,
                &post.download_object_key,
                500_000,
            ),
        )
        .field_str("videoID", &post.storage_uri)
        .key("bitrateInfo")
        .begin_array();
    for gear in &post.gears {
        write_bitrate_info(writer, post, gear, urls);
    }
    writer
        .end_array()
        .field_str("codecType", "h264")
        .field_str("encodedType", "normal")
        .field_str("format", "mp4")
        .field_str("videoQuality", "normal")
        .field_str("VQScore", &post.vq_score);
    write_subtitles(writer, post, urls);
    writer.end_object();
}

fn write_image_data(writer: &mut JsonWriter, image: &ImageSpec, urls: &UrlBuilder<'_>) {
    writer
        .begin_object()
        .key("imageURL")
        .begin_object()
        .key("urlList")
        .begin_array()
        .string(&urls.photo_url(IMAGE_HOST_PHOTO_VA, &image.key, "jpeg"))
        .string(&urls.photo_url(IMAGE_HOST_PHOTO_US_P19, &image.key, "webp"))
        .end_array()
        .end_object()
        .field_u64("imageWidth", u64::from(image.width))
        .field_u64("imageHeight", u64::from(image.height))
        .end_object();
}

/// Writes the `imagePost` object of a photo post.
pub fn write_image_post(writer: &mut JsonWriter, post: &Post, urls: &UrlBuilder<'_>) {
    writer.begin_object().key("images").begin_array();
    for image in &post.images {
        write_image_data(writer, image, urls);
    }
    writer.end_array().key("cover");
    write_image_data(writer, &post.cover, urls);
    writer.key("shareCover");
    write_image_data(writer, &post.cover, urls);
    writer.field_str("title", "").end_object();
}
