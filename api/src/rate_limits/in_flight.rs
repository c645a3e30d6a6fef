//! Items in flight per key (queued + running items of its unfinished jobs): Postgres' count,
//! read at most once per [`REFRESH_EVERY`] per key and process, plus what this process admitted
//! since (docs/rate-limits.md "Items in flight").

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokworks_shared::ids::ApiKeyId;

use sqlx::PgPool;
use tokio::sync::Mutex;
use tokworks_shared::db::api_keys;

/// How old a key's count may be before a submit reads it again.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// Keys whose counts are kept (beyond it the least used are read again).
const CAPACITY: u64 = 100_000;
/// A key not seen for this long is forgotten.
const IDLE: Duration = Duration::from_secs(60);

/// One key's count: Postgres' figure when read, and items admitted here since.
#[derive(Debug)]
struct KeyCount {
    read_at: Option<Instant>,
    counted: i64,
    admitted_since: i64,
}

/// Items in flight of every key this process saw recently.
#[derive(Clone)]
pub struct InFlightCounts {
    keys: moka::sync::Cache<ApiKeyId, Arc<Mutex<KeyCount>>>,
}

impl std::fmt::Debug for InFlightCounts {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("InFlightCounts")
            .finish_non_exhaustive()
    }
}

impl Default for InFlightCounts {
    fn default() -> Self {
        InFlightCounts {
            keys: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_idle(IDLE)
                .build(),
        }
    }
}

/// A submit that would take the key past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverInFlightLimit {
    pub in_flight: i64,
}

/// Items reserved by an admitted submit; [`InFlightCounts::release`] gives them back when the
/// submit is refused after all (by the Redis limits).
#[derive(Debug)]
pub struct Reservation {
    entry: Arc<Mutex<KeyCount>>,
    items: i64,
}

impl InFlightCounts {
    /// Reserves `items` for the key when its count plus them stays within `max`. The count is
    /// read from Postgres when older than [`REFRESH_EVERY`] (concurrent submits of the key wait
    /// for that one read); a failed read keeps the last figure (fail open, logged).
    pub async fn reserve(
        &self,
        db: &PgPool,
        api_key_id: ApiKeyId,
        items: i64,
        max: i64,
    ) -> Result<Reservation, OverInFlightLimit> {
        let entry = self.keys.get_with(api_key_id, || {
            Arc::new(Mutex::new(KeyCount {
                read_at: None,
                counted: 0,
                admitted_since: 0,
            }))
        });
        let mut count = entry.lock().await;
        if count
            .read_at
            .is_none_or(|read_at| read_at.elapsed() >= REFRESH_EVERY)
        {
            match api_keys::count_items_in_flight(db, api_key_id).await {
                Ok(counted) => {
                    count.counted = counted;
                    count.admitted_since = 0;
                }
                Err(error) => {
                    tracing::warn!(%api_key_id, %error, "cannot count the key's items in flight; using the last count");
                }
            }
            count.read_at = Some(Instant::now());
        }
        let in_flight = count.counted + count.admitted_since;
        if in_flight + items > max {
            return Err(OverInFlightLimit { in_flight });
        }
        count.admitted_since += items;
        drop(count);
        Ok(Reservation {
            entry: entry.clone(),
            items,
        })
    }

    /// Gives back a reservation of a submit that was refused after all.
    pub async fn release(&self, reservation: Reservation) {
        reservation.entry.lock().await.admitted_since -= reservation.items;
    }
}
