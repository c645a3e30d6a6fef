//! The worker binary installs its SIGTERM handler before anything else: a SIGTERM that arrives
//! while it is still starting (the yt-dlp pool takes seconds to warm up) ends in a graceful stop
//! with exit status 0, not in the default kill.

use std::process::Stdio;
use std::time::Duration;

use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::{REDIS_URL, start_sim, ytdlp_path};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn sigterm_during_start_up_ends_in_a_graceful_stop(pool: PgPool) {
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut database_url = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    database_url.set_path(&database);
    let sim = start_sim().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokworks-worker"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url.as_str())
        .env("REDIS_URL", REDIS_URL)
        .env(
            "QUEUE_NAMESPACE",
            format!("startup{}", uuid::Uuid::now_v7().simple()),
        )
        .env("TIKTOK_PROXY_URL", sim.proxy_url())
        .env("TIKTOK_PROXY_INSECURE_TLS", "true")
        .env("YTDLP_PATH", ytdlp_path())
        .env("WORKER_CONCURRENCY", "2")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the worker binary");
    // The worker logs to stderr (LOG_FORMAT text, no colours off a terminal).
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = log.next_line().await.unwrap() {
            let starting = line.contains("starting tokworks-worker");
            seen.push(line);
            if starting {
                return;
            }
        }
        panic!("the worker exited before starting: {seen:#?}");
    })
    .await
    .expect("the worker logs its start");

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest = tokio::time::timeout(Duration::from_secs(30), async {
        let mut rest = Vec::new();
        while let Some(line) = log.next_line().await.unwrap() {
            rest.push(line);
        }
        rest
    })
    .await
    .expect("the worker stops within 30 s of SIGTERM");
    let status = child.wait().await.unwrap();
    assert!(
        status.success(),
        "a SIGTERM during start-up must end in a graceful stop, got {status}; log: {rest:#?}"
    );
    assert!(
        rest.iter()
            .any(|line| line.contains("SIGTERM: shutting down gracefully")),
        "{rest:#?}"
    );
}
