//! One database poll per watched job, however many event streams watch it: a per-process
//! registry of job feeds. The first stream of a job starts a poller task that reads the job,
//! the settled horizon and the items that ended, and publishes a snapshot through a `watch`
//! channel; every stream of the job renders its own events (its own cursor) from the snapshots.
//! The poller stops when the last stream leaves, when the job is gone, or when a read fails.
//!
//! A snapshot holds every ended item of the job read so far (from the first, in the
//! `(finished_at, item_id)` order), so a stream that resumes with `Last-Event-ID` finds its
//! place by binary search; the poller reads only the items after the last one it holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokworks_shared::ids::{ApiKeyId, JobId};

use chrono::{DateTime, Utc};
use metrics::gauge;
use tokio::sync::watch;
use tokworks_shared::db::job_events::{self as job_event_db, EndedItemCursor, EndedItemRow};
use tokworks_shared::db::jobs::{self as job_db, JobRow};

use crate::jobs::lookup::job_response;
use crate::problem::ApiError;
use crate::state::AppState;

/// Gauge: job feed pollers running (one per job watched by at least one event stream).
pub const EVENT_FEED_POLLERS: &str = "tokworks_event_feed_pollers";

/// Longest time an item-ending transaction may stay open and still be streamed in order (see
/// `shared::db::job_events::settled_horizon`).
const MAX_COMMIT_LAG: Duration = Duration::from_secs(10);
/// Most item rows read in one query (the poller reads pages until a short one).
const ITEM_PAGE: i64 = 500;

/// What a job's poller has published.
#[derive(Debug, Clone)]
pub enum FeedState {
    /// Nothing read yet.
    Pending,
    /// The latest read.
    Ready(Arc<JobSnapshot>),
    /// The job is gone (or no longer the key's): streams close without an event.
    Gone,
    /// A read failed: streams close, and clients resume with `Last-Event-ID`.
    Failed,
}

/// One read of a job: its row, and every item that ended before the settled horizon.
#[derive(Debug)]
pub struct JobSnapshot {
    pub row: JobRow,
    /// Every ended item read so far, in `(finished_at, item_id)` order.
    pub items: Arc<Vec<EndedItemRow>>,
    /// The final job view (JSON), once the job has finished and every item that ended before
    /// it has been read: streams send `end` with it.
    pub end: Option<Arc<str>>,
}

impl JobSnapshot {
    /// The items after `cursor` (all when `None`).
    pub fn items_after(&self, cursor: Option<EndedItemCursor>) -> &[EndedItemRow] {
        let Some(cursor) = cursor else {
            return &self.items;
        };
        let start = self.items.partition_point(|item| {
            (item.finished_at, item.item_id) <= (cursor.finished_at, cursor.item_id)
        });
        &self.items[start..]
    }
}

/// Identifies a feed: the job and the key that reads it.
type FeedKey = (JobId, ApiKeyId);

/// The registry of running pollers (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct JobEventFeeds {
    feeds: Arc<Mutex<HashMap<FeedKey, watch::Sender<FeedState>>>>,
}

