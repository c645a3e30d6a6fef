//! The web dashboard in a real browser: headless Chromium (DevTools protocol over a pipe, see
//! `cdp`) signs in at `/ui` with the key, submits a simulator video, follows the job live until it
//! succeeded with its cover shown, visits the jobs list and the stats page; creates a watch,
//! sees its baseline run and pauses it; and never sends a request to any host but the api. Screenshots go to the test's log directory and to
//! `target/e2e-screenshots/`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

mod cdp;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ground_truth::{canonical_url, video_id};
use crate::harness::{ServiceOptions, TestService};
use cdp::Browser;

/// How long the page may take to show something the api already has.
const UI_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the job may take end to end (real yt-dlp against the simulator).
const JOB_TIMEOUT: Duration = Duration::from_secs(90);

/// Screenshots of one step, in the test's log directory and in `target/e2e-screenshots/`.
fn screenshot_paths(service: &TestService, name: &str) -> Vec<PathBuf> {
    let shared = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("e2e-screenshots");
    vec![
        service.log_directory.join("screenshots").join(name),
        shared.join(name),
    ]
}

/// Requests of the page that went anywhere but the api (blob: and data: URLs are the page's
/// own memory).
fn foreign_requests(events: &[Value], api_url: &str) -> Vec<String> {
    let own_origin = format!("{api_url}/");
    requested_urls(events)
        .into_iter()
        .filter(|url| {
            !(url.starts_with(&own_origin) || url.starts_with("blob:") || url.starts_with("data:"))
        })
        .collect()
}

fn requested_urls(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|event| event["method"] == "Network.requestWillBeSent")
        .filter_map(|event| event["params"]["request"]["url"].as_str())
        .map(str::to_owned)
        .collect()
}

/// Uncaught exceptions and console errors of the page (a CSP violation is one).
fn page_errors(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => {
                Some(event["params"]["exceptionDetails"].to_string())
            }
            Some("Log.entryAdded") if event["params"]["entry"]["level"] == "error" => {
                // Failed loads included: the page asks for a cover only once its item succeeded,
                // when the cover is stored, so a healthy run logs no error at all.
                let entry = &event["params"]["entry"];
                Some(format!("{}: {}", entry["url"], entry["text"]))
            }
            _ => None,
        })
        .collect()
}

