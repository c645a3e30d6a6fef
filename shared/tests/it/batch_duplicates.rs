//! Duplicates in a batch: an item linked by `duplicate_of` is never claimed nor reconciled, waits
//! through its first item's retries, and ends with the first item's result or error in the same
//! transaction, moving the job's counters and writing its own `item.*` event.

use std::time::Duration;
use tokworks_shared::ids::{ApiKeyId, ItemId, JobId};
use tokworks_shared::job_status::{AnalysisStatus, JobKind};

use sqlx::PgPool;
use tokworks_shared::db::item_claims::{self, ItemEnd};
use tokworks_shared::db::jobs::{self, NewJobItem, NewJobWebhook};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::test_fixtures;

/// Positions and what each item duplicates (an index into the list), as a batch would store them.
const LAYOUT: [(i32, Option<usize>); 5] =
    [(0, None), (1, None), (2, Some(0)), (3, Some(1)), (5, None)];

async fn new_batch(pool: &PgPool) -> (JobId, Vec<ItemId>) {
    let api_key_id = test_fixtures::insert_key(pool).await;
    let item_ids: Vec<ItemId> = LAYOUT.iter().map(|_| ItemId::new_v7()).collect();
    let video_ids = ["7300000000000000001", "7300000000000000002"];
    let items = LAYOUT
        .iter()
        .zip(&item_ids)
        .map(|((position, duplicate_of), item_id)| {
            let video_id = match (position, duplicate_of) {
                (5, _) => "7300000000000000005",
                (_, Some(first)) => video_ids[*first],
                _ => video_ids[usize::try_from(*position).unwrap()],
            };
            NewJobItem {
                item_id: *item_id,
                position: *position,
                duplicate_of: duplicate_of.map(|first| item_ids[first]),
                input_url: format!("https://www.tiktok.com/@a/video/{video_id}"),
                canonical_url: Some(format!("https://www.tiktok.com/@a/video/{video_id}")),
                video_id: Some(video_id.to_owned()),
                custom_id: Some(format!("row-{position}")),
                max_attempts: 3,
            }
        })
        .collect();
    let mut job = test_fixtures::job(api_key_id, JobKind::Batch, items);
    job.webhook = Some(NewJobWebhook {
        url: "https://[2001:db8::10]/hook".to_owned(),
        events: vec!["item.succeeded".to_owned(), "item.failed".to_owned()],
    });
    test_fixtures::insert_job(pool, &job).await
}

