//! The yt-dlp extractor: a pool of long-lived Python helpers (`helper.py`, embedded in the
//! binary) that import yt-dlp once and answer one JSON request per line, restricted to the
//! TikTok extractors. See `helper.py` for the line protocol and `classify.rs` for error codes.

pub mod classify;
pub mod pool;
pub mod process;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures::future::BoxFuture;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::video::VideoSource;

use crate::egress::proxy_pool::ProxySlot;
use crate::egress::{Egress, ProxyOutcome, SessionSeed};
use crate::extractor::{Extraction, ExtractionFailure, ThumbnailBytes, VideoExtractor};
use crate::ytdlp::classify::{
    FailureClass, classify_helper_error, photo_url_as_video_url, tenant_message,
};
use crate::ytdlp::pool::{PoolError, YtDlpPool, YtDlpPoolConfig};
use crate::ytdlp::process::{HelperProcessError, HelperRequest, HelperResponse};

/// The helper script, written to a temporary file at startup.
pub const HELPER_SCRIPT: &str = include_str!("helper.py");

/// Failures while setting the extractor up.
#[derive(Debug, thiserror::Error)]
pub enum YtDlpSetupError {
    #[error("cannot find {0} (set YTDLP_PATH to the yt-dlp script, or YTDLP_PYTHON)")]
    NotFound(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} has no `#!` line naming its Python; set YTDLP_PYTHON")]
    NoShebang(String),
    #[error("cannot write the helper script to {path}: {source}")]
    WriteHelper {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Helper(#[from] HelperProcessError),
}

/// The helper script on disk; removed when dropped.
#[derive(Debug)]
pub struct HelperScriptFile {
    path: PathBuf,
}

impl HelperScriptFile {
    /// Writes [`HELPER_SCRIPT`] to a new file in the temporary directory.
    pub fn write() -> Result<HelperScriptFile, YtDlpSetupError> {
        let path = std::env::temp_dir().join(format!(
            "tokworks-ytdlp-helper-{}-{}.py",
            std::process::id(),
            ulid::Ulid::generate()
        ));
        std::fs::write(&path, HELPER_SCRIPT).map_err(|source| YtDlpSetupError::WriteHelper {
            path: path.display().to_string(),
            source,
        })?;
        Ok(HelperScriptFile { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for HelperScriptFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where Python and yt-dlp are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonForYtDlp {
    pub interpreter: PathBuf,
    /// Set when `yt-dlp` is a zipapp: the archive goes on `PYTHONPATH`.
    pub python_path: Option<PathBuf>,
}

/// Finds the interpreter: `python_override` (YTDLP_PYTHON) if set, else the `#!` line of the
/// `ytdlp_path` script (looked up on `PATH` when it has no `/`). `#!/usr/bin/env python3` works.
pub fn locate_python(
    ytdlp_path: &str,
    python_override: Option<&Path>,
) -> Result<PythonForYtDlp, YtDlpSetupError> {
    if let Some(interpreter) = python_override {
        return Ok(PythonForYtDlp {
            interpreter: interpreter.to_path_buf(),
            python_path: None,
        });
    }
    let script = resolve_on_path(ytdlp_path)?;
    let display = script.display().to_string();
    let mut head = vec![0u8; 4096];
    let read = std::fs::File::open(&script)
        .and_then(|mut file| file.read(&mut head))
        .map_err(|source| YtDlpSetupError::Read {
            path: display.clone(),
            source,
        })?;
    head.truncate(read);
    let first_line = head.split(|byte| *byte == b'\n').next().unwrap_or_default();
    let shebang = String::from_utf8_lossy(first_line);
    let Some(command) = shebang.strip_prefix("#!") else {
        return Err(YtDlpSetupError::NoShebang(display));
    };
    let mut words = command.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| YtDlpSetupError::NoShebang(display.clone()))?;
    let interpreter = if program.ends_with("/env") {
        let named = words.find(|word| !word.starts_with('-'));
        resolve_on_path(named.ok_or_else(|| YtDlpSetupError::NoShebang(display.clone()))?)?
    } else {
        PathBuf::from(program)
    };
    let is_zipapp = head.windows(4).any(|window| window == b"PK\x03\x04");
    Ok(PythonForYtDlp {
        interpreter,
        python_path: is_zipapp.then_some(script),
    })
}

fn resolve_on_path(program: &str) -> Result<PathBuf, YtDlpSetupError> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(YtDlpSetupError::NotFound(program.to_owned()))
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|directory| directory.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| YtDlpSetupError::NotFound(program.to_owned()))
}

/// Network settings passed to yt-dlp with every request.
#[derive(Debug, Clone)]
pub struct YtDlpNetwork {
    /// The process's egress: each URL leases one proxy of its pool (the item's proxy), and
    /// `nocheckcertificate` follows its TLS setting (proxies that re-sign TLS, the simulator).
    pub egress: Egress,
    /// yt-dlp's per-read socket timeout (the overall deadline is the pool's).
    pub socket_timeout: Duration,
}

/// The yt-dlp [`VideoExtractor`].
#[derive(Debug)]
pub struct YtDlpExtractor {
    pool: Arc<YtDlpPool>,
    network: YtDlpNetwork,
    _helper_script: Arc<HelperScriptFile>,
}

impl YtDlpExtractor {
    /// Writes the helper script and starts `size` helpers.
    pub async fn start(
        python: PythonForYtDlp,
        size: usize,
        deadline: Duration,
        network: YtDlpNetwork,
    ) -> Result<YtDlpExtractor, YtDlpSetupError> {
        let helper_script = Arc::new(HelperScriptFile::write()?);
        let pool = YtDlpPool::start(YtDlpPoolConfig {
            interpreter: python.interpreter,
            python_path: python.python_path,
            helper_script: helper_script.path().to_path_buf(),
            size,
            deadline,
            startup_timeout: Duration::from_secs(30),
        })
        .await?;
        Ok(YtDlpExtractor {
            pool,
            network,
            _helper_script: helper_script,
        })
    }

    /// The pool (for tests and metrics).
    pub fn pool(&self) -> &Arc<YtDlpPool> {
        &self.pool
    }

    async fn run_once(
        &self,
        url: &str,
        proxy: Option<&ProxySlot>,
    ) -> Result<HelperResponse, ExtractionFailure> {
        let request = HelperRequest {
            url: url.to_owned(),
            proxy: proxy.map(|slot| slot.url.to_string()),
            insecure_tls: self.network.egress.insecure_tls(),
            socket_timeout: self.network.socket_timeout.as_secs_f64(),
        };
        self.pool.run(&request).await.map_err(|error| match error {
            PoolError::DeadlineExceeded(deadline) => ExtractionFailure::new(
                ErrorCode::ExtractorTimeout,
                format!("yt-dlp did not finish within {} s", deadline.as_secs_f64()),
            ),
            other => ExtractionFailure::new(ErrorCode::Internal, other.to_string()),
        })
    }

    async fn extract_url(&self, url: &str) -> Result<Extraction, ExtractionFailure> {
        let pool = self.network.egress.proxy_pool();
        let proxy = pool
            .lease()
            .await
            .map_err(|cooling| ExtractionFailure::new(cooling.code, cooling.to_string()))?;
        // yt-dlp has no /photo/ support; the same post opens as /video/.
        let url = photo_url_as_video_url(url).unwrap_or_else(|| url.to_owned());
        let mut response = self.run_once(&url, proxy.as_ref()).await?;
        if let Some(error) = response.error.as_ref().filter(|_| !response.ok)
            && let FailureClass::PhotoPost { video_url } = classify_helper_error(error)
        {
            tracing::debug!(%video_url, "short link landed on a photo post; retrying as /video/");
            response = self.run_once(&video_url, proxy.as_ref()).await?;
        }
        let result = extraction_from_response(response);
        if let Some(slot) = &proxy {
            pool.record(slot.index, proxy_outcome(&result));
        }
        result.map(|mut extraction| {
            if let Some(seed) = extraction.session.as_mut() {
                seed.proxy_index = proxy.as_ref().map(|slot| slot.index);
            }
            extraction
        })
    }
}

impl VideoExtractor for YtDlpExtractor {
    fn source(&self) -> VideoSource {
        VideoSource::Ytdlp
    }

    fn extract<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Extraction, ExtractionFailure>> {
        Box::pin(self.extract_url(url))
    }
}

/// How the item's proxy fared, from yt-dlp's classified outcome: TikTok's 403 and WAF walls
/// (`UPSTREAM_BLOCKED`) and its 429 (`UPSTREAM_RATE_LIMITED`) cool the proxy down.
fn proxy_outcome(result: &Result<Extraction, ExtractionFailure>) -> ProxyOutcome {
    match result {
        Err(failure) if failure.code == ErrorCode::UpstreamBlocked => ProxyOutcome::Blocked,
        Err(failure) if failure.code == ErrorCode::UpstreamRateLimited => ProxyOutcome::RateLimited,
        Err(failure) if failure.code == ErrorCode::UpstreamUnavailable => ProxyOutcome::Transport,
        _ => ProxyOutcome::Ok,
    }
}

/// Turns a helper answer into an [`Extraction`] or a classified failure.
pub fn extraction_from_response(response: HelperResponse) -> Result<Extraction, ExtractionFailure> {
    if !response.ok {
        let error = response.error.unwrap_or_default();
        let code = match classify_helper_error(&error) {
            FailureClass::Error(code) => code,
            FailureClass::PhotoPost { .. } => ErrorCode::UnsupportedUrl,
        };
        return Err(ExtractionFailure::new(code, tenant_message(&error, code)));
    }
    let item = response
        .item
        .filter(|item| item.as_object().is_some_and(|map| !map.is_empty()));
    let Some(item) = item else {
        return Err(ExtractionFailure::new(
            ErrorCode::UpstreamChanged,
            "yt-dlp succeeded but the page carried no itemStruct",
        ));
    };
    let thumbnail = response.thumbnail.and_then(|thumbnail| {
        base64::engine::general_purpose::STANDARD
            .decode(&thumbnail.data_base64)
            .ok()
            .map(|bytes| ThumbnailBytes {
                source_url: thumbnail.url,
                content_type: thumbnail.content_type,
                bytes,
            })
    });
    let webpage_url = response.webpage_url.unwrap_or_default();
    let session = SessionSeed {
        cookies: response.cookies,
        proxy_index: None,
        page_url: Some(webpage_url.clone()).filter(|url| !url.is_empty()),
    };
    Ok(Extraction {
        source: VideoSource::Ytdlp,
        item,
        status_code: response.status_code.unwrap_or_default(),
        webpage_url,
        session: Some(session),
        thumbnail,
        thumbnail_error: response.thumbnail_error,
        thumbnail_duration: response
            .timings_ms
            .and_then(|timings| timings.thumbnail)
            .map(|milliseconds| Duration::from_secs_f64(milliseconds.max(0.0) / 1000.0)),
    })
}
