//! Thumbnail analysis: the `analyze` stage of an item whose job asked for
//! `options.analyze_thumbnail`. Takes the thumbnail bytes stored at extraction, serves the
//! analysis from the content-addressed cache (`thumbnail_analyses`) or coalesces with an
//! identical analysis in flight, else asks the vision API (global concurrency limit, retries,
//! validation) and caches the answer. Every outcome is recorded on the item; a failure is
//! `THUMBNAIL_ANALYSIS_FAILED` with an honest message and never an invented value.

pub mod analysis_run;
pub mod coalescing;
pub mod concurrency_limit;
pub mod prompts;
mod template_checks;
pub mod validate;
pub mod vision_client;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::time::Instant;
use tokworks_shared::db::thumbnail_analyses::{self, ItemAnalysisOutcome, NewAnalysis};
use tokworks_shared::db::videos;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::job_options::{Language, StoredJobOptions};
use tokworks_shared::job_status::AnalysisStatus;

use crate::extractor::ThumbnailBytes;
use analysis_run::{ImageInput, RetryPolicy, run_analysis};
use coalescing::AnalysisLocks;
use concurrency_limit::ConcurrencyLimit;
use prompts::PromptSet;
use vision_client::{VisionClient, VisionSettings, image_media_type};

/// What the analyzer is built from (the worker's OPENAI_*, VISION_* and PROMPTS_DIR settings).
#[derive(Debug, Clone)]
pub struct AnalyzerSettings {
    pub openai_base_url: String,
    /// `None`: vision is not configured; every requested analysis fails saying so.
    pub openai_api_key: Option<SecretString>,
    pub vision_model: String,
    pub max_concurrency: u32,
    pub deadline: Duration,
}

/// Why the analyzer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzerSetupError {
    #[error("vision HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("cannot reach Redis for the vision limit: {0}")]
    Redis(#[from] redis::RedisError),
}

/// The analysis stage's machinery; one per worker process, shared by its handlers.
#[derive(Debug)]
pub struct ThumbnailAnalyzer {
    prompts: PromptSet,
    vision: Option<VisionClient>,
    model: String,
    limit: ConcurrencyLimit,
    locks: AnalysisLocks,
    policy: RetryPolicy,
}

/// What the item records when the analysis could not even be attempted or failed.
struct Failure {
    message: String,
}

