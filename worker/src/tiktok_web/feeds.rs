//! Typed feed walkers (docs/tiktok-formats.md "Trending", "Hashtag", "User"; docs/ytdlp.md "Feeds"), one page
//! per [`FeedWalker::next_page`], each endpoint with its own cursor rule:
//!
//! * trending: `/api/recommend/item_list/` has no cursor; each call returns the session's next
//!   batch (the session is the `device_id`); three pages in a row without a new item end it.
//! * hashtag: `/api/challenge/detail/` for the id, then `/api/challenge/item_list/` with the
//!   offset cursor TikTok returns (`"30"`, `"60"`, …).
//! * user: the `secUid` (`user::resolve_user`), then the signed `/api/post/item_list/` (cursor:
//!   a ms timestamp TikTok returns) — or, unsigned or when it answers an empty 200 on its first
//!   page, `/api/creator/item_list/` (`hasMorePrevious`; next cursor = last `createTime`×1000;
//!   an empty window steps back 7 days; the same page twice rotates `device_id` once, then
//!   fails `UPSTREAM_CHANGED`).
//! * search and sound: `search.rs` and `sound.rs` (offset cursors; the search's `search_id`,
//!   the sound's detail first).
//!
//! Items are deduplicated by `id` in order and capped at `count`. A failure keeps the items of
//! the earlier pages.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::Value;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::sound::SoundInfo;

use super::classify::FeedFailure;
use super::envelope::{ChallengeDetail, ItemListPage};
use super::session::WebSession;
use super::user::{resolve_user, user_handle};
use super::{FeedStop, FeedWalk};

/// Largest `count` of one request (TikTok serves at most 35).
pub const MAX_PAGE_COUNT: usize = 35;
/// Consecutive trending pages without a new item that end the trending walk.
const MAX_STALE_TRENDING_PAGES: usize = 3;
const SEVEN_DAYS_MS: u64 = 7 * 24 * 3600 * 1000;
/// 2016-09-01: no TikTok post is older (yt-dlp stops the creator list there).
const EARLIEST_CURSOR_MS: u64 = 1_472_688_000_000;

/// Where a walker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum WalkState {
    Trending {
        stale_pages: usize,
    },
    HashtagStart {
        name: String,
    },
    Hashtag {
        id: String,
        offset: u64,
    },
    UserStart {
        input: String,
    },
    Posts {
        sec_uid: String,
        cursor: u64,
    },
    Creator {
        sec_uid: String,
        cursor: u64,
        last_page: Vec<String>,
        rotated: bool,
    },
    /// A video search from `offset`, with the `search_id` its first page issued.
    Search {
        query: String,
        offset: u64,
        search_id: Option<String>,
    },
    SoundStart {
        music_id: String,
    },
    Sound {
        music_id: String,
        cursor: u64,
    },
}

/// The new (deduplicated) items of one fetched page.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    /// 1-based number of the item-list page.
    pub page_number: usize,
    pub new_items: Vec<Value>,
}

/// A walk in progress.
#[derive(Debug)]
pub struct FeedWalker<'client> {
    pub(super) session: WebSession<'client>,
    pub(super) state: WalkState,
    pub(super) count: usize,
    pub(super) deadline: Instant,
    pub(super) signed: bool,
    pub(super) seen: HashSet<String>,
    pub(super) items: Vec<Value>,
    pub(super) pages_fetched: usize,
    /// TikTok said there is no page after the last one fetched.
    pub(super) exhausted: bool,
    pub(super) stopped: Option<FeedStop>,
    /// A sound walk's sound, once its detail was read.
    pub(super) sound: Option<SoundInfo>,
}

/// What one request step did.
pub(super) enum Step {
    Page {
        items: Vec<Value>,
        next: Option<WalkState>,
    },
    Resolved(WalkState),
}

impl<'client> FeedWalker<'client> {
    /// Items gathered so far.
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// A sound walk's sound, once its detail was read.
    pub fn sound(&self) -> Option<&SoundInfo> {
        self.sound.as_ref()
    }

    /// Fetches the next item page; `None` once the walk has stopped (see [`FeedWalker::finish`]).
    pub async fn next_page(&mut self) -> Option<FeedPage> {
        if self.stopped.is_some() {
            return None;
        }
        if self.items.len() >= self.count {
            self.stopped = Some(FeedStop::CountReached);
            return None;
        }
        if self.exhausted {
            self.stopped = Some(FeedStop::NoMore);
            return None;
        }
        loop {
            let Some(remaining) = self.deadline.checked_duration_since(Instant::now()) else {
                self.fail(FeedFailure::new(
                    ErrorCode::ExtractorTimeout,
                    "the feed did not finish within its deadline",
                ));
                return None;
            };
            let step = match tokio::time::timeout(remaining, self.step()).await {
                Ok(Ok(step)) => step,
                Ok(Err(failure)) => {
                    self.fail(failure);
                    return None;
                }
                Err(_) => {
                    self.fail(FeedFailure::new(
                        ErrorCode::ExtractorTimeout,
                        "the feed did not finish within its deadline",
                    ));
                    return None;
                }
            };
            match step {
                Step::Resolved(state) => self.state = state,
                Step::Page { items, next } => {
                    self.pages_fetched += 1;
                    let new_items = self.add(items);
                    // Whether the count is reached is decided at the next call: an item of this
                    // page set aside as unusable makes room for one of the next page.
                    match next {
                        Some(next) => self.state = next,
                        None => self.exhausted = true,
                    }
                    return Some(FeedPage {
                        page_number: self.pages_fetched,
                        new_items,
                    });
                }
            }
        }
    }

