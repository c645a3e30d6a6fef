//! The items of a job on the wire: JSON objects (`GET /v1/jobs/{id}/items`), and the same page
//! as NDJSON lines or RFC 4180 CSV rows.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokworks_shared::db::job_items::JobItemRow;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::ids::ItemId;
use tokworks_shared::job_status::ItemStatus;

use crate::jobs::result::serialize_optional_video;
use crate::jobs::thumbnail_analysis_view::ThumbnailAnalysisResponse;
use crate::jobs::transcript_view::TranscriptResponse;
use tokworks_shared::video::{Video, VideoCounts};

/// One item of a job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemResponse {
    pub id: ItemId,
    pub object: &'static str,
    pub position: i32,
    pub custom_id: Option<String>,
    /// Exactly what the client sent.
    pub url: String,
    pub canonical_url: Option<String>,
    pub video_id: Option<String>,
    pub status: ItemStatus,
    /// For `failed` and `canceled` items.
    pub error: Option<ItemErrorResponse>,
    pub cache_hit: Option<bool>,
    /// Claims of this item by a worker (0 for a duplicate: its first item was extracted).
    pub attempts: i32,
    /// The id of the earlier item of the same video in this batch, whose result this one shares.
    pub duplicate_of: Option<ItemId>,
    /// The stored `Video` of a succeeded item.
    #[serde(serialize_with = "serialize_optional_video")]
    pub result: Option<Video>,
    /// The transcript when the job asked for one (`options.transcript`) and the item succeeded.
    pub transcript: Option<TranscriptResponse>,
    /// Null unless the job asked for `options.analyze_thumbnail` (then its outcome).
    pub thumbnail_analysis: Option<ThumbnailAnalysisResponse>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Why an item failed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemErrorResponse {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

/// `GET /v1/jobs/{id}/items` as JSON.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemListResponse {
    pub object: &'static str,
    pub data: Vec<ItemResponse>,
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl ItemResponse {
    /// The wire view of an item row.
    pub fn from_row(row: JobItemRow) -> Self {
        let error = match (row.status, &row.error_code) {
            (ItemStatus::Failed | ItemStatus::Canceled, Some(code)) => {
                let known = ErrorCode::from_wire(code);
                Some(ItemErrorResponse {
                    message: row
                        .error_message
                        .clone()
                        .or_else(|| known.map(|known| known.description().to_owned()))
                        .unwrap_or_default(),
                    retryable: row
                        .error_retryable
                        .unwrap_or_else(|| known.is_some_and(ErrorCode::is_retryable)),
                    code: code.clone(),
                })
            }
            _ => None,
        };
        ItemResponse {
            id: row.item_id,
            object: "item",
            position: row.position,
            custom_id: row.custom_id,
            url: row.input_url,
            canonical_url: row.canonical_url,
            video_id: row.video_id,
            status: row.status,
            error,
            cache_hit: row.cache_hit,
            attempts: row.attempts,
            duplicate_of: row.duplicate_of,
            result: row.result,
            transcript: None,
            thumbnail_analysis: None,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

impl ItemResponse {
    /// The item with its thumbnail analysis (read separately, see `thumbnail_analysis_view`).
    pub fn with_thumbnail_analysis(mut self, analysis: Option<ThumbnailAnalysisResponse>) -> Self {
        self.thumbnail_analysis = analysis;
        self
    }
}

/// One JSON object per line, each line ending with `\n`.
pub fn items_as_ndjson(items: &[ItemResponse]) -> String {
    let mut body = String::new();
    for item in items {
        body.push_str(&serde_json::to_string(item).unwrap_or_default());
        body.push('\n');
    }
    body
}

/// One CSV cell: text (checked for formulas), a number or a boolean, or nothing.
enum CsvCell<'a> {
    Text(&'a str),
    Plain(String),
    Empty,
}

impl<'a> From<Option<&'a str>> for CsvCell<'a> {
    fn from(text: Option<&'a str>) -> Self {
        text.map_or(CsvCell::Empty, CsvCell::Text)
    }
}

/// A number or boolean cell, empty when absent.
fn plain<T: ToString>(value: Option<T>) -> CsvCell<'static> {
    value.map_or(CsvCell::Empty, |value| CsvCell::Plain(value.to_string()))
}

/// The CSV columns: header and the cell of an item.
type CsvColumn = (&'static str, for<'a> fn(&'a ItemResponse) -> CsvCell<'a>);

const CSV_COLUMNS: [CsvColumn; 17] = [
    ("position", |item| plain(Some(item.position))),
    ("custom_id", |item| item.custom_id.as_deref().into()),
    ("url", |item| CsvCell::Text(&item.url)),
    ("status", |item| CsvCell::Text(item.status.as_str())),
    ("error_code", |item| {
        item.error.as_ref().map(|error| error.code.as_str()).into()
    }),
    ("error_message", |item| {
        item.error
            .as_ref()
            .map(|error| error.message.as_str())
            .into()
    }),
    ("video_id", |item| item.video_id.as_deref().into()),
    ("description", |item| {
        item.result
            .as_ref()
            .map(|video| video.description.as_str())
            .into()
    }),
    ("author_unique_id", |item| {
        item.result
            .as_ref()
            .map(|video| video.author.unique_id.as_str())
            .into()
    }),
    ("play_count", |item| {
        plain(counts(item).map(|counts| counts.play_count))
    }),
    ("like_count", |item| {
        plain(counts(item).map(|counts| counts.like_count))
    }),
    ("comment_count", |item| {
        plain(counts(item).map(|counts| counts.comment_count))
    }),
    ("share_count", |item| {
        plain(counts(item).map(|counts| counts.share_count))
    }),
    ("collect_count", |item| {
        plain(counts(item).map(|counts| counts.collect_count))
    }),
    ("duration_seconds", |item| {
        plain(item.result.as_ref().map(|video| video.duration_seconds))
    }),
    ("create_time", |item| {
        plain(item.result.as_ref().map(|video| video.create_time))
    }),
    ("cache_hit", |item| plain(item.cache_hit)),
];

fn counts(item: &ItemResponse) -> Option<&VideoCounts> {
    item.result.as_ref().map(|video| &video.counts)
}

/// RFC 4180 CSV: a header row, then one row per item; CRLF line ends; a field is quoted when it
/// contains a comma, a quote, CR or LF (quotes doubled). Missing values are empty fields. A text
/// value starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (OWASP CSV injection), so
/// a spreadsheet shows it instead of running it as a formula.
pub fn items_as_csv(items: &[ItemResponse]) -> String {
    let mut body = String::new();
    let header: Vec<String> = CSV_COLUMNS
        .iter()
        .map(|(name, _)| csv_field(name))
        .collect();
    body.push_str(&header.join(","));
    body.push_str("\r\n");
    for item in items {
        let row: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|(_, cell)| match cell(item) {
                CsvCell::Empty => String::new(),
                CsvCell::Text(text) => csv_field(&neutralise_formula(text)),
                CsvCell::Plain(text) => csv_field(&text),
            })
            .collect();
        body.push_str(&row.join(","));
        body.push_str("\r\n");
    }
    body
}

/// `text` with a leading `'` when a spreadsheet would read it as a formula.
pub(crate) fn neutralise_formula(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn formula_like_text_is_neutralised() {
        for (text, expected) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-cmd", "'-cmd"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            ("plain", "plain"),
            ("", ""),
        ] {
            assert_eq!(neutralise_formula(text), expected, "{text:?}");
        }
    }
}
