//! The simulator's control API (`/_sim/...`): ground truth, error cases, request log, faults.

use serde_json::Value;

use super::TestService;

impl TestService {
    async fn sim_get(&self, path_and_query: &str) -> Value {
        let url = format!("{}{path_and_query}", self.sim.base_url());
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {url}: {error}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "GET {url} answered {status}: {text}");
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("GET {url} is not JSON ({error}): {text}"))
    }

    /// Ground truth of the first `limit` regular videos (`GET /_sim/videos?limit=N`).
    pub async fn sim_videos(&self, limit: usize) -> Vec<Value> {
        let body = self.sim_get(&format!("/_sim/videos?limit={limit}")).await;
        list_in(body, "videos")
    }

    /// `count` plain videos (no photo posts, none longer than 600 s, the workers' default limit)
    /// from the ground truth: the inputs of tests about the engine rather than the mapper.
    pub async fn sim_plain_videos(&self, count: usize) -> Vec<Value> {
        let plain: Vec<Value> = self
            .sim_videos(200)
            .await
            .into_iter()
            .filter(is_plain_video)
            .take(count)
            .collect();
        assert_eq!(
            plain.len(),
            count,
            "the corpus has {count} plain videos among its first 200"
        );
        plain
    }

    /// Every error and fault case (`GET /_sim/cases`): `name`, `url`, `status_code`, `fault`, …
    pub async fn sim_cases(&self) -> Vec<Value> {
        let body = self.sim_get("/_sim/cases").await;
        list_in(body, "cases")
    }

    /// Request log entries with `seq > since` and the newest sequence number (`GET /_sim/requests`).
    pub async fn sim_requests(&self, since: u64) -> (Vec<Value>, u64) {
        let mut body = self
            .sim_get(&format!("/_sim/requests?since={since}&limit=100000"))
            .await;
        let last_seq = body["last_seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("request log without last_seq: {body}"));
        (list_in(body["entries"].take(), "entries"), last_seq)
    }

    /// Adds a fault rule (`POST /_sim/faults`), e.g. `{"match":{"all":true},"fault":"latency","latency_ms":3000}`.
    pub async fn sim_add_fault(&self, rule: &Value) {
        let url = format!("{}/_sim/faults", self.sim.base_url());
        let response = self
            .http
            .post(&url)
            .json(rule)
            .send()
            .await
            .expect("POST /_sim/faults");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "POST /_sim/faults {rule} answered {status}: {text}"
        );
    }
}

fn is_plain_video(truth: &Value) -> bool {
    truth["kind"] == "video"
        && truth["duration"]
            .as_u64()
            .is_some_and(|seconds| seconds <= 600)
}

/// A control API answer is either a bare JSON array or an object holding it under `key`.
fn list_in(body: Value, key: &str) -> Vec<Value> {
    match body {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove(key) {
            Some(Value::Array(items)) => items,
            _ => panic!(
                "control API answer has no `{key}` array: {}",
                Value::Object(object)
            ),
        },
        other => panic!("control API answer is neither an array nor an object: {other}"),
    }
}
