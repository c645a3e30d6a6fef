//! Media parts of the mapping: cover images, the no-watermark `play` and watermarked `download`
//! links, the bitrate ladder (bytevc2 skipped, `www.tiktok.com/aweme/v1/play/` as last resort),
//! photo-post images, subtitle tracks, and URL expiry extraction.

use chrono::{DateTime, Utc};
use tokworks_shared::video::{
    CoverImages, ImageUrl, MediaLink, PhotoImage, Subtitle, SubtitleSource, VideoFormat, VideoMedia,
};

use crate::tiktok::item::{ImagePost, ItemStruct, ItemVideo, non_empty};
use crate::tiktok::lenient::{FlexBool, FlexI64, FlexU64, UrlField};

/// Unix seconds accepted as an expiry (2001 … 2096); anything else is not an expiry.
const PLAUSIBLE_EXPIRY: std::ops::RangeInclusive<i64> = 1_000_000_000..=4_000_000_000;

/// When a TikTok CDN URL expires: its `expire=` or `x-expires=` query parameter, or the older
/// `/{32 hex}/{8 hex expiry}/` path form (`https://v16-webapp.tiktok.com/0a1b…/67776ed0/video/…`).
pub fn url_expiry(url: &str) -> Option<DateTime<Utc>> {
    let parsed = url::Url::parse(url).ok()?;
    let from_query = parsed
        .query_pairs()
        .find(|(key, _)| {
            key.eq_ignore_ascii_case("expire") || key.eq_ignore_ascii_case("x-expires")
        })
        .and_then(|(_, value)| value.trim().parse::<i64>().ok());
    let from_path = || {
        let segments: Vec<&str> = parsed.path_segments()?.collect();
        segments.windows(2).find_map(|pair| {
            let is_hex = |text: &str, length: usize| {
                text.len() == length && text.bytes().all(|byte| byte.is_ascii_hexdigit())
            };
            (is_hex(pair[0], 32) && is_hex(pair[1], 8))
                .then(|| i64::from_str_radix(pair[1], 16).ok())
                .flatten()
        })
    };
    from_query
        .or_else(from_path)
        .filter(|seconds| PLAUSIBLE_EXPIRY.contains(seconds))
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
}

fn expiry_from_seconds(seconds: Option<FlexI64>) -> Option<DateTime<Utc>> {
    seconds
        .map(|FlexI64(value)| value)
        .filter(|value| PLAUSIBLE_EXPIRY.contains(value))
        .and_then(|value| DateTime::from_timestamp(value, 0))
}

/// `www.tiktok.com/aweme/v1/play/` URLs are often broken (yt-dlp #11034): used only when nothing else exists.
fn is_web_play_url(url: &str) -> bool {
    url::Url::parse(url).ok().is_some_and(|parsed| {
        parsed
            .host_str()
            .is_some_and(|host| host == "www.tiktok.com" || host == "tiktok.com")
            && parsed.path().starts_with("/aweme/")
    })
}

/// CDN URLs first, `aweme/v1/play` URLs only when there is nothing else.
fn usable_urls(urls: &[String]) -> Vec<String> {
    let cdn: Vec<String> = urls
        .iter()
        .filter(|url| !is_web_play_url(url))
        .cloned()
        .collect();
    if cdn.is_empty() { urls.to_vec() } else { cdn }
}

fn image_url(field: Option<&UrlField>) -> Option<ImageUrl> {
    let url = field?.0.first()?.clone();
    Some(ImageUrl {
        expires_at: url_expiry(&url),
        url,
    })
}

fn media_link(field: Option<&UrlField>, watermarked: bool) -> Option<MediaLink> {
    let url = usable_urls(&field?.0).into_iter().next()?;
    Some(MediaLink {
        expires_at: url_expiry(&url),
        url,
        watermarked,
    })
}

/// Covers under `video` or at the item root; photo posts fall back to `imagePost.cover` / the first image.
pub(super) fn map_covers(
    item: &ItemStruct,
    video: &ItemVideo,
    images: &[PhotoImage],
) -> CoverImages {
    let photo_cover = item
        .image_post
        .as_ref()
        .and_then(|post| post.cover.as_ref())
        .and_then(|cover| image_url(cover.image_url.as_ref()))
        .or_else(|| {
            images.first().and_then(|image| {
                image.urls.first().map(|url| ImageUrl {
                    url: url.clone(),
                    expires_at: image.expires_at,
                })
            })
        });
    CoverImages {
        cover: image_url(video.cover.as_ref())
            .or_else(|| image_url(item.cover.as_ref()))
            .or(photo_cover),
        origin_cover: image_url(video.origin_cover.as_ref())
            .or_else(|| image_url(item.origin_cover.as_ref())),
        dynamic_cover: image_url(video.dynamic_cover.as_ref())
            .or_else(|| image_url(item.dynamic_cover.as_ref())),
    }
}

