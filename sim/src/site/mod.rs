//! TikTok's web surface as the simulator serves it: pages, short links, feed APIs and CDN hosts.
//! Routing lives here; each surface has its own module.

pub mod cdn;
pub mod comments;
pub mod feeds;
pub mod ground_truth;
pub mod item;
pub mod item_media;
pub mod jpeg;
pub mod json_writer;
pub mod media;
pub mod music;
pub mod pages;
pub mod search;
pub mod short_links;
pub mod signing;
pub mod urls;

#[cfg(test)]
mod tests;

use http::{HeaderValue, Method, StatusCode, header};
use serde::Serialize;

use crate::corpus::ids::{self, Domain};
use crate::corpus::posts::{PostKind, PostSkeleton};
use crate::corpus::{Corpus, CorpusOptions};
use crate::exchange::{SimRequest, SimResponse};

use self::feeds::TrendingSessions;
use self::short_links::{ShortCodes, ShortForm};
use self::signing::{SignatureKind, Signer};
use self::urls::UrlBuilder;

/// One error case of the corpus, listed by `GET /_sim/cases`.
#[derive(Debug, Clone, Serialize)]
pub struct SimCase {
    /// Stable name, e.g. `deleted`, `private_post`, `private_account`, `under_review`,
    /// `region_blocked`, `age_restricted`, `short_link_unknown`, `user_not_found`, `hashtag_not_found`.
    pub name: String,
    /// URL a client would submit.
    pub url: String,
    /// TikTok `statusCode` the page carries, when the case is a status page.
    pub status_code: Option<i64>,
    /// One sentence.
    pub description: String,
}

/// Site construction options.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    pub seed: u64,
    /// Number of regular (public, valid) videos and photo posts in the corpus.
    pub video_count: usize,
    /// Frozen "now" (Unix seconds) used for every timestamp the site renders and checks,
    /// so the same seed gives byte-identical pages.
    pub now_unix: i64,
}

/// The TikTok model. Cheap to share (`Arc`), thread-safe.
#[derive(Debug)]
pub struct TiktokSite {
    options: SiteOptions,
    corpus: Corpus,
    signer: Signer,
    short_codes: ShortCodes,
    trending_sessions: TrendingSessions,
    /// `YYYYMMDDHHMMSS` of the frozen now (prefix of log ids).
    time_prefix: String,
    /// Serialised common scopes of desktop and mobile pages.
    base_scopes_desktop: String,
    base_scopes_mobile: String,
}

const NO_ROUTE: &str = "tokworks-sim: no route";

fn no_route() -> SimResponse {
    SimResponse::text(StatusCode::NOT_FOUND, NO_ROUTE)
}

/// Whether a User-Agent asks for the mobile (reflow) page.
fn is_mobile_user_agent(user_agent: &str) -> bool {
    ["Mobile", "Android", "iPhone", "iPad"]
        .iter()
        .any(|marker| user_agent.contains(marker))
}

impl TiktokSite {
    pub fn new(options: SiteOptions) -> Self {
        let corpus = Corpus::new(CorpusOptions {
            seed: options.seed,
            video_count: options.video_count,
            now_unix: options.now_unix,
        });
        let time_prefix = chrono::DateTime::from_timestamp(options.now_unix, 0)
            .map(|time| time.format("%Y%m%d%H%M%S").to_string())
            .unwrap_or_else(|| "20250101000000".to_string());
        let web_id = 7_250_000_000_000_000_000
            + ids::hash3(options.seed, Domain::Site, 1) % 75_000_000_000_000_000;
        let request_id = format!(
            "{time_prefix}{:016X}{:04X}",
            ids::mix64(web_id),
            web_id & 0xFFFF
        );
        TiktokSite {
            base_scopes_desktop: pages::base_scope_members(
                options.now_unix,
                web_id,
                &request_id,
                false,
            ),
            base_scopes_mobile: pages::base_scope_members(
                options.now_unix,
                web_id,
                &request_id,
                true,
            ),
            signer: Signer::new(options.seed),
            short_codes: ShortCodes::new(options.seed),
            trending_sessions: TrendingSessions::default(),
            corpus,
            time_prefix,
            options,
        }
    }