async fn end(pool: &PgPool, item_id: ItemId, end: ItemEnd) {
    test_fixtures::claim_and_end(pool, item_id, &end, true).await;
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct ItemState {
    status: String,
    attempts: i32,
    error_code: Option<String>,
    result_video_id: Option<String>,
}

async fn item_state(pool: &PgPool, item_id: ItemId) -> ItemState {
    sqlx::query_as(
        "select status, attempts, error_code, result_video_id from job_items where item_id = $1",
    )
    .bind(item_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn job_counts(pool: &PgPool, job_id: JobId) -> (String, i32, i32) {
    sqlx::query_as("select status, items_succeeded, items_failed from jobs where job_id = $1")
        .bind(job_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn duplicates_are_never_claimed_and_end_with_their_first_item(pool: PgPool) {
    let (job_id, items) = new_batch(&pool).await;
    let (first_a, first_b, duplicate_a, duplicate_b, other) =
        (items[0], items[1], items[2], items[3], items[4]);

    for duplicate in [duplicate_a, duplicate_b] {
        let claim = item_claims::claim_item(&pool, duplicate, "w", Duration::from_secs(30))
            .await
            .unwrap();
        assert!(claim.is_none(), "a duplicate is never claimed");
    }
    // Only first items are dispatched (given a queue task), and so only they are reconciled.
    let task_ids: Vec<String> = (0..100).map(|n| format!("t{n}")).collect();
    let dispatched = item_claims::dispatch::dispatch_round_robin(&pool, &task_ids)
        .await
        .unwrap();
    assert_eq!(dispatched.len(), 3, "only first items are dispatched");
    sqlx::query("update job_items set enqueued_at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    let candidates = item_claims::reconcile_candidates(&pool, Duration::ZERO, 100)
        .await
        .unwrap();
    let candidate_ids: Vec<ItemId> = candidates
        .iter()
        .map(|candidate| candidate.item_id)
        .collect();
    assert_eq!(candidate_ids.len(), 3, "only first items are reconciled");
    assert!(!candidate_ids.contains(&duplicate_a) && !candidate_ids.contains(&duplicate_b));

    // A retry of the first item leaves its duplicate waiting.
    end(
        &pool,
        first_a,
        ItemEnd::Retry {
            error_code: ErrorCode::UpstreamRateLimited,
            message: "429".to_owned(),
            retry_after: Duration::ZERO,
            task_id: "t".to_owned(),
        },
    )
    .await;
    assert_eq!(item_state(&pool, duplicate_a).await.status, "queued");
    assert_eq!(
        job_counts(&pool, job_id).await,
        ("running".to_owned(), 0, 0)
    );

    sqlx::query(
        "insert into videos (video_id, data, source, fetched_at)
         values ('7300000000000000001', '{}', 'web', now()),
                ('7300000000000000005', '{}', 'web', now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    end(
        &pool,
        first_a,
        ItemEnd::Succeeded {
            video_id: "7300000000000000001".to_owned(),
            cache_hit: false,
        },
    )
    .await;
    assert_eq!(
        item_state(&pool, duplicate_a).await,
        ItemState {
            status: "succeeded".to_owned(),
            attempts: 0,
            error_code: None,
            result_video_id: Some("7300000000000000001".to_owned()),
        }
    );
    assert_eq!(
        job_counts(&pool, job_id).await,
        ("running".to_owned(), 2, 0)
    );

    end(
        &pool,
        first_b,
        ItemEnd::Failed {
            error_code: ErrorCode::VideoPrivate,
            message: "private".to_owned(),
        },
    )
    .await;
    let failed_duplicate = item_state(&pool, duplicate_b).await;
    assert_eq!(failed_duplicate.status, "failed");
    assert_eq!(
        failed_duplicate.error_code.as_deref(),
        Some("VIDEO_PRIVATE")
    );
    assert_eq!(
        job_counts(&pool, job_id).await,
        ("running".to_owned(), 2, 2)
    );

    end(
        &pool,
        other,
        ItemEnd::Succeeded {
            video_id: "7300000000000000005".to_owned(),
            cache_hit: true,
        },
    )
    .await;
    assert_eq!(
        job_counts(&pool, job_id).await,
        ("partial".to_owned(), 3, 2)
    );

    let executions: i64 =
        sqlx::query_scalar("select count(*) from item_executions where item_id = any($1)")
            .bind(vec![duplicate_a, duplicate_b])
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(executions, 0, "duplicates are never executed");
    let item_events: Vec<(String, i64)> = sqlx::query_as(
        "select event_type, count(distinct payload->'data'->'item'->>'id')
         from webhook_deliveries where job_id = $1 and event_type like 'item.%'
         group by event_type order by event_type",
    )
    .bind(job_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        item_events,
        [
            ("item.failed".to_owned(), 2),
            ("item.succeeded".to_owned(), 3)
        ],
        "one item event per item, duplicates included"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_duplicate_canceled_with_its_job_keeps_no_analysis_of_its_first_item(pool: PgPool) {
    use tokworks_shared::db::thumbnail_analyses::{self, ItemAnalysisOutcome};

    let (job_id, item_ids) = new_batch(&pool).await;
    let api_key_id: ApiKeyId = sqlx::query_scalar("select api_key_id from jobs where job_id = $1")
        .bind(job_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let first = item_claims::claim_item(&pool, item_ids[0], "w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    // The job is canceled while its first item runs: its queued items (the duplicate too) end.
    let mut connection = pool.acquire().await.unwrap();
    jobs::cancel_job_for_key(&mut connection, job_id, api_key_id)
        .await
        .unwrap();
    let status_of = |item_id: ItemId| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>)>(
                "select status, analysis_status from job_items where item_id = $1",
            )
            .bind(item_id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(status_of(item_ids[2]).await.0, "canceled");

    let mut transaction = pool.begin().await.unwrap();
    let outcome = ItemAnalysisOutcome {
        status: AnalysisStatus::Succeeded,
        cache_key: None,
        language: "en".to_owned(),
        model: Some("gpt-4o-mini".to_owned()),
        prompt_version: Some("v".to_owned()),
        cached: false,
        error_code: None,
        error_message: None,
    };
    thumbnail_analyses::record_item_analysis(
        &mut transaction,
        first.item_id,
        first.claim_id,
        &outcome,
    )
    .await
    .unwrap();
    transaction.commit().await.unwrap();

    assert_eq!(
        status_of(item_ids[0]).await,
        ("running".to_owned(), Some("succeeded".to_owned()))
    );
    assert_eq!(
        status_of(item_ids[2]).await,
        ("canceled".to_owned(), None),
        "a canceled duplicate shows no analysis"
    );
}