impl JobEventFeeds {
    fn lock(&self) -> MutexGuard<'_, HashMap<FeedKey, watch::Sender<FeedState>>> {
        // The map holds no invariant a panic could break half-way: keep using it.
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches `job_id` as read by `api_key_id` (the caller has checked that it is the key's
    /// job); starts the job's poller if none runs. Drop the receiver to stop watching.
    pub fn watch(
        &self,
        state: &AppState,
        job_id: JobId,
        api_key_id: ApiKeyId,
    ) -> watch::Receiver<FeedState> {
        let mut feeds = self.lock();
        if let Some(sender) = feeds.get(&(job_id, api_key_id)) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(FeedState::Pending);
        feeds.insert((job_id, api_key_id), sender.clone());
        drop(feeds);
        let poller = Poller {
            state: state.clone(),
            key: (job_id, api_key_id),
            sender,
            cursor: None,
            items: Arc::new(Vec::new()),
        };
        tokio::spawn(poller.run());
        receiver
    }

    /// Jobs with a running poller.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// No poller runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the feed when nobody watches it (checked under the lock, under which streams
    /// subscribe); `true` when removed.
    fn remove_if_unwatched(&self, key: FeedKey, sender: &watch::Sender<FeedState>) -> bool {
        let mut feeds = self.lock();
        if sender.receiver_count() > 0 {
            return false;
        }
        if feeds
            .get(&key)
            .is_some_and(|found| found.same_channel(sender))
        {
            feeds.remove(&key);
        }
        true
    }

    fn remove(&self, key: FeedKey, sender: &watch::Sender<FeedState>) {
        let mut feeds = self.lock();
        if feeds
            .get(&key)
            .is_some_and(|found| found.same_channel(sender))
        {
            feeds.remove(&key);
        }
    }
}

/// The task that reads one job for all its streams.
struct Poller {
    state: AppState,
    key: FeedKey,
    sender: watch::Sender<FeedState>,
    /// The last item read.
    cursor: Option<EndedItemCursor>,
    items: Arc<Vec<EndedItemRow>>,
}

impl Poller {
    async fn run(mut self) {
        let metrics = self.state.metrics.clone();
        metrics.with_recorder(|| gauge!(EVENT_FEED_POLLERS).increment(1.0));
        let (job_id, _) = self.key;
        // Subscribed before the first read, so that a NOTIFY between a read and the wait counts.
        let mut job_finished = self.state.waiters.subscribe(job_id);
        let poll_interval = self.state.settings.events_and_metrics.events_poll_interval;
        let feeds = self.state.feeds.clone();
        let mut settled = false;
        loop {
            if !settled {
                match self.read().await {
                    Ok(Some(snapshot)) => {
                        settled = snapshot.end.is_some();
                        self.publish(snapshot);
                    }
                    Ok(None) => {
                        feeds.remove(self.key, &self.sender);
                        self.sender.send_replace(FeedState::Gone);
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(%job_id, %error, "job event feed stopped: read failed");
                        feeds.remove(self.key, &self.sender);
                        self.sender.send_replace(FeedState::Failed);
                        break;
                    }
                }
            }
            tokio::select! {
                () = self.sender.closed() => {
                    if feeds.remove_if_unwatched(self.key, &self.sender) {
                        break;
                    }
                }
                () = job_finished.changed(), if !settled => {}
                () = tokio::time::sleep(poll_interval), if !settled => {}
            }
        }
        metrics.with_recorder(|| gauge!(EVENT_FEED_POLLERS).decrement(1.0));
    }

    /// Publishes `snapshot` when a stream could see a difference (the status or a counter, a
    /// new item, the end), so that streams do not wake for nothing.
    fn publish(&self, snapshot: JobSnapshot) {
        self.sender.send_if_modified(|current| {
            let modified = match current {
                FeedState::Ready(previous) => {
                    previous.items.len() != snapshot.items.len()
                        || previous.end.is_some() != snapshot.end.is_some()
                        || previous.row.status != snapshot.row.status
                        || counts(&previous.row) != counts(&snapshot.row)
                }
                _ => true,
            };
            if modified {
                *current = FeedState::Ready(Arc::new(snapshot));
            }
            modified
        });
    }

    /// Reads the job and the items that ended since the last read; `None` when the job is gone.
    async fn read(&mut self) -> Result<Option<JobSnapshot>, ApiError> {
        let (job_id, api_key_id) = self.key;
        let db = &self.state.db;
        let Some(row) = job_db::find_job_for_key(db, job_id, api_key_id).await? else {
            return Ok(None);
        };
        let horizon = job_event_db::settled_horizon(db, MAX_COMMIT_LAG).await?;
        loop {
            let page =
                job_event_db::list_ended_items(db, job_id, self.cursor, horizon, ITEM_PAGE).await?;
            let short = (page.len() as i64) < ITEM_PAGE;
            if let Some(last) = page.last() {
                self.cursor = Some(last.cursor());
                Arc::make_mut(&mut self.items).extend(page);
            }
            if short {
                break;
            }
        }
        let end = match settled_end(&row, horizon) {
            true => {
                let view = job_response(&self.state, &row).await?;
                Some(Arc::from(
                    serde_json::to_string(&view).unwrap_or_else(|_| "null".to_owned()),
                ))
            }
            false => None,
        };
        Ok(Some(JobSnapshot {
            row,
            items: Arc::clone(&self.items),
            end,
        }))
    }
}

/// Every item that ended before the job finished has been read once the horizon passed the
/// job's end.
fn settled_end(row: &JobRow, horizon: DateTime<Utc>) -> bool {
    row.is_finished()
        && row
            .finished_at
            .is_some_and(|finished_at| finished_at < horizon)
}

fn counts(row: &JobRow) -> [i32; 5] {
    let counts = crate::jobs::view::JobSummaryResponse::from_row(row).counts;
    [
        counts.total,
        counts.succeeded,
        counts.failed,
        counts.canceled,
        counts.pending,
    ]
}
