//! Lenient types of the web API envelopes (docs/tiktok-formats.md "Web feeds and APIs",
//! "Parser robustness checklist"):
//! `statusCode` or `status_code`, `hasMore`/`has_more`/`hasMorePrevious` as bool or 0/1,
//! `cursor` as string or int, an absent `itemList` = no items, a listed item without `id` =
//! `UPSTREAM_CHANGED` (layout drift); `challengeInfo` with `statsV2`
//! preferred; `userInfo.user`. Items stay raw `itemStruct` JSON for `map_item`.

use serde::Deserialize;
use serde_json::Value;

use super::classify::{FeedFailure, check_status};
use crate::tiktok::lenient::{FlexBool, FlexI64, FlexString, FlexU64, lenient};

/// The status part common to every envelope.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Status {
    #[serde(rename = "statusCode", default, deserialize_with = "lenient")]
    status_code: Option<FlexI64>,
    #[serde(rename = "status_code", default, deserialize_with = "lenient")]
    status_code_snake: Option<FlexI64>,
    #[serde(rename = "status_msg", default, deserialize_with = "lenient")]
    status_msg: Option<FlexString>,
    #[serde(rename = "statusMsg", default, deserialize_with = "lenient")]
    status_msg_camel: Option<FlexString>,
}

impl Status {
    /// The first non-zero of `statusCode` / `status_code` (0 when both are absent).
    pub fn code(&self) -> i64 {
        [self.status_code, self.status_code_snake]
            .into_iter()
            .flatten()
            .map(|FlexI64(code)| code)
            .find(|code| *code != 0)
            .unwrap_or(0)
    }

    /// `Err` for a non-zero status.
    pub fn check(&self, what: &str) -> Result<(), FeedFailure> {
        let message = self
            .status_msg
            .as_ref()
            .or(self.status_msg_camel.as_ref())
            .map(|FlexString(text)| text.as_str())
            .unwrap_or_default();
        check_status(what, self.code(), message)
    }
}

/// One page of an item list (recommend, challenge, post, creator).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ItemListPage {
    #[serde(flatten)]
    pub status: Status,
    #[serde(rename = "itemList", default, deserialize_with = "lenient")]
    item_list: Option<Vec<Value>>,
    #[serde(rename = "item_list", default, deserialize_with = "lenient")]
    item_list_snake: Option<Vec<Value>>,
    #[serde(rename = "hasMore", default, deserialize_with = "lenient")]
    has_more: Option<FlexBool>,
    #[serde(rename = "has_more", default, deserialize_with = "lenient")]
    has_more_snake: Option<FlexBool>,
    #[serde(rename = "hasMorePrevious", default, deserialize_with = "lenient")]
    has_more_previous: Option<FlexBool>,
    #[serde(default, deserialize_with = "lenient")]
    cursor: Option<FlexString>,
}

impl ItemListPage {
    /// Parses an API answer and checks its status.
    pub fn parse(what: &str, value: Value) -> Result<ItemListPage, FeedFailure> {
        let page: ItemListPage = serde_json::from_value(value)
            .map_err(|error| FeedFailure::changed(format!("{what}: {error}")))?;
        page.status.check(what)?;
        // A layout change keeps `statusCode` 0 and the list but renames the item fields: an
        // item without `id` is drift, never "no video" (it would otherwise be dropped silently
        // and the walk would end as if the feed were exhausted).
        if let Some(position) = page
            .items()
            .iter()
            .position(|item| super::feeds::item_id(item).is_none())
        {
            return Err(FeedFailure::changed(format!(
                "{what}: item {position} of the list has no `id` (TikTok changed the item layout)"
            )));
        }
        Ok(page)
    }

