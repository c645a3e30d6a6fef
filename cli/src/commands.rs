//! The commands other than `submit`, `comments` and `watches`: feeds, jobs, videos and webhook
//! verification, and how their results are printed (a short human form on a terminal, JSON
//! otherwise).

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};
use tokworks_shared::job_status::JobStatus;

use crate::client::ApiClient;
use crate::job_json::{job_counts, job_status};
use crate::submit::{ExportFormat, SubmitReport};
use crate::webhook_verify::verify_saved_request;
use crate::{CliError, Output};

/// Options every submitted job carries.
#[derive(Debug, Clone, clap::Args)]
pub struct JobOptionArgs {
    /// Fetch each video's transcript.
    #[arg(long)]
    transcript: bool,
    /// Analyse each thumbnail with the vision model.
    #[arg(long)]
    analyze_thumbnail: bool,
    /// Language of transcripts and analyses (`en` or `id`).
    #[arg(long)]
    language: Option<String>,
    /// Extract again even when a fresh copy is cached.
    #[arg(long)]
    refresh: bool,
}

impl JobOptionArgs {
    /// The job's `options` object (only what was asked).
    pub fn to_json(&self) -> Value {
        let mut options = serde_json::Map::new();
        if self.transcript {
            options.insert("transcript".into(), Value::Bool(true));
        }
        if self.analyze_thumbnail {
            options.insert("analyze_thumbnail".into(), Value::Bool(true));
        }
        if self.refresh {
            options.insert("refresh".into(), Value::Bool(true));
        }
        if let Some(language) = &self.language {
            options.insert("language".into(), Value::String(language.clone()));
        }
        Value::Object(options)
    }
}

