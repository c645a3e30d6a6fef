//! One analysis against the vision API with its retry policy: an invalid answer (malformed JSON,
//! schema violation, refusal, wrong-language value, truncation) is retried once; a 429 waits its
//! `Retry-After` (seconds or HTTP date) and retries, a bounded number of times; a 5xx or network
//! error is retried with exponential backoff and jitter; another 4xx is final. Every call holds a
//! slot of the global [`ConcurrencyLimit`]; the whole run has one deadline.

use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tokio::time::Instant;

use super::concurrency_limit::{ConcurrencyLimit, ConcurrencyLimitError};
use super::prompts::{PromptSet, PromptTemplate};
use super::validate::validate_answer;
use super::vision_client::{TokenUsage, VisionAnswer, VisionCallError, VisionClient, request_body};

/// Retry budgets and the deadline of one analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The whole run, waits included (VISION_DEADLINE_SECONDS).
    pub deadline: Duration,
    /// Invalid answers retried (then the analysis fails).
    pub invalid_answer_retries: u32,
    /// 429 answers waited out and retried.
    pub rate_limit_retries: u32,
    /// 5xx and network errors retried.
    pub server_error_retries: u32,
    /// First backoff after a 5xx; doubles each time (±25 % jitter).
    pub backoff_base: Duration,
}

impl RetryPolicy {
    pub fn with_deadline(deadline: Duration) -> Self {
        RetryPolicy {
            deadline,
            invalid_answer_retries: 1,
            rate_limit_retries: 3,
            server_error_retries: 3,
            backoff_base: Duration::from_millis(500),
        }
    }
}

/// A validated analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSuccess {
    pub analysis: Value,
    /// Summed over every answered call of this run (what the analysis cost).
    pub usage: TokenUsage,
    /// Duration of the call whose answer was accepted.
    pub latency: Duration,
    /// Calls made (answered or not).
    pub calls: u32,
}

/// Why the analysis failed, as tenants read it: the last upstream status or problem, summarised
/// (an upstream body or network error is logged at warn for operators, never stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnalysisRunFailure(pub String);

/// The image to analyse.
#[derive(Debug, Clone, Copy)]
pub struct ImageInput<'a> {
    pub media_type: &'a str,
    pub bytes: &'a [u8],
}

/// Runs the analysis of `image` with `template` under `policy`.
pub async fn run_analysis(
    client: &VisionClient,
    limit: &ConcurrencyLimit,
    prompts: &PromptSet,
    template: &PromptTemplate,
    image: ImageInput<'_>,
    policy: &RetryPolicy,
) -> Result<AnalysisSuccess, AnalysisRunFailure> {
    let deadline = Instant::now() + policy.deadline;
    let body = request_body(
        client.model(),
        template,
        &prompts.request_schema,
        image.media_type,
        image.bytes,
    );
    let (mut invalid, mut rate_limited, mut server_errors, mut calls) = (0, 0, 0, 0);
    let mut usage = TokenUsage::default();
    let fail = |message: String| Err(AnalysisRunFailure(message));
    loop {
        let slot = match limit.acquire(deadline).await {
            Ok(slot) => slot,
            Err(error @ ConcurrencyLimitError::Deadline) => {
                return fail(format!("{error} (after {calls} vision calls)"));
            }
            Err(error @ ConcurrencyLimitError::Redis(_)) => {
                tracing::warn!(%error, calls, "cannot take a vision slot; analysis failed");
                return fail(format!(
                    "no vision slot could be taken: the coordination store is unavailable \
                     (after {calls} vision calls)"
                ));
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let started = Instant::now();
        calls += 1;
        let result = client.call(&body, remaining).await;
        let latency = started.elapsed();
        record_vision_call(&result);
        limit.release(slot).await;
        let wait = match result {
            Ok(answer) => {
                usage.add(answer.usage);
                match validate_answer(prompts, template, &answer.message) {
                    Ok(analysis) => {
                        return Ok(AnalysisSuccess {
                            analysis,
                            usage,
                            latency,
                            calls,
                        });
                    }
                    Err(problem) if invalid < policy.invalid_answer_retries => {
                        invalid += 1;
                        tracing::warn!(%problem, "invalid vision answer; retrying once");
                        Duration::ZERO
                    }
                    Err(problem) => {
                        return fail(format!(
                            "invalid answer from the vision model after {calls} calls: {problem}"
                        ));
                    }
                }
            }
            Err(error @ VisionCallError::RateLimited { retry_after, .. }) => {
                if rate_limited >= policy.rate_limit_retries {
                    tracing::warn!(%error, calls, "vision API still rate limited; analysis failed");
                    return fail(format!(
                        "vision API still rate limited after {calls} calls (last: {})",
                        error.summary()
                    ));
                }
                rate_limited += 1;
                retry_after.unwrap_or(Duration::from_secs(1))
            }
            Err(error @ (VisionCallError::ServerError { .. } | VisionCallError::Network(_))) => {
                if server_errors >= policy.server_error_retries {
                    tracing::warn!(%error, calls, "vision API unavailable; analysis failed");
                    return fail(format!(
                        "vision API unavailable after {calls} calls (last: {})",
                        error.summary()
                    ));
                }
                let backoff = policy.backoff_base * 2_u32.pow(server_errors);
                server_errors += 1;
                backoff.mul_f64(rand::rng().random_range(0.75..=1.25))
            }
            Err(
                error @ (VisionCallError::Rejected { .. } | VisionCallError::Unreadable { .. }),
            ) => {
                tracing::warn!(%error, calls, "vision API refused the request; analysis failed");
                return fail(format!(
                    "vision API refused the request: {}",
                    error.summary()
                ));
            }
        };
        // Compared as durations: a huge Retry-After must not overflow an `Instant`.
        if wait >= deadline.saturating_duration_since(Instant::now()) {
            return fail(format!(
                "the analysis deadline of {} s passed before the next vision call could be made \
                 ({calls} calls so far; the next was due in {} ms)",
                policy.deadline.as_secs(),
                wait.as_millis()
            ));
        }
        tokio::time::sleep(wait).await;
    }
}

/// Counts a vision call by outcome, with the tokens it reported.
fn record_vision_call(result: &Result<VisionAnswer, VisionCallError>) {
    let (outcome, usage) = match result {
        Ok(answer) => ("ok", answer.usage),
        Err(VisionCallError::RateLimited { .. }) => ("rate_limited", TokenUsage::default()),
        Err(VisionCallError::ServerError { .. }) => ("server_error", TokenUsage::default()),
        Err(VisionCallError::Rejected { .. }) => ("rejected", TokenUsage::default()),
        Err(VisionCallError::Network(_)) => ("network", TokenUsage::default()),
        Err(VisionCallError::Unreadable { .. }) => ("unreadable", TokenUsage::default()),
    };
    crate::worker_metrics::record_vision_call(
        outcome,
        usage.prompt_tokens,
        usage.completion_tokens,
    );
}
