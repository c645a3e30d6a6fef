//! Builders of the signed CDN URLs the pages carry (video renditions, images, avatars, audio,
//! subtitles), and the host names the CDN answers on.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::signing::{SignatureKind, Signer};

pub const VIDEO_HOST_V16_US: &str = "v16-webapp-prime.us.tiktok.com";
pub const VIDEO_HOST_V19_US: &str = "v19-webapp-prime.us.tiktok.com";
pub const VIDEO_HOST_V16: &str = "v16-webapp-prime.tiktok.com";
pub const VIDEO_HOSTS: [&str; 3] = [VIDEO_HOST_V16_US, VIDEO_HOST_V19_US, VIDEO_HOST_V16];
pub const IMAGE_HOST_COMMON_US: &str = "p16-common-sign.tiktokcdn-us.com";
pub const IMAGE_HOST_COMMON_US_P19: &str = "p19-common-sign.tiktokcdn-us.com";
pub const IMAGE_HOST_PHOTO_VA: &str = "p16-sign-va.tiktokcdn.com";
pub const IMAGE_HOST_PHOTO_US_P19: &str = "p19-sign.tiktokcdn-us.com";
pub const AUDIO_HOST: &str = "v19.tiktokcdn-us.com";
pub const SUBTITLE_HOST: &str = "v16m-webapp.tiktokcdn-us.com";
/// Subtitles of posts whose tracks TikTok serves from its web CDN under `tiktok.com`, bound to
/// the page session's `tt_chain_token` like video renditions.
pub const WEB_SUBTITLE_HOST: &str = VIDEO_HOST_V16;

/// Path prefix of video objects.
pub const VIDEO_PATH_PREFIX: &str = "/video/tos/useast5/tos-useast5-pve-0068-tx/";
/// Path prefix of the watermarked download objects.
pub const DOWNLOAD_PATH_PREFIX: &str = "/video/tos/useast5/tos-useast5-ve-0068c001-tx/";
/// Bucket of audio objects (after the path-expiry prefix).
pub const AUDIO_BUCKET: &str = "/video/tos/useast5/tos-useast5-v-27dcd7c799-tx/";
/// Bucket of subtitle objects (after the path-expiry prefix).
pub const SUBTITLE_BUCKET: &str = "/video/tos/useast2a/tos-useast2a-v-0068/";

/// Lifetime of video URLs (48 h, as observed in 2025).
pub const VIDEO_URL_LIFETIME: i64 = 48 * 3_600;

/// Whether the subtitle tracks of post `item_id` are served from the cookie-bound web CDN
/// (every other post, by the id's lowest bit).
pub fn subtitles_on_web_cdn(item_id: u64) -> bool {
    item_id & 1 == 0
}

/// Builds URLs with one site's signer and frozen clock.
#[derive(Debug, Clone, Copy)]
pub struct UrlBuilder<'a> {
    pub signer: &'a Signer,
    pub now_unix: i64,
    /// `l=` log id used on media URLs of one page.
    pub log_id: &'a str,
}

