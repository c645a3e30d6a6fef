//! Comments jobs through the api: validation (422 codes), the walk they share with identical
//! requests, and — once a played worker ended the walk with stored comments — the job view's
//! `comments` block and the items as JSON (paged by cursor), NDJSON and CSV.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::DateTime;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::comment::{Comment, CommentAuthor};
use tokworks_shared::db::comments::{WalkComments, store_walk_comments};
use tokworks_shared::db::feed_walks::WalkStatus;
use tokworks_shared::db::feed_walks::claims::{self as walk_claims, WalkEnd};

use crate::support::TestApp;

const VIDEO_ID: &str = "7300000000000000077";

fn comment(index: usize, parent: Option<&str>) -> Comment {
    Comment {
        id: format!("74000000000000000{index:02}"),
        video_id: VIDEO_ID.to_owned(),
        parent_id: parent.map(str::to_owned),
        text: if index == 0 {
            "=cmd|' /C calc'!A0".to_owned()
        } else {
            format!("comment {index} 🍜")
        },
        author: CommentAuthor {
            id: format!("{index}"),
            unique_id: format!("user{index}"),
            nickname: format!("User, {index}"),
            avatar_url: None,
        },
        like_count: index as u64,
        reply_count: 0,
        created_at: DateTime::from_timestamp(1_700_000_000 + index as i64, 0).expect("a time"),
        pinned: Some(index == 0),
        liked_by_author: None,
        mentions: Vec::new(),
    }
}

/// Plays the worker: claims the due walk and ends it with `comments` (stored first).
async fn finish_comments_walk(app: &TestApp, comments: &[Comment]) {
    let walks = walk_claims::claim_due_walks(&app.pool, "test-worker", Duration::from_secs(10), 1)
        .await
        .expect("claim");
    assert_eq!(walks.len(), 1);
    let mut transaction = app.pool.begin().await.expect("a transaction");
    store_walk_comments(
        &mut transaction,
        walks[0].walk_id,
        &WalkComments {
            video_id: VIDEO_ID,
            total: Some(1234),
            comments,
        },
    )
    .await
    .expect("stored");
    walk_claims::end_walk(
        &mut transaction,
        &walks[0],
        &WalkEnd::Finished {
            status: WalkStatus::Succeeded,
            video_ids: Vec::new(),
            stop_code: "NO_MORE".to_owned(),
            stop_message: None,
            pages_fetched: 2,
            walk_duration: Duration::from_millis(5),
        },
    )
    .await
    .expect("ended");
    transaction.commit().await.expect("committed");
}

async fn text(app: &TestApp, path: &str, accept: &str) -> (String, Option<String>) {
    let request = app
        .request(Method::GET, path)
        .header("accept", accept)
        .body(Body::empty())
        .expect("a request");
    let response = app.send_for_text(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let cursor = response
        .headers
        .get("x-next-cursor")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (response.text, cursor)
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn bad_comments_requests_get_stable_422_codes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let video = format!("https://www.tiktok.com/@a/video/{VIDEO_ID}");
    for (body, code) in [
        (json!({"kind": "comments"}), "INVALID_FIELD"),
        (
            json!({"kind": "comments", "url": "https://www.tiktok.com/@a"}),
            "UNSUPPORTED_URL",
        ),
        (
            json!({"kind": "comments", "url": "https://example.com/x"}),
            "INVALID_URL",
        ),
        (
            json!({"kind": "comments", "url": video, "count": 5001}),
            "INVALID_FIELD",
        ),
        (
            json!({"kind": "comments", "url": video, "replies": 1}),
            "INVALID_FIELD",
        ),
        (
            json!({"kind": "video", "url": video, "replies": true}),
            "INVALID_FIELD",
        ),
    ] {
        let response = app.post_json("/v1/jobs", &body).await;
        response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_comments_job_serves_its_comments_in_every_format(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let body = json!({"kind": "comments", "url": format!("https://www.tiktok.com/@a/video/{VIDEO_ID}"), "count": 3, "replies": true});
    let first = app.post_json("/v1/jobs", &body).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:#}", first.body);
    assert_eq!(first.body["kind"], "comments");
    let second = app.post_json("/v1/jobs", &body).await;
    assert_eq!(
        second.body["feed"]["walk"]["id"], first.body["feed"]["walk"]["id"],
        "identical requests share a walk"
    );
    let parent = comment(0, None).id;
    let comments = vec![
        comment(0, None),
        comment(1, Some(&parent)),
        comment(2, None),
    ];
    finish_comments_walk(&app, &comments).await;

    let job_id = first.body["id"].as_str().expect("an id").to_owned();
    let job = app.get(&format!("/v1/jobs/{job_id}")).await.body;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(
        job["comments"],
        json!({"video_id": VIDEO_ID, "total": 1234, "fetched": 3})
    );
    assert_eq!(job["counts"]["total"], 3);
    assert_eq!(job["counts"]["succeeded"], 3);

    let page = app
        .get(&format!("/v1/jobs/{job_id}/items?limit=2"))
        .await
        .body;
    assert_eq!(page["has_more"], true);
    let data = page["data"].as_array().expect("a list");
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["object"], "comment");
    assert_eq!(data[0]["position"], 0);
    assert_eq!(data[0]["id"], comments[0].id.as_str());
    assert_eq!(data[0]["pinned"], true);
    assert_eq!(data[1]["parent_id"], parent.as_str());
    let cursor = page["next_cursor"].as_str().expect("a cursor");
    let rest = app
        .get(&format!("/v1/jobs/{job_id}/items?limit=2&cursor={cursor}"))
        .await
        .body;
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["data"][0]["position"], 2);
    assert_eq!(rest["data"][0]["id"], comments[2].id.as_str());

    let (ndjson, next) = text(
        &app,
        &format!("/v1/jobs/{job_id}/items?limit=2"),
        "application/x-ndjson",
    )
    .await;
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["text"], "comment 1 🍜");
    assert!(next.is_some(), "the next page's cursor is in x-next-cursor");

    let (csv, _) = text(&app, &format!("/v1/jobs/{job_id}/items"), "text/csv").await;
    let rows: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        rows[0],
        "position,comment_id,video_id,parent_id,created_at,author_id,author_unique_id,author_nickname,like_count,reply_count,pinned,liked_by_author,text"
    );
    assert_eq!(
        rows[1],
        format!(
            "0,{},{VIDEO_ID},,2023-11-14T22:13:20Z,0,user0,\"User, 0\",0,0,true,,'=cmd|' /C calc'!A0",
            comments[0].id
        )
    );
    assert!(rows[2].starts_with(&format!("1,{},{VIDEO_ID},{parent},", comments[1].id)));
    assert_eq!(rows.len(), 5, "three rows and the final CRLF");

    // Within the feed cache TTL, the same request is answered from the finished walk at once.
    let cached = app.post_json("/v1/jobs", &body).await;
    assert_eq!(cached.body["status"], "succeeded", "{:#}", cached.body);
    assert_eq!(cached.body["feed"]["cache_hit"], true);
}
