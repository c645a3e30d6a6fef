//! The cover download: the item's `video.originCover` / `video.cover` (or the photo post's
//! cover / first image), fetched with the page's session and `Referer` = page URL, capped in
//! size, only from TikTok's media hosts (`egress::hosts`). A failure here is reported, never
//! fatal (the video is stored without a cover).

use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use crate::egress::{IMAGE_ACCEPT, Session, is_media_url};
use crate::extractor::ThumbnailBytes;

/// The largest cover accepted.
pub const THUMBNAIL_BYTE_LIMIT: usize = 5 * 1024 * 1024;

/// What the cover download produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverOutcome {
    pub thumbnail: Option<ThumbnailBytes>,
    pub error: Option<String>,
    pub duration: Duration,
}

/// The cover URL of an item: `video.originCover`, `video.cover`, `imagePost.cover`, then the
/// first `imagePost.images[]` (first entry of `imageURL.urlList`).
pub fn cover_url_of(item: &Value) -> Option<String> {
    const POINTERS: [&str; 4] = [
        "/video/originCover",
        "/video/cover",
        "/imagePost/cover/imageURL/urlList/0",
        "/imagePost/images/0/imageURL/urlList/0",
    ];
    POINTERS
        .iter()
        .filter_map(|pointer| item.pointer(pointer).and_then(Value::as_str))
        .map(str::trim)
        .find(|url| !url.is_empty())
        .map(str::to_owned)
}

/// Downloads the cover of `item`.
pub async fn download_cover(session: &Session, item: &Value, page_url: &str) -> CoverOutcome {
    let started = Instant::now();
    let result = match cover_url_of(item) {
        Some(url) => fetch_cover(session, &url, page_url).await,
        None => Err("no cover URL in the item".to_owned()),
    };
    let duration = started.elapsed();
    match result {
        Ok(thumbnail) => CoverOutcome {
            thumbnail: Some(thumbnail),
            error: None,
            duration,
        },
        Err(error) => CoverOutcome {
            thumbnail: None,
            error: Some(error),
            duration,
        },
    }
}

async fn fetch_cover(
    session: &Session,
    cover_url: &str,
    page_url: &str,
) -> Result<ThumbnailBytes, String> {
    let url = Url::parse(cover_url).map_err(|error| format!("cover URL {cover_url}: {error}"))?;
    if !is_media_url(&url) {
        return Err(format!(
            "not downloading a cover from outside TikTok: {url}"
        ));
    }
    let answer = session
        .get(&url, IMAGE_ACCEPT, Some(page_url), THUMBNAIL_BYTE_LIMIT)
        .await
        .map_err(|error| format!("cover download failed: {error}"))?;
    if !answer.status.is_success() {
        return Err(format!("the cover answered HTTP {}", answer.status));
    }
    if answer.body.is_empty() {
        return Err("the cover is empty".to_owned());
    }
    let content_type = answer
        .content_type
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    if !content_type.starts_with("image/") && content_type != "application/octet-stream" {
        return Err(format!("the cover is not an image ({content_type})"));
    }
    Ok(ThumbnailBytes {
        source_url: cover_url.to_owned(),
        content_type,
        bytes: answer.body,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cover_url_prefers_origin_cover_then_cover_then_photo_images() {
        let video =
            json!({"video": {"cover": "https://p16/c.jpeg", "originCover": "https://p19/o.jpeg"}});
        assert_eq!(cover_url_of(&video).as_deref(), Some("https://p19/o.jpeg"));
        let cover_only = json!({"video": {"cover": "https://p16/c.jpeg", "originCover": ""}});
        assert_eq!(
            cover_url_of(&cover_only).as_deref(),
            Some("https://p16/c.jpeg")
        );
        let photo = json!({"video": {}, "imagePost": {"images": [{"imageURL": {"urlList": ["https://p16/1.jpeg"]}}]}});
        assert_eq!(cover_url_of(&photo).as_deref(), Some("https://p16/1.jpeg"));
        assert_eq!(cover_url_of(&json!({"id": "1"})), None);
    }
}
