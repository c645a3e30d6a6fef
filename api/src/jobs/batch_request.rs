//! The `urls` list of a `batch` job: its shape (1 to BATCH_MAX_URLS entries, each a URL string
//! or `{"url", "custom_id"}`), and the per-entry URL check that accepts good URLs and lists the
//! others as `rejected` instead of refusing the whole batch.

use std::collections::HashMap;
use tokworks_shared::ids::ItemId;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokworks_shared::db::jobs::NewJobItem;
use tokworks_shared::tiktok_url::TiktokUrl;

use crate::jobs::request::{
    AcceptedWebhook, JobOptionsRequest, insert_normalised_webhook, parse_video_url,
};
use crate::problem::{ApiError, FieldProblem};

/// Longest accepted `custom_id`, in characters.
pub const MAX_CUSTOM_ID_CHARS: usize = 200;

/// A validated `batch` job.
#[derive(Debug, Clone)]
pub struct BatchJobRequest {
    /// The `urls` member exactly as sent (part of the normalised request).
    pub urls_as_sent: Value,
    /// The URLs accepted, in submitted order.
    pub entries: Vec<BatchEntry>,
    /// The URLs refused at submit time, in submitted order.
    pub rejected: Vec<RejectedUrl>,
    pub options: JobOptionsRequest,
    pub metadata: Value,
    pub webhook: Option<AcceptedWebhook>,
}

impl BatchJobRequest {
    /// The normalised request stored in `jobs.request` (compared on idempotent replays).
    pub fn normalised_request(&self) -> Value {
        let mut request = serde_json::json!({
            "kind": "batch",
            "urls": self.urls_as_sent,
            "options": self.options,
            "metadata": self.metadata,
        });
        insert_normalised_webhook(&mut request, self.webhook.as_ref());
        request
    }

    /// One item per accepted URL. A URL whose video (its id, else its canonical URL) already
    /// appeared earlier in the batch becomes a duplicate of that first item: it is not enqueued
    /// and ends with the first one's result (ARCHITECTURE.md "Batches").
    pub fn new_job_items(&self, max_attempts: i32) -> Vec<NewJobItem> {
        let mut first_of_video: HashMap<&str, ItemId> = HashMap::new();
        self.entries
            .iter()
            .map(|entry| {
                let item_id = ItemId::new_v7();
                let video_key = entry.url.video_id().unwrap_or(entry.url.canonical_url());
                let duplicate_of = match first_of_video.get(video_key) {
                    Some(first) => Some(*first),
                    None => {
                        first_of_video.insert(video_key, item_id);
                        None
                    }
                };
                NewJobItem {
                    item_id,
                    position: entry.position,
                    duplicate_of,
                    input_url: entry.input_url.clone(),
                    canonical_url: Some(entry.url.canonical_url().to_owned()),
                    video_id: entry.url.video_id().map(str::to_owned),
                    custom_id: entry.custom_id.clone(),
                    max_attempts,
                }
            })
            .collect()
    }
}

/// One accepted URL of a batch.
#[derive(Debug, Clone)]
pub struct BatchEntry {
    /// Index in the submitted list.
    pub position: i32,
    /// Exactly what the client sent.
    pub input_url: String,
    pub url: TiktokUrl,
    pub custom_id: Option<String>,
}

/// One URL of a batch refused at submit time (listed in the 202 answer as `rejected`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RejectedUrl {
    pub position: i32,
    pub url: String,
    pub custom_id: Option<String>,
    pub error: RejectedUrlError,
}

/// Why a URL was refused: `INVALID_URL` or `UNSUPPORTED_URL`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RejectedUrlError {
    pub code: String,
    pub message: String,
}

/// The accepted and rejected entries of a `urls` list.
#[derive(Debug, Clone)]
pub struct ParsedBatchUrls {
    pub entries: Vec<BatchEntry>,
    pub rejected: Vec<RejectedUrl>,
}

/// An entry given as an object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchEntryRequest {
    url: String,
    #[serde(default)]
    custom_id: Option<String>,
}

