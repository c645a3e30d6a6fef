//! Behaviour and fault knobs of the simulated vision API, and the shared countdowns behind the
//! "next N requests" faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A "next N requests" counter that [`OpenAiKnobs`] can decrement through a shared reference.
///
/// Clones share the same counter (it is an `Arc<AtomicU64>`), so a front door that clones the
/// knobs before calling [`super::handle`] still consumes the faults it injects. It serialises as
/// the number still to come, and deserialises from a plain non-negative integer.
#[derive(Debug, Clone, Default)]
pub struct Countdown(Arc<AtomicU64>);

impl Countdown {
    /// A countdown that fires for the next `remaining` requests.
    pub fn new(remaining: u64) -> Self {
        Countdown(Arc::new(AtomicU64::new(remaining)))
    }

    /// How many requests are still to be affected.
    pub fn remaining(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Sets the number of requests still to be affected.
    pub fn set(&self, remaining: u64) {
        self.0.store(remaining, Ordering::SeqCst);
    }

    /// Consumes one request if any remain: `true` means "inject the fault now".
    pub fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

impl Serialize for Countdown {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.remaining())
    }
}

impl<'de> Deserialize<'de> for Countdown {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Countdown::new)
    }
}

/// Fault and behaviour knobs of the vision endpoint (`GET/PUT /_sim/openai/knobs`).
///
/// Every field has a default (`#[serde(default)]`), so a `PUT` may send only the knobs it
/// changes. Faults are deterministic: a countdown affects exactly the next N chat completions that
/// passed authentication and request validation (invalid requests get their 4xx and consume
/// nothing), checked in this order: `rate_limit_next`, `server_error_next`, `refusal_next`,
/// `malformed_json_next`, `schema_violation_next`. `GET /v1/models` consumes nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenAiKnobs {
    /// Accepted bearer key; `None` accepts any non-empty key. A missing, empty or different key
    /// gets `401` with code `invalid_api_key`.
    pub api_key: Option<String>,
    /// Delay before every `/v1/...` answer, in milliseconds. [`super::handle`] is synchronous and
    /// never sleeps: the front door waits [`latency_for`] before sending the response.
    pub latency_ms: u64,
    /// The next N chat completions get `429` with `Retry-After: retry_after_secs` and OpenAI's
    /// `rate_limit_exceeded` error body.
    pub rate_limit_next: Countdown,
    /// Seconds announced in `Retry-After` (and `retry-after-ms`) of a simulated `429`.
    pub retry_after_secs: u64,
    /// The next N chat completions get `server_error_status` with OpenAI's `server_error` body.
    pub server_error_next: Countdown,
    /// Status of a simulated server error: 500, 502, 503 or 504 (anything else means 500).
    pub server_error_status: u16,
    /// The next N chat completions answer `200` whose `message.content` is not JSON (a truncated
    /// object, a fenced block with prose, or plain prose).
    pub malformed_json_next: Countdown,
    /// The next N chat completions answer `200` whose content is JSON that violates the analysis
    /// schema (an enum value outside the list, a missing or extra field, a number out of range, a
    /// wrong type).
    pub schema_violation_next: Countdown,
    /// The next N chat completions answer `200` with a structured-output refusal:
    /// `message.content: null` and `message.refusal` set, as strict mode does.
    pub refusal_next: Countdown,
    /// When true (default), a `response_format.json_schema` without `"strict": true` gets `400`:
    /// tokworks always asks for strict structured output.
    pub require_strict: bool,
    /// When true, a `model` not listed by `GET /v1/models` gets `404 model_not_found`.
    /// Default false: any model name is answered.
    pub reject_unknown_models: bool,
}

impl Default for OpenAiKnobs {
    fn default() -> Self {
        OpenAiKnobs {
            api_key: None,
            latency_ms: 0,
            rate_limit_next: Countdown::default(),
            retry_after_secs: 1,
            server_error_next: Countdown::default(),
            server_error_status: 500,
            malformed_json_next: Countdown::default(),
            schema_violation_next: Countdown::default(),
            refusal_next: Countdown::default(),
            require_strict: true,
            reject_unknown_models: false,
        }
    }
}

/// How long the front door waits before sending any `/v1/...` answer.
pub fn latency_for(knobs: &OpenAiKnobs) -> Duration {
    Duration::from_millis(knobs.latency_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_takes_exactly_n_and_clones_share_it() {
        let countdown = Countdown::new(2);
        let clone = countdown.clone();
        assert!(countdown.take());
        assert!(clone.take());
        assert!(!countdown.take());
        assert_eq!(clone.remaining(), 0);
    }

    #[test]
    fn knobs_round_trip_through_json_with_defaults() {
        let knobs: OpenAiKnobs =
            serde_json::from_str(r#"{"rate_limit_next":3,"latency_ms":25}"#).unwrap();
        assert_eq!(knobs.rate_limit_next.remaining(), 3);
        assert_eq!(knobs.retry_after_secs, 1);
        assert!(knobs.require_strict);
        assert_eq!(latency_for(&knobs), Duration::from_millis(25));
        let value = serde_json::to_value(&knobs).unwrap();
        assert_eq!(value["rate_limit_next"], 3);
        assert_eq!(value["api_key"], serde_json::Value::Null);
    }
}