impl UrlBuilder<'_> {
    pub fn video_expiry(&self) -> i64 {
        self.now_unix + VIDEO_URL_LIFETIME
    }

    /// Image `x-expires`: one to two days ahead, rounded to the hour.
    pub fn image_expiry(&self) -> i64 {
        (self.now_unix + 2 * 86_400) / 3_600 * 3_600
    }

    /// The signed query-string video URL of an object on `host`.
    pub fn video_url(
        &self,
        host: &str,
        path_prefix: &str,
        object_key: &str,
        bitrate: u64,
    ) -> String {
        let path = format!("{path_prefix}{object_key}/");
        let expire = self.video_expiry();
        let signature = self
            .signer
            .hex_signature(SignatureKind::Video, &path, expire);
        let kbps = bitrate / 1_000;
        format!(
            "https://{host}{path}?a=1988&bti=ODszNWYuMDE6&ch=0&cr=3&dr=0&lr=all&cd=0%7C0%7C0%7C&cv=1&br={kbps}&bt={}&cs=0&ds=6&ft=4KJMyMZj8Zmo0UE0MI4jV~bCQpWrKsd.&mime_type=video_mp4&qs=0&rc=Zjk0ZTs8NDZoOzY3ZWVpNkBpajNxdzo5cmhyczMzZzczNEAuYi1fNC0uNS8xMmFgXi8yYSNkZnBoMmRrYnNgLS1kMS9zcw%3D%3D&btag=e000b8000&expire={expire}&l={}&ply_type=2&policy=2&signature={signature}&tk=tt_chain_token",
            kbps / 2,
            self.log_id
        )
    }

    /// The `www.tiktok.com/aweme/v1/play/` URL yt-dlp drops as broken.
    pub fn aweme_play_url(&self, item_id: u64, storage_uri: &str, file_id: &str) -> String {
        format!(
            "https://www.tiktok.com/aweme/v1/play/?faid=1988&file_id={file_id}&is_play_url=1&item_id={item_id}&line=0&ply_type=2&signaturev3=dmlkZW9faWQ7ZmlsZV9pZDtpdGVtX2lkLjAwMDA%3D&tk=tt_chain_token&video_id={storage_uri}"
        )
    }

    /// A signed image URL: `https://{host}/{bucket}/{key}~{template}?…&x-expires=…&x-signature=…`.
    pub fn image_url(
        &self,
        host: &str,
        bucket: &str,
        key: &str,
        template: &str,
        extra: &str,
    ) -> String {
        let path = format!("/{bucket}/{key}~{template}");
        let expires = self.image_expiry();
        let signature = self.signer.image_signature(&path, expires);
        let encoded = utf8_percent_encode(&signature, NON_ALPHANUMERIC);
        format!(
            "https://{host}{path}?dr=9636&{extra}x-expires={expires}&x-signature={encoded}&t=4d5b0474&ps=13740610&shp=81f88b70&shcp=43f4a2f9&idc=useast5"
        )
    }

    /// A cover image under the video-cover bucket.
    pub fn cover_url(&self, host: &str, key: &str, template: &str) -> String {
        self.image_url(host, "tos-useast5-p-0068-tx", key, template, "")
    }

    /// An avatar image (`tplv-tiktokx-cropcenter:{size}:{size}.jpeg`).
    pub fn avatar_url(&self, key: &str, size: u32, refresh_token: &str) -> String {
        let template = format!("tplv-tiktokx-cropcenter:{size}:{size}.jpeg");
        let extra = format!("refresh_token={refresh_token}&");
        self.image_url(
            IMAGE_HOST_COMMON_US,
            "tos-useast5-avt-0068-tx",
            key,
            &template,
            &extra,
        )
    }

    /// A music cover image.
    pub fn music_cover_url(&self, key: &str, size: u32) -> String {
        let template = format!("tplv-tiktokx-cropcenter:{size}:{size}.jpeg");
        self.image_url(
            IMAGE_HOST_COMMON_US,
            "tos-useast5-i-0068-tx",
            key,
            &template,
            "",
        )
    }

    /// A slideshow image on a photo-mode host.
    pub fn photo_url(&self, host: &str, key: &str, extension: &str) -> String {
        let template = format!("tplv-photomode-image.{extension}");
        self.image_url(host, "tos-maliva-i-photomode-us", key, &template, "ftpl=1&")
    }

    /// A path-expiry URL: `https://{host}/{sig}/{expiry hex}{bucket}{object}/?{query}`.
    pub fn path_expiry_url(&self, host: &str, bucket: &str, object: &str, query: &str) -> String {
        let rest = format!("{bucket}{object}/");
        let expires = self.video_expiry();
        let signature = self
            .signer
            .hex_signature(SignatureKind::PathExpiry, &rest, expires);
        format!("https://{host}/{signature}/{expires:08x}{rest}?{query}")
    }

    /// The soundtrack URL (`music.playUrl`).
    pub fn audio_url(&self, audio_key: &str) -> String {
        let query = format!(
            "a=1233&bti=ODszNWYuMDE6&ch=0&cr=0&dr=0&er=0&lr=default&cd=0%7C0%7C0%7C0&br=250&bt=125&ds=5&ft=GSDrKInz7Th0ch3KXq8Zmo&mime_type=audio_mpeg&qs=13&rc=M3JobnE5cmhyczMzZzU4NEBpM3JobnE5cmhyczMzZzU4NEBgLS1kMS9zcw%3D%3D&vvpl=1&l={}&btag=e00078000",
            self.log_id
        );
        self.path_expiry_url(AUDIO_HOST, AUDIO_BUCKET, audio_key, &query)
    }

    /// A subtitle track URL; the object names the video and language. Tracks of posts for
    /// which [`subtitles_on_web_cdn`] holds live on [`WEB_SUBTITLE_HOST`] and carry
    /// `tk=tt_chain_token`: the CDN refuses them without the page session's cookie.
    pub fn subtitle_url(&self, item_id: u64, language: &str) -> String {
        let mut query = format!(
            "a=1988&bti=ODszNWYuMDE6&ch=0&cr=0&dr=0&er=0&lr=all&cd=0%7C0%7C0%7C0&br=0&bt=0&cs=0&ds=4&ft=4KJMyMZj8Zmo0UE0MI4jV~bCQpWrKsd.&mime_type=video_mp4&qs=13&rc=&l={}&btag=e00090000",
            self.log_id
        );
        let host = if subtitles_on_web_cdn(item_id) {
            query.push_str("&tk=tt_chain_token");
            WEB_SUBTITLE_HOST
        } else {
            SUBTITLE_HOST
        };
        self.path_expiry_url(
            host,
            SUBTITLE_BUCKET,
            &format!("{item_id}-{language}"),
            &query,
        )
    }
}
