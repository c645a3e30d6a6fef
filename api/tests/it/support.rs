//! `TestApp`: the router on a per-test database and queue namespace, request helpers, and
//! test-only SQL that plays the worker's part (finishing items, as its guarded updates would).

use std::time::Duration;
use tokworks_shared::ids::{ApiKeyId, ItemId, JobId};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::PgPool;
use tokworks_api::rate_limits::KeyLimits;
use tokworks_api::{ApiSettings, AppState, QueueHandle, keys_cli, router};
use tokworks_shared::db::feed_walks::WalkStatus;
use tokworks_shared::db::feed_walks::claims::{self as walk_claims, WalkEnd};
use tokworks_shared::db::item_claims::{self, ItemEnd};
use tokworks_shared::error_code::ErrorCode;
use tower::ServiceExt;
use uuid::Uuid;

pub const VIDEO_URL: &str = "https://www.tiktok.com/@scout2015/video/6718335390845095173";
pub const VIDEO_ID: &str = "6718335390845095173";

/// Redis for tests: REDIS_URL, else the local default.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The api on a test database, with one key.
pub struct TestApp {
    pub pool: PgPool,
    pub state: AppState,
    pub router: Router,
    pub key: String,
    pub api_key_id: ApiKeyId,
    pub namespace: String,
}

/// A response with its JSON body (Value::Null when the body is empty or not JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// An answer whose body is kept as text (HTML, JavaScript, NDJSON, CSV).
pub struct TextResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl TextResponse {
    /// The header's value, or `""` when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a problem+json response with this status and code; returns the body.
    pub fn assert_problem(&self, status: StatusCode, code: &str) -> &Value {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.body["code"], code, "{:#}", self.body);
        assert_eq!(self.body["status"], status.as_u16());
        assert!(self.body["type"].is_string() && self.body["title"].is_string());
        assert!(self.body["detail"].is_string() && self.body["retryable"].is_boolean());
        let request_id = self
            .header("x-request-id")
            .expect("x-request-id on every response");
        assert_eq!(self.body["request_id"], request_id);
        &self.body
    }
}

impl TestApp {
    pub async fn new(pool: PgPool) -> TestApp {
        Self::with_redis(pool, &redis_url()).await
    }

    pub async fn with_redis(pool: PgPool, redis_url: &str) -> TestApp {
        Self::build(pool, redis_url, Duration::from_secs(30)).await
    }

    /// The api with WAIT_MAX_SECONDS = `wait_max` (0: waits end at once).
    pub async fn with_wait_max(pool: PgPool, wait_max: Duration) -> TestApp {
        Self::build(pool, &redis_url(), wait_max).await
    }

    /// The api with settings changed by `adjust` (e.g. METRICS_TOKEN, the event poll interval).
    pub async fn with_settings(pool: PgPool, adjust: impl FnOnce(&mut ApiSettings)) -> TestApp {
        Self::build_with(pool, &redis_url(), Duration::from_secs(30), adjust).await
    }

    async fn build(pool: PgPool, redis_url: &str, wait_max: Duration) -> TestApp {
        Self::build_with(pool, redis_url, wait_max, |_| {}).await
    }

