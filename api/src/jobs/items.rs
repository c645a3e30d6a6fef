//! `GET /v1/jobs/{job_id}/items`: a job's items in position order, cursor-paginated, filtered by
//! status, as JSON (default), NDJSON (`Accept: application/x-ndjson`) or CSV (`Accept: text/csv`).
//! NDJSON and CSV carry the requested page; the next page's cursor is in `x-next-cursor`.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokworks_shared::db::comments as comment_db;
use tokworks_shared::db::job_items::{self as job_item_db, JobItemListQuery};
use tokworks_shared::ids::JobId;
use tokworks_shared::job_status::{ItemStatus, JobKind};

use crate::auth::ApiKey;
use crate::cursor::{decode_cursor, encode_cursor, page_limit, query_problem};
use crate::jobs::comment_items::{
    CommentItemResponse, CommentListResponse, comments_as_csv, comments_as_ndjson,
};
use crate::jobs::item_view::{ItemListResponse, ItemResponse, items_as_csv, items_as_ndjson};
use crate::jobs::lookup::{find_job, parse_job_id};
use crate::jobs::routes::one_of;
use crate::jobs::thumbnail_analysis_view::analyses_of_items;
use crate::jobs::transcript_view::item_transcripts;
use crate::problem::ApiError;
use crate::state::AppState;

const MAX_ITEMS_LIMIT: i64 = 1000;
const DEFAULT_ITEMS_LIMIT: i64 = 100;
const ITEM_CURSOR_VERSION: &str = "v1:item:";
const NEXT_CURSOR_HEADER: HeaderName = HeaderName::from_static("x-next-cursor");

/// Query string of `GET /v1/jobs/{job_id}/items`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListItemsQueryRequest {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// The representation asked for by `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemsFormat {
    Json,
    Ndjson,
    Csv,
}

