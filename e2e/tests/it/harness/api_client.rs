//! The tokworks HTTP API as the tests use it: submit jobs, read them, await their end.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{TestService, await_condition};

/// Job statuses after which nothing changes any more.
pub const TERMINAL_JOB_STATUSES: [&str; 5] =
    ["succeeded", "partial", "failed", "canceled", "expired"];

impl TestService {
    /// `POST /v1/jobs` with the bootstrap key; asserts `202 Accepted` and returns the id in `Location`.
    pub async fn submit_job(&self, body: &Value) -> Uuid {
        let response = self
            .http
            .post(format!("{}/v1/jobs", self.api_url))
            .header("x-api-key", &self.api_key)
            .json(body)
            .send()
            .await
            .expect("POST /v1/jobs");
        let status = response.status();
        let location = response.headers().get(reqwest::header::LOCATION).cloned();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "POST /v1/jobs {body} answered {status}: {text}"
        );
        let location = location.expect("202 carries a Location header");
        job_id_from_location(location.to_str().expect("Location is ASCII"))
    }

    /// Submits `{"kind":"video","url":url}`.
    pub async fn submit_video(&self, url: &str) -> Uuid {
        self.submit_job(&json!({"kind": "video", "url": url})).await
    }

    /// `GET /v1/jobs/{id}`; asserts 200 and returns the body.
    pub async fn get_job(&self, job_id: Uuid) -> Value {
        self.get_json(&format!("/v1/jobs/{job_id}")).await
    }

    /// `GET path` with the key; asserts 200 and returns the JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.api_url))
            .header("x-api-key", &self.api_key)
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::OK,
            "GET {path} answered {status}: {text}"
        );
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("GET {path}: not JSON: {error}"))
    }

    /// Polls `GET /v1/jobs/{id}` until the job reaches a terminal status; returns that body.
    pub async fn await_job_finished(&self, job_id: Uuid, timeout: Duration) -> Value {
        await_condition(&format!("job {job_id} to finish"), timeout, || async move {
            self.assert_processes_running();
            let job = self.get_job(job_id).await;
            is_terminal(&job).then_some(job)
        })
        .await
    }

    /// Waits until every job in the test's database is terminal (cheaper than polling each job
    /// over HTTP when there are hundreds); `expected_jobs` guards against counting too few.
    pub async fn await_all_jobs_finished(&self, expected_jobs: i64, timeout: Duration) {
        let pool = &self.database.pool;
        await_condition(&format!("all {expected_jobs} jobs to finish"), timeout, || async move {
            self.assert_processes_running();
            let finished: i64 = sqlx::query_scalar(
                "select count(*) from jobs where status in ('succeeded','partial','failed','canceled','expired')",
            )
            .fetch_one(pool)
            .await
            .expect("count finished jobs");
            (finished >= expected_jobs).then_some(())
        })
        .await;
    }
}

/// Whether a job body's `status` is terminal.
pub fn is_terminal(job: &Value) -> bool {
    job["status"]
        .as_str()
        .is_some_and(|status| TERMINAL_JOB_STATUSES.contains(&status))
}

/// `/v1/jobs/{id}` (or an absolute URL ending so) → the id.
pub fn job_id_from_location(location: &str) -> Uuid {
    let last_segment = location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    Uuid::parse_str(last_segment)
        .unwrap_or_else(|_| panic!("Location {location:?} does not end with a job id"))
}
