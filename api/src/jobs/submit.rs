//! Turning an accepted video or batch request into rows: the `NewJob` for `shared::db::jobs` and
//! the submit-time SSRF check of a webhook host. Shared by `POST /v1/jobs` and the compatibility
//! endpoints. Nothing is pushed to Redis here: the workers' dispatcher hands the stored items to
//! the queue, round-robin across keys (docs/fair-scheduling.md).

use std::time::Duration;
use tokworks_shared::ids::{ItemId, JobId};

use tokworks_shared::db::jobs::{NewJob, NewJobItem, NewJobWebhook};
use tokworks_shared::job_status::JobKind;

use crate::auth::ApiKey;
use crate::jobs::batch_request::BatchJobRequest;
use crate::jobs::request::{AcceptedWebhook, VideoJobRequest};
use crate::problem::ApiError;
use crate::state::AppState;

pub(crate) fn new_video_job(
    video_job: &VideoJobRequest,
    key: &ApiKey,
    idempotency_key: Option<String>,
    max_attempts: i32,
) -> NewJob {
    NewJob {
        job_id: JobId::new_v7(),
        api_key_id: key.api_key_id,
        kind: JobKind::Video,
        request: video_job.normalised_request(),
        options: video_job.options.stored(),
        metadata: video_job.metadata.clone(),
        idempotency_key,
        items: vec![NewJobItem {
            item_id: ItemId::new_v7(),
            position: 0,
            duplicate_of: None,
            input_url: video_job.input_url.clone(),
            canonical_url: Some(video_job.url.canonical_url().to_owned()),
            video_id: video_job.url.video_id().map(str::to_owned),
            custom_id: None,
            max_attempts,
        }],
        webhook: video_job.webhook.as_ref().map(|webhook| NewJobWebhook {
            url: webhook.url.clone(),
            events: webhook.events.clone(),
        }),
    }
}

pub(crate) fn new_batch_job(
    batch_job: &BatchJobRequest,
    key: &ApiKey,
    idempotency_key: Option<String>,
    max_attempts: i32,
) -> NewJob {
    NewJob {
        job_id: JobId::new_v7(),
        api_key_id: key.api_key_id,
        kind: JobKind::Batch,
        request: batch_job.normalised_request(),
        options: batch_job.options.stored(),
        metadata: batch_job.metadata.clone(),
        idempotency_key,
        items: batch_job.new_job_items(max_attempts),
        webhook: batch_job.webhook.as_ref().map(|webhook| NewJobWebhook {
            url: webhook.url.clone(),
            events: webhook.events.clone(),
        }),
    }
}

/// How long submit-time resolution of a webhook host may take.
const WEBHOOK_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The submit-time SSRF check of a webhook host name: every address it resolves to must pass the
/// guard. A host that does not resolve now is accepted (DNS may be briefly unavailable); the
/// worker resolves and checks again before every send, and connects only to a checked address.
pub(crate) async fn check_webhook_addresses(
    state: &AppState,
    webhook: &AcceptedWebhook,
) -> Result<(), ApiError> {
    let target = &webhook.target;
    if target.ip_literal.is_some() {
        return Ok(());
    }
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let addresses: Vec<std::net::IpAddr> =
        match tokio::time::timeout(WEBHOOK_RESOLVE_TIMEOUT, lookup).await {
            Ok(Ok(addresses)) => addresses.map(|address| address.ip()).collect(),
            Ok(Err(error)) => {
                tracing::info!(host = target.host, %error, "webhook host does not resolve yet");
                return Ok(());
            }
            Err(_) => {
                tracing::info!(host = target.host, "webhook host resolution timed out");
                return Ok(());
            }
        };
    state
        .settings
        .webhook_policy
        .check_resolved(&target.host, &addresses)
        .map_err(|error| ApiError::WebhookUrlNotAllowed {
            message: error.to_string(),
        })
}
