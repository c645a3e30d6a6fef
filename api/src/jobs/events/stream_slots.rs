//! Caps on open job event streams, per API key and in all, per api process
//! (EVENTS_MAX_STREAMS_PER_KEY, EVENTS_MAX_STREAMS). A stream holds a [`StreamSlot`] for its
//! whole life; dropping it (the stream ended, the client went away, the request failed) frees it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokworks_shared::ids::ApiKeyId;

/// Which cap a new stream would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamCapReached {
    #[error("this API key already has {limit} event streams open")]
    PerKey { limit: usize },
    #[error("this api instance already has {limit} event streams open")]
    Total { limit: usize },
}

#[derive(Debug, Default)]
struct OpenStreams {
    total: usize,
    per_key: HashMap<ApiKeyId, usize>,
}

/// The open streams of this process and their caps (cheap to clone).
#[derive(Debug, Clone)]
pub struct StreamSlots {
    max_total: usize,
    max_per_key: usize,
    open: Arc<Mutex<OpenStreams>>,
}

impl StreamSlots {
    pub fn new(max_total: usize, max_per_key: usize) -> Self {
        StreamSlots {
            max_total,
            max_per_key,
            open: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, OpenStreams> {
        // Counts are updated in one step under the lock: nothing half-done to recover from.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for a stream of `api_key_id`, or says which cap is reached.
    pub fn try_acquire(&self, api_key_id: ApiKeyId) -> Result<StreamSlot, StreamCapReached> {
        let mut open = self.lock();
        let of_key = open.per_key.get(&api_key_id).copied().unwrap_or(0);
        if of_key >= self.max_per_key {
            return Err(StreamCapReached::PerKey {
                limit: self.max_per_key,
            });
        }
        if open.total >= self.max_total {
            return Err(StreamCapReached::Total {
                limit: self.max_total,
            });
        }
        open.total += 1;
        *open.per_key.entry(api_key_id).or_insert(0) += 1;
        Ok(StreamSlot {
            slots: self.clone(),
            api_key_id,
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }
}

/// One open stream's slot; freed on drop.
#[derive(Debug)]
pub struct StreamSlot {
    slots: StreamSlots,
    api_key_id: ApiKeyId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_key.get_mut(&self.api_key_id) {
            *count -= 1;
            if *count == 0 {
                open.per_key.remove(&self.api_key_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_key_and_in_all_and_slots_are_freed_on_drop() {
        let slots = StreamSlots::new(3, 2);
        let (first_key, second_key) = (ApiKeyId::new_v7(), ApiKeyId::new_v7());
        let a = slots.try_acquire(first_key).unwrap();
        let _b = slots.try_acquire(first_key).unwrap();
        assert_eq!(
            slots.try_acquire(first_key).unwrap_err(),
            StreamCapReached::PerKey { limit: 2 }
        );
        let _c = slots.try_acquire(second_key).unwrap();
        assert_eq!(
            slots.try_acquire(second_key).unwrap_err(),
            StreamCapReached::Total { limit: 3 }
        );
        drop(a);
        assert_eq!(slots.open(), 2);
        let _d = slots.try_acquire(first_key).unwrap();
    }
}
