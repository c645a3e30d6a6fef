//! Per-key limits (docs/rate-limits.md): requests per second and URLs per minute shared by every
//! api instance through Redis (`gcra`), items in flight per key (`in_flight`), the middleware
//! that applies them to every authenticated route, and the RateLimit headers.

pub mod documented;
pub mod gcra;
pub mod in_flight;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Serialize;
use tokworks_shared::db::api_keys::KeyLimitColumns;

use crate::auth::ApiKey;
use crate::problem::ApiError;
use crate::state::AppState;
use gcra::{Charge, ChargeOutcome, RedisBudget};
use in_flight::InFlightCounts;

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-10): the key's quotas.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (same draft): what is left of each quota and when it is whole again.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// Counter: requests served without a limit check because Redis failed (fail open).
pub const RATE_LIMIT_FAIL_OPEN_TOTAL: &str = "tokworks_rate_limit_fail_open_total";

/// Routes no key is needed for: not limited per key.
const PUBLIC_ROUTES: [&str; 10] = [
    "/healthz",
    "/readyz",
    "/health",
    "/stats",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/",
    "/supported-platforms",
    "/docs/ui/",
];

/// Routes whose handler charges the request together with the URLs it submits
/// ([`admit_submission`]), so a submit costs one Redis round trip.
const SUBMIT_ROUTES: [(Method, &str); 5] = [
    (Method::POST, "/v1/jobs"),
    (Method::POST, "/extract"),
    (Method::POST, "/extract/batch"),
    (Method::GET, "/trending"),
    (Method::GET, "/category"),
];

/// The limits of one key, its own or the api's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyLimits {
    pub requests_per_second: u32,
    /// A video job counts 1, a batch its URLs, a feed job its `count`.
    pub urls_per_minute: u32,
    /// Queued + running items of the key's jobs.
    pub max_items_in_flight: u32,
}

impl KeyLimits {
    /// The key's own limits where set, else `defaults`.
    pub fn resolve(columns: &KeyLimitColumns, defaults: &KeyLimits) -> KeyLimits {
        let own = |value: Option<i32>, default: u32| {
            value
                .and_then(|value| u32::try_from(value).ok())
                .filter(|value| *value > 0)
                .unwrap_or(default)
        };
        KeyLimits {
            requests_per_second: own(columns.requests_per_second, defaults.requests_per_second),
            urls_per_minute: own(columns.urls_per_minute, defaults.urls_per_minute),
            max_items_in_flight: own(columns.max_items_in_flight, defaults.max_items_in_flight),
        }
    }

    fn charges(&self, requests: u32, urls: u32) -> (Charge, Charge) {
        (
            Charge {
                quota: self.requests_per_second,
                window: Duration::from_secs(1),
                cost: requests,
            },
            Charge {
                quota: self.urls_per_minute,
                window: Duration::from_secs(60),
                cost: urls,
            },
        )
    }

    /// The `RateLimit-Policy` value.
    fn policy_header(&self) -> String {
        format!(
            "\"requests\";q={};w=1, \"urls\";q={};w=60",
            self.requests_per_second, self.urls_per_minute
        )
    }
}

/// The limiter of one api process: the shared Redis budget and the in-flight counts.
#[derive(Debug, Clone)]
pub struct KeyLimiter {
    budget: RedisBudget,
    in_flight: InFlightCounts,
}

impl KeyLimiter {
    /// Limits kept under `{namespace}:ratelimit:` in the Redis at `redis_url`.
    pub fn new(redis_url: SecretString, namespace: String) -> Self {
        KeyLimiter {
            budget: RedisBudget::new(redis_url, namespace),
            in_flight: InFlightCounts::default(),
        }
    }
}

/// What one request's charge came to, shared between the middleware and the handler.
#[derive(Debug, Clone, Default)]
pub struct RequestCharge(Option<Arc<Mutex<ChargeRecord>>>);

#[derive(Debug, Default)]
struct ChargeRecord {
    /// The request was charged (whatever Redis said, or failed to say).
    charged: bool,
    /// Redis' answer; `None` before the charge or when Redis failed.
    outcome: Option<ChargeOutcome>,
}

impl RequestCharge {
    fn fresh() -> Self {
        RequestCharge(Some(Arc::default()))
    }

    fn record(&self, outcome: Option<ChargeOutcome>) {
        if let Some(record) = &self.0 {
            let mut record = record.lock().unwrap_or_else(|error| error.into_inner());
            record.charged = true;
            record.outcome = outcome;
        }
    }

    /// `(charged, outcome)`; a key without a slot (no middleware) counts as not charged.
    fn state(&self) -> (bool, Option<ChargeOutcome>) {
        self.0.as_ref().map_or((false, None), |record| {
            let record = record.lock().unwrap_or_else(|error| error.into_inner());
            (record.charged, record.outcome)
        })
    }

    /// Redis' answer for this request, once charged.
    pub fn outcome(&self) -> Option<ChargeOutcome> {
        self.state().1
    }
}

/// One charge against Redis; Redis trouble is logged and counted and the request served.
async fn charge(state: &AppState, key: &ApiKey, requests: u32, urls: u32) -> Option<ChargeOutcome> {
    let (requests, urls) = key.limits.charges(requests, urls);
    match state
        .limiter
        .budget
        .charge(key.api_key_id, requests, urls)
        .await
    {
        Ok(outcome) => Some(outcome),
        Err(error) => {
            tracing::warn!(%error, "rate limits not checked (Redis): the request is served");
            state
                .metrics
                .with_recorder(|| metrics::counter!(RATE_LIMIT_FAIL_OPEN_TOTAL).increment(1));
            None
        }
    }
}

