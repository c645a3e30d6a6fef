//! The CDN hosts: signed video renditions (cookie-bound to an issued `tt_chain_token`), signed
//! images, path-signed audio and subtitles; `Range` support; 403 on any failed check.

use http::{HeaderValue, StatusCode, header};

use crate::corpus::words;
use crate::exchange::{SimRequest, SimResponse};

use super::TiktokSite;
use super::media::{self, RangeOutcome};
use super::signing::SignatureKind;
use super::urls::{AUDIO_BUCKET, DOWNLOAD_PATH_PREFIX, SUBTITLE_BUCKET, VIDEO_PATH_PREFIX};

/// Whether `host` is one of the image CDN hosts (`p16-…`, `p19-…`, `p77-…` on tiktokcdn domains).
pub fn is_image_host(host: &str) -> bool {
    let Some(rest) = host.strip_prefix('p') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && rest.as_bytes().get(digits) == Some(&b'-')
        && [".tiktokcdn.com", ".tiktokcdn-us.com", ".tiktokcdn-eu.com"]
            .iter()
            .any(|suffix| host.ends_with(suffix))
}

fn forbidden() -> SimResponse {
    SimResponse::text(StatusCode::FORBIDDEN, "Access Denied")
}

fn not_found() -> SimResponse {
    SimResponse::text(StatusCode::NOT_FOUND, "tokworks-sim: no route")
}

fn has_issued_chain_token(site: &TiktokSite, request: &SimRequest) -> bool {
    request
        .cookie("tt_chain_token")
        .is_some_and(|token| site.signer.is_issued_chain_token(&token))
}

/// A body with `Accept-Ranges`, answering `Range` with 206/416.
pub fn ranged_body(request: &SimRequest, content_type: &'static str, body: Vec<u8>) -> SimResponse {
    let len = body.len();
    let outcome = request
        .headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .map_or(RangeOutcome::Whole, |range| media::byte_range(range, len));
    let mut response = match outcome {
        RangeOutcome::Whole => SimResponse::with_body(StatusCode::OK, content_type, body),
        RangeOutcome::Partial(start, end) => {
            let slice = body[start..=end].to_vec();
            SimResponse::with_body(StatusCode::PARTIAL_CONTENT, content_type, slice)
                .append_header(header::CONTENT_RANGE, &format!("bytes {start}-{end}/{len}"))
        }
        RangeOutcome::Unsatisfiable => SimResponse::new(StatusCode::RANGE_NOT_SATISFIABLE)
            .append_header(header::CONTENT_RANGE, &format!("bytes */{len}")),
    };
    response
        .headers
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400"),
    );
    response
}

/// `v16-webapp-prime…` / `v19-webapp-prime…`: `/video/tos/…/{object}/?…&expire=&signature=`,
/// and path-signed subtitle tracks (`/{sig}/{expiry hex}/…`), which need the session's
/// `tt_chain_token` as well.
pub fn video(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let path = request.path.as_str();
    if !path.starts_with("/video/") {
        if !path.contains(SUBTITLE_BUCKET) {
            return not_found();
        }
        if !has_issued_chain_token(site, request) {
            return forbidden();
        }
        return path_signed(site, request);
    }
    let Some(object) = [VIDEO_PATH_PREFIX, DOWNLOAD_PATH_PREFIX]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .and_then(|rest| rest.strip_suffix('/'))
        .filter(|object| !object.is_empty() && !object.contains('/'))
    else {
        return not_found();
    };
    let expire = request
        .query_param("expire")
        .and_then(|value| value.parse::<i64>().ok());
    let signature = request.query_param("signature");
    let (Some(expire), Some(signature)) = (expire, signature) else {
        return forbidden();
    };
    if !site
        .signer
        .verify_hex(SignatureKind::Video, path, expire, &signature)
        || expire <= site.options.now_unix
        || !has_issued_chain_token(site, request)
    {
        return forbidden();
    }
    ranged_body(request, "video/mp4", media::fake_mp4(object))
}

