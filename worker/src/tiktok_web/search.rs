//! The search walker (docs/tiktok-formats.md "Search"): `/api/search/item/full/?keyword=&offset=
//! &count=&search_id=`, signed like the other item lists. Snake-case envelope (`item_list`,
//! `has_more` 0/1 or bool, `cursor` an integer: the next `offset`); the first page's
//! `log_pb.impr_id` (else `extra.logid`) is the search's `search_id`, sent with every later page.

use serde::Deserialize;
use serde_json::Value;

use super::classify::FeedFailure;
use super::envelope::ItemListPage;
use super::feeds::{FeedWalker, Step, WalkState};
use crate::tiktok::lenient::{FlexString, lenient};

const SEARCH_PATH: &str = "/api/search/item/full/";

/// Where the search's id is in a page's envelope.
#[derive(Debug, Clone, Default, Deserialize)]
struct SearchIds {
    #[serde(default, deserialize_with = "lenient")]
    log_pb: Option<LogPb>,
    #[serde(default, deserialize_with = "lenient")]
    extra: Option<Extra>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct LogPb {
    #[serde(default, deserialize_with = "lenient")]
    impr_id: Option<FlexString>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Extra {
    #[serde(default, deserialize_with = "lenient")]
    logid: Option<FlexString>,
}

/// The `search_id` a page issues: `log_pb.impr_id`, else `extra.logid` (non-empty).
pub fn issued_search_id(page: &Value) -> Option<String> {
    let ids = SearchIds::deserialize(page).ok()?;
    let impr_id = ids.log_pb.and_then(|log_pb| log_pb.impr_id);
    let logid = ids.extra.and_then(|extra| extra.logid);
    [impr_id, logid]
        .into_iter()
        .flatten()
        .map(|FlexString(id)| id.trim().to_owned())
        .find(|id| !id.is_empty())
}

impl FeedWalker<'_> {
    /// One page of the search for `query` from `offset`.
    pub(super) async fn search_page(
        &mut self,
        query: String,
        offset: u64,
        search_id: Option<String>,
        count: String,
    ) -> Result<Step, FeedFailure> {
        let mut params = vec![
            ("keyword", query.clone()),
            ("offset", offset.to_string()),
            ("count", count),
        ];
        if let Some(search_id) = &search_id {
            params.push(("search_id", search_id.clone()));
        }
        let value = self.session.api(SEARCH_PATH, "search", &params).await?;
        let search_id = search_id.or_else(|| issued_search_id(&value));
        let page = ItemListPage::parse(SEARCH_PATH, value)?;
        let items = page.items();
        let next = match (page.has_more(), page.cursor()) {
            (false, _) => None,
            (true, Some(cursor)) if cursor > offset => Some(WalkState::Search {
                query,
                offset: cursor,
                search_id,
            }),
            (true, cursor) => {
                return Err(FeedFailure::changed(format!(
                    "{SEARCH_PATH}: has_more with a cursor that does not advance ({cursor:?} after {offset})"
                )));
            }
        };
        Ok(Step::Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_search_id_is_the_first_pages_impression_id() {
        assert_eq!(
            issued_search_id(&json!({"log_pb": {"impr_id": "A1"}, "extra": {"logid": "B2"}})),
            Some("A1".to_owned())
        );
        assert_eq!(
            issued_search_id(&json!({"log_pb": {"impr_id": ""}, "extra": {"logid": "B2"}})),
            Some("B2".to_owned())
        );
        assert_eq!(issued_search_id(&json!({"log_pb": 3})), None);
        assert_eq!(issued_search_id(&json!([])), None);
    }
}