/// Options of the feed commands.
#[derive(Debug, Clone, clap::Args)]
pub struct FeedArgs {
    /// How many videos.
    #[arg(long, default_value_t = 30)]
    count: u32,
    #[command(flatten)]
    options: JobOptionArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum JobsCommand {
    /// The key's jobs, newest first.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One job.
    Get { id: String },
    /// Cancel what has not started.
    Cancel { id: String },
    /// Every item of a job, as NDJSON or CSV on standard output.
    Items {
        id: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long, value_enum, default_value = "ndjson")]
        format: ExportFormat,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum VideosCommand {
    /// A stored video (one your jobs extracted).
    Get { id: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum WebhookCommand {
    /// Verify the signature of a saved webhook request (headers, a blank line, the raw body).
    Verify {
        /// The saved request.
        file: PathBuf,
        /// The `whsec_…` secret of `GET /v1/webhook-secret`.
        #[arg(long, env = "TOKWORKS_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// Check as of this Unix time (default: now; signatures older than 5 minutes fail).
        #[arg(long)]
        at: Option<i64>,
    },
}

/// Runs a feed job, waits for it (following its events past the first 30 s), prints its videos.
pub async fn feed(
    client: &ApiClient,
    kind: &str,
    target: Option<&str>,
    args: &FeedArgs,
    output: Output,
) -> Result<bool, CliError> {
    let mut body = json!({"kind": kind, "count": args.count});
    match kind {
        "hashtag" => body["hashtag"] = json!(target.unwrap_or_default().trim_start_matches('#')),
        "user" => body["username"] = json!(target.unwrap_or_default()),
        "search" => body["query"] = json!(target.unwrap_or_default()),
        "sound" => body["sound"] = json!(target.unwrap_or_default()),
        _ => {}
    }
    let options = args.options.to_json();
    if options
        .as_object()
        .is_some_and(|options| !options.is_empty())
    {
        body["options"] = options;
    }
    let mut job = client.submit(&body, None, Some(30)).await?;
    let job_id = job["id"].as_str().unwrap_or_default().to_owned();
    if job_status(&job).is_some_and(|status| !status.is_finished()) {
        job = client.follow_job(&job_id, |_| {}).await?;
    }
    let items = all_items(client, &job_id, None).await?;
    if output.json {
        print_json(&json!({"job": job, "items": items}));
    } else {
        println!(
            "job {job_id}: {}",
            job["status"].as_str().unwrap_or_default()
        );
        for item in &items {
            let video = &item["result"];
            println!(
                "{:>4}  {:<20}  @{:<20}  {:>12} plays  {}",
                item["position"],
                item["video_id"].as_str().unwrap_or("-"),
                video["author"]["unique_id"].as_str().unwrap_or("-"),
                video["stats"]["play_count"].as_i64().unwrap_or(0),
                video["description"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(60)
                    .collect::<String>(),
            );
        }
    }
    Ok(job_status(&job) == Some(JobStatus::Succeeded))
}

/// Every item of a job (NDJSON pages decoded).
pub(crate) async fn all_items(
    client: &ApiClient,
    job_id: &str,
    status: Option<&str>,
) -> Result<Vec<Value>, CliError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client
            .export_page(
                job_id,
                ExportFormat::Ndjson.accept(),
                cursor.as_deref(),
                status,
            )
            .await?;
        for line in page.text.lines().filter(|line| !line.trim().is_empty()) {
            items.push(serde_json::from_str(line).map_err(crate::client::ApiError::from)?);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

pub async fn jobs(
    client: &ApiClient,
    command: JobsCommand,
    output: Output,
) -> Result<bool, CliError> {
    match command {
        JobsCommand::List {
            status,
            kind,
            limit,
        } => {
            let mut path = format!("/v1/jobs?limit={limit}");
            if let Some(status) = status {
                path.push_str(&format!("&status={status}"));
            }
            if let Some(kind) = kind {
                path.push_str(&format!("&kind={kind}"));
            }
            let list = client.get(&path).await?;
            if output.json {
                print_json(&list);
            } else {
                for job in list["data"].as_array().into_iter().flatten() {
                    print_job_line(job);
                }
            }
            Ok(true)
        }
        JobsCommand::Get { id } => {
            let job = client.get(&format!("/v1/jobs/{id}")).await?;
            print_job(&job, output);
            Ok(!matches!(
                job_status(&job),
                Some(JobStatus::Failed | JobStatus::Partial)
            ))
        }
        JobsCommand::Cancel { id } => {
            let job = client.post(&format!("/v1/jobs/{id}/cancel"), None).await?;
            print_job(&job, output);
            Ok(true)
        }
        JobsCommand::Items { id, status, format } => {
            let mut cursor: Option<String> = None;
            let mut first = true;
            let stdout = std::io::stdout();
            let mut stdout = stdout.lock();
            loop {
                let page = client
                    .export_page(&id, format.accept(), cursor.as_deref(), status.as_deref())
                    .await?;
                let text = match format {
                    ExportFormat::Csv if !first => {
                        page.text.split_once('\n').map_or("", |(_, rows)| rows)
                    }
                    _ => page.text.as_str(),
                };
                // A closed pipe (`| head`) just ends the output.
                if stdout.write_all(text.as_bytes()).is_err() {
                    return Ok(true);
                }
                first = false;
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => return Ok(true),
                }
            }
        }
    }
}

pub async fn videos(
    client: &ApiClient,
    command: VideosCommand,
    output: Output,
) -> Result<bool, CliError> {
    let VideosCommand::Get { id } = command;
    let video = client.get(&format!("/v1/videos/{id}")).await?;
    if output.json {
        print_json(&video);
    } else {
        let data = &video["video"];
        println!(
            "{}  @{}",
            id,
            data["author"]["unique_id"].as_str().unwrap_or("-")
        );
        println!("{}", data["description"].as_str().unwrap_or_default());
        println!("stats: {}", data["stats"]);
        println!("fetched at {}", video["fetched_at"].as_str().unwrap_or("-"));
    }
    Ok(true)
}

pub fn webhook(command: &WebhookCommand, output: Output) -> Result<bool, CliError> {
    let WebhookCommand::Verify { file, secret, at } = command;
    let saved = std::fs::read(file).map_err(|error| CliError::File {
        path: file.clone(),
        message: error.to_string(),
    })?;
    let now = at.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            })
    });
    let verdict = verify_saved_request(&saved, secret, now);
    if output.json {
        print_json(&json!({
            "valid": verdict.is_ok(),
            "error": verdict.as_ref().err().map(ToString::to_string),
        }));
    } else {
        match &verdict {
            Ok(()) => println!("valid: the signature matches"),
            Err(error) => println!("invalid: {error}"),
        }
    }
    Ok(verdict.is_ok())
}

pub fn print_submit_report(report: &SubmitReport, output: Output) {
    if output.json {
        print_json(&serde_json::to_value(report).unwrap_or_default());
        return;
    }
    println!(
        "{} URLs → {} job(s), {} rejected; succeeded {}, failed {}, canceled {}, pending {}",
        report.urls,
        report.jobs.len(),
        report.rejected,
        report.succeeded,
        report.failed,
        report.canceled,
        report.pending
    );
    for job in &report.jobs {
        println!("  job {job}");
    }
    if let Some(out) = &report.out {
        println!("results: {}", out.display());
    }
}

fn print_job(job: &Value, output: Output) {
    if output.json {
        print_json(job);
    } else {
        print_job_line(job);
        if let Some(error) = job["error"].as_object() {
            println!(
                "  error: {} {}",
                error["code"].as_str().unwrap_or_default(),
                error["message"].as_str().unwrap_or_default()
            );
        }
    }
}

fn print_job_line(job: &Value) {
    let counts = job_counts(job);
    println!(
        "{}  {:<8} {:<9} {}/{} done ({} failed)  {}",
        job["id"].as_str().unwrap_or_default(),
        job["kind"].as_str().unwrap_or_default(),
        job["status"].as_str().unwrap_or_default(),
        counts.done(),
        counts.total,
        counts.failed,
        job["created_at"].as_str().unwrap_or_default(),
    );
}

pub(crate) fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
