//! `tokworks watches …`: create, list, read, change, pause, resume, run now and delete watches
//! (`/v1/watches`), and list a watch's runs and the videos it has seen.

use serde_json::{Map, Value, json};

use crate::client::ApiClient;
use crate::commands::{JobOptionArgs, print_json};
use crate::{CliError, Output};

/// What a watch follows, and the request field that names its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WatchKind {
    User,
    Hashtag,
    Sound,
    Search,
    Trending,
}

impl WatchKind {
    fn as_str(self) -> &'static str {
        match self {
            WatchKind::User => "user",
            WatchKind::Hashtag => "hashtag",
            WatchKind::Sound => "sound",
            WatchKind::Search => "search",
            WatchKind::Trending => "trending",
        }
    }

    /// The request field of the target (`None` for trending).
    fn target_field(self) -> Option<&'static str> {
        match self {
            WatchKind::User => Some("username"),
            WatchKind::Hashtag => Some("hashtag"),
            WatchKind::Sound => Some("sound"),
            WatchKind::Search => Some("query"),
            WatchKind::Trending => None,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum WatchesCommand {
    /// Watch a feed: run it every EVERY seconds and report each video it has never seen.
    Create {
        /// What to watch.
        #[arg(value_enum)]
        kind: WatchKind,
        /// The username, hashtag, sound (music id or URL) or search words; none for trending.
        target: Option<String>,
        /// Seconds between runs (at least the service's WATCH_MIN_INTERVAL_SECONDS).
        #[arg(long, default_value_t = 3600)]
        every: u64,
        /// How many videos each run reads.
        #[arg(long, default_value_t = 30)]
        count: u32,
        /// Report what the first run finds too (by default it is the silent baseline).
        #[arg(long)]
        report_existing: bool,
        /// Send `watch.new_videos` and `watch.paused` events to this URL.
        #[arg(long)]
        webhook: Option<String>,
        #[command(flatten)]
        options: JobOptionArgs,
    },
    /// The key's watches, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One watch.
    Get { id: String },
    /// Change a watch's period, count or webhook.
    Update {
        id: String,
        #[arg(long)]
        every: Option<u64>,
        #[arg(long)]
        count: Option<u32>,
        /// A new webhook URL.
        #[arg(long, conflicts_with = "no_webhook")]
        webhook: Option<String>,
        /// Remove the webhook.
        #[arg(long)]
        no_webhook: bool,
    },
    /// Stop running a watch until it is resumed.
    Pause { id: String },
    /// Run a paused watch again (soon, with its failures forgotten).
    Resume { id: String },
    /// Run a watch now.
    Run { id: String },
    /// Delete a watch (its runs' jobs stay).
    Delete { id: String },
    /// A watch's runs, newest first.
    Runs {
        id: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// The videos a watch has seen, newest first.
    Videos {
        id: String,
        /// Only videos first seen after this time (RFC 3339, e.g. 2026-12-07T10:00:00Z).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// The body of `POST /v1/watches`.
pub fn create_body(
    kind: WatchKind,
    target: Option<&str>,
    every: u64,
    count: u32,
    report_existing: bool,
    webhook: Option<&str>,
    options: &JobOptionArgs,
) -> Result<Value, CliError> {
    let mut body = json!({"kind": kind.as_str(), "every": every, "count": count});
    match (kind.target_field(), target) {
        (Some(field), Some(target)) => body[field] = json!(target),
        (Some(field), None) => {
            return Err(CliError::Usage(format!(
                "a {} watch needs its {field}",
                kind.as_str()
            )));
        }
        (None, Some(_)) => {
            return Err(CliError::Usage(
                "a trending watch takes no target".to_owned(),
            ));
        }
        (None, None) => {}
    }
    if report_existing {
        body["report_existing"] = json!(true);
    }
    if let Some(url) = webhook {
        body["webhook"] = json!({ "url": url });
    }
    let options = options.to_json();
    if options
        .as_object()
        .is_some_and(|options| !options.is_empty())
    {
        body["options"] = options;
    }
    Ok(body)
}

pub async fn watches(
    client: &ApiClient,
    command: WatchesCommand,
    output: Output,
) -> Result<bool, CliError> {
    match command {
        WatchesCommand::Create {
            kind,
            target,
            every,
            count,
            report_existing,
            webhook,
            options,
        } => {
            let body = create_body(
                kind,
                target.as_deref(),
                every,
                count,
                report_existing,
                webhook.as_deref(),
                &options,
            )?;
            print_watch(&client.post("/v1/watches", Some(&body)).await?, output);
        }
        WatchesCommand::List { limit } => {
            let list = client.get(&format!("/v1/watches?limit={limit}")).await?;
            if output.json {
                print_json(&list);
            } else {
                for watch in list["data"].as_array().into_iter().flatten() {
                    println!("{}", watch_line(watch));
                }
            }
        }
        WatchesCommand::Get { id } => {
            print_watch(&client.get(&format!("/v1/watches/{id}")).await?, output);
        }
        WatchesCommand::Update {
            id,
            every,
            count,
            webhook,
            no_webhook,
        } => {
            let mut body = Map::new();
            if let Some(every) = every {
                body.insert("every".into(), json!(every));
            }
            if let Some(count) = count {
                body.insert("count".into(), json!(count));
            }
            if let Some(url) = webhook {
                body.insert("webhook".into(), json!({ "url": url }));
            }
            if no_webhook {
                body.insert("webhook".into(), Value::Null);
            }
            if body.is_empty() {
                return Err(CliError::Usage(
                    "nothing to change: pass --every, --count, --webhook or --no-webhook"
                        .to_owned(),
                ));
            }
            let watch = client
                .patch(&format!("/v1/watches/{id}"), &Value::Object(body))
                .await?;
            print_watch(&watch, output);
        }
        WatchesCommand::Pause { id } => action(client, &id, "pause", output).await?,
        WatchesCommand::Resume { id } => action(client, &id, "resume", output).await?,
        WatchesCommand::Run { id } => action(client, &id, "run", output).await?,
        WatchesCommand::Delete { id } => {
            client.delete(&format!("/v1/watches/{id}")).await?;
            if output.json {
                print_json(&json!({"id": id, "deleted": true}));
            } else {
                println!("watch {id} deleted");
            }
        }
        WatchesCommand::Runs { id, limit } => {
            let list = client
                .get(&format!("/v1/watches/{id}/runs?limit={limit}"))
                .await?;
            if output.json {
                print_json(&list);
            } else {
                for run in list["data"].as_array().into_iter().flatten() {
                    println!("{}", run_line(run));
                }
            }
        }
        WatchesCommand::Videos { id, since, limit } => {
            let mut path = format!("/v1/watches/{id}/videos?limit={limit}");
            if let Some(since) = since {
                path.push_str(&format!("&since={}", encode_query_value(&since)));
            }
            let list = client.get(&path).await?;
            if output.json {
                print_json(&list);
            } else {
                for video in list["data"].as_array().into_iter().flatten() {
                    println!(
                        "{}  {}  {}  {}",
                        text(&video["video_id"]),
                        text(&video["first_seen_at"]),
                        if video["reported"].as_bool() == Some(true) {
                            "reported"
                        } else {
                            "baseline"
                        },
                        text(&video["url"]),
                    );
                }
            }
        }
    }
    Ok(true)
}

/// `POST /v1/watches/{id}/{verb}`, printing the watch it answers.
async fn action(client: &ApiClient, id: &str, verb: &str, output: Output) -> Result<(), CliError> {
    let watch = client
        .post(&format!("/v1/watches/{id}/{verb}"), None)
        .await?;
    print_watch(&watch, output);
    Ok(())
}

fn print_watch(watch: &Value, output: Output) {
    if output.json {
        print_json(watch);
        return;
    }
    println!("{}", watch_line(watch));
    if let Some(error) = watch["last_error"].as_object() {
        println!(
            "  last error: {} {} ({} failure(s) in a row)",
            error
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            watch["consecutive_failures"].as_i64().unwrap_or(0)
        );
    }
}

/// One line: id, target, period, status, next run, runs and videos seen.
pub fn watch_line(watch: &Value) -> String {
    let status = match watch["paused_reason"].as_str() {
        Some(reason) => format!("paused ({reason})"),
        None => text(&watch["status"]).to_owned(),
    };
    format!(
        "{}  {:<24} every {:>6} s  {:<18} next {}  {} run(s), {} video(s) seen",
        text(&watch["id"]),
        watch_target(watch),
        watch["every"].as_u64().unwrap_or(0),
        status,
        watch["next_run_at"].as_str().unwrap_or("-"),
        watch["runs"].as_u64().unwrap_or(0),
        watch["videos_seen"].as_u64().unwrap_or(0),
    )
}

/// `@name`, `#tag`, `sound <id>`, `"words"` or `trending`.
fn watch_target(watch: &Value) -> String {
    match text(&watch["kind"]) {
        "user" => format!("@{}", text(&watch["username"])),
        "hashtag" => format!("#{}", text(&watch["hashtag"])),
        "sound" => format!("sound {}", text(&watch["sound"])),
        "search" => format!("\"{}\"", text(&watch["query"])),
        other => other.to_owned(),
    }
}

fn run_line(run: &Value) -> String {
    let new_ids: Vec<&str> = run["new_video_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    format!(
        "{}  {:<9}{}  job {}  found {}  new {}{}",
        text(&run["scheduled_for"]),
        text(&run["status"]),
        if run["baseline"].as_bool() == Some(true) {
            " (baseline)"
        } else {
            ""
        },
        text(&run["job_id"]),
        run["videos_found"].as_u64().unwrap_or(0),
        if new_ids.is_empty() {
            "-".to_owned()
        } else {
            new_ids.join(",")
        },
        run["error"]["code"]
            .as_str()
            .map(|code| format!("  error {code}"))
            .unwrap_or_default(),
    )
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

/// Percent-encodes the characters of an RFC 3339 time that a query string cannot carry as is.
fn encode_query_value(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('+', "%2B")
        .replace(':', "%3A")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_options() -> JobOptionArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            options: JobOptionArgs,
        }
        Wrapper::parse_from(["test"]).options
    }

    #[test]
    fn create_body_names_the_target_by_kind() {
        let body = create_body(
            WatchKind::User,
            Some("creator"),
            600,
            10,
            false,
            None,
            &no_options(),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({"kind": "user", "username": "creator", "every": 600, "count": 10})
        );
        let body = create_body(
            WatchKind::Search,
            Some("ramen night"),
            300,
            30,
            true,
            Some("https://example.com/hook"),
            &no_options(),
        )
        .unwrap();
        assert_eq!(body["query"], "ramen night");
        assert_eq!(body["report_existing"], true);
        assert_eq!(body["webhook"]["url"], "https://example.com/hook");
    }

    #[test]
    fn a_missing_or_extra_target_is_a_usage_error() {
        let missing = create_body(
            WatchKind::Hashtag,
            None,
            300,
            30,
            false,
            None,
            &no_options(),
        );
        assert!(matches!(missing, Err(CliError::Usage(message)) if message.contains("hashtag")));
        let extra = create_body(
            WatchKind::Trending,
            Some("x"),
            300,
            30,
            false,
            None,
            &no_options(),
        );
        assert!(matches!(extra, Err(CliError::Usage(_))));
    }

    #[test]
    fn a_line_says_what_is_watched_and_why_it_is_paused() {
        let line = watch_line(&json!({
            "id": "0193", "kind": "hashtag", "hashtag": "ramen", "every": 3600,
            "status": "paused", "paused_reason": "failing", "next_run_at": null,
            "runs": 4, "videos_seen": 57
        }));
        assert!(line.contains("#ramen"), "{line}");
        assert!(line.contains("paused (failing)"), "{line}");
        assert!(line.contains("4 run(s), 57 video(s) seen"), "{line}");
    }

    #[test]
    fn since_is_encoded_for_the_query_string() {
        assert_eq!(
            encode_query_value("2026-12-07T10:00:00+01:00"),
            "2026-12-07T10%3A00%3A00%2B01%3A00"
        );
    }
}
