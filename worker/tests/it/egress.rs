//! TikTok egress on the wire, as the simulator sees it: the native client and yt-dlp both
//! present Chrome's TLS ClientHello (GREASE, Chrome's extension set) where a rustls client does
//! not; yt-dlp impersonates without a warning; one item's page, cover and subtitles share one
//! session (the cookie-bound web CDN serves the transcript); and the proxy pool spreads items
//! over its proxies and cools down the one TikTok blocks.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokworks_shared::db::transcripts as transcript_db;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::job_status::TranscriptStatus;
use tokworks_sim::faults::FaultRuleSpec;
use tokworks_sim::server::SimHandle;
use tokworks_sim::site::urls::WEB_SUBTITLE_HOST;
use tokworks_worker::egress::{Egress, EgressSettings};
use tokworks_worker::extract_item::{ExtractItemOutcome, run_extract_item};
use tokworks_worker::extractor::VideoExtractor;
use tokworks_worker::web_extractor::WebExtractor;
use tokworks_worker::ytdlp::{HELPER_SCRIPT, locate_python};

use crate::support::{
    CountingExtractor, context, egress_through, insert_job, item_row, logged_requests, sim_videos,
    start_sim, start_ytdlp, subtitles_through, unique_queue, ytdlp_path,
};

const DEADLINE: Duration = Duration::from_secs(30);

fn first_video(sim: &SimHandle) -> Value {
    sim_videos(sim, 40)
        .into_iter()
        .find(|video| video["kind"] == "video")
        .expect("a video in the corpus")
}

/// The TLS labels of the logged requests to `host`.
async fn tls_labels(sim: &SimHandle, host: &str) -> Vec<String> {
    logged_requests(sim, host)
        .await
        .iter()
        .map(|entry| entry["tls"]["label"].as_str().unwrap_or("none").to_owned())
        .collect()
}

fn assert_chrome(entry: &Value) {
    let tls = &entry["tls"];
    assert_eq!(tls["label"], "chrome-like", "{entry}");
    assert_eq!(tls["grease"], true, "{entry}");
    let extensions: Vec<u64> = tls["extensions"]
        .as_array()
        .expect("extensions are listed")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    // ALPS (application_settings) and compress_certificate: Chrome's, absent from rustls and
    // Python's OpenSSL.
    assert!(
        extensions
            .iter()
            .any(|kind| [17_513, 17_613].contains(kind)),
        "{extensions:?}"
    );
    assert!(extensions.contains(&27), "{extensions:?}");
    assert!(
        tls["ja4"]
            .as_str()
            .is_some_and(|ja4| ja4.starts_with("t13d")),
        "{tls}"
    );
}

/// Asserts that every logged page and cover request of `truth` came with Chrome's ClientHello;
/// returns the page requests.
async fn assert_page_and_cover_were_chrome(sim: &SimHandle, truth: &Value) -> Vec<Value> {
    let pages = logged_requests(sim, "www.tiktok.com").await;
    assert!(!pages.is_empty());
    pages.iter().for_each(assert_chrome);
    let cover_url = truth["cover_url"].as_str().expect("the post has a cover");
    let cover_url = url::Url::parse(cover_url).expect("the cover URL parses");
    let cover_host = cover_url.host_str().expect("the cover URL has a host");
    logged_requests(sim, cover_host)
        .await
        .iter()
        .for_each(assert_chrome);
    pages
}

