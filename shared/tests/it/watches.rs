//! Watches in Postgres: a due watch is started by exactly one of two concurrent schedulers,
//! missed runs are not stacked after downtime, the first run is a silent baseline (unless
//! `report_existing`), a new video is reported once (one `watch.new_videos` outbox row), and
//! failures back off and, after long enough, pause the watch with a `watch.paused` event.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::feed_walks::WalkStatus;
use tokworks_shared::db::feed_walks::claims::{self as walk_claims, WalkEnd};
use tokworks_shared::db::jobs::NewJobWebhook;
use tokworks_shared::db::videos::{self, VideoRecord};
use tokworks_shared::db::watches::evaluate::{self, EvaluationSettings, RunEvaluation};
use tokworks_shared::db::watches::schedule::{self, StartedRun};
use tokworks_shared::db::watches::{
    self as watch_db, CreateWatchOutcome, NewWatch, WatchPausedReason, WatchRow, WatchRunStatus,
    WatchStatus,
};
use tokworks_shared::ids::{ApiKeyId, WatchId};
use tokworks_shared::job_options::StoredJobOptions;
use tokworks_shared::job_status::JobKind;
use tokworks_shared::test_fixtures;

const EVERY: i32 = 600;

fn new_watch(api_key_id: ApiKeyId, report_existing: bool) -> NewWatch {
    NewWatch {
        watch_id: WatchId::new_v7(),
        api_key_id,
        kind: JobKind::User,
        target: Some("creator".to_owned()),
        every_seconds: EVERY,
        count: 30,
        report_existing,
        options: StoredJobOptions::default(),
        metadata: json!({"team": "ramen"}),
        max_attempts: 1,
        webhook: Some(NewJobWebhook {
            url: "https://[2001:db8::10]/hook".to_owned(),
            events: vec!["watch.new_videos".to_owned(), "watch.paused".to_owned()],
        }),
    }
}

async fn create(pool: &PgPool, watch: &NewWatch) -> WatchRow {
    let mut connection = pool.acquire().await.expect("a connection");
    match watch_db::create_watch(&mut connection, watch, 100)
        .await
        .expect("create")
    {
        CreateWatchOutcome::Created(row) => *row,
        other => panic!("not created: {other:?}"),
    }
}

/// Makes the watch due as if it had been due since `ago_seconds`.
async fn make_due(pool: &PgPool, watch_id: WatchId, ago_seconds: f64) {
    sqlx::query(
        "update watches set next_run_at = now() - make_interval(secs => $2) where watch_id = $1",
    )
    .bind(watch_id)
    .bind(ago_seconds)
    .execute(pool)
    .await
    .expect("due");
}

async fn watch(pool: &PgPool, api_key_id: ApiKeyId, watch_id: WatchId) -> WatchRow {
    watch_db::find_watch(pool, api_key_id, watch_id)
        .await
        .expect("read")
        .expect("exists")
}

