//! A minimal Chrome DevTools Protocol client for the dashboard test: headless Chromium with
//! `--remote-debugging-pipe` (messages are NUL-terminated JSON on the child's fds 3 and 4, which
//! `sh` maps from its stdin and stdout), one page attached with a flat session, every protocol
//! event kept for the test's assertions. No WebSocket, no crate beyond tokio and serde_json.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

/// How long one protocol command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// The Chromium binary: `CHROMIUM_PATH`, else Debian's `chromium` (scripts/install-chromium.sh).
pub fn chromium_path() -> PathBuf {
    if let Ok(path) = std::env::var("CHROMIUM_PATH") {
        return PathBuf::from(path);
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "the dashboard test needs headless Chromium and none is installed: run \
                 scripts/install-chromium.sh (apt-get install chromium) or set CHROMIUM_PATH"
            )
        })
}

/// A running headless Chromium; killed when dropped.
pub struct Browser {
    child: Child,
    stdin: tokio::sync::Mutex<ChildStdin>,
    next_id: AtomicU64,
    pending: Pending,
    events: Arc<Mutex<Vec<Value>>>,
}

impl Browser {
    /// Starts Chromium with a fresh profile in `profile_directory`, its stderr in `log_path`.
    pub async fn launch(profile_directory: &Path, log_path: &Path) -> Browser {
        let chromium = chromium_path();
        std::fs::create_dir_all(profile_directory).expect("create the browser profile");
        let log = std::fs::File::create(log_path).expect("create the browser log");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >&2"#)
            .arg(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--metrics-recording-only",
                "--no-proxy-server",
                "--remote-debugging-pipe",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile_directory.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", chromium.display()));
        let stdin = child.stdin.take().expect("the browser's command pipe");
        let stdout = child.stdout.take().expect("the browser's answer pipe");
        let pending: Pending = Arc::default();
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        tokio::spawn(read_messages(stdout, pending.clone(), events.clone()));
        let browser = Browser {
            child,
            stdin: tokio::sync::Mutex::new(stdin),
            next_id: AtomicU64::new(1),
            pending,
            events,
        };
        let version = browser.call(None, "Browser.getVersion", json!({})).await;
        eprintln!("dashboard: {} ({})", version["product"], chromium.display());
        browser
    }

    /// Sends one command (to the browser, or to a page's `session`) and returns its result;
    /// panics on a protocol error or after [`COMMAND_TIMEOUT`].
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (sender, receiver) = oneshot::channel();
        self.pending
            .lock()
            .expect("pending lock")
            .insert(id, sender);
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        {
            let mut stdin = self.stdin.lock().await;
            stdin.write_all(&bytes).await.expect("write to the browser");
            stdin.flush().await.expect("flush to the browser");
        }
        let answer = tokio::time::timeout(COMMAND_TIMEOUT, receiver)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer within {COMMAND_TIMEOUT:?}"))
            .unwrap_or_else(|_| panic!("{method}: the browser exited"));
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// Every protocol event received so far (`method`, `params`, `sessionId`).
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().expect("events lock").clone()
    }

    /// Opens a blank page and attaches to it.
    pub async fn new_page(&self) -> Page<'_> {
        let target = self
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        let page = Page {
            browser: self,
            session,
        };
        for domain in [
            "Page.enable",
            "Network.enable",
            "Runtime.enable",
            "Log.enable",
        ] {
            page.call(domain, json!({})).await;
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        page
    }

    /// Ends the browser (also done on drop).
    pub async fn close(mut self) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut close = json!({"id": id, "method": "Browser.close"})
            .to_string()
            .into_bytes();
        close.push(0);
        let _ = self.stdin.lock().await.write_all(&close).await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
    }
}

/// Reads NUL-terminated messages: answers go to their caller, events to the log.
async fn read_messages(
    stdout: tokio::process::ChildStdout,
    pending: Pending,
    events: Arc<Mutex<Vec<Value>>>,
) {
    let mut reader = BufReader::new(stdout);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(0, &mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if buffer.last() == Some(&0) {
            buffer.pop();
        }
        let Ok(message) = serde_json::from_slice::<Value>(&buffer) else {
            continue;
        };
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            if let Some(sender) = pending.lock().expect("pending lock").remove(&id) {
                let _ = sender.send(message);
            }
        } else {
            events.lock().expect("events lock").push(message);
        }
    }
}

/// One page of the browser.
pub struct Page<'browser> {
    browser: &'browser Browser,
    session: String,
}

impl Page<'_> {
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params).await
    }

    pub async fn navigate(&self, url: &str) {
        let answer = self.call("Page.navigate", json!({"url": url})).await;
        assert!(
            answer.get("errorText").is_none(),
            "navigate {url}: {answer}"
        );
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its JSON value;
    /// panics when it throws.
    pub async fn evaluate(&self, expression: &str) -> Value {
        let answer = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        assert!(
            answer.get("exceptionDetails").is_none(),
            "{expression}: {}",
            answer["exceptionDetails"]
        );
        answer["result"]["value"].clone()
    }

    /// Polls `expression` every 100 ms until it is truthy (not null, false, 0 or "") and returns
    /// it; panics after `timeout`, naming `what` and the page's text.
    pub async fn wait_for(&self, what: &str, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.evaluate(expression).await;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::Number(number) => number.as_f64() != Some(0.0),
                Value::String(text) => !text.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            if Instant::now() >= deadline {
                let text = self
                    .evaluate("document.body ? document.body.innerText : ''")
                    .await;
                panic!("timed out after {timeout:?} waiting for {what}; the page says:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the element `selector` (focused first), as a user would.
    pub async fn type_into(&self, selector: &str, text: &str) {
        let focus = format!(
            "(() => {{ const e = document.querySelector({}); e.focus(); return !!e; }})()",
            json!(selector)
        );
        assert_eq!(self.evaluate(&focus).await, json!(true), "{selector}");
        self.call("Input.insertText", json!({"text": text})).await;
    }

    /// Clicks the element `selector`.
    pub async fn click(&self, selector: &str) {
        let click = format!(
            "(() => {{ const e = document.querySelector({}); e.click(); return !!e; }})()",
            json!(selector)
        );
        assert_eq!(self.evaluate(&click).await, json!(true), "{selector}");
    }

    /// A PNG of the viewport, written to every path of `paths`.
    pub async fn screenshot(&self, paths: &[PathBuf]) {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        for path in paths {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create the screenshot directory");
            }
            std::fs::write(path, &bytes).expect("write a screenshot");
        }
    }
}
