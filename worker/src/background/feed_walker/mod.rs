//! Feed walks (trending, hashtag, user, search, sound): a background loop in every worker process claims due
//! walks from Postgres (`FOR UPDATE SKIP LOCKED`, fencing `claim_id`, a lease renewed while
//! walking; woken by `NOTIFY tokworks_feed_walk_ready` and a short poll), walks the feed with the
//! TikTok web client, maps every `itemStruct` with the single-video mapper, downloads the covers
//! while later pages load, and ends the walk in one transaction: videos, thumbnails, the walk's
//! result (with a sound walk's sound) and every attached job's items, counters, status, webhook
//! outbox and NOTIFY.

mod comments_walk;
mod walk;

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokworks_shared::ids::{ClaimId, WalkId};

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokworks_shared::db::FEED_WALK_READY_CHANNEL;
use tokworks_shared::db::feed_walks::WalkStatus;
use tokworks_shared::db::feed_walks::claims::{
    self as walk_claims, ClaimedWalk, WalkClaimError, WalkEnd,
};
use tokworks_shared::db::feed_walks::materialise::MaterialisedJob;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::job_status::JobKind;
use tracing::Instrument;

use crate::extractor::ThumbnailBytes;
use crate::tiktok_web::TiktokWebClient;
use tokworks_shared::db::feed_walks::sounds as walk_sounds;
use tokworks_shared::sound::SoundInfo;
use walk::{WalkResult, WalkedVideo, stop_error_code, store_videos};

/// How long a stopping worker lets its walks in flight finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Failures of the runner's own machinery (the walk's upstream failures end the walk instead).
#[derive(Debug, thiserror::Error)]
pub enum FeedWalkError {
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot serialise a video: {0}")]
    Serialise(#[from] serde_json::Error),
}

/// How the runner works (from the worker's settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedWalkSettings {
    /// Walks run at once by this process (FEED_WALK_CONCURRENCY).
    pub concurrency: usize,
    /// Lease of a claimed walk, renewed every third of it while the walk runs.
    pub lease: Duration,
    /// Cover downloads at once per walk.
    pub cover_concurrency: usize,
    /// Delays before retrying a walk that failed retryably with no video, by attempt.
    pub retry_delays: Vec<Duration>,
    /// Longest honoured `Retry-After`.
    pub max_retry_after: Duration,
    /// Longest sleep between claim rounds without a NOTIFY.
    pub poll_interval: Duration,
}

