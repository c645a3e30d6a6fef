//! Child processes of an end-to-end test: the api and worker binaries and a private
//! `redis-server`, each with its output captured to a log file and killed when dropped.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::await_condition;

/// Environment variables passed through from the test runner to every child (all others are
/// cleared, so a developer's shell cannot change what the processes under test see).
const INHERITED_VARIABLES: [&str; 4] = ["PATH", "HOME", "LANG", "RUST_BACKTRACE"];

/// A port on 127.0.0.1 that was free a moment ago (the OS picked it for a listener we closed).
pub fn free_loopback_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 to find a free port");
    listener
        .local_addr()
        .expect("local address of a bound listener")
        .port()
}

/// `target/debug` (or whichever profile built the test), where cargo puts the workspace's binaries.
pub fn binaries_directory() -> PathBuf {
    let test_executable = std::env::current_exe().expect("path of the running test executable");
    // target/debug/deps/it-<hash> → target/debug
    let deps_directory = test_executable
        .parent()
        .expect("the test executable has a directory");
    deps_directory
        .parent()
        .expect("target/<profile>/deps has a parent")
        .to_path_buf()
}

/// Path of one workspace binary; panics with the command to run when it was not built.
pub fn workspace_binary(name: &str) -> PathBuf {
    let path = binaries_directory().join(name);
    assert!(
        path.is_file(),
        "{} not found: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// One running child process whose stdout and stderr go to `log_path`.
#[derive(Debug)]
pub struct ServiceProcess {
    pub name: String,
    pub log_path: PathBuf,
    child: Child,
    pid: u32,
    /// Set by [`ServiceProcess::send_kill`]: its exit is then expected, not a failure.
    killed_on_purpose: bool,
}

impl ServiceProcess {
    /// Starts `program args…` with exactly `environment` (plus [`INHERITED_VARIABLES`]).
    pub fn spawn(
        name: &str,
        program: &Path,
        arguments: &[&str],
        environment: &[(String, String)],
        log_path: PathBuf,
    ) -> ServiceProcess {
        let log_file = File::create(&log_path).expect("create the process log file");
        let log_file_for_stderr = log_file.try_clone().expect("clone the log file handle");
        let mut command = Command::new(program);
        command
            .args(arguments)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_file_for_stderr))
            .kill_on_drop(true);
        for variable in INHERITED_VARIABLES {
            if let Ok(value) = std::env::var(variable) {
                command.env(variable, value);
            }
        }
        for (key, value) in environment {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        let pid = child.id().expect("a just-spawned child has a pid");
        ServiceProcess {
            name: name.to_string(),
            log_path,
            child,
            pid,
            killed_on_purpose: false,
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `None` while running, else how it ended.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("query the child's status")
    }

    /// Panics (pointing at the log) when the process has exited without being killed on purpose.
    pub fn assert_running(&mut self) {
        if self.killed_on_purpose {
            return;
        }
        if let Some(status) = self.exit_status() {
            panic!(
                "{} exited unexpectedly ({status}); its log: {}",
                self.name,
                self.log_path.display()
            );
        }
    }

    /// Sends SIGKILL (`kill -9`): the process gets no chance to clean up. Does not wait.
    pub fn send_kill(&mut self) {
        self.killed_on_purpose = true;
        self.child.start_kill().expect("send SIGKILL");
    }

    /// SIGTERM (a clean shutdown request) and wait, at most 10 s, for the process to exit.
    pub async fn terminate(&mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {} failed", self.pid);
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within 10 s of SIGTERM", self.name))
            .expect("reap the terminated child");
    }

    /// The last `line_count` lines of the log (for failure reports).
    pub fn log_tail(&self, line_count: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(line_count)..].join("\n")
    }
}

/// A private `redis-server` (no persistence) on a fixed loopback port, restartable on that port.
#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    process: ServiceProcess,
    log_directory: PathBuf,
    generation: u32,
}

impl RedisServer {
    /// Starts a redis-server on a free port and waits until it answers PING.
    pub async fn start(log_directory: &Path) -> RedisServer {
        let port = free_loopback_port();
        let process = Self::spawn_on(port, log_directory, 0).await;
        RedisServer {
            port,
            process,
            log_directory: log_directory.to_path_buf(),
            generation: 0,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops the server with SIGTERM (losing every key: it persists nothing) and starts a new one
    /// on the same port; returns once the new one answers PING.
    pub async fn restart(&mut self) {
        self.process.terminate().await;
        self.generation += 1;
        self.process = Self::spawn_on(self.port, &self.log_directory, self.generation).await;
    }

    async fn spawn_on(port: u16, log_directory: &Path, generation: u32) -> ServiceProcess {
        let program = which_redis_server();
        let port_text = port.to_string();
        let data_directory = log_directory.display().to_string();
        let arguments = [
            "--port",
            &port_text,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &data_directory,
        ];
        let log_path = log_directory.join(format!("redis-{generation}.log"));
        let process = ServiceProcess::spawn("redis-server", &program, &arguments, &[], log_path);
        let url = format!("redis://127.0.0.1:{port}/0");
        await_condition(
            "redis-server to answer PING",
            Duration::from_secs(10),
            || {
                let url = url.clone();
                async move { redis_answers_ping(&url).await.then_some(()) }
            },
        )
        .await;
        process
    }
}

async fn redis_answers_ping(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .is_ok()
}

fn which_redis_server() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|directory| directory.join("redis-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([
            PathBuf::from("/usr/bin/redis-server"),
            PathBuf::from("/usr/local/bin/redis-server"),
        ])
        .find(|candidate| candidate.is_file())
        .expect("redis-server not found: run scripts/ensure-services.sh (it installs Redis)")
}
