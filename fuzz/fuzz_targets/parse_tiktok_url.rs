//! Fuzz target: `TiktokUrl::parse`, the sound and search feed targets and `parse_video_page` on
//! arbitrary input must never panic, a parsed URL's canonical form must parse again to the same
//! kind, a sound target is a music id and a normalised query normalises to itself.

#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use tokworks_shared::sound::{normalise_search_query, parse_sound_target};
use tokworks_shared::tiktok_url::TiktokUrl;
use tokworks_worker::tiktok::{MapContext, map_item, parse_video_page};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = TiktokUrl::parse(text) {
        let again = TiktokUrl::parse(url.canonical_url());
        assert!(
            again.as_ref().is_ok_and(|again| again.kind() == url.kind()),
            "canonical URL {} did not re-parse to {:?}: {again:?}",
            url.canonical_url(),
            url.kind()
        );
    }
    if let Ok(music_id) = parse_sound_target(text) {
        assert!(
            music_id.bytes().all(|byte| byte.is_ascii_digit()),
            "{music_id}"
        );
    }
    if let Some(query) = normalise_search_query(text) {
        assert_eq!(
            normalise_search_query(&query).as_deref(),
            Some(query.as_str())
        );
    }
    if let Ok(page) = parse_video_page(text)
        && let Some(item) = page.item
    {
        let context = MapContext {
            source: tokworks_shared::video::VideoSource::Web,
            extracted_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let _ = map_item(&item, &context);
    }
});
