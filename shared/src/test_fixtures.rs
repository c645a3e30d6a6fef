//! Fixtures for the workspace's tests (the `test-fixtures` feature, enabled only from
//! dev-dependencies): a key, a job with its items, an item claimed and ended, a stored video. Every row goes
//! through the `shared::db` functions production uses, so a fixture cannot drift from the
//! schema or the transitions; nothing here holds SQL.

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;

use crate::db::item_claims::{self, ItemEnd, ItemEndReport};
use crate::db::{api_keys, jobs};
use crate::ids::{ApiKeyId, ItemId, JobId};
use crate::job_options::StoredJobOptions;
use crate::job_status::JobKind;
use crate::tiktok_url::TiktokUrl;
use crate::video::Video;

pub use crate::db::jobs::{NewJob, NewJobItem, NewJobWebhook};

/// The lease of a fixture's claim: long enough that no test sees it expire by itself.
pub const CLAIM_LEASE: Duration = Duration::from_secs(30);

/// Inserts a key named `test` (prefix `tok_test`, its id's bytes as the hash) and returns its id.
///
/// # Panics
/// When the insert fails (a test fixture: the test cannot go on).
pub async fn insert_key(pool: &PgPool) -> ApiKeyId {
    let api_key_id = ApiKeyId::new_v7();
    api_keys::insert_api_key(
        pool,
        api_key_id,
        "test",
        "tok_test",
        api_key_id.0.as_bytes(),
    )
    .await
    .expect("fixture key inserted");
    api_key_id
}

/// An item at `position` for `url`, with the canonical URL and video id the api would store
/// when `url` parses (none when it does not), no custom id, no duplicate.
#[must_use]
pub fn item(position: usize, url: &str, max_attempts: i32) -> NewJobItem {
    let parsed = TiktokUrl::parse(url).ok();
    NewJobItem {
        item_id: ItemId::new_v7(),
        position: i32::try_from(position).expect("a fixture has few items"),
        duplicate_of: None,
        input_url: url.to_owned(),
        canonical_url: parsed
            .as_ref()
            .map(|parsed| parsed.canonical_url().to_owned()),
        video_id: parsed
            .as_ref()
            .and_then(|parsed| parsed.video_id().map(str::to_owned)),
        custom_id: None,
        max_attempts,
    }
}

/// A job of `kind` for `api_key_id` with `items`: an empty request and metadata, default
/// options, no idempotency key, no webhook (set the fields to change them).
#[must_use]
pub fn job(api_key_id: ApiKeyId, kind: JobKind, items: Vec<NewJobItem>) -> NewJob {
    NewJob {
        job_id: JobId::new_v7(),
        api_key_id,
        kind,
        request: Value::Object(serde_json::Map::new()),
        options: StoredJobOptions::default(),
        metadata: Value::Object(serde_json::Map::new()),
        idempotency_key: None,
        items,
        webhook: None,
    }
}

/// Inserts `new_job` and its items (all `queued`) with `jobs::insert_job_with_items`; returns
/// the job id and the item ids in the order of `new_job.items`.
///
/// # Panics
/// When the insert fails or finds the idempotency key taken.
pub async fn insert_job(pool: &PgPool, new_job: &NewJob) -> (JobId, Vec<ItemId>) {
    let mut connection = pool.acquire().await.expect("a pooled connection");
    let outcome = jobs::insert_job_with_items(&mut connection, new_job)
        .await
        .expect("fixture job inserted");
    assert!(
        matches!(outcome, jobs::InsertJobOutcome::Created { .. }),
        "fixture job not created: {outcome:?}"
    );
    (
        new_job.job_id,
        new_job.items.iter().map(|item| item.item_id).collect(),
    )
}

/// A new key and a job of `urls.len()` queued items for it (kind `video` for one URL, `batch`
/// otherwise) with `options`; returns the job id and the item ids in URL order.
pub async fn insert_key_and_job(
    pool: &PgPool,
    urls: &[&str],
    max_attempts: i32,
    options: StoredJobOptions,
) -> (JobId, Vec<ItemId>) {
    let api_key_id = insert_key(pool).await;
    let kind = if urls.len() == 1 {
        JobKind::Video
    } else {
        JobKind::Batch
    };
    let items = urls
        .iter()
        .enumerate()
        .map(|(position, url)| item(position, url, max_attempts))
        .collect();
    let mut new_job = job(api_key_id, kind, items);
    new_job.options = options;
    insert_job(pool, &new_job).await
}

/// Claims `item_id` as worker `w` and ends it with `end` in one transaction, committed when
/// `commit` is true and rolled back otherwise (as if the worker died before its commit: the item
/// stays `running` under the claim until the lease expires). Returns `end_item`'s report.
///
/// # Panics
/// When the item is not claimable or a statement fails.
pub async fn claim_and_end(
    pool: &PgPool,
    item_id: ItemId,
    end: &ItemEnd,
    commit: bool,
) -> ItemEndReport {
    let claimed = item_claims::claim_item(pool, item_id, "w", CLAIM_LEASE)
        .await
        .expect("claim ran")
        .expect("the item is claimable");
    let mut transaction = pool.begin().await.expect("a transaction");
    let report = item_claims::end_item(&mut transaction, item_id, claimed.claim_id, end)
        .await
        .expect("end_item ran");
    if commit {
        transaction.commit().await.expect("committed");
    } else {
        transaction.rollback().await.expect("rolled back");
    }
    report
}

/// The smallest complete `Video` the mapper could write, as stored JSON, with `fields` merged
/// over it (objects key by key, anything else replaced).
pub fn video_json(video_id: &str, fields: Value) -> Value {
    let mut video = serde_json::json!({
        "schema_version": 1, "id": video_id, "kind": "video",
        "url": format!("https://www.tiktok.com/@creator/video/{video_id}"),
        "description": "", "created_at": "2025-01-01T00:00:12Z", "create_time": 1735689612,
        "duration_seconds": 0, "width": null, "height": null, "hashtags": [], "mentions": [],
        "counts": {"play_count": 0, "like_count": 0, "comment_count": 0, "share_count": 0,
                   "collect_count": 0, "repost_count": null},
        "counts_exact": false,
        "author": {"unique_id": "creator", "verified": false, "private_account": false,
                   "counts_exact": false},
        "music": null, "covers": {}, "media": {"formats": []}, "images": [], "subtitles": [],
        "location_created": null, "is_ad": false, "text_language": null,
        "diversification_labels": [], "source": "web",
        "extracted_at": "2025-01-01T00:01:00Z"
    });
    merge(&mut video, fields);
    video
}

/// [`video_json`], decoded.
pub fn video(video_id: &str, fields: Value) -> Video {
    serde_json::from_value(video_json(video_id, fields)).expect("the fixture is a complete Video")
}

fn merge(base: &mut Value, fields: Value) {
    match (base, fields) {
        (Value::Object(base), Value::Object(fields)) => {
            for (key, value) in fields {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, fields) => *base = fields,
    }
}
