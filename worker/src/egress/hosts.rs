//! Which hosts are TikTok's, and the one allow-list of media downloads (covers, photo images,
//! subtitles): TikTok's CDN domains and its numbered web CDN hosts under `tiktok.com`
//! (docs/tiktok-formats.md "CDN hosts and URL anatomy"). Everything else is refused before a
//! request is made.

/// Whether `host` is TikTok's (page, API or CDN): `tiktok.com`, `tiktokv.com`, `tiktokcdn.com`,
/// `tiktokcdn-us.com`, `tiktokcdn-eu.com` or a subdomain of one of them.
pub fn is_tiktok_owned_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["tiktok.com", "tiktokv.com"]
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
        || is_tiktok_cdn_domain(&host)
}

/// Whether `host` is on one of TikTok's separate CDN domains (`*.tiktokcdn*.com`).
pub fn is_tiktok_cdn_domain(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["tiktokcdn.com", "tiktokcdn-us.com", "tiktokcdn-eu.com"]
        .iter()
        .any(|domain| host.ends_with(&format!(".{domain}")))
}

/// Whether `host` serves TikTok's media (covers, photo images, videos, subtitles): its separate
/// CDN domains (`*.tiktokcdn*.com`) and its web CDN hosts under `tiktok.com`, whose first label
/// is a numbered edge (`v16-webapp-prime.tiktok.com`, `v19-webapp-prime.us.tiktok.com`,
/// `p16-sign.tiktok.com`). Pages and APIs (`www.tiktok.com`, `m.tiktok.com`) are not media hosts.
pub fn is_tiktok_media_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if is_tiktok_cdn_domain(&host) {
        return true;
    }
    let Some(subdomain) = host.strip_suffix(".tiktok.com") else {
        return false;
    };
    let first_label = subdomain.split('.').next().unwrap_or_default();
    let mut characters = first_label.chars();
    matches!(characters.next(), Some('v' | 'p'))
        && characters
            .next()
            .is_some_and(|character| character.is_ascii_digit())
}

/// Whether `url` may be downloaded as media: `https` (or `http`, which TikTok's JSON sometimes
/// carries for images) on a media host.
pub fn is_media_url(url: &url::Url) -> bool {
    matches!(url.scheme(), "https" | "http") && url.host_str().is_some_and(is_tiktok_media_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_hosts_include_tiktoks_web_cdn_but_not_its_pages_or_lookalikes() {
        for host in [
            "v16-webapp-prime.tiktok.com",
            "v19-webapp-prime.us.tiktok.com",
            "v16-webapp-prime.us.tiktok.com",
            "p16-sign.tiktok.com",
            "v16m-webapp.tiktokcdn-us.com",
            "p16-sign-va.tiktokcdn.com",
            "p16-common-sign.tiktokcdn-us.com",
            "p16-pu-sign-no.tiktokcdn-eu.com",
        ] {
            assert!(is_tiktok_media_host(host), "{host}");
        }
        for host in [
            "www.tiktok.com",
            "m.tiktok.com",
            "tiktok.com",
            "vm.tiktok.com",
            "v16-webapp-prime.tiktok.com.evil.example",
            "v16.eviltiktok.com",
            "tiktokcdn.com",
            "127.0.0.1",
        ] {
            assert!(!is_tiktok_media_host(host), "{host}");
        }
        let page = url::Url::parse("https://www.tiktok.com/@a/video/1").unwrap();
        assert!(!is_media_url(&page));
        let metadata = url::Url::parse("file:///etc/passwd").unwrap();
        assert!(!is_media_url(&metadata));
    }

    #[test]
    fn tiktok_hosts_are_recognised_and_lookalikes_are_not() {
        assert!(is_tiktok_owned_host("www.tiktok.com"));
        assert!(is_tiktok_owned_host("v16-webapp-prime.us.tiktok.com"));
        assert!(is_tiktok_owned_host("p16-common-sign.tiktokcdn-us.com"));
        assert!(is_tiktok_owned_host("p16-sign-va.tiktokcdn.com"));
        assert!(!is_tiktok_owned_host("eviltiktok.com"));
        assert!(!is_tiktok_owned_host("tiktokcdn.com.evil.example"));
        assert!(!is_tiktok_owned_host("127.0.0.1"));
    }
}
