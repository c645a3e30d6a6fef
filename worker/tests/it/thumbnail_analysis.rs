//! The `analyze` stage against the simulator's OpenAI-compatible endpoint, real Postgres (a fresh
//! database per test) and real Redis (a namespace per test): valid analyses in both languages,
//! invalid answers retried once then failed with the extraction intact, 429 + Retry-After, 5xx,
//! the cache, coalescing, the global concurrency limit, and a broken template stopping the worker.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

use std::sync::Arc;
use std::time::Duration;
use tokworks_shared::ids::ItemId;

use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::thumbnail_analyses;
use tokworks_shared::job_options::Language;
use tokworks_shared::job_status::AnalysisStatus;
use tokworks_sim::server::SimHandle;
use tokworks_worker::extract_item::{ExtractItemOutcome, run_extract_item};
use tokworks_worker::extractor::ThumbnailBytes;
use tokworks_worker::thumbnail_analysis::prompts::{default_prompts_dir, load_prompt_set};
use tokworks_worker::thumbnail_analysis::validate::validate_analysis;
use tokworks_worker::thumbnail_analysis::{AnalyzerSettings, ThumbnailAnalyzer};

use crate::support::replay::ReplayExtractor;
use crate::support::{
    REDIS_URL, context, insert_job, item_row, job_row, sim_videos, start_sim, unique_queue,
};

pub(crate) fn namespace() -> String {
    format!("test_{}", ulid::Ulid::generate().to_string().to_lowercase())
}

pub(crate) async fn analyzer(
    sim: &SimHandle,
    namespace: &str,
    api_key: Option<&str>,
    max_concurrency: u32,
) -> Arc<ThumbnailAnalyzer> {
    let prompts = load_prompt_set(&default_prompts_dir()).expect("repository prompts load");
    ThumbnailAnalyzer::start(
        prompts,
        AnalyzerSettings {
            openai_base_url: format!("{}/v1", sim.base_url()),
            openai_api_key: api_key.map(|key| key.to_owned().into()),
            vision_model: "gpt-4o-mini".to_owned(),
            max_concurrency,
            deadline: Duration::from_secs(20),
        },
        REDIS_URL,
        namespace,
    )
    .await
    .expect("analyzer starts")
}

pub(crate) async fn set_knobs(sim: &SimHandle, knobs: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/_sim/openai/knobs", sim.base_url()))
        .json(&knobs)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
}