/// `GET /v1/jobs/{job_id}/items`.
#[utoipa::path(
    get,
    path = "/v1/jobs/{job_id}/items",
    tag = "jobs",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("job_id" = uuid::Uuid, Path, description = "The job's id."),
        ("status" = Option<String>, Query, description = "Only items with this status."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
        ("limit" = Option<u32>, Query, description = "Page size, at most 1000 (default 100)."),
    ),
    responses(
        (status = 200, description = "The items by position: JSON, or NDJSON / CSV by `Accept` (the next cursor then in a header). A `comments` job lists its comments instead (schema `CommentListResponse`, docs/comments.md).", content((crate::jobs::item_view::ItemListResponse = "application/json"), (String = "application/x-ndjson"), (String = "text/csv"))),
        (status = 401, description = "No, unknown or revoked API key (`UNAUTHENTICATED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job for this key (`NOT_FOUND`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The job finished longer ago than the retention period: its items and results are deleted (`JOB_EXPIRED`).", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_PARAMETER`.", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_items(
    State(state): State<AppState>,
    key: ApiKey,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ListItemsQueryRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    let job_id = parse_job_id(path)?;
    let Query(query) = query.map_err(|rejection| query_problem(&rejection))?;
    let limit = page_limit(query.limit.as_deref(), DEFAULT_ITEMS_LIMIT, MAX_ITEMS_LIMIT)?;
    let status = one_of("status", query.status, &ItemStatus::ALL, ItemStatus::as_str)?;
    let after_position = query
        .cursor
        .as_deref()
        .map(decode_item_cursor)
        .transpose()?;
    let job = find_job(&state, &key, job_id).await?;
    if job.kind == JobKind::Comments {
        let format = requested_format(&headers);
        return comments_page(&state, job_id, after_position, limit, format).await;
    }

    let list_query = JobItemListQuery {
        status,
        after_position,
        limit: limit + 1,
    };
    let mut rows = job_item_db::list_job_items(&state.db, job_id, &list_query).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if has_more {
        rows.last().map(|row| encode_item_cursor(row.position))
    } else {
        None
    };
    let item_ids: Vec<_> = rows.iter().map(|row| row.item_id).collect();
    let mut transcripts = item_transcripts(&state.db, &item_ids).await?;
    let mut analyses = analyses_of_items(&state.db, &item_ids).await?;
    let items: Vec<ItemResponse> = rows
        .into_iter()
        .map(|row| {
            let transcript = transcripts.remove(&row.item_id);
            let analysis = analyses.remove(&row.item_id);
            ItemResponse {
                transcript,
                ..ItemResponse::from_row(row)
            }
            .with_thumbnail_analysis(analysis)
        })
        .collect();

    let (content_type, body) = match requested_format(&headers) {
        ItemsFormat::Json => {
            return Ok(Json(ItemListResponse {
                object: "list",
                data: items,
                has_more,
                next_cursor,
            })
            .into_response());
        }
        ItemsFormat::Ndjson => ("application/x-ndjson", items_as_ndjson(&items)),
        ItemsFormat::Csv => ("text/csv; charset=utf-8", items_as_csv(&items)),
    };
    Ok(text_page(content_type, body, next_cursor))
}

/// An NDJSON or CSV page with the next page's cursor in `x-next-cursor`.
fn text_page(content_type: &'static str, body: String, next_cursor: Option<String>) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(cursor) = next_cursor
        && let Ok(value) = HeaderValue::from_str(&cursor)
    {
        response.headers_mut().insert(NEXT_CURSOR_HEADER, value);
    }
    response
}

/// A page of a comments job's comments by position (docs/comments.md); `status` does not
/// apply (every comment is a stored result).
async fn comments_page(
    state: &AppState,
    job_id: JobId,
    after_position: Option<i32>,
    limit: i64,
    format: ItemsFormat,
) -> Result<Response, ApiError> {
    let mut rows =
        comment_db::job_comments_page(&state.db, job_id, after_position, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if has_more {
        rows.last().map(|row| encode_item_cursor(row.position))
    } else {
        None
    };
    let items: Vec<CommentItemResponse> = rows.into_iter().map(CommentItemResponse::from).collect();
    Ok(match format {
        ItemsFormat::Json => Json(CommentListResponse {
            object: "list",
            data: items,
            has_more,
            next_cursor,
        })
        .into_response(),
        ItemsFormat::Ndjson => text_page(
            "application/x-ndjson",
            comments_as_ndjson(&items),
            next_cursor,
        ),
        ItemsFormat::Csv => text_page(
            "text/csv; charset=utf-8",
            comments_as_csv(&items),
            next_cursor,
        ),
    })
}

fn requested_format(headers: &HeaderMap) -> ItemsFormat {
    let accept: String = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    if accept.contains("application/x-ndjson") || accept.contains("application/jsonl") {
        ItemsFormat::Ndjson
    } else if accept.contains("text/csv") {
        ItemsFormat::Csv
    } else {
        ItemsFormat::Json
    }
}

/// A cursor of the items list: the last position of a page.
fn encode_item_cursor(position: i32) -> String {
    encode_cursor(ITEM_CURSOR_VERSION, position)
}

fn decode_item_cursor(cursor: &str) -> Result<i32, ApiError> {
    decode_cursor(ITEM_CURSOR_VERSION, cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_cursors_round_trip_and_garbage_is_rejected() {
        assert_eq!(decode_item_cursor(&encode_item_cursor(41)).unwrap(), 41);
        assert!(decode_item_cursor("bm9wZQ").is_err());
    }

    #[test]
    fn the_format_follows_accept() {
        let mut headers = HeaderMap::new();
        assert_eq!(requested_format(&headers), ItemsFormat::Json);
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/csv"));
        assert_eq!(requested_format(&headers), ItemsFormat::Csv);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/x-ndjson"),
        );
        assert_eq!(requested_format(&headers), ItemsFormat::Ndjson);
    }
}
