//! Comments jobs across real processes: a job with replies against the simulator's ground
//! truth (count walked across list pages, each comment followed by its replies, the same page
//! as NDJSON and CSV), and a video with comments turned off failing with `COMMENTS_DISABLED`.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{ServiceOptions, TestService};

/// Every comment of the job, page by page (`limit` per page, following `next_cursor`).
async fn all_comments(service: &TestService, job_id: Uuid, limit: usize) -> Vec<Value> {
    let mut comments = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/jobs/{job_id}/items?limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = service.get_json(&path).await;
        comments.extend(
            page["data"]
                .as_array()
                .expect("a data list")
                .iter()
                .cloned(),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return comments,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comments_job_with_replies_matches_the_ground_truth() {
    let service = TestService::start(ServiceOptions::new("comments_replies")).await;
    let site = service.sim.site();
    let (video, truth) = site
        .ground_truth_videos(0, 50)
        .into_iter()
        .find_map(|video| {
            let truth = tokworks_sim::site::comments::truth(&site, video["video_id"].as_str()?)?;
            let visible = truth["comments"]
                .as_array()?
                .iter()
                .filter(|comment| comment["deleted"] == false)
                .count();
            (visible >= 60).then_some((video, truth))
        })
        .expect("a video with 60 comments");
    let url = video["canonical_url"].as_str().expect("a URL");
    let mut expected = Vec::new();
    for comment in truth["comments"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|comment| comment["deleted"] == false)
        .take(55)
    {
        expected.push((comment["id"].as_str().expect("an id").to_owned(), None));
        for reply in comment["replies"].as_array().expect("a list") {
            if reply["deleted"] == false {
                expected.push((
                    reply["id"].as_str().expect("an id").to_owned(),
                    comment["id"].as_str().map(str::to_owned),
                ));
            }
        }
    }

    let job_id = service
        .submit_job(&json!({"kind": "comments", "url": url, "count": 55, "replies": true}))
        .await;
    let job = service
        .await_job_finished(job_id, Duration::from_secs(90))
        .await;

    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "comments");
    assert_eq!(job["comments"]["video_id"], video["video_id"]);
    assert_eq!(job["comments"]["total"], truth["total"]);
    assert_eq!(job["comments"]["fetched"], expected.len());
    assert_eq!(job["counts"]["succeeded"], expected.len());
    let comments = all_comments(&service, job_id, 40).await;
    let got: Vec<(String, Option<String>)> = comments
        .iter()
        .map(|comment| {
            assert_eq!(comment["object"], "comment");
            assert!(
                comment["author"]["unique_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty())
            );
            (
                comment["id"].as_str().expect("an id").to_owned(),
                comment["parent_id"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        got, expected,
        "each comment followed by its replies, none deleted"
    );
    let positions: Vec<u64> = comments
        .iter()
        .filter_map(|c| c["position"].as_u64())
        .collect();
    assert_eq!(positions, (0..expected.len() as u64).collect::<Vec<_>>());

    for (accept, first_line) in [
        ("application/x-ndjson", None),
        (
            "text/csv",
            Some(
                "position,comment_id,video_id,parent_id,created_at,author_id,author_unique_id,author_nickname,like_count,reply_count,pinned,liked_by_author,text",
            ),
        ),
    ] {
        let response = service
            .http
            .get(format!(
                "{}/v1/jobs/{job_id}/items?limit=10",
                service.api_url
            ))
            .header("x-api-key", &service.api_key)
            .header("accept", accept)
            .send()
            .await
            .expect("GET items");
        assert!(response.headers().contains_key("x-next-cursor"), "{accept}");
        let body = response.text().await.expect("a body");
        let lines: Vec<&str> = body.lines().collect();
        match first_line {
            None => {
                assert_eq!(lines.len(), 10);
                let first: Value = serde_json::from_str(lines[0]).expect("a JSON line");
                assert_eq!(first["id"].as_str(), Some(expected[0].0.as_str()));
            }
            Some(header) => {
                assert_eq!(lines[0], header);
                assert_eq!(lines.len(), 11);
                assert!(
                    lines[1].starts_with(&format!("0,{},", expected[0].0)),
                    "{}",
                    lines[1]
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_with_comments_off_fails_with_comments_disabled() {
    let service = TestService::start(ServiceOptions::new("comments_off")).await;
    let url = service
        .sim_cases()
        .await
        .into_iter()
        .find(|case| case["name"] == "comments_off")
        .and_then(|case| case["url"].as_str().map(str::to_owned))
        .expect("the simulator lists a comments-off post");

    let job_id = service
        .submit_job(&json!({"kind": "comments", "url": url}))
        .await;
    let job = service
        .await_job_finished(job_id, Duration::from_secs(60))
        .await;

    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "COMMENTS_DISABLED");
    assert_eq!(job["counts"]["total"], 0);
    let page = service.get_json(&format!("/v1/jobs/{job_id}/items")).await;
    assert_eq!(page["data"], json!([]));
}