    /// Whether `host` belongs to TikTok (the proxy answers 403 to every other host).
    pub fn is_tiktok_host(host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        [
            "tiktok.com",
            "tiktokv.com",
            "tiktokcdn.com",
            "tiktokcdn-us.com",
            "tiktokcdn-eu.com",
            "ttwstatic.com",
        ]
        .iter()
        .any(|domain| {
            host == *domain
                || host
                    .strip_suffix(domain)
                    .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1)
        })
    }

    /// The corpus behind the site.
    pub fn corpus(&self) -> &Corpus {
        &self.corpus
    }

    /// Answers one request to a TikTok host.
    pub fn handle(&self, request: &SimRequest) -> SimResponse {
        let is_head = request.method == Method::HEAD;
        if request.method != Method::GET && !is_head {
            if request.host.starts_with("api") && request.host.ends_with(".tiktokv.com") {
                return SimResponse::with_body(StatusCode::OK, "application/json", Vec::new());
            }
            return SimResponse::text(
                StatusCode::METHOD_NOT_ALLOWED,
                "tokworks-sim: method not allowed",
            );
        }
        let mut response = self.route(request);
        if is_head {
            let length = response.body.len().to_string();
            if let Ok(value) = HeaderValue::from_str(&length) {
                response.headers.insert(header::CONTENT_LENGTH, value);
            }
            response.body = bytes::Bytes::new();
        }
        response
    }

    fn route(&self, request: &SimRequest) -> SimResponse {
        let host = request.host.as_str();
        match host {
            "www.tiktok.com" | "tiktok.com" | "m.tiktok.com" | "www.tiktokv.com" => {
                let response = self.web(request);
                self.with_session_cookies(request, response)
            }
            "vm.tiktok.com" | "vt.tiktok.com" => {
                let form = if host == "vm.tiktok.com" {
                    ShortForm::Vm
                } else {
                    ShortForm::Vt
                };
                let code = request.path.trim_start_matches('/');
                if code.is_empty() || code.trim_end_matches('/').contains('/') {
                    return no_route();
                }
                let response = short_links::redirect(self, &request.method, form, code);
                self.with_session_cookies(request, response)
            }
            _ if urls::VIDEO_HOSTS.contains(&host) => cdn::video(self, request),
            urls::AUDIO_HOST | urls::SUBTITLE_HOST => cdn::path_signed(self, request),
            _ if cdn::is_image_host(host) => cdn::image(self, request),
            _ if host.starts_with("api") && host.ends_with(".tiktokv.com") => {
                SimResponse::with_body(StatusCode::OK, "application/json", Vec::new())
            }
            _ => no_route(),
        }
    }

    /// `www.tiktok.com`, `tiktok.com`, `m.tiktok.com`, `www.tiktokv.com`.
    fn web(&self, request: &SimRequest) -> SimResponse {
        let path = request.path.as_str();
        if path.starts_with("/api/") {
            return comments::handle(self, request)
                .or_else(|| feeds::handle(self, request))
                .unwrap_or_else(no_route);
        }
        let segments: Vec<&str> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .collect();
        let mobile = request.host == "m.tiktok.com" || is_mobile_user_agent(request.user_agent());
        match segments.as_slice() {
            [""] => self.html(pages::shell_page(self, "TikTok - Make Your Day", "")),
            ["login"] => self.html(pages::shell_page(
                self,
                "Log in | TikTok",
                "<p>Log in to TikTok</p>",
            )),
            ["notfound"] => self.html(pages::shell_page(
                self,
                "Couldn't find this page | TikTok",
                "<p>Couldn’t find this page</p>",
            )),
            ["t", code] => short_links::redirect(self, &request.method, ShortForm::T, code),
            ["aweme", "v1", "play"] => cdn::aweme_play(self, request),
            [user, kind, id] if user.starts_with('@') && (*kind == "video" || *kind == "photo") => {
                self.video_page_by_id(id, mobile)
            }
            ["share", "video", id] | ["embed", "v2", id] | ["embed", id] => {
                self.video_page_by_id(id, mobile)
            }
            ["v", id] if request.host == "m.tiktok.com" => {
                self.video_page_by_id(id.strip_suffix(".html").unwrap_or(id), true)
            }
            [user] if user.starts_with('@') && user.len() > 1 => {
                let handle = percent_encoding::percent_decode_str(&user[1..]).decode_utf8_lossy();
                self.html(pages::profile_page(self, &handle))
            }
            ["tag", name] if !name.is_empty() => {
                let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
                self.html(pages::tag_page(self, &name))
            }
            _ => no_route(),
        }
    }

    fn html(&self, body: String) -> SimResponse {
        SimResponse::html(StatusCode::OK, body)
    }

    fn video_page_by_id(&self, id: &str, mobile: bool) -> SimResponse {
        if id.is_empty() || id.len() > 20 || !id.bytes().all(|byte| byte.is_ascii_digit()) {
            return no_route();
        }
        let index = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.corpus.resolve_post_id(id));
        self.html(pages::video_page(self, index, mobile))
    }

    /// Adds the session cookies unless the request already carries an issued `tt_chain_token`.
    fn with_session_cookies(&self, request: &SimRequest, response: SimResponse) -> SimResponse {
        if request
            .cookie("tt_chain_token")
            .is_some_and(|token| self.signer.is_issued_chain_token(&token))
        {
            return response;
        }
        let chain_token = self.signer.issue_chain_token();
        let (ttwid, csrf, ms_token) = self
            .signer
            .session_companions(&chain_token, self.options.now_unix);
        let attributes = "Domain=.tiktok.com; Path=/; Secure";
        response
            .append_header(
                header::SET_COOKIE,
                &format!("tt_chain_token={chain_token}; {attributes}; Max-Age=15552000; HttpOnly"),
            )
            .append_header(
                header::SET_COOKIE,
                &format!("ttwid={ttwid}; {attributes}; Max-Age=31536000; HttpOnly"),
            )
            .append_header(
                header::SET_COOKIE,
                &format!("tt_csrf_token={csrf}; {attributes}; HttpOnly; SameSite=Lax"),
            )
            .append_header(
                header::SET_COOKIE,
                &format!("msToken={ms_token}; {attributes}; Max-Age=864000; SameSite=None"),
            )
    }

    /// `YYYYMMDDHHMMSS` + 20 uppercase hex, deterministic in `hash`.
    fn log_id(&self, hash: u64) -> String {
        let mixed = ids::mix64(hash ^ self.options.seed);
        format!(
            "{}{:016X}{:04X}",
            self.time_prefix,
            mixed,
            ids::mix64(mixed) & 0xFFFF
        )
    }

    fn url_builder<'a>(&'a self, log_id: &'a str) -> UrlBuilder<'a> {
        UrlBuilder {
            signer: &self.signer,
            now_unix: self.options.now_unix,
            log_id,
        }
    }

    /// `https://www.tiktok.com/@{user}/{video|photo}/{id}`.
    fn canonical_url(&self, skeleton: &PostSkeleton) -> String {
        let handle = self
            .corpus
            .users
            .get(skeleton.author)
            .map_or("_", |user| user.unique_id.as_str());
        let kind = match skeleton.kind {
            PostKind::Video => "video",
            PostKind::Photo => "photo",
        };
        format!("https://www.tiktok.com/@{handle}/{kind}/{}", skeleton.id)
    }

    /// A 19-digit id that belongs to no post of this corpus.
    fn unknown_video_id(&self) -> u64 {
        let mut candidate = 7_300_000_000_000_000_001u64
            + ids::hash3(self.options.seed, Domain::Site, 2) % 1_000_000;
        while self.corpus.resolve_post_id(candidate).is_some() {
            candidate += 1;
        }
        candidate
    }

    /// Ground truth of the first `limit` regular videos after `offset`: `GET /_sim/videos`.
    ///
    /// One JSON object per regular public video or photo post, in corpus order (oldest first):
    /// `video_id` (string), `canonical_url`, `short_urls {vm, vt, t}`, `kind` (`"video"` |
    /// `"photo"`), `description` (the caption, hashtags and mentions included), `create_time`
    /// (Unix s), `duration` (s; for photo posts the music's duration), `width`, `height` (of the
    /// `playAddr` rendition; first image for photos), `author {id, unique_id, nickname, sec_uid,
    /// verified, private_account}`, `stats {play_count, like_count, comment_count, share_count,
    /// collect_count, repost_count}` (exact), `hashtags` (names without `#`, caption order),
    /// `mentions` (unique ids), `music {id, title, author_name, original, duration}`,
    /// `location_created`, `is_ad`, `image_count`, `images [{url, width, height}]` (photos),
    /// `subtitles_on_web_cdn` (the tracks live on the cookie-bound web CDN), `subtitle_languages` (e.g. `["eng-US"]`), `subtitles [{language_code_name, source ("asr" |
    /// "mt"), text}]` (what each track says: its cue texts joined with spaces), `cover_url`, `pinned` (whether the author pins it).
    pub fn ground_truth_videos(&self, offset: usize, limit: usize) -> Vec<serde_json::Value> {
        let start = u32::try_from(offset)
            .unwrap_or(u32::MAX)
            .min(self.corpus.regular_count());
        let end = u32::try_from(offset.saturating_add(limit))
            .unwrap_or(u32::MAX)
            .min(self.corpus.regular_count());
        (start..end)
            .filter_map(|index| self.corpus.post(index))
            .map(|post| ground_truth::video_truth(self, &post))
            .collect()
    }

    /// Ground truth of users (public first, then private): `id`, `unique_id`, `nickname`,
    /// `sec_uid`, `signature`, `verified`, `private_account`, `profile_url`, `follower_count`,
    /// `following_count`, `heart_count`, `video_count`, `pinned_video_id`, `video_ids` (newest first).
    pub fn ground_truth_users(&self, offset: usize, limit: usize) -> Vec<serde_json::Value> {
        ground_truth::users_truth(self, offset, limit)
    }

    /// Ground truth of every hashtag: `id`, `name`, `tag_url`, `video_count` (what
    /// `/api/challenge/item_list/` walks), `view_count`, `video_ids` (serving order, newest first).
    pub fn ground_truth_hashtags(&self) -> Vec<serde_json::Value> {
        ground_truth::hashtags_truth(self)
    }

    /// The trending list in the order `/api/recommend/item_list/` serves it: `position`,
    /// `video_id`, `canonical_url`, `play_count`.
    pub fn ground_truth_trending(&self) -> Vec<serde_json::Value> {
        ground_truth::trending_truth(self)
    }

    /// Every built-in error case of the corpus.
    pub fn status_cases(&self) -> Vec<SimCase> {
        ground_truth::status_cases(self)
    }

    /// Valid public videos reserved for fault cases (not part of `ground_truth_videos`):
    /// `(video_id, canonical_url)`. At most [`crate::corpus::SPARE_COUNT`].
    pub fn spare_videos(&self, count: usize) -> Vec<(String, String)> {
        (0..crate::corpus::SPARE_COUNT)
            .filter_map(|spare| self.corpus.spare_index(spare))
            .filter_map(|index| self.corpus.skeleton(index))
            .filter(|skeleton| skeleton.kind == PostKind::Video)
            .take(count)
            .map(|skeleton| (skeleton.id.to_string(), self.canonical_url(&skeleton)))
            .collect()
    }

    /// Whether `token` is a `tt_chain_token` this site issued.
    pub fn is_issued_chain_token(&self, token: &str) -> bool {
        self.signer.is_issued_chain_token(token)
    }

    /// Re-signs a video CDN URL of this site with another `expire` (for expired-URL tests and
    /// fault injection). `None` if `url` is not one of the site's video URLs.
    pub fn resign_video_url(&self, url: &str, expire: i64) -> Option<String> {
        let mut parsed = url::Url::parse(url).ok()?;
        let host = parsed.host_str()?;
        if !urls::VIDEO_HOSTS.contains(&host) {
            return None;
        }
        let signature = self
            .signer
            .hex_signature(SignatureKind::Video, parsed.path(), expire);
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| match key.as_ref() {
                "expire" => (key.into_owned(), expire.to_string()),
                "signature" => (key.into_owned(), signature.clone()),
                _ => (key.into_owned(), value.into_owned()),
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
        Some(parsed.to_string())
    }
}
