//! Watches end to end (two workers): a watch over a simulator user with a webhook — the
//! baseline run reports nothing; a post added to the user (`POST /_sim/posts`) is reported by
//! exactly ONE `watch.new_videos` event naming exactly it; later runs that find nothing new send
//! nothing. And a worker `kill -9`ed while a watch run is due: the run happens exactly once.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokworks_shared::webhooks::signature::verify_webhook;

use crate::harness::{ServiceOptions, TestService, await_condition};

/// Covers a few runs of a watch every 2 s, their walks and a delivery.
const WATCH_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug)]
struct Received {
    webhook_id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
}

/// Records every request and answers 200.
async fn receive(
    State(sender): State<mpsc::UnboundedSender<Received>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let _ = sender.send(Received {
        webhook_id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    StatusCode::OK
}

/// A receiver on 127.0.0.1: its port and what it receives.
async fn start_receiver() -> (u16, mpsc::UnboundedReceiver<Received>) {
    let (sender, received) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let port = listener.local_addr().expect("receiver address").port();
    let app = Router::new().fallback(receive).with_state(sender);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, received)
}

fn options(name: &'static str, port: u16) -> ServiceOptions {
    let port = port.to_string();
    ServiceOptions::new(name)
        .api_env("WATCH_MIN_INTERVAL_SECONDS", "1")
        .api_env("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        .api_env("WEBHOOK_ALLOWED_PORTS", &port)
        .worker_env("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        .worker_env("WEBHOOK_ALLOWED_PORTS", &port)
        .worker_env("WATCH_POLL_MILLISECONDS", "200")
}

impl TestService {
    /// `POST /v1/watches`; asserts 201 and returns the watch.
    async fn create_watch(&self, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}/v1/watches", self.api_url))
            .header("x-api-key", &self.api_key)
            .json(body)
            .send()
            .await
            .expect("POST /v1/watches");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 201, "POST /v1/watches {body}: {text}");
        serde_json::from_str(&text).expect("a watch")
    }

    /// The watch's runs, oldest first.
    async fn watch_runs(&self, watch_id: &str) -> Vec<Value> {
        let mut runs = self
            .get_json(&format!("/v1/watches/{watch_id}/runs?limit=100"))
            .await["data"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        runs.reverse();
        runs
    }

    /// Awaits at least `count` finished runs of the watch; returns all its runs, oldest first.
    async fn await_finished_runs(&self, watch_id: &str, count: usize) -> Vec<Value> {
        await_condition(
            &format!("{count} finished runs of watch {watch_id}"),
            WATCH_TIMEOUT,
            || async {
                let runs = self.watch_runs(watch_id).await;
                let finished = runs.iter().filter(|run| run["status"] != "running").count();
                (finished >= count).then_some(runs)
            },
        )
        .await
    }

    /// `POST /_sim/posts`; returns the new post.
    async fn sim_add_post(&self, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_sim/posts", self.sim.base_url()))
            .json(body)
            .send()
            .await
            .expect("POST /_sim/posts");
        assert_eq!(response.status(), 201);
        response.json().await.expect("the new post")
    }
}

/// A public user of the simulator with posts: the author of the first ground-truth video.
async fn some_user(service: &TestService) -> String {
    let video = service.sim_videos(1).await.remove(0);
    let url = video["canonical_url"]
        .as_str()
        .or_else(|| video["url"].as_str())
        .expect("a ground-truth URL");
    url.split("/@")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("an @user in the URL")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_reports_exactly_the_new_post_once_across_two_workers() {
    let (port, mut received) = start_receiver().await;
    let service = TestService::start(options("watch_new_post", port)).await;
    let user = some_user(&service).await;
    let watch = service
        .create_watch(&json!({
            "kind": "user", "username": user, "every": 2, "count": 5,
            "webhook": {"url": format!("http://127.0.0.1:{port}/hook")},
            "metadata": {"label": "e2e"},
        }))
        .await;
    let watch_id = watch["id"].as_str().expect("an id").to_owned();
    assert_eq!(watch["status"], "active");

    // The baseline: found videos, reported none.
    let runs = service.await_finished_runs(&watch_id, 1).await;
    assert_eq!(runs[0]["status"], "succeeded", "{runs:?}");
    assert_eq!(runs[0]["baseline"], true);
    assert!(runs[0]["videos_found"].as_i64().unwrap_or(0) > 0);
    assert_eq!(runs[0]["new_video_ids"], json!([]));

    let post = service.sim_add_post(&json!({ "user": user })).await;
    let new_id = post["id"].as_str().expect("an id").to_owned();

    let event = tokio::time::timeout(WATCH_TIMEOUT, received.recv())
        .await
        .expect("a watch.new_videos event in time")
        .expect("receiver running");
    let body: Value = serde_json::from_slice(&event.body).expect("JSON");
    assert_eq!(body["type"], "watch.new_videos");
    assert_eq!(body["data"]["watch_id"], watch_id);
    assert_eq!(body["data"]["username"], user);
    assert_eq!(body["data"]["new_video_ids"], json!([new_id]));
    assert_eq!(body["data"]["videos"][0]["url"], post["url"]);
    assert_eq!(body["data"]["metadata"], json!({"label": "e2e"}));
    let secret = service.get_json("/v1/webhook-secret").await;
    verify_webhook(
        secret["secret"].as_str().expect("a secret"),
        &event.webhook_id,
        &event.timestamp,
        &event.signature,
        &event.body,
        chrono::Utc::now().timestamp(),
    )
    .expect("signed with the key's secret");

    // Two more runs after the one that reported: they find nothing new and send nothing.
    let reporting = service
        .watch_runs(&watch_id)
        .await
        .iter()
        .position(|run| run["new_video_ids"] == json!([new_id]))
        .expect("the run that reported it");
    let runs = service.await_finished_runs(&watch_id, reporting + 3).await;
    let reported: Vec<&Value> = runs
        .iter()
        .filter(|run| run["new_video_ids"] != json!([]))
        .collect();
    assert_eq!(reported.len(), 1, "{runs:?}");
    assert!(
        runs[reporting + 1..]
            .iter()
            .filter(|run| run["status"] != "running")
            .all(|run| run["status"] == "succeeded" && run["baseline"] == false)
    );
    let events: i64 = sqlx::query_scalar(
        "select count(*) from webhook_deliveries where event_type = 'watch.new_videos'",
    )
    .fetch_one(&service.database.pool)
    .await
    .expect("count events");
    assert_eq!(events, 1, "exactly one event");
    assert!(received.try_recv().is_err(), "exactly one delivery");

    let videos = service
        .get_json(&format!("/v1/watches/{watch_id}/videos?limit=100"))
        .await;
    let videos = videos["data"].as_array().expect("a list");
    let newest = &videos[0];
    assert_eq!(newest["video_id"], new_id);
    assert_eq!(newest["reported"], true);
    assert!(videos[1..].iter().all(|video| video["reported"] == false));
    let watch = service.get_json(&format!("/v1/watches/{watch_id}")).await;
    assert_eq!(watch["videos_seen"], json!(videos.len()));
    assert_eq!(watch["consecutive_failures"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_while_a_run_is_due_runs_it_once() {
    let (port, _received) = start_receiver().await;
    let service = TestService::start(options("watch_kill", port)).await;
    let user = some_user(&service).await;
    // Due within seconds, then not for an hour.
    let watch = service
        .create_watch(&json!({ "kind": "user", "username": user, "every": 3600, "count": 3 }))
        .await;
    let watch_id = watch["id"].as_str().expect("an id").to_owned();
    service.kill_worker_hard(0).await;
    // A second watch every second: its runs show that the scheduler keeps going meanwhile.
    let clock = service
        .create_watch(&json!({ "kind": "trending", "every": 1, "count": 3 }))
        .await;
    let clock_id = clock["id"].as_str().expect("an id").to_owned();

    let runs = service.await_finished_runs(&watch_id, 1).await;
    assert_eq!(runs[0]["status"], "succeeded", "{runs:?}");
    let after_first = service.watch_runs(&clock_id).await.len();
    service
        .await_finished_runs(&clock_id, after_first + 3)
        .await;
    let runs = service.watch_runs(&watch_id).await;
    assert_eq!(runs.len(), 1, "the due run happened once: {runs:?}");
    let jobs: i64 = sqlx::query_scalar("select count(*) from jobs where kind = 'user'")
        .fetch_one(&service.database.pool)
        .await
        .expect("count jobs");
    assert_eq!(jobs, 1, "one job for one run");
}
