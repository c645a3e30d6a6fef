//! Queue payloads: the wire format the api enqueues and the worker consumes (versioned, ids only).

use serde::{Deserialize, Serialize};

use crate::ids::{ItemId, JobId};

/// Current version of [`ExtractItemTask`]. Bump it (and keep reading the old one) on any change.
pub const EXTRACT_ITEM_TASK_VERSION: u32 = 1;

/// "Extract the item `item_id` of job `job_id`". Carries ids only: Postgres holds the data,
/// so a task that runs twice or late reads the current truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractItemTask {
    /// Payload version, [`EXTRACT_ITEM_TASK_VERSION`].
    pub v: u32,
    pub job_id: JobId,
    pub item_id: ItemId,
}

impl ExtractItemTask {
    pub fn new(job_id: JobId, item_id: ItemId) -> Self {
        ExtractItemTask {
            v: EXTRACT_ITEM_TASK_VERSION,
            job_id,
            item_id,
        }
    }
}