    async fn build_with(
        pool: PgPool,
        redis_url: &str,
        wait_max: Duration,
        adjust: impl FnOnce(&mut ApiSettings),
    ) -> TestApp {
        let namespace = format!("test_{}", Uuid::new_v4().simple());
        let queue = QueueHandle::new(redis_url.into(), namespace.clone());
        let mut settings = ApiSettings {
            item_max_attempts: 4,
            // Off by default so that revocation tests see it at once; `auth.rs` tests the cache.
            api_key_cache_ttl: Duration::ZERO,
            // Off, so tests see the figures they just wrote; `public_endpoints.rs` tests it on.
            service_stats_refresh: Duration::ZERO,
            batch_max_urls: 1000,
            max_request_body_bytes: 1024 * 1024,
            wait_max,
            webhook_policy: Default::default(),
            webhook_secret_rotation_grace: Duration::from_secs(86_400),
            compat_batch_max_urls: 3,
            max_video_duration_seconds: 600,
            feed_cache_ttl: Some(Duration::from_secs(300)),
            feed_max_count: 500,
            events_and_metrics: Default::default(),
            // Generous, so that no test but `rate_limits.rs` meets them.
            key_limits: KeyLimits {
                requests_per_second: 100_000,
                urls_per_minute: 10_000_000,
                max_items_in_flight: 1_000_000,
            },
            server: Default::default(),
            watches: Default::default(),
        };
        adjust(&mut settings);
        let state = AppState::new(pool.clone(), queue, settings).await.unwrap();
        let (row, key) = keys_cli::create_api_key(&pool, "test key").await.unwrap();
        TestApp {
            router: router(state.clone()),
            state,
            pool,
            key,
            api_key_id: row.api_key_id,
            namespace,
        }
    }

    /// A second api instance: its own process state (key cache, limiter, metrics) on the same
    /// database, Redis namespace and key.
    pub async fn another_instance(&self) -> TestApp {
        let queue = QueueHandle::new(redis_url().into(), self.namespace.clone());
        let settings = (*self.state.settings).clone();
        let state = AppState::new(self.pool.clone(), queue, settings)
            .await
            .unwrap();
        TestApp {
            router: router(state.clone()),
            state,
            pool: self.pool.clone(),
            key: self.key.clone(),
            api_key_id: self.api_key_id,
            namespace: self.namespace.clone(),
        }
    }

    /// Another key on the same app.
    pub async fn other_key(&self) -> String {
        keys_cli::create_api_key(&self.pool, "other key")
            .await
            .unwrap()
            .1
    }