/// `www.tiktok.com/aweme/v1/play/?file_id=…`: the same bytes, cookie-bound, unsigned.
pub fn aweme_play(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let Some(file_id) = request
        .query_param("file_id")
        .filter(|id| id.len() > 8 && id.starts_with('o'))
    else {
        return SimResponse::text(StatusCode::BAD_REQUEST, "tokworks-sim: missing file_id");
    };
    if !has_issued_chain_token(site, request) {
        return forbidden();
    }
    ranged_body(request, "video/mp4", media::fake_mp4(&file_id))
}

/// Image hosts: `/{bucket}/{key}~{template}?…&x-expires=&x-signature=`.
pub fn image(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let path = request.path.as_str();
    let Some((bucket_and_key, _template)) = path.split_once('~') else {
        return not_found();
    };
    let Some(key) = bucket_and_key
        .rsplit('/')
        .next()
        .filter(|key| key.len() == 32)
    else {
        return not_found();
    };
    let expires = request
        .query_param("x-expires")
        .and_then(|value| value.parse::<i64>().ok());
    let signature = request.query_param("x-signature");
    let (Some(expires), Some(signature)) = (expires, signature) else {
        return forbidden();
    };
    if !site.signer.verify_image(path, expires, &signature) || expires <= site.options.now_unix {
        return forbidden();
    }
    let mut response = SimResponse::with_body(StatusCode::OK, "image/jpeg", media::image_jpeg(key));
    response.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400"),
    );
    response
}

/// Path-signed hosts (audio and subtitles): `/{sig}/{expiry hex}/{bucket}/{object}/`.
pub fn path_signed(site: &TiktokSite, request: &SimRequest) -> SimResponse {
    let mut segments = request.path.splitn(4, '/');
    let (Some(""), Some(signature), Some(expiry_hex), Some(rest)) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return not_found();
    };
    let rest = format!("/{rest}");
    let Ok(expires) = i64::from_str_radix(expiry_hex, 16) else {
        return not_found();
    };
    if !site
        .signer
        .verify_hex(SignatureKind::PathExpiry, &rest, expires, signature)
    {
        return forbidden();
    }
    if expires <= site.options.now_unix {
        return forbidden();
    }
    if let Some(object) = rest
        .strip_prefix(AUDIO_BUCKET)
        .and_then(|tail| tail.strip_suffix('/'))
    {
        return ranged_body(request, "audio/mpeg", media::fake_mp3(object));
    }
    if let Some(object) = rest
        .strip_prefix(SUBTITLE_BUCKET)
        .and_then(|tail| tail.strip_suffix('/'))
    {
        return subtitle(site, object);
    }
    not_found()
}

fn subtitle(site: &TiktokSite, object: &str) -> SimResponse {
    let Some((id, language)) = object.split_once('-') else {
        return not_found();
    };
    let post = id
        .parse::<u64>()
        .ok()
        .and_then(|id| site.corpus.resolve_post_id(id))
        .and_then(|index| site.corpus.post(index));
    let Some(post) = post else { return not_found() };
    let track = post
        .subtitles
        .iter()
        .find(|track| words::SUBTITLE_LANGUAGES[track.language].0 == language);
    match track {
        Some(track) => {
            SimResponse::with_body(StatusCode::OK, "text/vtt", media::webvtt(&post, track))
        }
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_hosts_are_recognised() {
        assert!(is_image_host("p16-common-sign.tiktokcdn-us.com"));
        assert!(is_image_host("p16-sign-va.tiktokcdn.com"));
        assert!(is_image_host("p19-sign.tiktokcdn-us.com"));
        assert!(is_image_host("p16-pu-sign-no.tiktokcdn-eu.com"));
        assert!(!is_image_host("v16-webapp-prime.tiktok.com"));
        assert!(!is_image_host("p16-evil.example.com"));
    }
}
