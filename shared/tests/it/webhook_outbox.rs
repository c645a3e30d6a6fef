//! The webhook outbox is written inside the item-end and cancel transactions: an event exists if
//! and only if its state change committed; `job.progress` is throttled; jobs without a webhook
//! write nothing.

use std::time::Duration;
use tokworks_shared::ids::{ApiKeyId, ItemId, JobId};
use tokworks_shared::job_status::JobKind;

use sqlx::PgPool;
use tokworks_shared::db::item_claims::ItemEnd;
use tokworks_shared::db::jobs::{self, NewJobWebhook};
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::test_fixtures;

async fn new_job(pool: &PgPool, items: usize, webhook: Option<Vec<&str>>) -> (JobId, Vec<ItemId>) {
    let api_key_id = test_fixtures::insert_key(pool).await;
    let items = (0..items)
        .map(|position| {
            let mut item = test_fixtures::item(
                position,
                &format!("https://www.tiktok.com/@a/video/730000000000000000{position}"),
                3,
            );
            // As stored before the fixtures: the input URL only.
            item.canonical_url = None;
            item.video_id = None;
            item
        })
        .collect();
    let mut job = test_fixtures::job(api_key_id, JobKind::Batch, items);
    job.metadata = serde_json::json!({"order": 7});
    job.webhook = webhook.map(|events| NewJobWebhook {
        url: "https://[2001:db8::10]/hook".to_owned(),
        events: events.into_iter().map(str::to_owned).collect(),
    });
    test_fixtures::insert_job(pool, &job).await
}

async fn end(pool: &PgPool, item_id: ItemId, end: ItemEnd, commit: bool) {
    test_fixtures::claim_and_end(pool, item_id, &end, commit).await;
    if !commit {
        // As if the worker died: its lease expires and the item can be claimed again.
        sqlx::query("update job_items set lease_expires_at = now() - interval '1 second' where item_id = $1")
            .bind(item_id)
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn events(pool: &PgPool, job_id: JobId) -> Vec<String> {
    sqlx::query_scalar(
        "select event_type from webhook_deliveries where job_id = $1 order by delivery_id",
    )
    .bind(job_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn store_video(pool: &PgPool, video_id: &str) {
    sqlx::query(
        "insert into videos (video_id, data, source, fetched_at) values ($1, '{}', 'web', now())",
    )
    .bind(video_id)
    .execute(pool)
    .await
    .unwrap();
}

fn succeeded(video_id: &str) -> ItemEnd {
    ItemEnd::Succeeded {
        video_id: video_id.to_owned(),
        cache_hit: false,
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn item_ends_write_item_progress_and_terminal_events(pool: PgPool) {
    store_video(&pool, "7300000000000000001").await;
    let all = vec![
        "item.succeeded",
        "item.failed",
        "job.progress",
        "job.completed",
    ];
    let (job_id, items) = new_job(&pool, 3, Some(all)).await;
    let retry = ItemEnd::Retry {
        error_code: ErrorCode::UpstreamRateLimited,
        message: "slow down".to_owned(),
        retry_after: Duration::ZERO,
        task_id: "t".to_owned(),
    };
    end(&pool, items[0], retry, true).await;
    assert!(
        events(&pool, job_id).await.is_empty(),
        "a retry is no event"
    );

    end(&pool, items[0], succeeded("7300000000000000001"), false).await;
    assert!(
        events(&pool, job_id).await.is_empty(),
        "rolled back: no event"
    );

    end(&pool, items[0], succeeded("7300000000000000001"), true).await;
    end(&pool, items[1], succeeded("7300000000000000001"), true).await;
    let failed = ItemEnd::Failed {
        error_code: ErrorCode::VideoPrivate,
        message: "private".to_owned(),
    };
    end(&pool, items[2], failed, true).await;
    assert_eq!(
        events(&pool, job_id).await,
        [
            "item.succeeded",
            "job.progress",
            "item.succeeded", // the second progress falls in the 2 s throttle
            "item.failed",
            "job.completed", // partial
        ]
    );
    let (payload, webhook_ids): (serde_json::Value, i64) = sqlx::query_as(
        "select (select payload from webhook_deliveries
                 where job_id = $1 and event_type = 'job.completed'),
                (select count(distinct webhook_id) from webhook_deliveries where job_id = $1)",
    )
    .bind(job_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(webhook_ids, 5);
    assert_eq!(payload["data"]["status"], "partial");
    assert_eq!(payload["data"]["counts"]["succeeded"], 2);
    assert_eq!(payload["data"]["counts"]["failed"], 1);
    assert_eq!(payload["data"]["metadata"]["order"], 7);
    let item_failed: serde_json::Value = sqlx::query_scalar(
        "select payload from webhook_deliveries where job_id = $1 and event_type = 'item.failed'",
    )
    .bind(job_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        item_failed["data"]["item"]["error"]["code"],
        "VIDEO_PRIVATE"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn cancel_writes_job_canceled_once_and_jobs_without_webhook_nothing(pool: PgPool) {
    let (job_id, _) = new_job(&pool, 1, Some(vec!["job.canceled"])).await;
    let api_key_id: ApiKeyId = sqlx::query_scalar("select api_key_id from jobs where job_id = $1")
        .bind(job_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut connection = pool.acquire().await.unwrap();
    jobs::cancel_job_for_key(&mut connection, job_id, api_key_id)
        .await
        .unwrap();
    jobs::cancel_job_for_key(&mut connection, job_id, api_key_id)
        .await
        .unwrap();
    assert_eq!(events(&pool, job_id).await, ["job.canceled"]);

    store_video(&pool, "7300000000000000001").await;
    let (silent_job, items) = new_job(&pool, 1, None).await;
    end(&pool, items[0], succeeded("7300000000000000001"), true).await;
    assert!(events(&pool, silent_job).await.is_empty());
}