/// What a submit adds: URLs (against URLs per minute) and items (against items in flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitCost {
    pub urls: u32,
    pub items: u32,
}

/// Admits a submit of `key`, or refuses it with 429: `TOO_MANY_ITEMS_IN_FLIGHT` when its items
/// would take the key past its in-flight limit, `RATE_LIMITED` when the request or its URLs
/// would exceed the Redis budget. The request itself is charged here with the URLs (one Redis
/// round trip), unless the middleware already charged it.
pub async fn admit_submission(
    state: &AppState,
    key: &ApiKey,
    cost: SubmitCost,
) -> Result<(), ApiError> {
    let max = key.limits.max_items_in_flight;
    let reservation = state
        .limiter
        .in_flight
        .reserve(
            &state.db,
            key.api_key_id,
            i64::from(cost.items),
            i64::from(max),
        )
        .await
        .map_err(|over| ApiError::TooManyItemsInFlight {
            in_flight: over.in_flight,
            items: cost.items,
            max,
        })?;
    let (already_charged, _) = key.charge.state();
    let outcome = charge(state, key, u32::from(!already_charged), cost.urls).await;
    key.charge.record(outcome);
    match outcome {
        Some(outcome) if !outcome.allowed => {
            state.limiter.in_flight.release(reservation).await;
            Err(ApiError::RateLimited {
                retry_after_seconds: whole_seconds(outcome.retry_after).max(1),
                requests_per_second: key.limits.requests_per_second,
                urls_per_minute: key.limits.urls_per_minute,
            })
        }
        _ => Ok(()),
    }
}

/// Middleware: authenticates the key of every route that needs one, charges the request
/// (submits: after their handler counted their URLs), answers 429 `RATE_LIMITED` past the
/// limit, and writes the RateLimit headers on every answer to a known key. A request without a
/// valid key goes on to its handler, which refuses it in its own shape.
pub async fn enforce_key_limits(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    if PUBLIC_ROUTES.contains(&route.as_str()) || route.starts_with("/docs/") {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(mut key) = ApiKey::authenticate(&parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    key.charge = RequestCharge::fresh();
    parts.extensions.insert(key.clone());
    let submit = SUBMIT_ROUTES
        .iter()
        .any(|(method, path)| *method == parts.method && *path == route);
    if !submit {
        let outcome = charge(&state, &key, 1, 0).await;
        key.charge.record(outcome);
        if let Some(outcome) = outcome
            && !outcome.allowed
        {
            let refused = ApiError::RateLimited {
                retry_after_seconds: whole_seconds(outcome.retry_after).max(1),
                requests_per_second: key.limits.requests_per_second,
                urls_per_minute: key.limits.urls_per_minute,
            };
            return with_limit_headers(refused.into_response(), &key);
        }
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    if submit && !key.charge.state().0 {
        // Refused before its URLs were counted (a bad body, too many in flight): the request
        // still counts.
        let outcome = charge(&state, &key, 1, 0).await;
        key.charge.record(outcome);
    }
    with_limit_headers(response, &key)
}

/// Adds `RateLimit-Policy`, `RateLimit` (when Redis answered) and, on a 429, `Retry-After`.
fn with_limit_headers(mut response: Response, key: &ApiKey) -> Response {
    let outcome = key.charge.outcome();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&key.limits.policy_header()) {
        headers.insert(RATELIMIT_POLICY, policy);
    }
    if let Some(outcome) = outcome {
        let value = format!(
            "\"requests\";r={};t={}, \"urls\";r={};t={}",
            outcome.requests.remaining,
            whole_seconds(outcome.requests.until_full),
            outcome.urls.remaining,
            whole_seconds(outcome.urls.until_full),
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(RATELIMIT, value);
        }
    }
    if response.status() == StatusCode::TOO_MANY_REQUESTS
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        let retry_after = match outcome {
            Some(outcome) if !outcome.allowed => whole_seconds(outcome.retry_after).max(1),
            // Items in flight: the count is read again within a second.
            _ => whole_seconds(in_flight::REFRESH_EVERY).max(1),
        };
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    }
    response
}

/// A duration in whole seconds, rounded up.
fn whole_seconds(duration: Duration) -> u64 {
    duration
        .as_micros()
        .div_ceil(1_000_000)
        .try_into()
        .unwrap_or(u64::MAX)
}

/// The compatibility envelopes' `metadata.rate_limit`: the "urls" budget after this request.
pub fn compat_rate_limit(charge: &RequestCharge) -> Option<(u64, Duration)> {
    charge
        .outcome()
        .map(|outcome| (outcome.urls.remaining, outcome.urls.until_full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_limits_win_and_null_means_the_default() {
        let defaults = KeyLimits {
            requests_per_second: 50,
            urls_per_minute: 6000,
            max_items_in_flight: 5000,
        };
        let columns = KeyLimitColumns {
            requests_per_second: Some(5),
            urls_per_minute: None,
            max_items_in_flight: Some(10),
            max_watches: None,
        };
        let limits = KeyLimits::resolve(&columns, &defaults);
        assert_eq!(limits.requests_per_second, 5);
        assert_eq!(limits.urls_per_minute, 6000);
        assert_eq!(limits.max_items_in_flight, 10);
        assert_eq!(
            limits.policy_header(),
            "\"requests\";q=5;w=1, \"urls\";q=6000;w=60"
        );
    }

    #[test]
    fn seconds_are_rounded_up() {
        assert_eq!(whole_seconds(Duration::from_millis(20)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(60_000)), 60);
    }
}