    /// The items (`itemList`, else `item_list`; absent = none), non-objects dropped.
    pub fn items(&self) -> Vec<Value> {
        self.item_list
            .as_ref()
            .or(self.item_list_snake.as_ref())
            .map(|items| {
                items
                    .iter()
                    .filter(|item| item.is_object())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `hasMore` / `has_more` (absent = false).
    pub fn has_more(&self) -> bool {
        self.has_more
            .or(self.has_more_snake)
            .is_some_and(|FlexBool(flag)| flag)
    }

    /// The creator list's `hasMorePrevious` (absent: `hasMore`).
    pub fn has_more_previous(&self) -> bool {
        self.has_more_previous
            .map_or_else(|| self.has_more(), |FlexBool(flag)| flag)
    }

    /// `cursor` as an unsigned number, when it is one.
    pub fn cursor(&self) -> Option<u64> {
        self.cursor
            .as_ref()
            .and_then(|FlexString(text)| text.trim().parse::<u64>().ok())
    }
}

/// `/api/challenge/detail/`'s answer (or the tag page's scope).
#[derive(Debug, Clone, Deserialize)]
pub struct ChallengeDetail {
    #[serde(flatten)]
    pub status: Status,
    #[serde(rename = "challengeInfo", default, deserialize_with = "lenient")]
    pub challenge_info: Option<ChallengeInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChallengeInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub challenge: Option<Challenge>,
    #[serde(default, deserialize_with = "lenient")]
    pub stats: Option<ChallengeStats>,
    #[serde(rename = "statsV2", default, deserialize_with = "lenient")]
    pub stats_v2: Option<ChallengeStats>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Challenge {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<FlexString>,
    #[serde(default, deserialize_with = "lenient")]
    pub title: Option<FlexString>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct ChallengeStats {
    #[serde(rename = "videoCount", default, deserialize_with = "lenient")]
    pub video_count: Option<FlexU64>,
    #[serde(rename = "viewCount", default, deserialize_with = "lenient")]
    pub view_count: Option<FlexU64>,
}

/// What the walkers need of a hashtag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashtagInfo {
    pub id: String,
    pub title: String,
    /// `statsV2.videoCount`, else a non-zero `stats.videoCount`.
    pub video_count: Option<u64>,
    pub view_count: Option<u64>,
}

impl ChallengeDetail {
    /// The hashtag, `HASHTAG_NOT_FOUND` for 10205 or a challenge without `id`.
    pub fn parse(what: &str, value: Value) -> Result<HashtagInfo, FeedFailure> {
        let detail: ChallengeDetail = serde_json::from_value(value)
            .map_err(|error| FeedFailure::changed(format!("{what}: {error}")))?;
        detail.status.check(what)?;
        let info = detail.challenge_info.unwrap_or_default();
        let challenge = info.challenge.unwrap_or_default();
        let Some(FlexString(id)) = challenge.id.filter(|FlexString(id)| !id.trim().is_empty())
        else {
            return Err(FeedFailure::new(
                tokworks_shared::error_code::ErrorCode::HashtagNotFound,
                format!("{what}: TikTok knows no such hashtag (challenge without id)"),
            ));
        };
        let pick = |read: fn(&ChallengeStats) -> Option<FlexU64>| {
            info.stats_v2
                .as_ref()
                .and_then(read)
                .or_else(|| {
                    info.stats
                        .as_ref()
                        .and_then(read)
                        .filter(|FlexU64(n)| *n > 0)
                })
                .map(|FlexU64(count)| count)
        };
        Ok(HashtagInfo {
            id,
            title: challenge
                .title
                .map(|FlexString(title)| title)
                .unwrap_or_default(),
            video_count: pick(|stats| stats.video_count),
            view_count: pick(|stats| stats.view_count),
        })
    }
}

/// `/api/user/detail/`'s answer or the profile page's `webapp.user-detail` scope.
#[derive(Debug, Clone, Deserialize)]
pub struct UserDetail {
    #[serde(flatten)]
    pub status: Status,
    #[serde(rename = "userInfo", default, deserialize_with = "lenient")]
    pub user_info: Option<UserInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub user: Option<UserFields>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserFields {
    #[serde(rename = "secUid", default, deserialize_with = "lenient")]
    pub sec_uid: Option<FlexString>,
    #[serde(rename = "uniqueId", default, deserialize_with = "lenient")]
    pub unique_id: Option<FlexString>,
    #[serde(rename = "privateAccount", default, deserialize_with = "lenient")]
    pub private_account: Option<FlexBool>,
}

/// What the walkers need of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub sec_uid: String,
    pub unique_id: String,
    pub private_account: bool,
}

impl UserDetail {
    /// The user, `USER_NOT_FOUND` (10202), `VIDEO_PRIVATE` (10222) or `UPSTREAM_CHANGED` when
    /// there is no `secUid`.
    pub fn parse(what: &str, value: Value) -> Result<UserRef, FeedFailure> {
        let detail: UserDetail = serde_json::from_value(value)
            .map_err(|error| FeedFailure::changed(format!("{what}: {error}")))?;
        detail.status.check(what)?;
        let user = detail
            .user_info
            .and_then(|info| info.user)
            .unwrap_or_default();
        let Some(FlexString(sec_uid)) = user.sec_uid.filter(|FlexString(id)| !id.is_empty()) else {
            return Err(FeedFailure::changed(format!(
                "{what}: the user has no secUid"
            )));
        };
        Ok(UserRef {
            sec_uid,
            unique_id: user.unique_id.map(|FlexString(id)| id).unwrap_or_default(),
            private_account: user.private_account.is_some_and(|FlexBool(flag)| flag),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokworks_shared::error_code::ErrorCode;

    use super::*;

    #[test]
    fn item_list_envelopes_are_read_leniently() {
        let page = ItemListPage::parse(
            "x",
            json!({"status_code": 0, "hasMore": 1, "cursor": 60, "itemList": [{"id": "1"}, 5]}),
        )
        .unwrap();
        assert!(page.has_more());
        assert_eq!(page.cursor(), Some(60));
        assert_eq!(page.items(), vec![json!({"id": "1"})]);
        let empty = ItemListPage::parse("x", json!({"statusCode": 0, "cursor": "0"})).unwrap();
        assert!(empty.items().is_empty() && !empty.has_more());
        let creator =
            ItemListPage::parse("x", json!({"hasMorePrevious": true, "hasMore": false})).unwrap();
        assert!(creator.has_more_previous());
        let failed = ItemListPage::parse("x", json!({"statusCode": 0, "status_code": 10000}));
        assert_eq!(failed.unwrap_err().code, ErrorCode::UpstreamBlocked);
        let shape = ItemListPage::parse("x", json!([1]));
        assert_eq!(shape.unwrap_err().code, ErrorCode::UpstreamChanged);
        let drifted = ItemListPage::parse(
            "x",
            json!({"statusCode": 0, "hasMore": true, "itemList": [{"id": "1"}, {"itemId": "2"}]}),
        );
        assert_eq!(drifted.unwrap_err().code, ErrorCode::UpstreamChanged);
    }

    #[test]
    fn challenge_detail_prefers_stats_v2_and_needs_an_id() {
        let info = ChallengeDetail::parse(
            "x",
            json!({"challengeInfo": {"challenge": {"id": "5424", "title": "funny"},
                   "stats": {"videoCount": 0, "viewCount": 1_058_142_200_000_u64},
                   "statsV2": {"videoCount": "80502802", "viewCount": "1058142180587"}},
                   "statusCode": 0}),
        )
        .unwrap();
        assert_eq!(info.id, "5424");
        assert_eq!(info.video_count, Some(80_502_802));
        assert_eq!(info.view_count, Some(1_058_142_180_587));
        let no_id = ChallengeDetail::parse("x", json!({"challengeInfo": {"challenge": {}}}));
        assert_eq!(no_id.unwrap_err().code, ErrorCode::HashtagNotFound);
        let missing = ChallengeDetail::parse("x", json!({"statusCode": 10205}));
        assert_eq!(missing.unwrap_err().code, ErrorCode::HashtagNotFound);
    }
}
