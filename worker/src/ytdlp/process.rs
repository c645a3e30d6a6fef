//! One long-lived yt-dlp helper process (`helper.py`): spawning it, the line protocol over its
//! stdin/stdout, and killing it. Its stderr (yt-dlp's log) is forwarded to tracing.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::egress::SeedCookie;

/// Failures of the helper process itself (not of an extraction).
#[derive(Debug, thiserror::Error)]
pub enum HelperProcessError {
    #[error("cannot start the yt-dlp helper with {interpreter}: {source}")]
    Spawn {
        interpreter: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the yt-dlp helper did not announce itself within {0:?}")]
    StartupTimeout(Duration),
    #[error("the yt-dlp helper exited (stdout closed)")]
    Exited,
    #[error("talking to the yt-dlp helper failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the yt-dlp helper printed something that is not protocol JSON: {0}")]
    Protocol(#[from] serde_json::Error),
    #[error("the yt-dlp helper could not start yt-dlp: {0}")]
    NotReady(String),
}

/// One request: extract `url` (only ever a JSON value, never an option).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HelperRequest {
    pub url: String,
    pub proxy: Option<String>,
    pub insecure_tls: bool,
    pub socket_timeout: f64,
}

/// The helper's answer to one request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HelperResponse {
    pub ok: bool,
    #[serde(default)]
    pub item: Option<serde_json::Value>,
    #[serde(default)]
    pub status_code: Option<i64>,
    #[serde(default)]
    pub info: Option<serde_json::Value>,
    #[serde(default)]
    pub webpage_url: Option<String>,
    #[serde(default)]
    pub thumbnail: Option<HelperThumbnail>,
    #[serde(default)]
    pub thumbnail_error: Option<String>,
    #[serde(default)]
    pub error: Option<HelperError>,
    /// Milliseconds spent in yt-dlp (`extract`) and on the cover download (`thumbnail`).
    #[serde(default)]
    pub timings_ms: Option<HelperTimings>,
    /// The TikTok cookies of the URL's session, for its later downloads.
    #[serde(default)]
    pub cookies: Vec<SeedCookie>,
}

/// Where the helper spent its time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct HelperTimings {
    #[serde(default)]
    pub extract: f64,
    #[serde(default)]
    pub thumbnail: Option<f64>,
}

/// The cover image the helper downloaded through the same yt-dlp session.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HelperThumbnail {
    pub url: String,
    pub content_type: String,
    pub data_base64: String,
}

/// A failed extraction as the helper describes it (structured fields first, message last).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct HelperError {
    /// Python class of the real exception, e.g. `HTTPError`, `TransportError`, `ExtractorError`.
    #[serde(rename = "type", default)]
    pub error_type: String,
    #[serde(default)]
    pub cause_type: Option<String>,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub orig_msg: Option<String>,
    #[serde(default)]
    pub expected: bool,
    /// TikTok's `statusCode` from the page, when the page was parsed.
    #[serde(default)]
    pub status_code: Option<i64>,
    /// Size (bytes, whitespace trimmed) of the last page yt-dlp downloaded, when it got one.
    #[serde(default)]
    pub webpage_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ReadyLine {
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    yt_dlp_version: Option<String>,
    /// The browser every request impersonates; `null` when curl_cffi is missing.
    #[serde(default)]
    impersonation: Option<String>,
}

/// A running helper. Dropping it kills the process (`kill_on_drop`).
#[derive(Debug)]
pub struct HelperProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    yt_dlp_version: String,
    impersonation: Option<String>,
}

impl HelperProcess {
    /// Starts `interpreter -u helper_script` and waits for its ready line. `python_path` is put
    /// on `PYTHONPATH` (for a zipapp `yt-dlp` binary).
    pub async fn spawn(
        interpreter: &Path,
        python_path: Option<&Path>,
        helper_script: &Path,
        startup_timeout: Duration,
    ) -> Result<HelperProcess, HelperProcessError> {
        let mut command = Command::new(interpreter);
        if let Some(python_path) = python_path {
            command.env("PYTHONPATH", python_path);
        }
        let mut child = command
            .arg("-u")
            .arg(helper_script)
            .env("PYTHONIOENCODING", "utf-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| HelperProcessError::Spawn {
                interpreter: interpreter.display().to_string(),
                source,
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(HelperProcessError::Exited);
        };
        let pid = child.id().unwrap_or_default();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(target: "tokworks_worker::ytdlp::helper", pid, "{line}");
            }
        });
        let mut stdout = BufReader::new(stdout).lines();
        let first_line = tokio::time::timeout(startup_timeout, stdout.next_line())
            .await
            .map_err(|_| HelperProcessError::StartupTimeout(startup_timeout))??
            .ok_or(HelperProcessError::Exited)?;
        let ready: ReadyLine = serde_json::from_str(&first_line)?;
        if !ready.ready {
            return Err(HelperProcessError::NotReady(first_line));
        }
        Ok(HelperProcess {
            child,
            stdin,
            stdout,
            yt_dlp_version: ready.yt_dlp_version.unwrap_or_default(),
            impersonation: ready.impersonation,
        })
    }

    /// The yt-dlp version the helper imported.
    pub fn yt_dlp_version(&self) -> &str {
        &self.yt_dlp_version
    }

    /// The browser the helper's requests impersonate (`None`: plain Python TLS, curl_cffi is
    /// missing).
    pub fn impersonation(&self) -> Option<&str> {
        self.impersonation.as_deref()
    }

    /// The OS process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends one request and reads its one-line answer. No deadline here: the pool wraps this
    /// in the overall extraction deadline and kills the process when it passes.
    pub async fn request(
        &mut self,
        request: &HelperRequest,
    ) -> Result<HelperResponse, HelperProcessError> {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        self.stdin.flush().await?;
        let answer = self
            .stdout
            .next_line()
            .await?
            .ok_or(HelperProcessError::Exited)?;
        Ok(serde_json::from_str(&answer)?)
    }

    /// Kills the process now and reaps it in the background.
    pub fn kill(mut self) {
        if let Err(error) = self.child.start_kill() {
            tracing::debug!(%error, "yt-dlp helper already gone");
        }
        tokio::spawn(async move {
            let _ = self.child.wait().await;
        });
    }
}