/// `play` (playAddr, no watermark), `download` (downloadAddr, watermarked) and the bitrate ladder.
pub(super) fn map_media(video: &ItemVideo) -> VideoMedia {
    let formats = map_formats(video);
    let mut play = media_link(video.play_addr.as_ref(), false);
    let play_is_last_resort = play.as_ref().is_none_or(|link| is_web_play_url(&link.url));
    if play_is_last_resort
        && let Some(best) = formats.iter().find(|format| !is_web_play_url(&format.url))
    {
        play = Some(MediaLink {
            url: best.url.clone(),
            watermarked: false,
            expires_at: best.expires_at,
        });
    }
    VideoMedia {
        play,
        download: media_link(video.download_addr.as_ref(), true),
        formats,
    }
}

/// The codec from `CodecType` or the `UrlKey` (`{uri}_{codec}_{res}p_{bitrate}`), normalised to h264/h265.
fn format_codec(codec_type: Option<&str>, url_key: Option<&str>) -> Option<String> {
    let from_key = url_key.and_then(|key| key.split('_').nth(1));
    let raw = codec_type
        .filter(|codec| !codec.is_empty())
        .or(from_key)?
        .to_ascii_lowercase();
    Some(if raw.contains("bytevc2") || raw.contains("h266") {
        "h266".to_string()
    } else if raw.contains("265")
        || raw.contains("bytevc1")
        || raw.contains("hevc")
        || raw.contains("hvc1")
    {
        "h265".to_string()
    } else if raw.contains("264") || raw.contains("avc") {
        "h264".to_string()
    } else {
        raw
    })
}

fn map_formats(video: &ItemVideo) -> Vec<VideoFormat> {
    let mut formats: Vec<VideoFormat> = video
        .bitrate_info
        .iter()
        .filter_map(|gear| {
            let play_addr = gear.play_addr.as_ref()?;
            let codec = format_codec(gear.codec_type.as_deref(), play_addr.url_key.as_deref());
            let is_vvc = codec.as_deref() == Some("h266")
                || play_addr
                    .url_key
                    .as_deref()
                    .is_some_and(|key| key.contains("bytevc2"));
            if is_vvc {
                return None;
            }
            let urls = usable_urls(
                play_addr
                    .url_list
                    .as_ref()
                    .map(|urls| urls.0.as_slice())
                    .unwrap_or_default(),
            );
            let url = urls.first()?.clone();
            let dimension = |value: Option<FlexU64>| {
                value
                    .and_then(|FlexU64(number)| u32::try_from(number).ok())
                    .filter(|number| *number > 0)
            };
            Some(VideoFormat {
                gear_name: non_empty(gear.gear_name.as_deref()),
                codec,
                width: dimension(play_addr.width),
                height: dimension(play_addr.height),
                bitrate: gear
                    .bitrate
                    .map(|FlexU64(bits)| bits)
                    .filter(|bits| *bits > 0),
                size_bytes: play_addr
                    .data_size
                    .map(|FlexU64(bytes)| bytes)
                    .filter(|bytes| *bytes > 0),
                expires_at: url_expiry(&url),
                url,
                urls,
            })
        })
        .collect();
    formats.sort_by_key(|format| std::cmp::Reverse(format.bitrate));
    formats
}

/// Photo-post images in order.
pub(super) fn map_images(image_post: Option<&ImagePost>) -> Vec<PhotoImage> {
    let Some(post) = image_post else {
        return Vec::new();
    };
    post.images
        .iter()
        .filter_map(|image| {
            let urls = image.image_url.as_ref()?.0.clone();
            let first = urls.first()?;
            let dimension = |value: Option<FlexU64>| {
                value
                    .and_then(|FlexU64(number)| u32::try_from(number).ok())
                    .filter(|number| *number > 0)
            };
            Some(PhotoImage {
                expires_at: url_expiry(first),
                width: dimension(image.image_width),
                height: dimension(image.image_height),
                urls,
            })
        })
        .collect()
}