/// The simulator's log of chat completions, oldest first.
pub(crate) async fn vision_calls(sim: &SimHandle) -> Vec<Value> {
    let log: Value = reqwest::get(format!(
        "{}/_sim/requests?path_prefix=/v1/chat/completions",
        sim.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let mut entries = log["entries"].as_array().unwrap().clone();
    entries.sort_by_key(|entry| entry["seq"].as_u64());
    entries
}

async fn counters(sim: &SimHandle) -> Value {
    reqwest::get(format!("{}/_sim/counters", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[derive(Debug, sqlx::FromRow)]
struct ItemAnalysisColumns {
    analysis_status: Option<String>,
    analysis_key: Option<Vec<u8>>,
    analysis_language: Option<String>,
    analysis_prompt_version: Option<String>,
    analysis_cached: Option<bool>,
    analysis_error_code: Option<String>,
    analysis_error_message: Option<String>,
}

async fn item_analysis(pool: &PgPool, item_id: ItemId) -> ItemAnalysisColumns {
    sqlx::query_as(
        "select analysis_status, analysis_key, analysis_language, analysis_prompt_version,
                analysis_cached, analysis_error_code, analysis_error_message
         from job_items where item_id = $1",
    )
    .bind(item_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// One video URL of the simulator.
fn video_url(sim: &SimHandle) -> String {
    sim_videos(sim, 10)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .unwrap()["canonical_url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs one job on `url` with `options` through the real handler; returns the item id.
async fn run_job(
    pool: &PgPool,
    context: &tokworks_worker::context::JobContext,
    url: &str,
    options: Value,
) -> ItemId {
    let (job_id, tasks) = insert_job(pool, &[url], 3, options).await;
    let outcome = run_extract_item(context, tasks[0]).await.unwrap();
    assert!(
        matches!(outcome, ExtractItemOutcome::Succeeded { .. }),
        "{outcome:?}"
    );
    assert_eq!(job_row(pool, job_id).await.status, "succeeded");
    tasks[0].item_id
}

pub(crate) fn image(seed: u8) -> ThumbnailBytes {
    ThumbnailBytes {
        source_url: format!("https://p16-sign-va.tiktokcdn.com/obj/{seed}.jpeg"),
        content_type: "image/jpeg".to_owned(),
        bytes: [0xFF, 0xD8, 0xFF, 0xE0, seed, seed, 1, 2, 3].to_vec(),
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn analyses_in_english_and_indonesian_are_stored_with_their_prompt_version(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let namespace = namespace();
    let analyzer = analyzer(&sim, &namespace, Some("sk-test"), 4).await;
    let mut context = context(pool.clone(), unique_queue().await, extractor);
    context.thumbnail_analyzer = Some(analyzer.clone());
    let url = video_url(&sim);

    for (number, (code, language)) in [("en", Language::En), ("id", Language::Id)]
        .into_iter()
        .enumerate()
    {
        let options = json!({"analyze_thumbnail": true, "language": code});
        let item_id = run_job(&pool, &context, &url, options).await;
        let recorded = item_analysis(&pool, item_id).await;
        assert_eq!(recorded.analysis_status.as_deref(), Some("succeeded"));
        assert_eq!(recorded.analysis_language.as_deref(), Some(code));
        assert_eq!(recorded.analysis_cached, Some(false));
        assert_eq!(recorded.analysis_error_code, None);
        let template = analyzer.prompts().template(language);
        assert_eq!(
            recorded.analysis_prompt_version.as_deref(),
            Some(template.prompt_version.as_str())
        );
        let stored = thumbnail_analyses::cached_analysis(&pool, &recorded.analysis_key.unwrap())
            .await
            .unwrap()
            .expect("analysis cached");
        assert_eq!(
            (stored.language.as_str(), stored.model.as_str()),
            (code, "gpt-4o-mini")
        );
        assert_eq!(stored.prompt_version, template.prompt_version);
        assert!(stored.prompt_tokens > 0 && stored.completion_tokens > 0);
        assert_eq!(
            stored.total_tokens,
            stored.prompt_tokens + stored.completion_tokens
        );
        // Every value is one of this language's template values (and the schema accepts it).
        validate_analysis(analyzer.prompts(), template, &stored.analysis).unwrap();
        assert_eq!(vision_calls(&sim).await.len(), number + 1);
        let stages: Vec<String> =
            sqlx::query_scalar("select stage from item_stage_timings where item_id = $1")
                .bind(item_id)
                .fetch_all(&pool)
                .await
                .unwrap();
        assert!(stages.contains(&"analyze".to_owned()), "{stages:?}");
    }
    let indonesian =
        thumbnail_analyses::latest_analyses_of_video(&pool, url.rsplit('/').next().unwrap())
            .await
            .unwrap();
    assert_eq!(indonesian.len(), 2);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_schema_violation_is_retried_once_then_fails_and_the_extraction_stands(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let mut context = context(pool.clone(), unique_queue().await, extractor);
    context.thumbnail_analyzer = Some(analyzer(&sim, &namespace(), Some("sk-test"), 4).await);
    set_knobs(&sim, json!({"schema_violation_next": 2})).await;

    let url = video_url(&sim);
    let item_id = run_job(&pool, &context, &url, json!({"analyze_thumbnail": true})).await;

    assert_eq!(vision_calls(&sim).await.len(), 2);
    let item = item_row(&pool, item_id).await;
    assert_eq!(item.status, "succeeded");
    assert!(item.result_video_id.is_some());
    let recorded = item_analysis(&pool, item_id).await;
    assert_eq!(recorded.analysis_status.as_deref(), Some("failed"));
    assert_eq!(
        recorded.analysis_error_code.as_deref(),
        Some("THUMBNAIL_ANALYSIS_FAILED")
    );
    let message = recorded.analysis_error_message.unwrap();
    assert!(message.contains("after 2 calls"), "{message}");
    assert!(recorded.analysis_key.is_none());
    let cached: i64 = sqlx::query_scalar("select count(*) from thumbnail_analyses")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(cached, 0, "nothing invented, nothing cached");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_429_is_waited_out_for_its_retry_after_and_5xx_are_retried(pool: PgPool) {
    let sim = start_sim().await;
    let analyzer = analyzer(&sim, &namespace(), Some("sk-test"), 4).await;
    set_knobs(&sim, json!({"rate_limit_next": 1, "retry_after_secs": 2})).await;

    let outcome = analyzer
        .analyze_for_item(&pool, "1", Some(&image(1)), Language::En)
        .await;
    assert_eq!(outcome.status, AnalysisStatus::Succeeded, "{outcome:?}");
    let calls = vision_calls(&sim).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["status"], 429);
    assert_eq!(calls[1]["status"], 200);
    let gap =
        calls[1]["received_at_ms"].as_i64().unwrap() - calls[0]["received_at_ms"].as_i64().unwrap();
    assert!(gap >= 2000, "the retry came {gap} ms after the 429");

    set_knobs(
        &sim,
        json!({"server_error_next": 2, "server_error_status": 503}),
    )
    .await;
    let outcome = analyzer
        .analyze_for_item(&pool, "2", Some(&image(2)), Language::En)
        .await;
    assert_eq!(outcome.status, AnalysisStatus::Succeeded, "{outcome:?}");
    let statuses: Vec<Value> = vision_calls(&sim).await[2..]
        .iter()
        .map(|call| call["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(503), json!(503), json!(200)]);

    set_knobs(
        &sim,
        json!({"server_error_next": 10, "server_error_status": 500}),
    )
    .await;
    let outcome = analyzer
        .analyze_for_item(&pool, "3", Some(&image(3)), Language::En)
        .await;
    assert_eq!(outcome.status, AnalysisStatus::Failed);
    let message = outcome.error_message.unwrap();
    assert!(message.contains("HTTP 500"), "{message}");
    assert_eq!(vision_calls(&sim).await.len(), 5 + 4, "1 call + 3 retries");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_second_job_on_the_same_video_makes_no_vision_call(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = ReplayExtractor::new(&sim);
    let mut context = context(pool.clone(), unique_queue().await, extractor);
    context.thumbnail_analyzer = Some(analyzer(&sim, &namespace(), Some("sk-test"), 4).await);
    let url = video_url(&sim);
    let options = json!({"analyze_thumbnail": true, "language": "en"});

    let first = run_job(&pool, &context, &url, options.clone()).await;
    assert_eq!(vision_calls(&sim).await.len(), 1);
    // Refresh: the video is extracted again (same cover bytes), the analysis is still cached.
    let refreshed = json!({"analyze_thumbnail": true, "language": "en", "refresh": true});
    let second = run_job(&pool, &context, &url, refreshed).await;
    let third = run_job(&pool, &context, &url, options).await;

    assert_eq!(vision_calls(&sim).await.len(), 1, "no new vision call");
    let first = item_analysis(&pool, first).await;
    for later in [second, third] {
        let later = item_analysis(&pool, later).await;
        assert_eq!(later.analysis_status.as_deref(), Some("succeeded"));
        assert_eq!(later.analysis_cached, Some(true));
        assert_eq!(later.analysis_key, first.analysis_key);
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn identical_concurrent_analyses_in_two_workers_make_one_vision_call(pool: PgPool) {
    let sim = start_sim().await;
    let namespace = namespace();
    let (worker_a, worker_b) = (
        analyzer(&sim, &namespace, Some("sk-test"), 4).await,
        analyzer(&sim, &namespace, Some("sk-test"), 4).await,
    );
    set_knobs(&sim, json!({"latency_ms": 400})).await;
    let thumbnail = image(7);

    let (a, b) = tokio::join!(
        worker_a.analyze_for_item(&pool, "7", Some(&thumbnail), Language::Id),
        worker_b.analyze_for_item(&pool, "7", Some(&thumbnail), Language::Id),
    );

    assert_eq!(vision_calls(&sim).await.len(), 1);
    assert_eq!(
        (a.status, b.status),
        (AnalysisStatus::Succeeded, AnalysisStatus::Succeeded)
    );
    assert_eq!(a.cache_key, b.cache_key);
    let mut cached = [a.cached, b.cached];
    cached.sort_unstable();
    assert_eq!(cached, [false, true], "one called, the other waited for it");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_global_vision_limit_is_never_exceeded_across_workers(pool: PgPool) {
    let sim = start_sim().await;
    let namespace = namespace();
    let workers = [
        analyzer(&sim, &namespace, Some("sk-test"), 2).await,
        analyzer(&sim, &namespace, Some("sk-test"), 2).await,
    ];
    set_knobs(&sim, json!({"latency_ms": 150})).await;
    let images: Vec<ThumbnailBytes> = (10..18).map(image).collect();

    let runs = images.iter().enumerate().map(|(index, thumbnail)| {
        workers[index % 2].analyze_for_item(&pool, "9", Some(thumbnail), Language::En)
    });
    let outcomes = futures::future::join_all(runs).await;

    assert!(
        outcomes
            .iter()
            .all(|outcome| outcome.status == AnalysisStatus::Succeeded)
    );
    assert_eq!(vision_calls(&sim).await.len(), 8);
    let counters = counters(&sim).await;
    assert_eq!(counters["openai_max_in_flight"], 2, "{counters}");
    assert_eq!(workers[0].concurrency_limit().holders().await.unwrap(), 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn without_a_key_or_a_thumbnail_the_analysis_fails_and_says_why(pool: PgPool) {
    let sim = start_sim().await;
    let unconfigured = analyzer(&sim, &namespace(), None, 4).await;
    let outcome = unconfigured
        .analyze_for_item(&pool, "1", Some(&image(1)), Language::En)
        .await;
    assert_eq!(outcome.status, AnalysisStatus::Failed);
    assert_eq!(
        outcome.error_code.as_deref(),
        Some("THUMBNAIL_ANALYSIS_FAILED")
    );
    assert!(
        outcome
            .error_message
            .unwrap()
            .contains("vision is not configured")
    );

    let configured = analyzer(&sim, &namespace(), Some("sk-test"), 4).await;
    let outcome = configured
        .analyze_for_item(&pool, "7300000000000000001", None, Language::En)
        .await;
    assert_eq!(outcome.status, AnalysisStatus::Failed);
    assert!(
        outcome
            .error_message
            .unwrap()
            .contains("no thumbnail is stored")
    );
    assert!(vision_calls(&sim).await.is_empty());
}

#[test]
fn a_broken_template_stops_the_worker_binary_with_a_message_naming_the_file() {
    let root = std::env::temp_dir().join(format!("tokworks-broken-{}", ulid::Ulid::generate()));
    let folder = root.join("thumbnail_analysis");
    std::fs::create_dir_all(&folder).unwrap();
    let source = default_prompts_dir().join("thumbnail_analysis");
    for name in ["en.yaml", "schema.json"] {
        std::fs::copy(source.join(name), folder.join(name)).unwrap();
    }
    let indonesian = std::fs::read_to_string(source.join("id.yaml")).unwrap();
    std::fs::write(
        folder.join("id.yaml"),
        indonesian.replace("key: content_audience", "key: audience"),
    )
    .unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tokworks-worker"))
        .env("PROMPTS_DIR", &root)
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("REDIS_URL", "redis://127.0.0.1:1/")
        .output()
        .unwrap();

    std::fs::remove_dir_all(&root).unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("id.yaml"), "{stderr}");
    assert!(stderr.contains("sections must be exactly"), "{stderr}");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_refusal_or_malformed_answer_is_retried_once_and_the_retry_may_succeed(pool: PgPool) {
    let sim = start_sim().await;
    let analyzer = analyzer(&sim, &namespace(), Some("sk-test"), 4).await;
    for (number, knobs) in [
        json!({"refusal_next": 1}),
        json!({"malformed_json_next": 1}),
    ]
    .into_iter()
    .enumerate()
    {
        set_knobs(&sim, knobs).await;
        let seed = u8::try_from(number).unwrap() + 20;
        let outcome = analyzer
            .analyze_for_item(&pool, "1", Some(&image(seed)), Language::Id)
            .await;
        assert_eq!(outcome.status, AnalysisStatus::Succeeded, "{outcome:?}");
        assert_eq!(vision_calls(&sim).await.len(), 2 * (number + 1));
    }
    set_knobs(&sim, json!({"malformed_json_next": 1, "refusal_next": 1})).await;
    let outcome = analyzer
        .analyze_for_item(&pool, "1", Some(&image(30)), Language::Id)
        .await;
    assert_eq!(outcome.status, AnalysisStatus::Failed);
    let message = outcome.error_message.unwrap();
    assert!(message.contains("not JSON"), "{message}");
    assert_eq!(vision_calls(&sim).await.len(), 6);
}
