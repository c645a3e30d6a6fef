//! The retention loop (docs/retention.md): a background loop in every worker process that, in
//! one worker at a time (a Postgres advisory lock held for the round on a connection of its
//! own), expires finished jobs past `RETENTION_DAYS`, deletes their tombstones a second period
//! later, and drops stored covers and raw items past `THUMBNAIL_RETENTION_DAYS`, unreferenced
//! videos and feed walks — in bounded batches, a bounded number per round.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::watch;
use tokworks_shared::db::retention;

/// How often a round starts when the previous one left nothing behind.
pub const RETENTION_EVERY: Duration = Duration::from_secs(60);
/// How soon the next round starts when the previous one stopped at its bound.
pub const RETENTION_CATCH_UP_EVERY: Duration = Duration::from_secs(1);
/// Rows (items for job expiry) per statement.
pub const RETENTION_BATCH_ROWS: i64 = 1000;
/// Batches per step and round: one round deletes at most this many batches of each kind.
pub const RETENTION_MAX_BATCHES: u32 = 20;
/// Added to CACHE_TTL_SECONDS before a video or its cover may go: a handler that found the
/// video in the cache ends its item (which references the video) well within this margin.
pub const CACHE_GRACE: Duration = Duration::from_secs(3600);

const DAY: Duration = Duration::from_secs(86_400);

/// What the retention loop keeps and how it works.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// Finished jobs older than this are expired (`RETENTION_DAYS`; `None`: kept forever).
    pub job_retention: Option<Duration>,
    /// Stored covers and raw items older than this are dropped (`THUMBNAIL_RETENTION_DAYS`;
    /// `None`: kept forever).
    pub thumbnail_retention: Option<Duration>,
    /// The video cache's freshness (`CACHE_TTL_SECONDS`): nothing the cache may still serve is
    /// deleted.
    pub cache_ttl: Duration,
    pub batch_rows: i64,
    pub max_batches: u32,
    pub every: Duration,
}

impl RetentionSettings {
    /// Settings from the configured day counts (0 = keep forever).
    pub fn from_days(job_days: u32, thumbnail_days: u32, cache_ttl: Duration) -> Self {
        let days = |count: u32| (count > 0).then(|| DAY * count);
        RetentionSettings {
            job_retention: days(job_days),
            thumbnail_retention: days(thumbnail_days),
            cache_ttl,
            batch_rows: RETENTION_BATCH_ROWS,
            max_batches: RETENTION_MAX_BATCHES,
            every: RETENTION_EVERY,
        }
    }

    fn enabled(&self) -> bool {
        self.job_retention.is_some() || self.thumbnail_retention.is_some()
    }

    /// Videos and covers the cache may still serve are kept whatever the retention says.
    fn past_cache(&self, retention: Duration) -> Duration {
        retention.max(self.cache_ttl + CACHE_GRACE)
    }
}

/// What one round deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub jobs_expired: u64,
    pub items_deleted: u64,
    pub deliveries_deleted: u64,
    pub tombstones_deleted: u64,
    pub feed_walks_deleted: u64,
    pub thumbnails_deleted: u64,
    pub raw_items_cleared: u64,
    pub videos_deleted: u64,
    /// Comments no comments walk lists any more (their walks were deleted).
    pub comments_deleted: u64,
    /// A step stopped at its bound ([`RetentionSettings::max_batches`]): more is due.
    pub more_left: bool,
}

