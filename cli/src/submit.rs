//! `tokworks submit`: a file of URLs split into batch jobs (each with an Idempotency-Key derived
//! from the input, so a re-run never duplicates), a small state file for `--resume`, progress
//! over the jobs' event streams, and the results written as NDJSON or CSV.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::CliError;
use crate::client::ApiClient;
use crate::input::{Entry, parse_entries};
use crate::job_json::job_counts;

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

impl ExportFormat {
    pub fn accept(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Csv => "text/csv",
        }
    }
}

/// What `submit` was asked to do.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// The input file; `-` reads standard input.
    pub input: PathBuf,
    pub wait: bool,
    pub out: Option<PathBuf>,
    pub format: ExportFormat,
    pub resume: bool,
    pub state: Option<PathBuf>,
    pub batch_size: usize,
    /// The `options` object of every job (transcript, analyze_thumbnail, language, refresh).
    pub job_options: Value,
}

/// The state file: which batch of which input became which job.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SubmitState {
    input_sha256: String,
    batch_size: usize,
    /// Batch index → job id.
    jobs: BTreeMap<usize, String>,
}

/// What a submit ended with.
#[derive(Debug, Serialize)]
pub struct SubmitReport {
    pub jobs: Vec<String>,
    pub urls: usize,
    pub rejected: usize,
    pub succeeded: i64,
    pub failed: i64,
    pub canceled: i64,
    pub pending: i64,
    pub out: Option<PathBuf>,
    /// Whether the run followed the jobs to their end (`--wait`).
    pub waited: bool,
}

impl SubmitReport {
    /// Nothing was rejected or failed; with `--wait`, every URL also succeeded (without it,
    /// items still pending are what a submit expects).
    pub fn all_succeeded(&self) -> bool {
        self.rejected == 0
            && self.failed == 0
            && self.canceled == 0
            && (!self.waited || self.pending == 0)
    }
}

pub async fn submit(client: &ApiClient, options: &SubmitOptions) -> Result<SubmitReport, CliError> {
    let text = read_input(&options.input)?;
    let entries = parse_entries(&text).map_err(|error| CliError::Usage(error.to_string()))?;
    let digest = hex(&Sha256::digest(text.as_bytes()));
    let state_path = state_path(options, &digest);
    let mut state = if options.resume {
        load_state(&state_path, &digest, options.batch_size)?
    } else {
        SubmitState {
            input_sha256: digest.clone(),
            batch_size: options.batch_size,
            jobs: BTreeMap::new(),
        }
    };
    let mut rejected = 0;
    for (index, batch) in entries.chunks(options.batch_size.max(1)).enumerate() {
        if state.jobs.contains_key(&index) {
            continue;
        }
        let body = batch_body(batch, &options.job_options);
        // The same input, batch size and index always carry the same key: a re-run (with or
        // without --resume) gets the job the first run created instead of a second one.
        let idempotency_key = format!("cli-{}-{}-{index}", &digest[..32], options.batch_size);
        match client.submit(&body, Some(&idempotency_key), None).await {
            Ok(job) => {
                rejected += job["rejected"].as_array().map_or(0, Vec::len);
                for refused in job["rejected"].as_array().into_iter().flatten() {
                    eprintln!(
                        "rejected: {} ({})",
                        refused["url"].as_str().unwrap_or_default(),
                        refused["code"].as_str().unwrap_or_default()
                    );
                }
                let job_id = job["id"].as_str().unwrap_or_default().to_owned();
                state.jobs.insert(index, job_id);
                save_state(&state_path, &state)?;
            }
            Err(crate::client::ApiError::Answered { code, detail, .. })
                if code == "NO_VALID_URLS" =>
            {
                rejected += batch.len();
                eprintln!("batch {index}: no valid URL ({detail})");
            }
            Err(error) => return Err(error.into()),
        }
    }
    let job_ids: Vec<String> = state.jobs.values().cloned().collect();
    let mut report = SubmitReport {
        jobs: job_ids.clone(),
        urls: entries.len(),
        rejected,
        succeeded: 0,
        failed: 0,
        canceled: 0,
        pending: 0,
        out: options.out.clone(),
        waited: options.wait,
    };
    if !options.wait {
        for job_id in &job_ids {
            let job = client.get(&format!("/v1/jobs/{job_id}")).await?;
            add_counts(&mut report, &job);
        }
        return Ok(report);
    }
    for job in follow_all(client, &job_ids).await? {
        add_counts(&mut report, &job);
    }
    if let Some(out) = &options.out {
        write_results(client, &job_ids, options.format, out).await?;
    }
    Ok(report)
}

