//! Request counters behind `GET /_sim/counters`: per route family, per status and per fault, and
//! the rule that names a request's route family.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Snapshot returned by `GET /_sim/counters`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CounterSnapshot {
    pub total: u64,
    /// `page`, `short_link`, `api/<endpoint>`, `app_api`, `cdn_video`, `cdn_image`, `cdn_audio`,
    /// `cdn_subtitle`, `openai`, `control`, `connect`, `denied`, `direct_other`.
    pub routes: BTreeMap<String, u64>,
    /// Status code as a string (`"200"`), or `"none"` for reset/hang.
    pub statuses: BTreeMap<String, u64>,
    pub faults: BTreeMap<String, u64>,
    /// `/v1/...` (OpenAI) requests being answered right now (latency included).
    pub openai_in_flight: u64,
    /// The most `/v1/...` requests ever in flight at once since the last reset.
    pub openai_max_in_flight: u64,
}

#[derive(Debug, Default)]
pub struct Counters {
    state: Mutex<CounterSnapshot>,
}

impl Counters {
    pub fn record(&self, route: &str, status: Option<u16>, fault: Option<&str>) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.total += 1;
        *state.routes.entry(route.to_string()).or_insert(0) += 1;
        let status = status.map_or_else(|| "none".to_string(), |code| code.to_string());
        *state.statuses.entry(status).or_insert(0) += 1;
        if let Some(fault) = fault {
            *state.faults.entry(fault.to_string()).or_insert(0) += 1;
        }
    }

    /// An OpenAI request started being answered.
    pub fn openai_started(&self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.openai_in_flight += 1;
        state.openai_max_in_flight = state.openai_max_in_flight.max(state.openai_in_flight);
    }

    /// An OpenAI request was answered (or its connection failed).
    pub fn openai_finished(&self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.openai_in_flight = state.openai_in_flight.saturating_sub(1);
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn clear(&self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let in_flight = state.openai_in_flight;
        *state = CounterSnapshot {
            openai_in_flight: in_flight,
            openai_max_in_flight: in_flight,
            ..CounterSnapshot::default()
        };
    }
}

/// Route family of a request to a TikTok host.
pub fn tiktok_route_family(host: &str, path: &str) -> String {
    let host = host.to_ascii_lowercase();
    if host == "vm.tiktok.com" || host == "vt.tiktok.com" || path.starts_with("/t/") {
        return "short_link".to_string();
    }
    if let Some(endpoint) = path.strip_prefix("/api/") {
        let endpoint = endpoint.trim_end_matches('/');
        return format!("api/{endpoint}");
    }
    if host.contains("tiktokv.com") && path.starts_with("/aweme/") {
        return "app_api".to_string();
    }
    let is_cdn =
        host.contains("tiktokcdn") || host.contains("webapp-prime") || host.contains("-ies-");
    if path.contains("/subtitle") || path.ends_with(".vtt") {
        return "cdn_subtitle".to_string();
    }
    if host.contains("music") || path.ends_with(".mp3") || path.ends_with(".m4a") {
        return "cdn_audio".to_string();
    }
    if path.starts_with("/video/")
        || path.starts_with("/aweme/v1/play")
        || (is_cdn && path.contains("/video/"))
    {
        return "cdn_video".to_string();
    }
    if is_cdn
        || path.ends_with(".jpeg")
        || path.ends_with(".jpg")
        || path.ends_with(".webp")
        || path.ends_with(".image")
    {
        return "cdn_image".to_string();
    }
    "page".to_string()
}

#[cfg(test)]
mod tests {
    use super::tiktok_route_family;

    #[test]
    fn names_route_families() {
        assert_eq!(
            tiktok_route_family("www.tiktok.com", "/@u/video/7454730070402848956"),
            "page"
        );
        assert_eq!(
            tiktok_route_family("vm.tiktok.com", "/ZMabc/"),
            "short_link"
        );
        assert_eq!(
            tiktok_route_family("www.tiktok.com", "/t/ZMabc/"),
            "short_link"
        );
        assert_eq!(
            tiktok_route_family("www.tiktok.com", "/api/post/item_list/"),
            "api/post/item_list"
        );
        for (path, family) in [
            ("/api/search/item/full/", "api/search/item/full"),
            ("/api/music/detail/", "api/music/detail"),
            ("/api/music/item_list/", "api/music/item_list"),
        ] {
            assert_eq!(tiktok_route_family("www.tiktok.com", path), family);
        }
        assert_eq!(
            tiktok_route_family("v16-webapp-prime.tiktok.com", "/video/tos/x/"),
            "cdn_video"
        );
        assert_eq!(
            tiktok_route_family("p16-sign-va.tiktokcdn.com", "/tos-maliva/x.jpeg"),
            "cdn_image"
        );
        assert_eq!(
            tiktok_route_family("sf16-ies-music-va.tiktokcdn.com", "/obj/x.mp3"),
            "cdn_audio"
        );
    }
}
