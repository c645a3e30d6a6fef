//! The bounded request log behind `GET /_sim/requests`: one entry per answered (or faulted)
//! request, numbered by a sequence that `POST /_sim/reset` does not rewind.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

use crate::server::client_hello::TlsFingerprint;

/// One request as it went over the wire.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// 1, 2, 3, … in arrival order of answers; never reused, even after a reset.
    pub seq: u64,
    /// When the request arrived (its head was read), in Unix milliseconds.
    pub received_at_ms: i64,
    pub method: String,
    /// `http` (plain proxied, direct) or `https` (inside a CONNECT tunnel).
    pub scheme: &'static str,
    pub host: String,
    /// Path as received (percent-encoded); for CONNECT, the `host:port` target.
    pub path: String,
    pub query: Option<String>,
    /// `null` when no status line was sent (reset, hang).
    pub status: Option<u16>,
    /// Body bytes sent (headers excluded; half the body for `truncate`, 0 for HEAD).
    pub bytes: u64,
    pub duration_ms: f64,
    /// Route family, as in `GET /_sim/counters` (`page`, `short_link`, `api/post/item_list`, …).
    pub route: String,
    pub user_agent: String,
    pub referer: Option<String>,
    pub cookie_names: Vec<String>,
    pub range: Option<String>,
    /// Fault kind applied (`http_429`, `challenge`, …), `challenge_solved` when the solved cookie
    /// let the request through, else `null`.
    pub fault: Option<String>,
    /// The TLS ClientHello of the tunnel the request came through (`null` in clear).
    pub tls: Option<TlsFingerprint>,
}

/// Filters of `GET /_sim/requests`.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    pub method: Option<String>,
    pub status: Option<u16>,
    /// Only entries with `seq > since`.
    pub since: u64,
    pub limit: usize,
}

#[derive(Debug)]
struct LogState {
    entries: VecDeque<LogEntry>,
    next_seq: u64,
    dropped: u64,
}

/// Ring buffer of the last `capacity` entries.
#[derive(Debug)]
pub struct RequestLog {
    capacity: usize,
    state: Mutex<LogState>,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        RequestLog {
            capacity: capacity.max(1),
            state: Mutex::new(LogState {
                entries: VecDeque::new(),
                next_seq: 1,
                dropped: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores an entry (its `seq` is assigned here) and returns the stored copy's sequence number.
    pub fn push(&self, mut entry: LogEntry) -> u64 {
        let mut state = self.lock();
        entry.seq = state.next_seq;
        state.next_seq += 1;
        if state.entries.len() == self.capacity {
            state.entries.pop_front();
            state.dropped += 1;
        }
        let seq = entry.seq;
        state.entries.push_back(entry);
        seq
    }

    /// Matching entries in order, at most `filter.limit`, plus the last assigned sequence number.
    pub fn query(&self, filter: &LogFilter) -> (Vec<LogEntry>, u64) {
        let state = self.lock();
        let last_seq = state.next_seq - 1;
        let entries = state
            .entries
            .iter()
            .filter(|entry| entry.seq > filter.since)
            .filter(|entry| {
                filter
                    .host
                    .as_ref()
                    .is_none_or(|host| entry.host.eq_ignore_ascii_case(host))
            })
            .filter(|entry| {
                filter
                    .path_prefix
                    .as_ref()
                    .is_none_or(|prefix| entry.path.starts_with(prefix.as_str()))
            })
            .filter(|entry| {
                filter
                    .method
                    .as_ref()
                    .is_none_or(|method| entry.method.eq_ignore_ascii_case(method))
            })
            .filter(|entry| {
                filter
                    .status
                    .is_none_or(|status| entry.status == Some(status))
            })
            .take(filter.limit)
            .cloned()
            .collect();
        (entries, last_seq)
    }

    /// Forgets every entry (sequence numbers keep counting up).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.dropped = 0;
    }

    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}