/// Checks the shape of `urls` (a problem there refuses the request) and each URL (a bad URL is
/// only rejected). When no URL is acceptable the request is refused with `NO_VALID_URLS`.
pub fn parse_batch_urls(urls: &Value, max_urls: usize) -> Result<ParsedBatchUrls, ApiError> {
    let Value::Array(list) = urls else {
        return Err(invalid("urls", "must be a list of URLs".to_owned()));
    };
    if list.is_empty() {
        return Err(invalid("urls", "must list at least one URL".to_owned()));
    }
    if list.len() > max_urls {
        return Err(ApiError::TooManyUrls {
            count: list.len(),
            max: max_urls,
        });
    }
    let mut parsed = ParsedBatchUrls {
        entries: Vec::with_capacity(list.len()),
        rejected: Vec::new(),
    };
    for (position, entry) in (0_i32..).zip(list) {
        let field = format!("urls[{position}]");
        let (input_url, custom_id) = match entry {
            Value::String(url) => (url.clone(), None),
            Value::Object(_) => {
                let entry = BatchEntryRequest::deserialize(entry).map_err(|error| {
                    invalid(
                        &field,
                        format!("must be {{\"url\", \"custom_id\"}}: {error}"),
                    )
                })?;
                (entry.url, entry.custom_id)
            }
            _ => {
                return Err(invalid(
                    &field,
                    "must be a URL string or {\"url\": …, \"custom_id\": …}".to_owned(),
                ));
            }
        };
        if let Some(custom_id) = &custom_id
            && custom_id.chars().count() > MAX_CUSTOM_ID_CHARS
        {
            return Err(invalid(
                &format!("{field}.custom_id"),
                format!("is longer than {MAX_CUSTOM_ID_CHARS} characters"),
            ));
        }
        match parse_video_url(&field, &input_url) {
            Ok(url) => parsed.entries.push(BatchEntry {
                position,
                input_url,
                url,
                custom_id,
            }),
            Err(error) => parsed.rejected.push(RejectedUrl {
                position,
                url: input_url,
                custom_id,
                error: RejectedUrlError {
                    code: error.code().to_owned(),
                    message: rejection_message(&error),
                },
            }),
        }
    }
    if parsed.entries.is_empty() {
        return Err(ApiError::NoValidUrls {
            count: parsed.rejected.len(),
            rejected: parsed
                .rejected
                .iter()
                .map(|rejected| FieldProblem {
                    field: format!("urls[{}]", rejected.position),
                    code: rejected.error.code.clone(),
                    message: rejected.error.message.clone(),
                })
                .collect(),
        });
    }
    Ok(parsed)
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::InvalidField {
        field: field.to_owned(),
        message,
    }
}

/// The message of a URL problem without the field name (the position says which entry).
fn rejection_message(error: &ApiError) -> String {
    match error {
        ApiError::InvalidUrl { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "https://www.tiktok.com/@a/video/7300000000000000001";

    #[test]
    fn good_and_bad_urls_are_split_with_their_positions() {
        let urls = serde_json::json!([
            GOOD,
            "https://example.com/x",
            {"url": "https://vm.tiktok.com/ZMabc123/", "custom_id": "row-3"},
            {"url": "https://www.tiktok.com/@someone", "custom_id": "row-4"},
        ]);
        let parsed = parse_batch_urls(&urls, 10).unwrap();
        let positions: Vec<i32> = parsed.entries.iter().map(|entry| entry.position).collect();
        assert_eq!(positions, [0, 2]);
        assert_eq!(parsed.entries[1].custom_id.as_deref(), Some("row-3"));
        let rejected: Vec<(i32, &str)> = parsed
            .rejected
            .iter()
            .map(|rejected| (rejected.position, rejected.error.code.as_str()))
            .collect();
        assert_eq!(rejected, [(1, "INVALID_URL"), (3, "UNSUPPORTED_URL")]);
        assert_eq!(parsed.rejected[1].custom_id.as_deref(), Some("row-4"));
    }

    #[test]
    fn a_repeated_video_becomes_a_duplicate_of_its_first_item() {
        let urls = serde_json::json!([
            GOOD,
            "https://vm.tiktok.com/ZMabc123/",
            "https://m.tiktok.com/v/7300000000000000001.html",
            "https://vm.tiktok.com/ZMabc123/",
            "https://www.tiktok.com/@a/video/7300000000000000002",
        ]);
        let parsed = parse_batch_urls(&urls, 10).unwrap();
        let batch = BatchJobRequest {
            urls_as_sent: urls,
            entries: parsed.entries,
            rejected: parsed.rejected,
            options: JobOptionsRequest::default(),
            metadata: serde_json::json!({}),
            webhook: None,
        };
        let items = batch.new_job_items(3);
        let duplicates: Vec<Option<ItemId>> = items.iter().map(|item| item.duplicate_of).collect();
        assert_eq!(
            duplicates,
            [
                None,
                None,
                Some(items[0].item_id),
                Some(items[1].item_id),
                None
            ]
        );
    }

    #[test]
    fn shape_problems_refuse_the_request() {
        for (urls, code) in [
            (serde_json::json!([]), "INVALID_FIELD"),
            (serde_json::json!("x"), "INVALID_FIELD"),
            (serde_json::json!([1]), "INVALID_FIELD"),
            (
                serde_json::json!([{"url": GOOD, "extra": 1}]),
                "INVALID_FIELD",
            ),
            (
                serde_json::json!([{"url": GOOD, "custom_id": "x".repeat(201)}]),
                "INVALID_FIELD",
            ),
            (serde_json::json!([GOOD, GOOD, GOOD]), "TOO_MANY_URLS"),
            (serde_json::json!(["nope", "ftp://x"]), "NO_VALID_URLS"),
        ] {
            let error = parse_batch_urls(&urls, 2).unwrap_err();
            assert_eq!(error.code(), code, "{urls}");
        }
    }
}