    /// Sends a request; `key` goes in `x-api-key`.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Sends `request` and keeps the body as text.
    pub async fn send_for_text(&self, request: Request<Body>) -> TextResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        TextResponse {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header("x-api-key", &self.key)
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.request(Method::GET, path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post(&self, path: &str) -> TestResponse {
        self.send(
            self.request(Method::POST, path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send(
            self.request(Method::POST, path)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// `POST /v1/jobs` of a video job for `url`; asserts 202 and returns the job id.
    pub async fn create_video_job(&self, url: &str) -> JobId {
        let response = self
            .post_json(
                "/v1/jobs",
                &serde_json::json!({"kind": "video", "url": url}),
            )
            .await;
        assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
        response.body["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn count_jobs(&self) -> i64 {
        sqlx::query_scalar("select count(*) from jobs")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn only_job_id(&self) -> JobId {
        sqlx::query_scalar("select job_id from jobs")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// The queue of this app's namespace, to push or inspect tasks as a worker would.
    pub async fn queue(&self) -> tokworks_shared::queue::ExtractQueue {
        tokworks_shared::queue::ExtractQueue::connect(&redis_url(), &self.namespace)
            .await
            .expect("Redis on 127.0.0.1:6379 (or REDIS_URL)")
    }

    /// Awaits (without sleeping) until `count` requests have subscribed to a job's end.
    pub async fn until_waiting(&self, count: u64) {
        let mut subscriptions = self.state.waiters.subscriptions();
        tokio::time::timeout(
            Duration::from_secs(10),
            subscriptions.wait_for(|made| *made >= count),
        )
        .await
        .expect("a request starts waiting")
        .unwrap();
    }

    /// Plays the worker through the real claim and end: the item at `position` ends with `end`.
    pub async fn end_item_at(&self, job_id: JobId, position: i32, end: &ItemEnd) {
        let item_id: ItemId =
            sqlx::query_scalar("select item_id from job_items where job_id = $1 and position = $2")
                .bind(job_id)
                .bind(position)
                .fetch_one(&self.pool)
                .await
                .unwrap();
        tokworks_shared::test_fixtures::claim_and_end(&self.pool, item_id, end, true).await;
    }

    /// Plays the feed walker: stores each of `video_ids` as a minimal video (unless present),
    /// claims the due walk and ends it with them through the real claim and end.
    pub async fn finish_walk(&self, video_ids: &[&str], status: WalkStatus, stop_code: &str) {
        for video_id in video_ids {
            sqlx::query(
                "insert into videos (video_id, data, source, fetched_at)
                 values ($1, $2, 'web', now())
                 on conflict (video_id) do nothing",
            )
            .bind(video_id)
            .bind(stored_video(video_id, serde_json::json!({})))
            .execute(&self.pool)
            .await
            .unwrap();
        }
        let walks =
            walk_claims::claim_due_walks(&self.pool, "test-worker", Duration::from_secs(10), 1)
                .await
                .unwrap();
        assert_eq!(walks.len(), 1);
        let mut transaction = self.pool.begin().await.unwrap();
        walk_claims::end_walk(
            &mut transaction,
            &walks[0],
            &WalkEnd::Finished {
                status,
                video_ids: video_ids.iter().map(|id| (*id).to_owned()).collect(),
                stop_code: stop_code.to_owned(),
                stop_message: (stop_code == "UPSTREAM_RATE_LIMITED")
                    .then(|| "TikTok answered 429".to_owned()),
                pages_fetched: 1,
                walk_duration: Duration::from_millis(5),
            },
        )
        .await
        .unwrap();
        transaction.commit().await.unwrap();
    }

    /// Plays the worker through the real claim and end: stores `video_id` (unless present),
    /// records stage timings (queue wait 5 ms, extract 120 ms, total 130 ms) and ends the job's
    /// first item succeeded; `end_item` moves the job and sends the NOTIFY.
    pub async fn finish_video_job(&self, job_id: JobId, video_id: &str, cache_hit: bool) {
        sqlx::query(
            "insert into videos (video_id, data, source, fetched_at)
             values ($1, $2, 'web', now())
             on conflict (video_id) do nothing",
        )
        .bind(video_id)
        .bind(stored_video(
            video_id,
            serde_json::json!({"description": "a test video"}),
        ))
        .execute(&self.pool)
        .await
        .unwrap();
        let end = ItemEnd::Succeeded {
            video_id: video_id.to_owned(),
            cache_hit,
        };
        self.claim_and_end_first_item(
            job_id,
            &end,
            &[("queue_wait", 5), ("extract", 120), ("total", 130)],
        )
        .await;
    }

    /// Plays the worker through the real claim and end: the job's first item failed with `code`
    /// and the message "failed in a test".
    pub async fn fail_video_job(&self, job_id: JobId, code: ErrorCode) {
        let end = ItemEnd::Failed {
            error_code: code,
            message: "failed in a test".to_owned(),
        };
        self.claim_and_end_first_item(job_id, &end, &[]).await;
    }

    /// Claims the job's first item, records `timings` (stage, ms) for that attempt and ends it
    /// with `end`, in one transaction as a worker does.
    async fn claim_and_end_first_item(
        &self,
        job_id: JobId,
        end: &ItemEnd,
        timings: &[(&str, u64)],
    ) {
        let item_id: ItemId =
            sqlx::query_scalar("select item_id from job_items where job_id = $1 and position = 0")
                .bind(job_id)
                .fetch_one(&self.pool)
                .await
                .unwrap();
        let claimed = item_claims::claim_item(&self.pool, item_id, "test", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        let mut transaction = self.pool.begin().await.unwrap();
        for (stage, milliseconds) in timings {
            item_claims::record_stage_timing(
                &mut transaction,
                item_id,
                claimed.attempt,
                stage,
                Duration::from_millis(*milliseconds),
            )
            .await
            .unwrap();
        }
        item_claims::end_item(&mut transaction, item_id, claimed.claim_id, end)
            .await
            .unwrap();
        transaction.commit().await.unwrap();
    }
}

/// A complete stored video (see `tokworks_shared::test_fixtures::video_json`).
pub use tokworks_shared::test_fixtures::video_json as stored_video;