#[tokio::test]
async fn the_native_client_presents_chromes_fingerprint_and_rustls_does_not() {
    let sim = start_sim().await;
    let truth = first_video(&sim);
    let extractor = WebExtractor::new(egress_through(&sim), DEADLINE);
    extractor
        .extract(truth["canonical_url"].as_str().unwrap())
        .await
        .expect("the extraction succeeds");
    let pages = assert_page_and_cover_were_chrome(&sim, &truth).await;
    assert!(
        pages[0]["user_agent"]
            .as_str()
            .is_some_and(|agent| agent.contains("Chrome/145")),
        "{}",
        pages[0]
    );

    // The simulator tells a plain rustls client apart.
    let rustls = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(sim.proxy_url()).unwrap())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let answer = rustls.get("https://m.tiktok.com/").send().await.unwrap();
    assert!(answer.status().is_success() || answer.status().is_client_error());
    let labels = tls_labels(&sim, "m.tiktok.com").await;
    assert_eq!(labels.len(), 1);
    assert_ne!(labels[0], "chrome-like");
    let entry = &logged_requests(&sim, "m.tiktok.com").await[0];
    assert_eq!(entry["tls"]["grease"], false, "{entry}");
}

#[tokio::test]
async fn ytdlp_impersonates_chrome_on_the_wire() {
    let sim = start_sim().await;
    let truth = first_video(&sim);
    let extractor = start_ytdlp(&sim, 1, DEADLINE).await;
    extractor
        .extract(truth["canonical_url"].as_str().unwrap())
        .await
        .expect("the extraction succeeds");
    assert_page_and_cover_were_chrome(&sim, &truth).await;
}

/// Runs the helper script by hand for one URL; returns its ready line and everything it wrote
/// on stderr.
async fn helper_run(sim: &SimHandle, url: &str) -> (Value, String) {
    let python = locate_python(&ytdlp_path(), None).expect("yt-dlp installed");
    let script = std::env::temp_dir().join(format!("egress-helper-{}.py", ulid::Ulid::generate()));
    std::fs::write(&script, HELPER_SCRIPT).expect("the helper script is written");
    let mut child = tokio::process::Command::new(&python.interpreter)
        .arg("-u")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the helper starts");
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        panic!("the helper's pipes are open");
    };
    let mut stdout = BufReader::new(stdout).lines();
    let wait = async {
        let mut next_json = async || -> Value {
            let line = stdout.next_line().await.expect("stdout is readable");
            serde_json::from_str(&line.expect("the helper answers")).expect("protocol JSON")
        };
        let ready = next_json().await;
        let request = json!({"url": url, "proxy": sim.proxy_url(), "insecure_tls": true, "socket_timeout": 10});
        stdin
            .write_all(format!("{request}\n").as_bytes())
            .await
            .expect("the request is sent");
        let answer = next_json().await;
        assert_eq!(answer["ok"], true, "{answer}");
        assert!(
            answer["cookies"]
                .as_array()
                .is_some_and(|cookies| cookies.iter().any(|c| c["name"] == "tt_chain_token")),
            "{answer}"
        );
        drop(stdin);
        let mut log = String::new();
        stderr
            .read_to_string(&mut log)
            .await
            .expect("stderr is readable");
        (ready, log)
    };
    let result = tokio::time::timeout(DEADLINE, wait)
        .await
        .expect("the helper answers in time");
    let _ = std::fs::remove_file(&script);
    result
}

#[tokio::test]
async fn the_ytdlp_helper_impersonates_without_a_warning() {
    let sim = start_sim().await;
    let truth = first_video(&sim);
    let (ready, stderr) = helper_run(&sim, truth["canonical_url"].as_str().unwrap()).await;
    assert_eq!(ready["impersonation"], "chrome", "{ready}");
    assert!(
        !stderr.to_ascii_lowercase().contains("impersonat"),
        "yt-dlp warned about impersonation: {stderr}"
    );
}

/// A video whose subtitle tracks live on the cookie-bound web CDN and include `eng-US`.
fn web_cdn_video(sim: &SimHandle) -> Value {
    sim_videos(sim, 300)
        .into_iter()
        .find(|video| {
            video["subtitles_on_web_cdn"] == true
                && video["duration"]
                    .as_u64()
                    .is_some_and(|seconds| seconds <= 600)
                && video["subtitle_languages"]
                    .as_array()
                    .is_some_and(|languages| languages.iter().any(|l| l == "eng-US"))
        })
        .expect("the corpus has such a video")
}

