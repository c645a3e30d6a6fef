//! `tokworks comments URL`: runs a comments job, waits for it and prints its comments (replies
//! indented under their comment), or the job and its comments as JSON.

use serde_json::{Value, json};
use tokworks_shared::job_status::JobStatus;

use crate::client::ApiClient;
use crate::commands::{all_items, print_json};
use crate::job_json::job_status;
use crate::{CliError, Output};

/// Options of `tokworks comments`.
#[derive(Debug, Clone, clap::Args)]
pub struct CommentsArgs {
    /// How many top-level comments.
    #[arg(long, default_value_t = 100)]
    count: u32,
    /// Also fetch each comment's replies.
    #[arg(long)]
    replies: bool,
}

/// The body of the comments job.
fn request_body(url: &str, args: &CommentsArgs) -> Value {
    let mut body = json!({"kind": "comments", "url": url, "count": args.count});
    if args.replies {
        body["replies"] = json!(true);
    }
    body
}

pub async fn comments(
    client: &ApiClient,
    url: &str,
    args: &CommentsArgs,
    output: Output,
) -> Result<bool, CliError> {
    let mut job = client
        .submit(&request_body(url, args), None, Some(30))
        .await?;
    let job_id = job["id"].as_str().unwrap_or_default().to_owned();
    if job_status(&job).is_some_and(|status| !status.is_finished()) {
        job = client.follow_job(&job_id, |_| {}).await?;
    }
    let comments = all_items(client, &job_id, None).await?;
    if output.json {
        print_json(&json!({"job": job, "comments": comments}));
    } else {
        println!(
            "job {job_id}: {}",
            job["status"].as_str().unwrap_or_default()
        );
        if let Some(error) = job["error"].as_object() {
            println!(
                "  error: {} {}",
                error
                    .get("code")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            );
        }
        for comment in &comments {
            println!("{}", comment_line(comment));
        }
    }
    Ok(job_status(&job) == Some(JobStatus::Succeeded))
}

/// `@author (likes): text`, indented when it is a reply; the text on one line.
fn comment_line(comment: &Value) -> String {
    let indent = if comment["parent_id"].is_string() {
        "    ↳ "
    } else {
        ""
    };
    let text: String = comment["text"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{indent}@{} ({} likes{}): {text}",
        comment["author"]["unique_id"].as_str().unwrap_or("-"),
        comment["like_count"].as_u64().unwrap_or(0),
        if comment["pinned"].as_bool() == Some(true) {
            ", pinned"
        } else {
            ""
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_asked_only_when_wanted() {
        let args = CommentsArgs {
            count: 50,
            replies: false,
        };
        assert_eq!(
            request_body("https://vm.tiktok.com/ZMabc/", &args),
            json!({"kind": "comments", "url": "https://vm.tiktok.com/ZMabc/", "count": 50})
        );
        let args = CommentsArgs {
            count: 50,
            replies: true,
        };
        assert_eq!(request_body("u", &args)["replies"], true);
    }

    #[test]
    fn a_reply_is_indented_and_its_text_kept_on_one_line() {
        let top = comment_line(&json!({
            "author": {"unique_id": "ana"}, "like_count": 12, "pinned": true,
            "text": "first\nline", "parent_id": null
        }));
        assert_eq!(top, "@ana (12 likes, pinned): first line");
        let reply = comment_line(&json!({
            "author": {"unique_id": "bo"}, "like_count": 0, "text": "hi", "parent_id": "7"
        }));
        assert_eq!(reply, "    ↳ @bo (0 likes): hi");
    }
}