impl Default for FeedWalkSettings {
    fn default() -> Self {
        FeedWalkSettings {
            concurrency: 2,
            lease: Duration::from_secs(10),
            // A default-size feed's covers in one round trip: the walk's critical path is
            // bootstrap + pages + one cover round (the 1.5 s budget for 30 trending videos at
            // 300 ms per request).
            cover_concurrency: 30,
            retry_delays: [2, 8, 30, 60]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            max_retry_after: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// What one walk attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkOutcome {
    /// The walk ended with `status`; `jobs` attached jobs were served.
    Finished {
        status: WalkStatus,
        videos: usize,
        jobs: usize,
    },
    RetryScheduled {
        error_code: ErrorCode,
        retry_after: Duration,
    },
    /// Another worker took the walk over while this one walked; nothing was written.
    LostClaim,
}

/// The feed walker of one worker process.
#[derive(Debug, Clone)]
pub struct FeedWalkRunner {
    pub pool: PgPool,
    pub client: Arc<TiktokWebClient>,
    pub worker_name: String,
    pub settings: Arc<FeedWalkSettings>,
}

impl FeedWalkRunner {
    /// Runs until `shutdown` turns true (walks in flight finish first).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => match listener.listen(FEED_WALK_READY_CHANNEL).await {
                Ok(()) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "cannot LISTEN for feed walks; polling only");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for feed walks; polling only");
                None
            }
        };
        let mut running: JoinSet<()> = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.repair_orphans().await;
            let free = self.settings.concurrency.saturating_sub(running.len());
            if free > 0 {
                for walk in self.claim(free).await {
                    let runner = self.clone();
                    let span = walk_span(&walk);
                    running.spawn(
                        async move {
                            runner.log_outcome(&walk, runner.run_claimed(&walk).await);
                        }
                        .instrument(span),
                    );
                }
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                notified = wait_for_notification(listener.as_mut()) => {
                    if let Err(error) = notified {
                        tracing::warn!(%error, "feed walk LISTEN connection failed; reconnecting");
                    }
                }
            }
        }
        // Walks in flight get a short grace; the rest are dropped (nothing of theirs is written:
        // a walk ends in one transaction) and re-claimed by another worker when the lease expires.
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                walks = running.len(),
                "stopping with feed walks in flight; their leases will expire"
            );
            running.shutdown().await;
        }
    }

    /// One claim round run to the end (for tests and tools): returns the outcomes.
    pub async fn run_due_walks(&self) -> Vec<Result<WalkOutcome, FeedWalkError>> {
        let mut outcomes = Vec::new();
        for walk in self.claim(self.settings.concurrency.max(1)).await {
            outcomes.push(self.run_claimed(&walk).instrument(walk_span(&walk)).await);
        }
        outcomes
    }

    async fn claim(&self, limit: usize) -> Vec<ClaimedWalk> {
        let limit = i64::try_from(limit).unwrap_or(1);
        match walk_claims::claim_due_walks(
            &self.pool,
            &self.worker_name,
            self.settings.lease,
            limit,
        )
        .await
        {
            Ok(walks) => walks,
            Err(error) => {
                tracing::warn!(%error, "cannot claim feed walks");
                Vec::new()
            }
        }
    }

    async fn repair_orphans(&self) {
        match walk_claims::repair_orphaned_feed_jobs(&self.pool).await {
            Ok(jobs) => {
                if !jobs.is_empty() {
                    tracing::warn!(
                        jobs = jobs.len(),
                        "served feed jobs left open on a finished walk"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot look for open feed jobs of finished walks")
            }
        }
    }

    fn log_outcome(&self, walk: &ClaimedWalk, outcome: Result<WalkOutcome, FeedWalkError>) {
        match outcome {
            Ok(outcome) => {
                tracing::info!(walk_id = %walk.walk_id, feed_key = walk.feed_key, attempt = walk.attempt, ?outcome, "feed walk done");
            }
            Err(error) => {
                tracing::error!(walk_id = %walk.walk_id, %error, "feed walk failed; its lease will expire and it runs again");
            }
        }
    }

    /// Walks a claimed feed and ends the attempt (lease renewed meanwhile).
    pub async fn run_claimed(&self, walk: &ClaimedWalk) -> Result<WalkOutcome, FeedWalkError> {
        if walk.took_over_expired_lease {
            tracing::warn!(walk_id = %walk.walk_id, attempt = walk.attempt, "took over a feed walk whose lease expired");
            if walk.attempt > walk.max_attempts {
                tracing::error!(walk_id = %walk.walk_id, "the feed walk's last attempt lost its worker; failing it instead of walking again");
                return self.fail_walk_that_lost_its_worker(walk).await;
            }
        }
        // Aborted when this future ends in any way — returns, panics or is dropped at shutdown —
        // so a walk nobody works on any more is never kept alive by its renewal.
        let _renewal = AbortOnDrop(tokio::spawn(renew_lease(
            self.pool.clone(),
            walk.walk_id,
            walk.claim_id,
            self.settings.lease,
        )));
        self.walk_and_end(walk).await
    }

    async fn walk_and_end(&self, walk: &ClaimedWalk) -> Result<WalkOutcome, FeedWalkError> {
        if walk.kind == JobKind::Comments {
            return self.walk_comments_and_end(walk).await;
        }
        let started = Instant::now();
        let count = usize::try_from(walk.requested_count).unwrap_or(1);
        let target = walk.target.clone().unwrap_or_default();
        let walker = match walk.kind {
            JobKind::Hashtag => self.client.hashtag_walker(&target, count),
            JobKind::User => self.client.user_walker(&target, count),
            JobKind::Search => self.client.search_walker(&target, count),
            JobKind::Sound => self.client.sound_walker(&target, count),
            _ => self.client.trending_walker(count),
        };
        let WalkResult {
            videos,
            thumbnails,
            stopped,
            pages: pages_fetched,
            sound,
        } = self.walk_with_covers(walker).await;
        let video_ids: Vec<String> = videos.iter().map(|video| video.video_id.clone()).collect();
        let found_nothing = video_ids.is_empty();
        let end = self.end_of(
            walk,
            video_ids,
            found_nothing,
            &stopped,
            pages_fetched,
            started.elapsed(),
        );
        let Some(jobs) = self
            .write_end(walk, &end, &videos, &thumbnails, sound.as_ref())
            .await?
        else {
            return Ok(WalkOutcome::LostClaim);
        };
        Ok(match end {
            WalkEnd::Finished { status, .. } => WalkOutcome::Finished {
                status,
                videos: videos.len(),
                jobs: jobs.len(),
            },
            WalkEnd::Retry { retry_after, .. } => WalkOutcome::RetryScheduled {
                error_code: stop_error_code(&stopped).unwrap_or(ErrorCode::Internal),
                retry_after,
            },
        })
    }

    /// Ends a walk taken over after its last attempt: the worker walking it was lost (killed,
    /// crashed) on every attempt, so it fails with `INTERNAL` instead of taking down worker after
    /// worker without end.
    async fn fail_walk_that_lost_its_worker(
        &self,
        walk: &ClaimedWalk,
    ) -> Result<WalkOutcome, FeedWalkError> {
        let end = WalkEnd::Finished {
            status: WalkStatus::Failed,
            video_ids: Vec::new(),
            stop_code: ErrorCode::Internal.as_str().to_owned(),
            stop_message: Some(format!(
                "the worker walking attempt {} of {} stopped before ending it (killed or crashed); \
                 not walked again",
                walk.attempt - 1,
                walk.max_attempts
            )),
            pages_fetched: 0,
            walk_duration: Duration::ZERO,
        };
        let Some(jobs) = self.write_end(walk, &end, &[], &[], None).await? else {
            return Ok(WalkOutcome::LostClaim);
        };
        Ok(WalkOutcome::Finished {
            status: WalkStatus::Failed,
            videos: 0,
            jobs: jobs.len(),
        })
    }

    /// Writes the attempt's end (and, when finished, its videos) in one transaction guarded by
    /// the claim (enrichment items the served jobs asked for are left to the dispatcher). `None` when the claim
    /// was lost (nothing written).
    async fn write_end(
        &self,
        walk: &ClaimedWalk,
        end: &WalkEnd,
        videos: &[WalkedVideo],
        thumbnails: &[(String, ThumbnailBytes)],
        sound: Option<&SoundInfo>,
    ) -> Result<Option<Vec<MaterialisedJob>>, FeedWalkError> {
        let mut transaction = self.pool.begin().await?;
        if matches!(end, WalkEnd::Finished { .. }) {
            store_videos(&mut transaction, videos, thumbnails).await?;
        }
        // Guarded by the claim like the end itself (which reports a lost claim below); a retry
        // stores nothing: its next attempt reads the sound again.
        if let (Some(sound), WalkEnd::Finished { .. }) = (sound, end) {
            walk_sounds::store_walk_sound(&mut transaction, walk.walk_id, walk.claim_id, sound)
                .await?;
        }
        let jobs = match walk_claims::end_walk(&mut transaction, walk, end).await {
            Ok(jobs) => jobs,
            Err(WalkClaimError::LostClaim { .. }) => {
                transaction.rollback().await?;
                tracing::warn!(walk_id = %walk.walk_id, "lost the feed walk's claim; discarded its result");
                return Ok(None);
            }
            Err(WalkClaimError::Database(error)) => return Err(error.into()),
        };
        transaction.commit().await?;
        Ok(Some(jobs))
    }
}

/// A spawned task aborted when this handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews the walk's lease every third of it until aborted or the claim is lost.
/// The span of one walk: every line logged while it runs carries the walk's id and feed.
fn walk_span(walk: &ClaimedWalk) -> tracing::Span {
    tracing::info_span!("feed_walk", walk_id = %walk.walk_id, feed_key = %walk.feed_key, attempt = walk.attempt)
}

async fn renew_lease(pool: PgPool, walk_id: WalkId, claim_id: ClaimId, lease: Duration) {
    let mut interval = tokio::time::interval(lease / 3);
    interval.tick().await;
    loop {
        interval.tick().await;
        match walk_claims::renew_walk_lease(&pool, walk_id, claim_id, lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(%walk_id, "the feed walk's claim is gone; stopping lease renewal");
                return;
            }
            Err(error) => tracing::warn!(%walk_id, %error, "cannot renew the feed walk's lease"),
        }
    }
}

async fn wait_for_notification(listener: Option<&mut PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}