    /// Sets aside a gathered item the caller cannot use (it does not map to a video): it no
    /// longer counts towards `count`, so the walk fetches on for a usable one; it is still
    /// remembered, so a later page repeating it does not bring it back.
    pub fn set_aside(&mut self, item_id: &str) {
        self.items
            .retain(|item| self::item_id(item).as_deref() != Some(item_id));
    }

    /// Walks to the end and returns what was gathered and why it stopped.
    pub async fn finish(mut self) -> FeedWalk {
        while self.next_page().await.is_some() {}
        FeedWalk {
            items: self.items,
            stopped: self.stopped.unwrap_or(FeedStop::NoMore),
            sound: self.sound,
        }
    }

    fn fail(&mut self, failure: FeedFailure) {
        self.stopped = Some(FeedStop::Failed {
            code: failure.code,
            message: failure.message,
            retry_after: failure.retry_after,
            pages_fetched: self.pages_fetched,
        });
    }

    /// Appends the items not seen yet (by `id`), up to `count`; returns them.
    fn add(&mut self, items: Vec<Value>) -> Vec<Value> {
        let mut added = Vec::new();
        for item in items {
            if self.items.len() >= self.count {
                break;
            }
            let Some(id) = item_id(&item) else {
                continue;
            };
            if self.seen.insert(id) {
                self.items.push(item.clone());
                added.push(item);
            }
        }
        added
    }

    fn page_count(&self) -> String {
        self.count
            .saturating_sub(self.items.len())
            .clamp(1, MAX_PAGE_COUNT)
            .to_string()
    }

    async fn step(&mut self) -> Result<Step, FeedFailure> {
        let count = self.page_count();
        match self.state.clone() {
            WalkState::Trending { stale_pages } => {
                let path = "/api/recommend/item_list/";
                let params = [
                    ("count", count),
                    ("itemID", "1".to_owned()),
                    ("pullType", "1".to_owned()),
                    ("isNonPersonalized", "false".to_owned()),
                ];
                let page =
                    ItemListPage::parse(path, self.session.api(path, "fyp", &params).await?)?;
                let items = page.items();
                let fresh = items
                    .iter()
                    .filter_map(item_id)
                    .any(|id| !self.seen.contains(&id));
                let stale_pages = if fresh { 0 } else { stale_pages + 1 };
                let more = page.has_more() && stale_pages < MAX_STALE_TRENDING_PAGES;
                let next = more.then_some(WalkState::Trending { stale_pages });
                Ok(Step::Page { items, next })
            }
            WalkState::HashtagStart { name } => {
                let path = "/api/challenge/detail/";
                let value = self
                    .session
                    .api(path, "hashtag", &[("challengeName", name)])
                    .await?;
                let info = ChallengeDetail::parse(path, value)?;
                Ok(Step::Resolved(WalkState::Hashtag {
                    id: info.id,
                    offset: 0,
                }))
            }
            WalkState::Hashtag { id, offset } => {
                let path = "/api/challenge/item_list/";
                let params = [
                    ("challengeID", id.clone()),
                    ("count", count),
                    ("cursor", offset.to_string()),
                ];
                let value = self.session.api(path, "hashtag", &params).await?;
                let page = ItemListPage::parse(path, value)?;
                let items = page.items();
                let next = match (page.has_more(), page.cursor()) {
                    (false, _) => None,
                    (true, Some(cursor)) if cursor > offset => {
                        Some(WalkState::Hashtag { id, offset: cursor })
                    }
                    (true, cursor) => {
                        return Err(FeedFailure::changed(format!(
                            "{path}: hasMore with a cursor that does not advance ({cursor:?} after {offset})"
                        )));
                    }
                };
                Ok(Step::Page { items, next })
            }
            WalkState::UserStart { input } => {
                let handle = user_handle(&input)?;
                let user = resolve_user(&mut self.session, &handle, self.signed).await?;
                Ok(Step::Resolved(if self.signed {
                    WalkState::Posts {
                        sec_uid: user.sec_uid,
                        cursor: 0,
                    }
                } else {
                    creator_start(user.sec_uid)
                }))
            }
            WalkState::Posts { sec_uid, cursor } => self.posts_page(sec_uid, cursor, count).await,
            WalkState::Creator {
                sec_uid,
                cursor,
                last_page,
                rotated,
            } => {
                self.creator_page(sec_uid, cursor, last_page, rotated, count)
                    .await
            }
            WalkState::Search {
                query,
                offset,
                search_id,
            } => self.search_page(query, offset, search_id, count).await,
            WalkState::SoundStart { music_id } => self.sound_detail(music_id).await,
            WalkState::Sound { music_id, cursor } => self.sound_page(music_id, cursor, count).await,
        }
    }