async fn transcript_on_the_web_cdn(
    pool: &PgPool,
    sim: &SimHandle,
    extractor: Arc<dyn VideoExtractor>,
) {
    let mut context = context(pool.clone(), unique_queue().await, extractor);
    context.subtitles = subtitles_through(sim);
    let truth = web_cdn_video(sim);
    let url = truth["canonical_url"].as_str().expect("a URL");
    let (_, tasks) = insert_job(pool, &[url], 1, json!({"transcript": true})).await;
    run_extract_item(&context, tasks[0])
        .await
        .expect("the handler runs");
    assert_eq!(item_row(pool, tasks[0].item_id).await.status, "succeeded");
    let row = transcript_db::list_item_transcripts(pool, &[tasks[0].item_id])
        .await
        .expect("the transcript is readable")
        .pop()
        .expect("the item exists");
    assert_eq!(row.status, Some(TranscriptStatus::Succeeded), "{row:?}");
    let expected = truth["subtitles"]
        .as_array()
        .and_then(|tracks| {
            tracks
                .iter()
                .find(|track| track["language_code_name"] == "eng-US")
        })
        .expect("an eng-US track")["text"]
        .clone();
    assert_eq!(row.text.as_deref(), expected.as_str());
    let downloads = logged_requests(sim, WEB_SUBTITLE_HOST).await;
    assert_eq!(downloads.len(), 1, "{downloads:?}");
    let download = &downloads[0];
    assert_eq!(download["status"], 200, "{download}");
    assert!(
        download["cookie_names"]
            .as_array()
            .is_some_and(|names| names.iter().any(|name| name == "tt_chain_token")),
        "{download}"
    );
    let referer = download["referer"].as_str().unwrap_or_default();
    assert!(
        referer.contains(truth["video_id"].as_str().expect("an id")),
        "{download}"
    );
    assert_chrome(download);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_transcript_on_the_cookie_bound_web_cdn_rides_on_the_ytdlp_items_session(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = Arc::new(start_ytdlp(&sim, 1, DEADLINE).await);
    transcript_on_the_web_cdn(&pool, &sim, extractor).await;
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_transcript_on_the_cookie_bound_web_cdn_rides_on_the_web_items_session(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = Arc::new(WebExtractor::new(egress_through(&sim), DEADLINE));
    transcript_on_the_web_cdn(&pool, &sim, extractor).await;
}

/// An egress over two simulators (two proxies) with a long first cooldown.
fn pool_over(first: &SimHandle, second: &SimHandle) -> Egress {
    Egress::new(&EgressSettings {
        proxy_urls: vec![first.proxy_url(), second.proxy_url()],
        insecure_tls: true,
        proxy_cooldown: Duration::from_secs(600),
    })
    .expect("the pool builds")
}

async fn page_count(sim: &SimHandle) -> usize {
    logged_requests(sim, "www.tiktok.com").await.len()
}

#[tokio::test]
async fn the_proxy_pool_spreads_items_and_cools_down_a_blocked_proxy() {
    let (first, second) = (start_sim().await, start_sim().await);
    let videos: Vec<Value> = sim_videos(&first, 40)
        .into_iter()
        .filter(|video| video["kind"] == "video")
        .take(8)
        .collect();
    let extractor = WebExtractor::new(pool_over(&first, &second), DEADLINE);
    for video in &videos[..4] {
        extractor
            .extract(video["canonical_url"].as_str().unwrap())
            .await
            .expect("both proxies work");
    }
    assert_eq!(
        (page_count(&first).await, page_count(&second).await),
        (2, 2)
    );

    // TikTok blocks the second proxy's address: one item meets the block, then the proxy
    // cools down and every later item goes through the first.
    let block = json!({"match": {"all": true}, "fault": "http_403"});
    second
        .add_fault(FaultRuleSpec::from_json(&block.to_string()).unwrap())
        .unwrap();
    let mut blocked = 0;
    for video in &videos[4..] {
        match extractor
            .extract(video["canonical_url"].as_str().unwrap())
            .await
        {
            Ok(_) => {}
            Err(failure) => {
                assert_eq!(failure.code, ErrorCode::UpstreamBlocked, "{failure}");
                blocked += 1;
            }
        }
    }
    assert!(blocked <= 1, "{blocked} items met the blocked proxy");
    assert_eq!(page_count(&second).await, 2 + blocked);
    assert_eq!(page_count(&first).await, 2 + 4 - blocked);

    // With both proxies cooling, an item fails at once, retryably, without a request.
    first
        .add_fault(FaultRuleSpec::from_json(&block.to_string()).unwrap())
        .unwrap();
    let before = (page_count(&first).await, page_count(&second).await);
    let mut failures = Vec::new();
    for video in &videos[..3] {
        failures.push(
            extractor
                .extract(video["canonical_url"].as_str().unwrap())
                .await
                .unwrap_err(),
        );
    }
    assert!(
        failures
            .iter()
            .all(|failure| failure.code == ErrorCode::UpstreamBlocked)
    );
    assert!(failures.last().unwrap().code.is_retryable());
    assert!(
        failures.last().unwrap().message.contains("cooling"),
        "{:?}",
        failures.last()
    );
    assert_eq!(
        (page_count(&first).await, page_count(&second).await),
        (before.0 + 1, before.1),
        "only the first item reached TikTok"
    );
}

#[tokio::test]
async fn a_rate_limited_pool_fails_items_rate_limited_and_retryable() {
    let (first, second) = (start_sim().await, start_sim().await);
    let videos: Vec<Value> = sim_videos(&first, 40)
        .into_iter()
        .filter(|video| video["kind"] == "video")
        .take(4)
        .collect();
    let extractor = WebExtractor::new(pool_over(&first, &second), DEADLINE);
    let limit = json!({"match": {"all": true}, "fault": "http_429", "retry_after_secs": 30});
    for sim in [&first, &second] {
        sim.add_fault(FaultRuleSpec::from_json(&limit.to_string()).unwrap())
            .unwrap();
    }
    let mut codes = Vec::new();
    for video in &videos {
        let failure = extractor
            .extract(video["canonical_url"].as_str().unwrap())
            .await
            .unwrap_err();
        codes.push(failure.code);
    }
    assert!(
        codes
            .iter()
            .all(|code| *code == ErrorCode::UpstreamRateLimited),
        "{codes:?}"
    );
    assert!(ErrorCode::UpstreamRateLimited.is_retryable());
    // Each proxy took one 429, then both cooled: the last two items never reached TikTok.
    assert_eq!(
        (page_count(&first).await, page_count(&second).await),
        (1, 1)
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_cached_videos_cookie_bound_track_is_fetched_after_opening_its_page(pool: PgPool) {
    let sim = start_sim().await;
    let web = Arc::new(WebExtractor::new(egress_through(&sim), DEADLINE));
    let counting = CountingExtractor::new(web);
    let mut context = context(pool.clone(), unique_queue().await, counting.clone());
    context.subtitles = subtitles_through(&sim);
    let truth = web_cdn_video(&sim);
    let url = truth["canonical_url"].as_str().unwrap();
    let (_, first) = insert_job(&pool, &[url], 1, json!({})).await;
    run_extract_item(&context, first[0]).await.unwrap();
    let (_, second) = insert_job(&pool, &[url], 1, json!({"transcript": true})).await;
    let outcome = run_extract_item(&context, second[0]).await.unwrap();
    assert!(
        matches!(
            outcome,
            ExtractItemOutcome::Succeeded {
                cache_hit: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        counting.calls(),
        1,
        "the cached video is not extracted again"
    );
    let row = transcript_db::list_item_transcripts(&pool, &[second[0].item_id])
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(row.status, Some(TranscriptStatus::Succeeded), "{row:?}");
    let downloads = logged_requests(&sim, WEB_SUBTITLE_HOST).await;
    assert_eq!(downloads.len(), 1, "{downloads:?}");
    assert_eq!(downloads[0]["status"], 200);
}