impl RetentionReport {
    /// Whether the round deleted or cleared anything.
    pub fn any(&self) -> bool {
        self.jobs_expired
            + self.items_deleted
            + self.deliveries_deleted
            + self.tombstones_deleted
            + self.feed_walks_deleted
            + self.thumbnails_deleted
            + self.raw_items_cleared
            + self.videos_deleted
            + self.comments_deleted
            > 0
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundOutcome {
    /// Another worker holds the retention lock (it is running a round).
    Skipped,
    Ran(RetentionReport),
}

/// A round failed (it is tried again at the next one).
#[derive(Debug, thiserror::Error)]
#[error("retention round: {0}")]
pub struct RetentionError(#[from] sqlx::Error);

/// The retention loop of one worker process.
#[derive(Debug, Clone)]
pub struct Retention {
    pub pool: PgPool,
    pub settings: Arc<RetentionSettings>,
}

impl Retention {
    /// Runs rounds until `shutdown` turns true (a round in progress is dropped: its open batch
    /// rolls back and closing its connection releases the lock). Returns at once when both
    /// retentions are 0 (keep forever).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if !self.settings.enabled() {
            tracing::info!("retention is off (RETENTION_DAYS=0, THUMBNAIL_RETENTION_DAYS=0)");
            return;
        }
        loop {
            let next = tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { break; }
                    continue;
                }
                outcome = self.run_round() => match outcome {
                    Ok(RoundOutcome::Ran(report)) if report.more_left => RETENTION_CATCH_UP_EVERY,
                    Ok(_) => self.settings.every,
                    Err(error) => {
                        tracing::warn!(%error, "retention round failed");
                        self.settings.every
                    }
                },
            };
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { break; }
                }
                () = tokio::time::sleep(next) => {}
            }
        }
    }

    /// One round: takes the retention lock on a connection of its own (not a pooled one, so a
    /// dropped round can never leave the lock on a connection going back to the pool), runs
    /// every step, releases the lock. [`RoundOutcome::Skipped`] when another worker holds it.
    pub async fn run_round(&self) -> Result<RoundOutcome, RetentionError> {
        let mut connection = PgConnection::connect_with(&self.pool.connect_options()).await?;
        if !retention::try_lock(&mut connection).await? {
            let _ = connection.close().await;
            return Ok(RoundOutcome::Skipped);
        }
        let result = self.run_steps(&mut connection).await;
        // Closing also releases the lock, should the unlock fail.
        let _ = retention::unlock(&mut connection).await;
        let _ = connection.close().await;
        let report = result?;
        if report.any() {
            tracing::info!(
                jobs_expired = report.jobs_expired,
                items_deleted = report.items_deleted,
                deliveries_deleted = report.deliveries_deleted,
                tombstones_deleted = report.tombstones_deleted,
                feed_walks_deleted = report.feed_walks_deleted,
                thumbnails_deleted = report.thumbnails_deleted,
                raw_items_cleared = report.raw_items_cleared,
                videos_deleted = report.videos_deleted,
                comments_deleted = report.comments_deleted,
                more_left = report.more_left,
                "retention round deleted old data"
            );
        }
        Ok(RoundOutcome::Ran(report))
    }

    async fn run_steps(
        &self,
        connection: &mut PgConnection,
    ) -> Result<RetentionReport, sqlx::Error> {
        let settings = &*self.settings;
        let rows = settings.batch_rows;
        let mut report = RetentionReport::default();
        if let Some(retention) = settings.job_retention {
            // Jobs first (their items free videos), then tombstones, walks and videos.
            let mut batches = 0;
            loop {
                if batches == settings.max_batches {
                    report.more_left = true;
                    break;
                }
                batches += 1;
                let batch = retention::expire_jobs_batch(connection, retention, rows).await?;
                report.jobs_expired += batch.jobs;
                report.items_deleted += batch.items;
                report.deliveries_deleted += batch.deliveries;
                if batch.jobs == 0 {
                    break;
                }
            }
            report.tombstones_deleted = self
                .batches(&mut report, connection, Step::Tombstones, retention * 2)
                .await?;
            report.feed_walks_deleted = self
                .batches(&mut report, connection, Step::FeedWalks, retention)
                .await?;
            let videos_after = settings.past_cache(retention);
            report.videos_deleted = self
                .batches(&mut report, connection, Step::Videos, videos_after)
                .await?;
            report.comments_deleted = self
                .batches(&mut report, connection, Step::Comments, videos_after)
                .await?;
        }
        if let Some(retention) = settings.thumbnail_retention {
            let after = settings.past_cache(retention);
            report.thumbnails_deleted = self
                .batches(&mut report, connection, Step::Thumbnails, after)
                .await?;
            report.raw_items_cleared = self
                .batches(&mut report, connection, Step::RawItems, after)
                .await?;
        }
        Ok(report)
    }

    /// Runs batches of `step` until one does less than a full batch or
    /// [`RetentionSettings::max_batches`] have run (then `more_left`); returns the rows it
    /// deleted.
    async fn batches(
        &self,
        report: &mut RetentionReport,
        connection: &mut PgConnection,
        step: Step,
        older_than: Duration,
    ) -> Result<u64, sqlx::Error> {
        let rows = self.settings.batch_rows;
        let mut total = 0;
        for _ in 0..self.settings.max_batches {
            let deleted = match step {
                Step::Tombstones => {
                    retention::delete_tombstones_batch(&mut *connection, older_than, rows).await
                }
                Step::FeedWalks => {
                    retention::delete_feed_walks_batch(&mut *connection, older_than, rows).await
                }
                Step::Videos => {
                    retention::delete_unreferenced_videos_batch(&mut *connection, older_than, rows)
                        .await
                }
                Step::Comments => {
                    tokworks_shared::db::comments::delete_unreferenced_comments_batch(
                        &mut *connection,
                        older_than,
                        rows,
                    )
                    .await
                }
                Step::Thumbnails => {
                    retention::delete_thumbnails_batch(&mut *connection, older_than, rows).await
                }
                Step::RawItems => {
                    retention::clear_raw_items_batch(&mut *connection, older_than, rows).await
                }
            }?;
            total += deleted;
            if deleted < u64::try_from(rows).unwrap_or(u64::MAX) {
                return Ok(total);
            }
        }
        report.more_left = true;
        Ok(total)
    }
}

/// The batch kinds after job expiry.
#[derive(Debug, Clone, Copy)]
enum Step {
    Tombstones,
    FeedWalks,
    Videos,
    Comments,
    Thumbnails,
    RawItems,
}