fn batch_body(batch: &[Entry], job_options: &Value) -> Value {
    let mut body = json!({"kind": "batch", "urls": batch});
    if job_options
        .as_object()
        .is_some_and(|options| !options.is_empty())
    {
        body["options"] = job_options.clone();
    }
    body
}

fn add_counts(report: &mut SubmitReport, job: &Value) {
    let counts = job_counts(job);
    report.succeeded += counts.succeeded;
    report.failed += counts.failed;
    report.canceled += counts.canceled;
    report.pending += counts.pending;
}

/// A job's item total, items done and items failed, from its latest `state` event.
type JobProgress = (u64, u64, u64);

/// Follows every job's event stream at once, with one progress bar over all their items.
async fn follow_all(client: &ApiClient, job_ids: &[String]) -> Result<Vec<Value>, CliError> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} items  {msg}  {per_sec}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let counts: Arc<Mutex<BTreeMap<String, JobProgress>>> = Arc::default();
    let follows = job_ids.iter().map(|job_id| {
        let bar = bar.clone();
        let counts = Arc::clone(&counts);
        async move {
            client
                .follow_job(job_id, |event| {
                    if event.name != "state" {
                        return;
                    }
                    let Ok(state) = serde_json::from_str::<Value>(&event.data) else {
                        return;
                    };
                    let job_counts = job_counts(&state);
                    let count = |value: i64| u64::try_from(value).unwrap_or(0);
                    let (total, done) = (count(job_counts.total), count(job_counts.done()));
                    let mut counts = counts.lock().unwrap_or_else(|poison| poison.into_inner());
                    counts.insert(job_id.clone(), (total, done, count(job_counts.failed)));
                    let (total, done, failed) = counts.values().fold((0, 0, 0), |sum, job| {
                        (sum.0 + job.0, sum.1 + job.1, sum.2 + job.2)
                    });
                    bar.set_length(total);
                    bar.set_position(done);
                    bar.set_message(format!("{failed} failed"));
                })
                .await
        }
    });
    let finished = futures::future::try_join_all(follows).await;
    bar.finish_and_clear();
    Ok(finished?)
}

/// Writes every item of the jobs to `out`, page by page (CSV: one header row).
async fn write_results(
    client: &ApiClient,
    job_ids: &[String],
    format: ExportFormat,
    out: &Path,
) -> Result<(), CliError> {
    let mut text = String::new();
    for job_id in job_ids {
        let mut cursor: Option<String> = None;
        loop {
            let page = client
                .export_page(job_id, format.accept(), cursor.as_deref(), None)
                .await?;
            let body = match format {
                // Every CSV page starts with the header row: keep the first one only.
                ExportFormat::Csv if !text.is_empty() => page
                    .text
                    .split_once('\n')
                    .map_or("", |(_, rows)| rows)
                    .to_owned(),
                _ => page.text,
            };
            text.push_str(&body);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    std::fs::write(out, text).map_err(|error| CliError::File {
        path: out.to_path_buf(),
        message: error.to_string(),
    })
}

fn read_input(input: &Path) -> Result<String, CliError> {
    if input == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|error| {
            CliError::File {
                path: input.to_path_buf(),
                message: error.to_string(),
            }
        })?;
        return Ok(text);
    }
    std::fs::read_to_string(input).map_err(|error| CliError::File {
        path: input.to_path_buf(),
        message: error.to_string(),
    })
}

/// `--state`, else `<input>.tokworks-state.json`, else (standard input) a file named after the
/// input's digest in the current directory.
fn state_path(options: &SubmitOptions, digest: &str) -> PathBuf {
    if let Some(path) = &options.state {
        return path.clone();
    }
    if options.input == Path::new("-") {
        return PathBuf::from(format!("tokworks-submit-{}.json", &digest[..12]));
    }
    let mut name = options.input.as_os_str().to_owned();
    name.push(".tokworks-state.json");
    PathBuf::from(name)
}

fn load_state(path: &Path, digest: &str, batch_size: usize) -> Result<SubmitState, CliError> {
    let text = std::fs::read_to_string(path).map_err(|error| CliError::File {
        path: path.to_path_buf(),
        message: format!("--resume needs the state file of a previous run: {error}"),
    })?;
    let state: SubmitState = serde_json::from_str(&text).map_err(|error| CliError::File {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    if state.input_sha256 != digest || state.batch_size != batch_size {
        return Err(CliError::Usage(format!(
            "{} belongs to another input or batch size; run without --resume to start over",
            path.display()
        )));
    }
    Ok(state)
}

fn save_state(path: &Path, state: &SubmitState) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    std::fs::write(path, text).map_err(|error| CliError::File {
        path: path.to_path_buf(),
        message: error.to_string(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