/// Ends the one queued walk as a worker would: its videos stored, then the walk's end.
async fn end_walk(pool: &PgPool, video_ids: &[&str], status: WalkStatus) {
    let walks = walk_claims::claim_due_walks(pool, "test-worker", Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(walks.len(), 1, "one walk per run");
    let mut transaction = pool.begin().await.expect("tx");
    for video_id in video_ids {
        let video = test_fixtures::video(video_id, json!({}));
        videos::upsert_video(
            &mut transaction,
            &VideoRecord {
                video: &video,
                raw_item: None,
                fetched_at: Utc::now(),
            },
        )
        .await
        .expect("video");
    }
    let end = WalkEnd::Finished {
        status,
        video_ids: video_ids.iter().map(|id| (*id).to_owned()).collect(),
        stop_code: match status {
            WalkStatus::Failed => "USER_NOT_FOUND",
            WalkStatus::Partial => "UPSTREAM_RATE_LIMITED",
            _ => "NO_MORE",
        }
        .to_owned(),
        stop_message: (status != WalkStatus::Succeeded).then(|| "stopped short".to_owned()),
        pages_fetched: 1,
        walk_duration: Duration::from_millis(5),
    };
    walk_claims::end_walk(&mut transaction, &walks[0], &end)
        .await
        .expect("end");
    transaction.commit().await.expect("commit");
}

async fn start_one(pool: &PgPool) -> StartedRun {
    let mut started = schedule::start_due_runs(pool, 10).await.expect("start");
    assert_eq!(started.len(), 1, "{started:?}");
    started.remove(0)
}

async fn evaluate_one(pool: &PgPool, run: &StartedRun) -> RunEvaluation {
    evaluate::evaluate_run(pool, run.run_id, &EvaluationSettings::default())
        .await
        .expect("evaluate")
        .expect("evaluated")
}

/// The outbox rows of watch events: (event type, payload).
async fn watch_events(pool: &PgPool) -> Vec<(String, Value)> {
    sqlx::query_as(
        "select event_type, payload from webhook_deliveries
         where event_type like 'watch.%' order by delivery_id",
    )
    .fetch_all(pool)
    .await
    .expect("outbox")
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn two_concurrent_schedulers_start_one_run_and_missed_runs_are_not_stacked(pool: PgPool) {
    let key = test_fixtures::insert_key(&pool).await;
    let created = create(&pool, &new_watch(key, false)).await;
    assert_eq!(created.status, WatchStatus::Active);
    let due_in = created.next_run_at.expect("due") - Utc::now();
    assert!(due_in.num_milliseconds() <= 5_000, "first run within 5 s");
    // Down for three days: 432 runs missed.
    make_due(&pool, created.watch_id, 3.0 * 86_400.0).await;
    let (first, second) = tokio::join!(
        schedule::start_due_runs(&pool, 10),
        schedule::start_due_runs(&pool, 10)
    );
    let started = first.expect("first").len() + second.expect("second").len();
    assert_eq!(started, 1, "exactly one scheduler starts the run");
    let after = watch(&pool, key, created.watch_id).await;
    assert_eq!(after.runs, 1);
    assert!(after.run_in_flight);
    let next = after.next_run_at.expect("next") - Utc::now();
    let every = i64::from(EVERY);
    assert!(
        next.num_seconds() >= every - 2 && next.num_seconds() <= every + 61,
        "one period from now (plus jitter), not in the past: {next}"
    );
    // Due again while the run is in flight: nothing starts.
    make_due(&pool, created.watch_id, 1.0).await;
    assert!(
        schedule::start_due_runs(&pool, 10)
            .await
            .expect("start")
            .is_empty()
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_baseline_reports_nothing_and_a_new_video_is_reported_once(pool: PgPool) {
    let key = test_fixtures::insert_key(&pool).await;
    let created = create(&pool, &new_watch(key, false)).await;
    make_due(&pool, created.watch_id, 0.0).await;
    let run = start_one(&pool).await;
    assert!(run.baseline);
    // Not ended yet: nothing to evaluate.
    assert_eq!(
        evaluate::evaluate_run(&pool, run.run_id, &EvaluationSettings::default())
            .await
            .expect("evaluate"),
        None
    );
    end_walk(
        &pool,
        &["7300000000000000001", "7300000000000000002"],
        WalkStatus::Succeeded,
    )
    .await;
    let baseline = evaluate_one(&pool, &run).await;
    assert!(baseline.baseline);
    assert_eq!(baseline.status, WatchRunStatus::Succeeded);
    assert!(baseline.new_video_ids.is_empty());
    assert!(watch_events(&pool).await.is_empty());
    let seen = watch(&pool, key, created.watch_id).await;
    assert_eq!(seen.videos_seen, 2);
    assert!(!seen.run_in_flight);

    make_due(&pool, created.watch_id, 0.0).await;
    let run = start_one(&pool).await;
    assert!(!run.baseline);
    end_walk(
        &pool,
        &[
            "7300000000000000003",
            "7300000000000000001",
            "7300000000000000002",
        ],
        WalkStatus::Succeeded,
    )
    .await;
    let found = evaluate_one(&pool, &run).await;
    assert_eq!(found.new_video_ids, vec!["7300000000000000003"]);
    assert!(found.reported);
    // Evaluated once: a second evaluation writes nothing.
    assert_eq!(
        evaluate::evaluate_run(&pool, run.run_id, &EvaluationSettings::default())
            .await
            .expect("evaluate"),
        None
    );
    let events = watch_events(&pool).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (event_type, payload) = &events[0];
    assert_eq!(event_type, "watch.new_videos");
    assert_eq!(payload["type"], "watch.new_videos");
    assert_eq!(payload["data"]["watch_id"], json!(created.watch_id));
    assert_eq!(payload["data"]["username"], "creator");
    assert_eq!(
        payload["data"]["new_video_ids"],
        json!(["7300000000000000003"])
    );
    assert_eq!(
        payload["data"]["videos"][0]["url"],
        "https://www.tiktok.com/@creator/video/7300000000000000003"
    );
    assert_eq!(payload["data"]["metadata"], json!({"team": "ramen"}));

    // A run that finds nothing new reports nothing.
    make_due(&pool, created.watch_id, 0.0).await;
    let run = start_one(&pool).await;
    end_walk(
        &pool,
        &["7300000000000000003", "7300000000000000001"],
        WalkStatus::Partial,
    )
    .await;
    let quiet = evaluate_one(&pool, &run).await;
    assert_eq!(quiet.status, WatchRunStatus::Partial);
    assert!(quiet.new_video_ids.is_empty());
    assert_eq!(watch_events(&pool).await.len(), 1);
    let seen = watch(&pool, key, created.watch_id).await;
    assert_eq!((seen.runs, seen.videos_seen), (3, 3));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn report_existing_reports_the_first_run(pool: PgPool) {
    let key = test_fixtures::insert_key(&pool).await;
    let created = create(&pool, &new_watch(key, true)).await;
    make_due(&pool, created.watch_id, 0.0).await;
    let run = start_one(&pool).await;
    end_walk(&pool, &["7300000000000000001"], WalkStatus::Succeeded).await;
    let first = evaluate_one(&pool, &run).await;
    assert!(first.baseline);
    assert_eq!(first.new_video_ids, vec!["7300000000000000001"]);
    assert_eq!(watch_events(&pool).await.len(), 1);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn failures_back_off_and_a_watch_failing_for_a_day_pauses_itself(pool: PgPool) {
    let key = test_fixtures::insert_key(&pool).await;
    let created = create(&pool, &new_watch(key, false)).await;
    make_due(&pool, created.watch_id, 0.0).await;
    let run = start_one(&pool).await;
    end_walk(&pool, &[], WalkStatus::Failed).await;
    let failed = evaluate_one(&pool, &run).await;
    assert_eq!(failed.status, WatchRunStatus::Failed);
    assert!(!failed.paused);
    let backing_off = watch(&pool, key, created.watch_id).await;
    assert_eq!(backing_off.consecutive_failures, 1);
    assert_eq!(
        backing_off.last_error_code.as_deref(),
        Some("USER_NOT_FOUND")
    );
    let wait = backing_off.next_run_at.expect("due later") - Utc::now();
    assert!(
        wait.num_seconds() >= i64::from(2 * EVERY) - 2,
        "backed off to 2 × every: {wait}"
    );
    assert_eq!(backing_off.status, WatchStatus::Active);

    // The streak began more than a day ago: the next failure pauses the watch.
    sqlx::query(
        "update watches set failing_since = now() - interval '25 hours' where watch_id = $1",
    )
    .bind(created.watch_id)
    .execute(&pool)
    .await
    .expect("age the streak");
    make_due(&pool, created.watch_id, 0.0).await;
    let run = start_one(&pool).await;
    end_walk(&pool, &[], WalkStatus::Failed).await;
    let paused = evaluate_one(&pool, &run).await;
    assert!(paused.paused);
    let row = watch(&pool, key, created.watch_id).await;
    assert_eq!(row.status, WatchStatus::Paused);
    assert_eq!(row.paused_reason, Some(WatchPausedReason::Failing));
    assert_eq!(row.next_run_at, None);
    assert_eq!(row.consecutive_failures, 2);
    let events = watch_events(&pool).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "watch.paused");
    assert_eq!(events[0].1["data"]["paused_reason"], "failing");
    // Paused: nothing is due any more.
    assert!(
        schedule::start_due_runs(&pool, 10)
            .await
            .expect("start")
            .is_empty()
    );

    // Resumed: due soon, failures reset.
    let mut connection = pool.acquire().await.expect("connection");
    let resumed = watch_db::resume_watch(&mut connection, key, created.watch_id)
        .await
        .expect("resume")
        .expect("exists");
    assert_eq!(resumed.status, WatchStatus::Active);
    assert_eq!(resumed.consecutive_failures, 0);
    assert!(resumed.next_run_at.is_some());
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_key_cannot_exceed_its_watch_limit(pool: PgPool) {
    let key = test_fixtures::insert_key(&pool).await;
    let mut connection = pool.acquire().await.expect("connection");
    for _ in 0..2 {
        let outcome = watch_db::create_watch(&mut connection, &new_watch(key, false), 2)
            .await
            .expect("create");
        assert!(matches!(outcome, CreateWatchOutcome::Created(_)));
    }
    let outcome = watch_db::create_watch(&mut connection, &new_watch(key, false), 2)
        .await
        .expect("create");
    assert_eq!(outcome, CreateWatchOutcome::LimitReached { max: 2 });
}
