//! `tokworks`: the command-line client of a tokworks service. It speaks only the public HTTP
//! API (never Postgres or Redis): submit files of URLs and follow them, run feed and comments
//! jobs, manage watches, read and cancel jobs, export results, verify webhook signatures.
//!
//! Exit codes: 0 everything succeeded; 1 some items (or a feed) failed, or a signature did not
//! verify; 2 usage error; 3 the service could not be reached or answered an error.

mod client;
mod commands;
mod comments;
mod events;
mod input;
mod job_json;
mod submit;
mod url_kind;
mod watches;
mod webhook_verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::{ApiClient, ApiError};
use crate::submit::ExportFormat;

/// Command-line client of a tokworks service (TikTok URLs, hashtags, profiles and the trending
/// feed into structured data, as jobs).
///
/// Exit codes: 0 all succeeded, 1 some items failed (or a signature did not verify), 2 usage
/// error, 3 service error.
#[derive(Debug, Parser)]
#[command(name = "tokworks", version)]
struct Cli {
    /// The service's base URL.
    #[arg(
        long,
        env = "TOKWORKS_URL",
        default_value = "http://127.0.0.1:8000",
        global = true
    )]
    url: String,

    /// The API key (`x-api-key`).
    #[arg(
        long = "api-key",
        env = "TOKWORKS_API_KEY",
        hide_env_values = true,
        global = true
    )]
    api_key: Option<String>,

    /// Print JSON (the default when standard output is not a terminal).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Webhook tools (need no key).
    Webhook {
        #[command(subcommand)]
        command: commands::WebhookCommand,
    },
    /// Say what a pasted TikTok URL (or share text) is and which command takes it (needs no
    /// key; exit code 1 when it is no usable TikTok URL).
    Url {
        /// The URL or share text.
        text: String,
    },
    #[command(flatten)]
    Service(ServiceCommand),
}

/// The commands that call the service (they need a key).
#[derive(Debug, Subcommand)]
enum ServiceCommand {
    /// Submit a file of URLs (one per line, or CSV with `url` and optional `custom_id`
    /// columns; `-` reads standard input) as batch jobs.
    Submit {
        /// The file, or `-`.
        file: PathBuf,
        /// Follow the jobs to their end with a progress bar (done, failed, rate, ETA).
        #[arg(long)]
        wait: bool,
        /// With --wait: write every item's result to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Format of --out.
        #[arg(long, value_enum, default_value = "ndjson")]
        format: ExportFormat,
        /// Continue the jobs a previous run of the same file started (from its state file).
        #[arg(long)]
        resume: bool,
        /// The state file (default: FILE.tokworks-state.json).
        #[arg(long)]
        state: Option<PathBuf>,
        /// URLs per batch job (at most the service's BATCH_MAX_URLS).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch_size: u64,
        #[command(flatten)]
        options: commands::JobOptionArgs,
    },
    /// The trending feed.
    Trending {
        #[command(flatten)]
        feed: commands::FeedArgs,
    },
    /// A hashtag's videos.
    Hashtag {
        /// The hashtag (with or without `#`).
        name: String,
        #[command(flatten)]
        feed: commands::FeedArgs,
    },
    /// A creator's videos.
    User {
        /// The username (with or without `@`) or profile URL.
        name: String,
        #[command(flatten)]
        feed: commands::FeedArgs,
    },
    /// TikTok's video search for some words.
    Search {
        /// The search words.
        query: String,
        #[command(flatten)]
        feed: commands::FeedArgs,
    },
    /// The videos that use a sound.
    Sound {
        /// The music id or a tiktok.com/music/… URL.
        sound: String,
        #[command(flatten)]
        feed: commands::FeedArgs,
    },
    /// A video's comments (and, with --replies, their replies).
    Comments {
        /// The video's URL (any shape, short links included). Named `video_url` so that it
        /// cannot take the place of the global `--url` (the service's address).
        #[arg(value_name = "VIDEO_URL")]
        video_url: String,
        #[command(flatten)]
        args: comments::CommentsArgs,
    },
    /// Scheduled feeds that report only what is new.
    Watches {
        #[command(subcommand)]
        command: watches::WatchesCommand,
    },
    /// List, read, cancel jobs and export their items.
    Jobs {
        #[command(subcommand)]
        command: commands::JobsCommand,
    },
    /// Read stored videos.
    Videos {
        #[command(subcommand)]
        command: commands::VideosCommand,
    },
}

/// Why the command failed, and its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::File { .. } => 2,
            CliError::Api(_) => 3,
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = Output {
        json: cli.json || !std::io::stdout().is_terminal(),
    };
    match run(cli, output).await {
        Ok(all_succeeded) => ExitCode::from(if all_succeeded { 0 } else { 1 }),
        Err(error) => {
            eprintln!("tokworks: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs the command; `Ok(false)` when it worked but something it reports failed.
async fn run(cli: Cli, output: Output) -> Result<bool, CliError> {
    let command = match cli.command {
        Command::Webhook { command } => return commands::webhook(&command, output),
        Command::Url { text } => return Ok(url_kind::url(&text, output)),
        Command::Service(command) => command,
    };
    let key = cli.api_key.as_deref().ok_or_else(|| {
        CliError::Usage("no API key: set TOKWORKS_API_KEY or pass --api-key".to_owned())
    })?;
    let client = ApiClient::new(&cli.url, key)?;
    match command {
        ServiceCommand::Submit {
            file,
            wait,
            out,
            format,
            resume,
            state,
            batch_size,
            options,
        } => {
            if out.is_some() && !wait {
                return Err(CliError::Usage("--out needs --wait".to_owned()));
            }
            let options = submit::SubmitOptions {
                input: file,
                wait,
                out,
                format,
                resume,
                state,
                batch_size: usize::try_from(batch_size).unwrap_or(1000),
                job_options: options.to_json(),
            };
            let report = submit::submit(&client, &options).await?;
            commands::print_submit_report(&report, output);
            Ok(report.all_succeeded())
        }
        ServiceCommand::Trending { feed } => {
            commands::feed(&client, "trending", None, &feed, output).await
        }
        ServiceCommand::Hashtag { name, feed } => {
            commands::feed(&client, "hashtag", Some(&name), &feed, output).await
        }
        ServiceCommand::User { name, feed } => {
            commands::feed(&client, "user", Some(&name), &feed, output).await
        }
        ServiceCommand::Search { query, feed } => {
            commands::feed(&client, "search", Some(&query), &feed, output).await
        }
        ServiceCommand::Sound { sound, feed } => {
            commands::feed(&client, "sound", Some(&sound), &feed, output).await
        }
        ServiceCommand::Comments { video_url, args } => {
            comments::comments(&client, &video_url, &args, output).await
        }
        ServiceCommand::Watches { command } => watches::watches(&client, command, output).await,
        ServiceCommand::Jobs { command } => commands::jobs(&client, command, output).await,
        ServiceCommand::Videos { command } => commands::videos(&client, command, output).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_video_url_argument_never_replaces_the_service_url() {
        let cli = Cli::parse_from([
            "tokworks",
            "--url",
            "http://127.0.0.1:9",
            "comments",
            "https://www.tiktok.com/@a/video/7200000000000000001",
            "--replies",
        ]);
        assert_eq!(cli.url, "http://127.0.0.1:9");
        let Command::Service(ServiceCommand::Comments { video_url, .. }) = cli.command else {
            panic!("not the comments command");
        };
        assert_eq!(
            video_url,
            "https://www.tiktok.com/@a/video/7200000000000000001"
        );
    }
}
