//! The real server: the header-read timeout and the bounded graceful shutdown of
//! `tokworks_api::server::run_server` on a loopback port, and SIGTERM to a spawned
//! `tokworks-api` process with 100 open event streams (every stream gets the final `shutdown`
//! event and the process exits within 5 s; the figure goes to BENCHMARKS.md).

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokworks_api::server::{ServerTimeouts, ShutdownOutcome, run_server};
use uuid::Uuid;

use crate::support::{TestApp, redis_url};

/// Streams held open across the SIGTERM.
const STREAMS: usize = 100;
/// Jobs they watch (10 streams per job: the pollers are shared).
const JOBS: usize = 10;
/// The bound the graceful shutdown must meet.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(5);

/// Reads from `stream` until the peer closes it (bounded); returns what was read.
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> String {
    let mut bytes = Vec::new();
    tokio::time::timeout(bound, stream.read_to_end(&mut bytes))
        .await
        .expect("the server closes the connection in time")
        .expect("read");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads from `stream` until `needle` has been read (bounded); returns what was read.
async fn read_until(stream: &mut TcpStream, needle: &str, mut read: String) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut buffer = [0_u8; 4096];
    while !read.contains(needle) {
        let count = tokio::time::timeout_at(deadline, stream.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in time; read so far: {read}"))
            .expect("read");
        assert!(count > 0, "closed before {needle:?}: {read}");
        read.push_str(&String::from_utf8_lossy(&buffer[..count]));
    }
    read
}

async fn send_get(address: SocketAddr, path: &str, extra_headers: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n{extra_headers}\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    stream
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_client_too_slow_to_send_its_headers_is_disconnected(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let timeouts = ServerTimeouts {
        header_read: Duration::from_millis(300),
        shutdown: Duration::from_secs(1),
    };
    let server = tokio::spawn(run_server(
        listener,
        app.router.clone(),
        timeouts,
        std::future::pending(),
        app.state.shutdown.clone(),
    ));

    let mut complete = send_get(address, "/healthz", "Connection: close\r\n").await;
    let answer = read_until_closed(&mut complete, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Headers that never end: the server hangs up instead of waiting forever.
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n").as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    server.abort();
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_graceful_shutdown_is_bounded_by_its_timeout(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let timeouts = ServerTimeouts {
        header_read: Duration::from_secs(10),
        shutdown: Duration::from_millis(300),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run_server(
        listener,
        app.router.clone(),
        timeouts,
        async {
            let _ = stopped.await;
        },
        app.state.shutdown.clone(),
    ));
    // A request whose body never completes keeps its connection busy (the request timeout is
    // 30 s).
    let mut busy = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/jobs HTTP/1.1\r\nHost: {address}\r\nx-api-key: {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"kind\"",
        app.key
    );
    busy.write_all(head.as_bytes()).await.unwrap();
    // The server has the request once the key was checked for it.
    let mut probe = send_get(address, "/healthz", "Connection: close\r\n").await;
    read_until_closed(&mut probe, Duration::from_secs(10)).await;

    let started = Instant::now();
    stop.send(()).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("run_server returns")
        .unwrap();
    assert_eq!(
        outcome,
        ShutdownOutcome::TimedOut {
            open_connections: 1
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// The test database's URL: DATABASE_URL with the database of `pool`.
fn database_url_of(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let (server, _) = base.rsplit_once('/').expect("a database in DATABASE_URL");
    format!("{server}/{database}")
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn sigterm_ends_100_open_streams_with_a_shutdown_event_and_the_api_exits_in_time(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let mut jobs: Vec<Uuid> = Vec::new();
    for job in 0..JOBS {
        let url = format!("https://www.tiktok.com/@creator/video/7420000000000{job:06}");
        let response = app
            .post_json("/v1/jobs", &json!({"kind": "video", "url": url}))
            .await;
        jobs.push(response.body["id"].as_str().unwrap().parse().unwrap());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut api = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokworks-api"))
        .env("DATABASE_URL", database_url_of(&pool))
        .env("REDIS_URL", redis_url())
        .env("QUEUE_NAMESPACE", &app.namespace)
        .env("BIND_ADDR", address.to_string())
        .env("EVENTS_MAX_STREAMS_PER_KEY", "1000")
        .env("KEY_REQUESTS_PER_SECOND", "100000")
        .env("RUST_LOG", "warn")
        .env_remove("API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tokworks-api");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(address).await.is_err() {
        assert!(
            api.try_wait().unwrap().is_none(),
            "tokworks-api exited at start"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "tokworks-api did not listen in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut streams = Vec::new();
    for index in 0..STREAMS {
        let path = format!("/v1/jobs/{}/events", jobs[index % JOBS]);
        let mut stream = send_get(address, &path, &format!("x-api-key: {}\r\n", app.key)).await;
        let read = read_until(&mut stream, "event: state", String::new()).await;
        assert!(read.starts_with("HTTP/1.1 200"), "{read}");
        streams.push((stream, read));
    }

    let started = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &api.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let endings =
        futures::future::join_all(streams.into_iter().map(|(mut stream, read)| async move {
            let read = read_until(&mut stream, "event: shutdown", read).await;
            let rest = read_until_closed(&mut stream, Duration::from_secs(10)).await;
            (read, rest, started.elapsed())
        }))
        .await;
    let status = tokio::time::timeout(Duration::from_secs(10), api.wait())
        .await
        .expect("tokworks-api exits")
        .unwrap();
    let exited_after = started.elapsed();

    for (read, rest, _) in &endings {
        let final_event = &read[read.find("event: shutdown").unwrap()..];
        assert!(final_event.contains("retry: "), "{final_event}");
        let whole = format!("{read}{rest}");
        assert!(
            whole.ends_with("0\r\n\r\n"),
            "the stream ended properly: {rest:?}"
        );
    }
    let last_stream_closed = endings.iter().map(|(_, _, at)| *at).max().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        exited_after < SHUTDOWN_BOUND,
        "exited after {exited_after:?}"
    );
    println!(
        "graceful shutdown with {STREAMS} open streams: last stream closed after \
         {last_stream_closed:?}, process exited after {exited_after:?}"
    );
}