impl ThumbnailAnalyzer {
    /// The analyzer over the loaded `prompts` ([`prompts::load_prompt_set`], done first thing at
    /// start so a broken file stops the worker at once); connects to Redis for the shared limit
    /// and locks, under `namespace` (QUEUE_NAMESPACE).
    pub async fn start(
        prompts: PromptSet,
        settings: AnalyzerSettings,
        redis_url: &str,
        namespace: &str,
    ) -> Result<Arc<ThumbnailAnalyzer>, AnalyzerSetupError> {
        let vision = settings
            .openai_api_key
            .map(|api_key| {
                VisionClient::new(VisionSettings {
                    base_url: settings.openai_base_url.clone(),
                    api_key,
                    model: settings.vision_model.clone(),
                })
            })
            .transpose()?;
        let client = redis::Client::open(redis_url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_max_delay(Duration::from_secs(1));
        let connection = client.get_connection_manager_with_config(config).await?;
        // A slot outlives the longest call by a margin; a dead holder frees it after that.
        let slot_lease = settings.deadline + Duration::from_secs(10);
        Ok(Arc::new(ThumbnailAnalyzer {
            prompts,
            vision,
            model: settings.vision_model,
            limit: ConcurrencyLimit::new(
                connection.clone(),
                namespace,
                settings.max_concurrency,
                slot_lease,
            ),
            locks: AnalysisLocks::new(connection, namespace),
            policy: RetryPolicy::with_deadline(settings.deadline),
        }))
    }

    /// The loaded prompts.
    pub fn prompts(&self) -> &PromptSet {
        &self.prompts
    }

    /// The global vision-call limit.
    pub fn concurrency_limit(&self) -> &ConcurrencyLimit {
        &self.limit
    }

    /// The language of the analysis the job asked for, or `None` when it asked for none.
    pub fn requested_language(job_options: &StoredJobOptions) -> Option<Language> {
        job_options.analysis_language()
    }

    /// Analyses the cover of `video_id` in `language`: the freshly extracted bytes when given,
    /// else the stored thumbnail. Never fails: a failure is an outcome to record.
    pub async fn analyze_for_item(
        &self,
        pool: &PgPool,
        video_id: &str,
        fresh_thumbnail: Option<&ThumbnailBytes>,
        language: Language,
    ) -> ItemAnalysisOutcome {
        let template = self.prompts.template(language);
        let mut outcome = ItemAnalysisOutcome {
            status: AnalysisStatus::Failed,
            cache_key: None,
            language: language.as_str().to_owned(),
            model: Some(self.model.clone()),
            prompt_version: Some(template.prompt_version.clone()),
            cached: false,
            error_code: None,
            error_message: None,
        };
        match self
            .analyze(pool, video_id, fresh_thumbnail, language)
            .await
        {
            Ok((cache_key, cached)) => {
                outcome.status = AnalysisStatus::Succeeded;
                outcome.cache_key = Some(cache_key);
                outcome.cached = cached;
            }
            Err(failure) => {
                tracing::warn!(
                    video_id,
                    message = failure.message,
                    "thumbnail analysis failed"
                );
                outcome.error_code = Some(ErrorCode::ThumbnailAnalysisFailed.as_str().to_owned());
                outcome.error_message = Some(failure.message);
            }
        }
        outcome
    }

    /// `(cache key, served without a vision call by this item)`.
    async fn analyze(
        &self,
        pool: &PgPool,
        video_id: &str,
        fresh_thumbnail: Option<&ThumbnailBytes>,
        language: Language,
    ) -> Result<(Vec<u8>, bool), Failure> {
        let fail = |message: String| Failure { message };
        let (content_type, bytes) = match fresh_thumbnail {
            Some(thumbnail) => (thumbnail.content_type.clone(), thumbnail.bytes.clone()),
            None => {
                let stored = videos::thumbnail(pool, video_id)
                    .await
                    .map_err(|error| fail(format!("cannot read the stored thumbnail: {error}")))?
                    .ok_or_else(|| {
                        fail(format!(
                            "no thumbnail is stored for video {video_id} (the cover could not be \
                             downloaded at extraction)"
                        ))
                    })?;
                (stored.content_type, stored.bytes)
            }
        };
        let Some(vision) = &self.vision else {
            return Err(fail(
                "vision is not configured (OPENAI_API_KEY is not set on the worker)".to_owned(),
            ));
        };
        let media_type = image_media_type(&content_type, &bytes).ok_or_else(|| {
            fail(format!(
                "the stored thumbnail is not a JPEG, PNG, GIF or WebP image ({content_type})"
            ))
        })?;
        let template = self.prompts.template(language);
        let image_sha256 = Sha256::digest(&bytes).to_vec();
        let cache_key = cache_key(
            &image_sha256,
            language.as_str(),
            vision.model(),
            &template.prompt_version,
        );
        // One VISION_DEADLINE_SECONDS for this item's whole stage: waiting for an identical
        // analysis elsewhere and, if it fails, running it here share it.
        let run_deadline = Instant::now() + self.policy.deadline;
        let deadline = run_deadline + Duration::from_secs(5);
        let lock_lease = self.policy.deadline + Duration::from_secs(5);
        loop {
            if self.is_cached(pool, &cache_key).await? {
                return Ok((cache_key, true));
            }
            let lock = self
                .locks
                .try_lock(&cache_key, lock_lease)
                .await
                .map_err(|error| fail(format!("redis: {error}")))?;
            if let Some(lock) = lock {
                let policy = RetryPolicy {
                    deadline: run_deadline.saturating_duration_since(Instant::now()),
                    ..self.policy.clone()
                };
                let result = self
                    .analyze_holding_lock(
                        pool,
                        vision,
                        &cache_key,
                        language,
                        ImageInput {
                            media_type,
                            bytes: &bytes,
                        },
                        &policy,
                    )
                    .await;
                self.locks.unlock(lock).await;
                return result.map(|cached| (cache_key, cached));
            }
            if Instant::now() >= deadline {
                return Err(fail(
                    "timed out waiting for an identical analysis in progress elsewhere".to_owned(),
                ));
            }
            tokio::time::sleep(AnalysisLocks::wait_pause()).await;
        }
    }

    async fn is_cached(&self, pool: &PgPool, cache_key: &[u8]) -> Result<bool, Failure> {
        thumbnail_analyses::cached_analysis(pool, cache_key)
            .await
            .map(|row| row.is_some())
            .map_err(|error| Failure {
                message: format!("cannot read the analysis cache: {error}"),
            })
    }

    /// Holding the lock of `cache_key`: checks the cache once more (the previous holder may
    /// have just stored it), else runs the analysis and caches it. `Ok(true)` when cached.
    async fn analyze_holding_lock(
        &self,
        pool: &PgPool,
        vision: &VisionClient,
        cache_key: &[u8],
        language: Language,
        image: ImageInput<'_>,
        policy: &RetryPolicy,
    ) -> Result<bool, Failure> {
        if self.is_cached(pool, cache_key).await? {
            return Ok(true);
        }
        let image_sha256 = Sha256::digest(image.bytes).to_vec();
        let template = self.prompts.template(language);
        let success = run_analysis(vision, &self.limit, &self.prompts, template, image, policy)
            .await
            .map_err(|failure| Failure { message: failure.0 })?;
        let clamp = |value: i64| i32::try_from(value).unwrap_or(i32::MAX);
        thumbnail_analyses::insert_analysis(
            pool,
            &NewAnalysis {
                cache_key,
                image_sha256: &image_sha256,
                language: language.as_str(),
                model: vision.model(),
                prompt_version: &template.prompt_version,
                analysis: &success.analysis,
                prompt_tokens: clamp(success.usage.prompt_tokens),
                completion_tokens: clamp(success.usage.completion_tokens),
                total_tokens: clamp(success.usage.total_tokens),
                latency_ms: i32::try_from(success.latency.as_millis()).unwrap_or(i32::MAX),
            },
        )
        .await
        .map_err(|error| Failure {
            message: format!("cannot store the analysis: {error}"),
        })?;
        Ok(false)
    }
}

/// The `analyze` stage of an item: the outcome to record with it. `analyzer` is `None` only in
/// a process built without one (tests of other stages); that is recorded as a failure too.
pub async fn analyze_item_thumbnail(
    analyzer: Option<&ThumbnailAnalyzer>,
    pool: &PgPool,
    video_id: &str,
    fresh_thumbnail: Option<&ThumbnailBytes>,
    language: Language,
) -> ItemAnalysisOutcome {
    match analyzer {
        Some(analyzer) => {
            analyzer
                .analyze_for_item(pool, video_id, fresh_thumbnail, language)
                .await
        }
        None => ItemAnalysisOutcome {
            status: AnalysisStatus::Failed,
            cache_key: None,
            language: language.as_str().to_owned(),
            model: None,
            prompt_version: None,
            cached: false,
            error_code: Some(ErrorCode::ThumbnailAnalysisFailed.as_str().to_owned()),
            error_message: Some("thumbnail analysis is not available in this worker".to_owned()),
        },
    }
}

/// sha256(image sha256 ‖ 0x00 ‖ language ‖ 0x00 ‖ model ‖ 0x00 ‖ prompt version).
pub fn cache_key(
    image_sha256: &[u8],
    language: &str,
    model: &str,
    prompt_version: &str,
) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(image_sha256);
    hasher.update([0]);
    hasher.update(language.as_bytes());
    hasher.update([0]);
    hasher.update(model.as_bytes());
    hasher.update([0]);
    hasher.update(prompt_version.as_bytes());
    hasher.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_requested_language_defaults_to_english_and_needs_the_flag() {
        let options = |value| serde_json::from_value::<StoredJobOptions>(value).unwrap();
        assert_eq!(
            ThumbnailAnalyzer::requested_language(&options(json!({}))),
            None
        );
        assert_eq!(
            ThumbnailAnalyzer::requested_language(&options(
                json!({"analyze_thumbnail": false, "language": "id"})
            )),
            None
        );
        assert_eq!(
            ThumbnailAnalyzer::requested_language(&options(json!({"analyze_thumbnail": true}))),
            Some(Language::En)
        );
        assert_eq!(
            ThumbnailAnalyzer::requested_language(&options(
                json!({"analyze_thumbnail": true, "language": "id"})
            )),
            Some(Language::Id)
        );
    }

    #[test]
    fn the_cache_key_changes_with_every_input() {
        let base = cache_key(b"image", "en", "gpt-4o-mini", "sha256:1");
        assert_eq!(base.len(), 32);
        for other in [
            cache_key(b"imagf", "en", "gpt-4o-mini", "sha256:1"),
            cache_key(b"image", "id", "gpt-4o-mini", "sha256:1"),
            cache_key(b"image", "en", "gpt-4o", "sha256:1"),
            cache_key(b"image", "en", "gpt-4o-mini", "sha256:2"),
            cache_key(b"image", "e", "ngpt-4o-mini", "sha256:1"),
        ] {
            assert_ne!(base, other);
        }
    }
}