    async fn posts_page(
        &mut self,
        sec_uid: String,
        cursor: u64,
        count: String,
    ) -> Result<Step, FeedFailure> {
        let path = "/api/post/item_list/";
        let params = [
            ("secUid", sec_uid.clone()),
            ("count", count),
            ("cursor", cursor.to_string()),
            ("needPinnedItemIds", "true".to_owned()),
            ("post_item_list_request_type", "0".to_owned()),
        ];
        let value = match self.session.api(path, "user", &params).await {
            Ok(value) => value,
            Err(failure) if failure.code == ErrorCode::UpstreamEmpty && cursor == 0 => {
                return Ok(Step::Resolved(creator_start(sec_uid)));
            }
            Err(failure) => return Err(failure),
        };
        let page = ItemListPage::parse(path, value)?;
        let items = page.items();
        let next = match (page.has_more(), page.cursor()) {
            (false, _) => None,
            (true, Some(next)) if next > 0 && (cursor == 0 || next < cursor) => {
                Some(WalkState::Posts {
                    sec_uid,
                    cursor: next,
                })
            }
            (true, next) => {
                return Err(FeedFailure::changed(format!(
                    "{path}: hasMore with a cursor that does not go back in time ({next:?} after {cursor})"
                )));
            }
        };
        Ok(Step::Page { items, next })
    }

    async fn creator_page(
        &mut self,
        sec_uid: String,
        cursor: u64,
        last_page: Vec<String>,
        rotated: bool,
        count: String,
    ) -> Result<Step, FeedFailure> {
        let path = "/api/creator/item_list/";
        let params = [
            ("secUid", sec_uid.clone()),
            ("count", count),
            ("cursor", cursor.to_string()),
            ("type", "1".to_owned()),
            ("verifyFp", super::query::new_verify_fp(now_millis())),
        ];
        let value = self.session.api(path, "user", &params).await?;
        let page = ItemListPage::parse(path, value)?;
        let items = page.items();
        let ids: Vec<String> = items.iter().filter_map(item_id).collect();
        if !ids.is_empty() && ids == last_page {
            if rotated {
                return Err(FeedFailure::changed(format!(
                    "{path}: TikTok keeps sending the same page (device_id rotated once already)"
                )));
            }
            self.session.rotate_device_id();
            return Ok(Step::Resolved(WalkState::Creator {
                sec_uid,
                cursor,
                last_page,
                rotated: true,
            }));
        }
        let last_create_ms = items
            .last()
            .and_then(|item| item.get("createTime"))
            .and_then(crate::tiktok::lenient::value_to_u64)
            .map(|seconds| seconds.saturating_mul(1_000));
        let next_cursor = match last_create_ms {
            Some(millis) => Some(millis),
            None if cursor == 0 => None,
            None => cursor.checked_sub(SEVEN_DAYS_MS),
        };
        let next = match next_cursor {
            Some(next) if page.has_more_previous() && next >= EARLIEST_CURSOR_MS => {
                Some(WalkState::Creator {
                    sec_uid,
                    cursor: next,
                    last_page: ids,
                    rotated,
                })
            }
            _ => None,
        };
        Ok(Step::Page { items, next })
    }
}

fn creator_start(sec_uid: String) -> WalkState {
    WalkState::Creator {
        sec_uid,
        cursor: 0,
        last_page: Vec::new(),
        rotated: false,
    }
}

fn now_millis() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

/// An item's `id` (string or number).
pub fn item_id(item: &Value) -> Option<String> {
    match item.get("id")? {
        Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::tiktok_web::{TiktokWebClient, TiktokWebSettings};

    #[test]
    fn an_item_set_aside_makes_room_and_is_not_gathered_again() {
        let egress =
            crate::egress::Egress::new(&crate::egress::EgressSettings::single(None, false))
                .expect("client builds");
        let client =
            TiktokWebClient::new(TiktokWebSettings::default(), egress).expect("client builds");
        let mut walker = client.trending_walker(2);
        let item = |id: &str| json!({"id": id});
        assert_eq!(walker.add(vec![item("1"), item("2")]).len(), 2);

        walker.set_aside("1");

        assert_eq!(walker.items(), [item("2")]);
        // A page repeating the set-aside item does not bring it back; a new one fills the room.
        assert_eq!(walker.add(vec![item("1"), item("3")]), [item("3")]);
        assert_eq!(walker.items(), [item("2"), item("3")]);
    }
}