/// ISO 639-2/3 prefix of TikTok's `LanguageCodeName` (`eng-US`) to the short code (`en`).
fn short_language_code(code_name: &str) -> Option<String> {
    let prefix = code_name.split(['-', '_']).next()?.to_ascii_lowercase();
    let short = match prefix.as_str() {
        "eng" => "en",
        "spa" => "es",
        "fra" | "fre" => "fr",
        "deu" | "ger" => "de",
        "ita" => "it",
        "por" => "pt",
        "rus" => "ru",
        "jpn" => "ja",
        "kor" => "ko",
        "cmn" | "zho" | "chi" | "yue" => "zh",
        "ara" => "ar",
        "hin" => "hi",
        "ind" => "id",
        "msa" | "may" | "zlm" => "ms",
        "tha" => "th",
        "vie" => "vi",
        "tur" => "tr",
        "nld" | "dut" => "nl",
        "pol" => "pl",
        "swe" => "sv",
        "ukr" => "uk",
        "fil" | "tgl" => "fil",
        "ben" => "bn",
        "heb" => "he",
        "ces" | "cze" => "cs",
        "ron" | "rum" => "ro",
        "hun" => "hu",
        "ell" | "gre" => "el",
        "dan" => "da",
        "fin" => "fi",
        "nor" | "nob" => "no",
        "urd" => "ur",
        "fas" | "per" => "fa",
        "tam" => "ta",
        "tel" => "te",
        "mar" => "mr",
        _ if prefix.len() == 2 => return Some(prefix),
        _ => return None,
    };
    Some(short.to_string())
}

/// `subtitleInfos` first, then `claInfo.captionInfos` tracks of languages not already listed.
pub(super) fn map_subtitles(video: &ItemVideo) -> Vec<Subtitle> {
    let captions = video
        .cla_info
        .as_ref()
        .map(|info| info.caption_infos.as_slice())
        .unwrap_or_default();
    let code_for = |code_name: &str| {
        captions
            .iter()
            .find(|caption| caption.language.as_deref() == Some(code_name))
            .and_then(|caption| non_empty(caption.language_code.as_deref()))
            .or_else(|| short_language_code(code_name))
    };
    let mut subtitles: Vec<Subtitle> = video
        .subtitle_infos
        .iter()
        .filter_map(|info| {
            let url = non_empty(info.url.as_deref())?;
            let language_code_name = non_empty(info.language_code_name.as_deref())?;
            let source = match info
                .source
                .as_deref()
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                Some("ASR") => SubtitleSource::Asr,
                Some("MT") => SubtitleSource::Mt,
                _ => SubtitleSource::Creator,
            };
            Some(Subtitle {
                language_code: code_for(&language_code_name),
                source,
                format: non_empty(info.format.as_deref()).map(|format| format.to_ascii_lowercase()),
                expires_at: expiry_from_seconds(info.url_expire).or_else(|| url_expiry(&url)),
                url,
                language_code_name,
            })
        })
        .collect();
    for caption in captions {
        let Some(language_code_name) = non_empty(caption.language.as_deref()) else {
            continue;
        };
        if subtitles
            .iter()
            .any(|subtitle| subtitle.language_code_name == language_code_name)
        {
            continue;
        }
        let url = non_empty(caption.url.as_deref()).or_else(|| {
            caption
                .url_list
                .as_ref()
                .and_then(|urls| urls.0.first().cloned())
        });
        let Some(url) = url else { continue };
        let flag = |value: Option<FlexBool>| value.map(|FlexBool(flag)| flag);
        let source = match (flag(caption.is_auto_gen), flag(caption.is_original_caption)) {
            (_, Some(false)) => SubtitleSource::Mt,
            (Some(true), _) => SubtitleSource::Asr,
            _ => SubtitleSource::Creator,
        };
        subtitles.push(Subtitle {
            language_code: non_empty(caption.language_code.as_deref())
                .or_else(|| short_language_code(&language_code_name)),
            source,
            format: non_empty(caption.caption_format.as_deref())
                .map(|format| format.to_ascii_lowercase()),
            expires_at: expiry_from_seconds(caption.expire).or_else(|| url_expiry(&url)),
            url,
            language_code_name,
        });
    }
    subtitles
}
