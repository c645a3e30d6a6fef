//! `EXTRACTOR=auto` (the default): the native web extractor first, and when it ends an item with
//! a code that another client could change — `UPSTREAM_CHANGED` (a page it cannot read),
//! `UPSTREAM_BLOCKED` (a 403, or a WAF wall it could not solve) — yt-dlp in the same attempt.
//! Every such hand-over is counted by reason, in this process's metrics and in Postgres
//! (`shared::db::extractor_fallbacks`, read by the api's `/v1/stats` and `/metrics`), so an
//! operator sees when TikTok changed something the native client does not follow yet.

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::PgPool;
use tokworks_shared::db::extractor_fallbacks;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::video::VideoSource;

use crate::extractor::{Extraction, ExtractionFailure, VideoExtractor};

/// Whether a native-client failure with `code` is worth a yt-dlp attempt: only codes that
/// depend on the client (its parser, its fingerprint), never TikTok's verdict on the post
/// (private, deleted, …), a rate limit or a network failure, which yt-dlp would meet as well.
pub fn falls_back_on(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::UpstreamChanged | ErrorCode::UpstreamBlocked
    )
}

/// The auto [`VideoExtractor`].
#[derive(Debug)]
pub struct AutoExtractor {
    native: Arc<dyn VideoExtractor>,
    fallback: Arc<dyn VideoExtractor>,
    /// Where fallbacks are counted; `None` counts them in metrics only (tests).
    pool: Option<PgPool>,
}

impl AutoExtractor {
    pub fn new(
        native: Arc<dyn VideoExtractor>,
        fallback: Arc<dyn VideoExtractor>,
        pool: Option<PgPool>,
    ) -> AutoExtractor {
        AutoExtractor {
            native,
            fallback,
            pool,
        }
    }

    async fn extract_url(&self, url: &str) -> Result<Extraction, ExtractionFailure> {
        let failure = match self.native.extract(url).await {
            Ok(extraction) => return Ok(extraction),
            Err(failure) if falls_back_on(failure.code) => failure,
            Err(failure) => return Err(failure),
        };
        tracing::info!(
            reason = failure.code.as_str(),
            native_error = %failure.message,
            "the native extractor could not finish; falling back to yt-dlp"
        );
        let result = self.fallback.extract(url).await;
        self.record(failure.code, result.is_ok()).await;
        result
    }

    async fn record(&self, reason: ErrorCode, recovered: bool) {
        crate::worker_metrics::record_extractor_fallback(reason.as_str(), recovered);
        let Some(pool) = &self.pool else {
            return;
        };
        if let Err(error) =
            extractor_fallbacks::record_fallback(pool, reason.as_str(), recovered).await
        {
            tracing::warn!(%error, "cannot count the extractor fallback in Postgres");
        }
    }
}

impl VideoExtractor for AutoExtractor {
    fn source(&self) -> VideoSource {
        self.native.source()
    }

    fn extract<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Extraction, ExtractionFailure>> {
        Box::pin(self.extract_url(url))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Answers with a fixed result and counts its calls.
    #[derive(Debug)]
    struct Fixed {
        source: VideoSource,
        failure: Option<ErrorCode>,
        calls: AtomicUsize,
    }

    impl Fixed {
        fn new(source: VideoSource, failure: Option<ErrorCode>) -> Arc<Fixed> {
            Arc::new(Fixed {
                source,
                failure,
                calls: AtomicUsize::new(0),
            })
        }
    }

    impl VideoExtractor for Fixed {
        fn source(&self) -> VideoSource {
            self.source
        }

        fn extract<'a>(
            &'a self,
            _url: &'a str,
        ) -> BoxFuture<'a, Result<Extraction, ExtractionFailure>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let result = match self.failure {
                Some(code) => Err(ExtractionFailure::new(code, "fixed")),
                None => Ok(Extraction {
                    source: self.source,
                    item: serde_json::json!({"id": "1"}),
                    status_code: 0,
                    webpage_url: String::new(),
                    thumbnail: None,
                    thumbnail_error: None,
                    thumbnail_duration: None,
                    session: None,
                }),
            };
            Box::pin(async move { result })
        }
    }

    const URL: &str = "https://www.tiktok.com/@a/video/7300000000000000001";

    #[tokio::test]
    async fn a_client_dependent_failure_goes_to_ytdlp_and_the_video_says_so() {
        for code in [ErrorCode::UpstreamChanged, ErrorCode::UpstreamBlocked] {
            let native = Fixed::new(VideoSource::Web, Some(code));
            let ytdlp = Fixed::new(VideoSource::Ytdlp, None);
            let auto = AutoExtractor::new(native.clone(), ytdlp.clone(), None);
            let extraction = auto.extract(URL).await.unwrap();
            assert_eq!(extraction.source, VideoSource::Ytdlp);
            assert_eq!(ytdlp.calls.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test]
    async fn success_and_verdicts_on_the_post_stay_with_the_native_client() {
        let native = Fixed::new(VideoSource::Web, None);
        let ytdlp = Fixed::new(VideoSource::Ytdlp, None);
        let auto = AutoExtractor::new(native, ytdlp.clone(), None);
        assert_eq!(auto.extract(URL).await.unwrap().source, VideoSource::Web);
        for code in [
            ErrorCode::VideoPrivate,
            ErrorCode::VideoNotFound,
            ErrorCode::UpstreamRateLimited,
            ErrorCode::UpstreamUnavailable,
            ErrorCode::ExtractorTimeout,
        ] {
            let native = Fixed::new(VideoSource::Web, Some(code));
            let auto = AutoExtractor::new(native, ytdlp.clone(), None);
            assert_eq!(auto.extract(URL).await.unwrap_err().code, code);
        }
        assert_eq!(ytdlp.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn when_ytdlp_fails_too_its_failure_is_the_items() {
        let native = Fixed::new(VideoSource::Web, Some(ErrorCode::UpstreamChanged));
        let ytdlp = Fixed::new(VideoSource::Ytdlp, Some(ErrorCode::LoginRequired));
        let auto = AutoExtractor::new(native, ytdlp, None);
        assert_eq!(
            auto.extract(URL).await.unwrap_err().code,
            ErrorCode::LoginRequired
        );
    }
}
