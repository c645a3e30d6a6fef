//! The workers' side of starting runs: claim due watches and, in the same transaction, give each
//! an ordinary feed job (through `feed_walks::submit_feed_job`, as the api's feed submit), its
//! `watch_runs` row and its next due time (docs/watches.md "Exactly once").

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use crate::db::feed_walks::{self, NewFeedWalk, SubmitFeedOutcome, feed_key};
use crate::db::jobs::NewJob;
use crate::ids::{ApiKeyId, JobId, WalkId, WatchId, WatchRunId};
use crate::job_options::StoredJobOptions;
use crate::job_status::JobKind;

use super::target_field;

/// Most jitter added to a watch's next due time, in seconds (and at most 10 % of `every`).
pub const MAX_JITTER_SECONDS: f64 = 60.0;

/// A due watch, as claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
struct DueWatch {
    watch_id: WatchId,
    api_key_id: ApiKeyId,
    kind: JobKind,
    target: Option<String>,
    count: i32,
    #[sqlx(json)]
    options: StoredJobOptions,
    metadata: Value,
    max_attempts: i32,
    baseline_done: bool,
    next_run_at: DateTime<Utc>,
}

/// A run this call started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedRun {
    pub run_id: WatchRunId,
    pub watch_id: WatchId,
    pub job_id: JobId,
    /// The due time it was claimed for.
    pub scheduled_for: DateTime<Utc>,
    /// No run of the watch succeeded yet.
    pub baseline: bool,
}

/// The request a run's job stores (the normalised feed job request, `refresh` implied).
fn run_job_request(watch: &DueWatch, options: &StoredJobOptions) -> Value {
    let mut request = Map::new();
    request.insert("kind".to_owned(), json!(watch.kind));
    request.insert("count".to_owned(), json!(watch.count));
    request.insert(
        "options".to_owned(),
        json!({
            "refresh": options.refresh,
            "analyze_thumbnail": options.analyze_thumbnail,
            "language": options.language,
            "transcript": options.transcript,
        }),
    );
    request.insert("metadata".to_owned(), watch.metadata.clone());
    if let (Some(field), Some(target)) = (target_field(watch.kind), &watch.target) {
        request.insert(field.to_owned(), json!(target));
    }
    request.insert("watch_id".to_owned(), json!(watch.watch_id));
    Value::Object(request)
}

/// Claims up to `limit` due watches (active, `next_run_at` passed, no run in flight, key not
/// revoked) with `FOR UPDATE SKIP LOCKED` and starts one run of each, all in ONE transaction:
/// the feed job (served like the api's: attached to the feed's walk in flight or a new walk;
/// never the feed cache), the `watch_runs` row, and `next_run_at = now() + every + jitter`
/// (a random 0–10 % of `every`, at most [`MAX_JITTER_SECONDS`]). A watch overdue by many
/// periods runs once: the next due time counts from now, so missed runs are not stacked.
pub async fn start_due_runs(pool: &PgPool, limit: i64) -> Result<Vec<StartedRun>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let due: Vec<DueWatch> = sqlx::query_as(
        "select w.watch_id, w.api_key_id, w.kind, w.target, w.count, w.options, w.metadata,
                w.max_attempts, w.baseline_done, w.next_run_at
         from watches w join api_keys k on k.api_key_id = w.api_key_id
         where w.status = 'active' and w.next_run_at <= now() and k.revoked_at is null
           and not exists (select 1 from watch_runs r
                           where r.watch_id = w.watch_id and r.status = 'running')
         order by w.next_run_at
         limit $1
         for update of w skip locked",
    )
    .bind(limit)
    .fetch_all(&mut *transaction)
    .await?;
    let mut started = Vec::with_capacity(due.len());
    for watch in &due {
        let options = StoredJobOptions {
            refresh: true,
            ..watch.options
        };
        let job_id = JobId::new_v7();
        let new_job = NewJob {
            job_id,
            api_key_id: watch.api_key_id,
            kind: watch.kind,
            request: run_job_request(watch, &options),
            options,
            metadata: watch.metadata.clone(),
            idempotency_key: None,
            items: Vec::new(),
            webhook: None,
        };
        let walk = NewFeedWalk {
            walk_id: WalkId::new_v7(),
            feed_key: feed_key(watch.kind, watch.target.as_deref(), watch.count),
            kind: watch.kind,
            target: watch.target.clone(),
            requested_count: watch.count,
            max_attempts: watch.max_attempts,
        };
        let outcome =
            feed_walks::submit_feed_job(&mut transaction, &new_job, &walk, None, true).await?;
        if !matches!(outcome, SubmitFeedOutcome::Created(_)) {
            return Err(sqlx::Error::Protocol(
                "a watch run's job (no idempotency key) was not created".into(),
            ));
        }
        let run_id = WatchRunId::new_v7();
        sqlx::query(
            "insert into watch_runs (run_id, watch_id, job_id, status, baseline, scheduled_for)
             values ($1, $2, $3, 'running', $4, $5)",
        )
        .bind(run_id)
        .bind(watch.watch_id)
        .bind(job_id)
        .bind(!watch.baseline_done)
        .bind(watch.next_run_at)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "update watches
             set last_run_at = now(),
                 next_run_at = now() + make_interval(secs => every_seconds
                     + random() * least(every_seconds * 0.1, $2)),
                 updated_at = now()
             where watch_id = $1",
        )
        .bind(watch.watch_id)
        .bind(MAX_JITTER_SECONDS)
        .execute(&mut *transaction)
        .await?;
        started.push(StartedRun {
            run_id,
            watch_id: watch.watch_id,
            job_id,
            scheduled_for: watch.next_run_at,
            baseline: !watch.baseline_done,
        });
    }
    transaction.commit().await?;
    Ok(started)
}

/// The earliest due time of a watch [`start_due_runs`] could start (active, no run in flight,
/// key not revoked), if any: the scheduler's sleep.
pub async fn next_due_at(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "select min(w.next_run_at)
         from watches w join api_keys k on k.api_key_id = w.api_key_id
         where w.status = 'active' and k.revoked_at is null
           and not exists (select 1 from watch_runs r
                           where r.watch_id = w.watch_id and r.status = 'running')",
    )
    .fetch_one(pool)
    .await
}
