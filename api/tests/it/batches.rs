//! Batch jobs: per-URL rejection at submit time, the limits, custom ids, duplicates not
//! enqueued, and the items endpoint (pages, status filter, NDJSON, CSV, isolation).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::item_claims::ItemEnd;
use tokworks_shared::error_code::ErrorCode;
use tokworks_shared::ids::JobId;
use uuid::Uuid;

use crate::support::{TestApp, stored_video};

fn video_url(number: u32) -> String {
    format!("https://www.tiktok.com/@creator/video/73000000000000{number:05}")
}

/// Submits a batch; asserts 202 and returns the body.
async fn submit_batch(app: &TestApp, urls: Value) -> Value {
    let response = app
        .post_json("/v1/jobs", &json!({"kind": "batch", "urls": urls}))
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
    response.body
}

/// Stores the video a succeeding item resolves to, then plays the worker's claim and end.
async fn end_item_at(app: &TestApp, job_id: JobId, position: i32, end: ItemEnd) {
    if let ItemEnd::Succeeded { video_id, .. } = &end {
        sqlx::query(
            "insert into videos (video_id, data, source, fetched_at)
             values ($1, $2, 'web', now())
             on conflict (video_id) do nothing",
        )
        .bind(video_id)
        .bind(stored_video(
            video_id,
            json!({"description": "a, \"quoted\" caption", "author": {"unique_id": "creator"},
                   "counts": {"play_count": 1000, "like_count": 10},
                   "duration_seconds": 12, "create_time": 1735689612}),
        ))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    app.end_item_at(job_id, position, &end).await;
}

fn succeeded(number: u32) -> ItemEnd {
    ItemEnd::Succeeded {
        video_id: format!("73000000000000{number:05}"),
        cache_hit: false,
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_batch_with_bad_urls_is_accepted_with_them_listed_as_rejected(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let body = submit_batch(
        &app,
        json!([
            video_url(1),
            "https://www.youtube.com/watch?v=x",
            {"url": video_url(2), "custom_id": "row-2"},
            {"url": "https://www.tiktok.com/@someone", "custom_id": "row-3"},
            {"url": video_url(1), "custom_id": "again"},
        ]),
    )
    .await;
    let job_id: JobId = body["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(body["kind"], "batch");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["counts"]["total"], 3);
    assert_eq!(body["counts"]["pending"], 3);
    assert_eq!(body["result"], Value::Null);
    assert_eq!(body["input"]["url"], Value::Null);
    assert_eq!(body["links"]["items"], format!("/v1/jobs/{job_id}/items"));
    assert_eq!(
        body["rejected"],
        json!([
            {"position": 1, "url": "https://www.youtube.com/watch?v=x", "custom_id": null,
             "error": {"code": "INVALID_URL", "message": body["rejected"][0]["error"]["message"]}},
            {"position": 3, "url": "https://www.tiktok.com/@someone", "custom_id": "row-3",
             "error": {"code": "UNSUPPORTED_URL", "message": body["rejected"][1]["error"]["message"]}},
        ])
    );
    assert!(
        body["rejected"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .len()
            > 5
    );

    // The dispatcher gives tasks to both first occurrences, never to the duplicate.
    let task_ids: Vec<String> = (0..10).map(|n| format!("task-{n}")).collect();
    let dispatched =
        tokworks_shared::db::item_claims::dispatch::dispatch_round_robin(&pool, &task_ids)
            .await
            .unwrap();
    assert_eq!(dispatched.len(), 2);
    let items: Vec<(i32, Option<String>, bool, bool)> = sqlx::query_as(
        "select position, custom_id, duplicate_of is not null, task_id is not null
         from job_items where job_id = $1 order by position",
    )
    .bind(job_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        items,
        [
            (0, None, false, true),
            (2, Some("row-2".to_owned()), false, true),
            (4, Some("again".to_owned()), true, false),
        ],
        "the repeated URL is a duplicate, never enqueued"
    );

    let view = app.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(
        view.body.get("rejected").is_none(),
        "only the submit answer lists rejections"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn all_bad_urls_or_too_many_urls_are_refused_without_a_job(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .post_json(
            "/v1/jobs",
            &json!({"kind": "batch", "urls": ["hello", {"url": "https://www.tiktok.com/tag/x", "custom_id": "c"}]}),
        )
        .await;
    let problem = response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "NO_VALID_URLS");
    assert_eq!(problem["errors"][0]["field"], "urls[0]");
    assert_eq!(problem["errors"][0]["code"], "INVALID_URL");
    assert_eq!(problem["errors"][1]["field"], "urls[1]");
    assert_eq!(problem["errors"][1]["code"], "UNSUPPORTED_URL");

    let too_many: Vec<String> = (0..1001).map(video_url).collect();
    let response = app
        .post_json("/v1/jobs", &json!({"kind": "batch", "urls": too_many}))
        .await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "TOO_MANY_URLS");
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn items_page_by_position_and_filter_by_status(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let urls: Vec<Value> = (0..5)
        .map(|number| json!({"url": video_url(number), "custom_id": format!("c{number}")}))
        .collect();
    let body = submit_batch(&app, json!(urls)).await;
    let job_id: JobId = body["id"].as_str().unwrap().parse().unwrap();
    end_item_at(&app, job_id, 0, succeeded(0)).await;
    end_item_at(
        &app,
        job_id,
        3,
        ItemEnd::Failed {
            error_code: ErrorCode::VideoPrivate,
            message: "private".to_owned(),
        },
    )
    .await;

    let mut positions = Vec::new();
    let mut path = format!("/v1/jobs/{job_id}/items?limit=2");
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{:#}", page.body);
        assert_eq!(page.body["object"], "list");
        for item in page.body["data"].as_array().unwrap() {
            positions.push(item["position"].as_i64().unwrap());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(page.body["has_more"], true);
                path = format!("/v1/jobs/{job_id}/items?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(positions, [0, 1, 2, 3, 4]);

    let first = app.get(&format!("/v1/jobs/{job_id}/items?limit=1")).await;
    let item = &first.body["data"][0];
    assert_eq!(item["status"], "succeeded");
    assert_eq!(item["custom_id"], "c0");
    assert_eq!(item["url"], video_url(0));
    assert_eq!(item["video_id"], "7300000000000000000");
    assert_eq!(item["result"]["author"]["unique_id"], "creator");
    assert_eq!(item["attempts"], 1);
    assert_eq!(item["error"], Value::Null);

    let failed = app
        .get(&format!("/v1/jobs/{job_id}/items?status=failed"))
        .await;
    let data = failed.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["position"], 3);
    assert_eq!(
        data[0]["error"],
        json!({"code": "VIDEO_PRIVATE", "message": "private", "retryable": false})
    );
    assert_eq!(data[0]["result"], Value::Null);
    assert_eq!(failed.body["has_more"], false);

    for (query, name) in [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("status=partial", "status"),
        ("cursor=garbage", "cursor"),
    ] {
        let response = app.get(&format!("/v1/jobs/{job_id}/items?{query}")).await;
        let problem =
            response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
        assert_eq!(problem["errors"][0]["field"], name);
    }
}

async fn get_text(
    app: &TestApp,
    path: &str,
    accept: &str,
) -> (StatusCode, String, String, Option<String>) {
    let request = app
        .request(Method::GET, path)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    let response = app.send_for_text(request).await;
    let content_type = response.header("content-type").to_owned();
    let next_cursor = Some(response.header("x-next-cursor"))
        .filter(|cursor| !cursor.is_empty())
        .map(str::to_owned);
    (response.status, content_type, response.text, next_cursor)
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn items_come_as_ndjson_and_csv(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let body = submit_batch(
        &app,
        json!([{"url": video_url(0), "custom_id": "a,b"}, video_url(1), video_url(2)]),
    )
    .await;
    let job_id: JobId = body["id"].as_str().unwrap().parse().unwrap();
    end_item_at(&app, job_id, 0, succeeded(0)).await;
    let path = format!("/v1/jobs/{job_id}/items?limit=2");

    let (status, content_type, text, next_cursor) =
        get_text(&app, &path, "application/x-ndjson").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/x-ndjson");
    assert!(next_cursor.is_some(), "a third item remains");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(text.ends_with('\n'));
    assert_eq!(lines[0]["custom_id"], "a,b");
    assert_eq!(lines[0]["result"]["counts"]["play_count"], 1000);
    assert_eq!(lines[1]["status"], "queued");

    let (status, content_type, text, _) = get_text(&app, &path, "text/csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"));
    let rows: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        rows[0],
        "position,custom_id,url,status,error_code,error_message,video_id,description,\
         author_unique_id,play_count,like_count,comment_count,share_count,collect_count,\
         duration_seconds,create_time,cache_hit"
    );
    assert_eq!(
        rows[1],
        format!(
            "0,\"a,b\",{},succeeded,,,7300000000000000000,\"a, \"\"quoted\"\" caption\",creator,\
             1000,10,0,0,0,12,1735689612,false",
            video_url(0)
        )
    );
    assert_eq!(
        rows[2],
        format!("1,,{},queued,,,7300000000000000001,,,,,,,,,,", video_url(1))
    );
    assert_eq!(rows[3], "", "the last row ends with CRLF");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn another_keys_batch_items_are_not_found(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let body = submit_batch(&app, json!([video_url(0)])).await;
    let job_id = body["id"].as_str().unwrap();
    let other_key = app.other_key().await;
    let response = app
        .send(
            axum::http::Request::builder()
                .uri(format!("/v1/jobs/{job_id}/items"))
                .header("x-api-key", other_key)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    response.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    let unknown = app.get(&format!("/v1/jobs/{}/items", Uuid::now_v7())).await;
    unknown.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}