/// Opens `/ui`, signs in with the service's key and waits for the jobs list; checks the key is
/// kept in the tab, never in the URL.
async fn sign_in(page: &cdp::Page<'_>, service: &TestService) {
    page.navigate(&format!("{}/ui", service.api_url)).await;
    page.wait_for(
        "the sign-in form",
        "!!document.querySelector('#api-key')",
        UI_TIMEOUT,
    )
    .await;
    page.type_into("#api-key", &service.api_key).await;
    page.click("#sign-in").await;
    page.wait_for(
        "the jobs list",
        "!!document.querySelector('#jobs-table')",
        UI_TIMEOUT,
    )
    .await;
    let stored = page
        .evaluate("sessionStorage.getItem('tokworks.apiKey')")
        .await;
    assert_eq!(stored, json!(service.api_key), "the key is kept in the tab");
    let href = page.evaluate("location.href").await;
    assert!(
        !href.as_str().unwrap().contains(&service.api_key),
        "the key is in the URL: {href}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_submits_a_video_and_shows_it_live_with_its_cover() {
    let started = Instant::now();
    let service = TestService::start(ServiceOptions::new("dashboard")).await;
    let truth = service.sim_plain_videos(1).await.remove(0);
    let (url, id) = (
        canonical_url(&truth).to_owned(),
        video_id(&truth).to_owned(),
    );

    let browser = Browser::launch(
        &service.log_directory.join("chromium-profile"),
        &service.log_directory.join("chromium.log"),
    )
    .await;
    let page = browser.new_page().await;
    sign_in(&page, &service).await;
    page.screenshot(&screenshot_paths(&service, "01-signed-in.png"))
        .await;

    page.click("a[data-nav=submit]").await;
    page.wait_for(
        "the submit form",
        "!!document.querySelector('#video-url')",
        UI_TIMEOUT,
    )
    .await;
    page.type_into("#video-url", &url).await;
    page.click("#submit-video-submit").await;
    let job_id = page
        .wait_for(
            "the job page after submitting",
            "(location.hash.match(/^#\\/jobs\\/([0-9a-f-]{36})$/) || [])[1] || null",
            UI_TIMEOUT,
        )
        .await;
    let job_id = job_id.as_str().unwrap().to_owned();

    let cover_width = page
        .wait_for(
            "the job to succeed with its cover shown",
            "(() => {
                const status = document.querySelector('#job-status [data-status]');
                const img = document.querySelector('article.item[data-status=succeeded] img.cover');
                return status && status.dataset.status === 'succeeded' && img && img.complete
                    ? img.naturalWidth : 0;
            })()",
            JOB_TIMEOUT,
        )
        .await;
    assert!(cover_width.as_u64().unwrap() > 0, "{cover_width}");
    page.wait_for(
        "the event stream to end",
        "document.querySelector('#job-live').textContent === 'finished'",
        UI_TIMEOUT,
    )
    .await;
    let shown = page
        .evaluate(
            "(() => { const item = document.querySelector('article.item');
                      return { id: item.querySelector('img.cover').dataset.videoId,
                               caption: item.querySelector('.caption').textContent,
                               text: document.querySelector('#job-facts').textContent }; })()",
        )
        .await;
    assert_eq!(shown["id"], json!(id), "{shown}");
    assert!(
        !shown["caption"].as_str().unwrap().is_empty(),
        "no caption: {shown}"
    );
    page.screenshot(&screenshot_paths(&service, "02-job.png"))
        .await;
    let job = service.get_job(job_id.parse().expect("a job id")).await;
    assert_eq!(job["status"], "succeeded", "{job}");

    page.click("a[data-nav=jobs]").await;
    let row = format!("tr[data-job-id=\"{job_id}\"][data-status=succeeded]");
    page.wait_for(
        "the job in the list",
        &format!("!!document.querySelector({})", json!(row)),
        UI_TIMEOUT,
    )
    .await;
    page.screenshot(&screenshot_paths(&service, "03-jobs.png"))
        .await;

    page.click("a[data-nav=stats]").await;
    page.wait_for(
        "the stage timings chart",
        "document.querySelectorAll('#stage-chart rect').length",
        UI_TIMEOUT,
    )
    .await;
    page.screenshot(&screenshot_paths(&service, "04-stats.png"))
        .await;

    let events = browser.events();
    let urls = requested_urls(&events);
    let foreign = foreign_requests(&events, &service.api_url);
    assert!(foreign.is_empty(), "requests to other hosts: {foreign:#?}");
    for expected in [
        format!("/v1/jobs/{job_id}/events"),
        format!("/v1/videos/{id}/cover"),
        "/ui/app.css".to_owned(),
        "/v1/stats".to_owned(),
    ] {
        assert!(
            urls.iter().any(|url| url.ends_with(&expected)),
            "no request to {expected}: {urls:#?}"
        );
    }
    let errors = page_errors(&events);
    assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
    browser.close().await;
    eprintln!(
        "dashboard: {} requests, all to the api; screenshots in target/e2e-screenshots/; {:?}",
        urls.len(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_creates_a_watch_shows_its_baseline_run_and_pauses_it() {
    let service = TestService::start(ServiceOptions::new("dashboard_watches")).await;
    let truth = service.sim_plain_videos(1).await.remove(0);
    let username = truth["author"]["unique_id"].as_str().unwrap().to_owned();

    let browser = Browser::launch(
        &service.log_directory.join("chromium-profile"),
        &service.log_directory.join("chromium.log"),
    )
    .await;
    let page = browser.new_page().await;
    sign_in(&page, &service).await;

    page.click("a[data-nav=watches]").await;
    page.wait_for(
        "the watch form",
        "!!document.querySelector('#watch-form')",
        UI_TIMEOUT,
    )
    .await;
    page.type_into("#watch-target", &username).await;
    page.click("#watch-create").await;
    let watch_id = page
        .wait_for(
            "the new watch in the list",
            "(document.querySelector('#watches-body tr[data-watch-id]') || {dataset: {}}).dataset.watchId || null",
            UI_TIMEOUT,
        )
        .await;
    let watch_id = watch_id.as_str().unwrap().to_owned();
    let row_text = page
        .evaluate("document.querySelector('#watches-body tr[data-watch-id]').textContent")
        .await;
    assert!(
        row_text.as_str().unwrap().contains(&format!("@{username}")),
        "{row_text}"
    );

    page.navigate(&format!("{}/ui#/watches/{watch_id}", service.api_url))
        .await;
    page.wait_for(
        "the baseline run, succeeded, on the watch's page",
        "!!document.querySelector('#watch-runs tr[data-status=succeeded]')
            && document.querySelector('#watch-runs').textContent.includes('baseline')",
        JOB_TIMEOUT,
    )
    .await;
    page.wait_for(
        "the videos the baseline saw",
        "document.querySelectorAll('#watch-videos tr[data-video-id]').length > 0",
        UI_TIMEOUT,
    )
    .await;
    page.screenshot(&screenshot_paths(&service, "05-watch.png"))
        .await;

    page.click("#watch-actions button[data-action=pause]").await;
    page.wait_for(
        "the watch paused",
        "document.querySelector('#watch-facts').textContent.includes('paused')
            && !!document.querySelector('#watch-actions button[data-action=resume]')",
        UI_TIMEOUT,
    )
    .await;
    let watch = service.get_json(&format!("/v1/watches/{watch_id}")).await;
    assert_eq!(watch["status"], "paused", "{watch}");
    assert_eq!(watch["paused_reason"], "requested", "{watch}");

    let events = browser.events();
    let foreign = foreign_requests(&events, &service.api_url);
    assert!(foreign.is_empty(), "requests to other hosts: {foreign:#?}");
    let errors = page_errors(&events);
    assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
    browser.close().await;
}
