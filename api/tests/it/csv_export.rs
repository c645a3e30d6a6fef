//! The CSV export of a job's items neutralises cells a spreadsheet would run as a formula
//! (OWASP CSV injection): a caption or custom id starting with `=`, `+`, `-`, `@`, tab or CR
//! gets a leading `'`.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tokworks_shared::db::item_claims::ItemEnd;
use tokworks_shared::ids::JobId;

use crate::support::{TestApp, stored_video};

const VIDEO_ID: &str = "7300000000000000042";

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn formula_like_cells_are_neutralised_in_csv(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let url = format!("https://www.tiktok.com/@creator/video/{VIDEO_ID}");
    let created = app
        .post_json(
            "/v1/jobs",
            &json!({"kind": "batch", "urls": [{"url": url, "custom_id": "@lead"}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{:#}", created.body);
    let job_id: JobId = created.body["id"].as_str().unwrap().parse().unwrap();
    sqlx::query(
        "insert into videos (video_id, data, source, fetched_at) values ($1, $2, 'web', now())",
    )
    .bind(VIDEO_ID)
    .bind(stored_video(
        VIDEO_ID,
        serde_json::json!({"description": "=HYPERLINK(\"https://evil.example\",\"click\")",
                           "author": {"unique_id": "-creator"}}),
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    let end = ItemEnd::Succeeded {
        video_id: VIDEO_ID.to_owned(),
        cache_hit: false,
    };
    app.end_item_at(job_id, 0, &end).await;

    let request = app
        .request(Method::GET, &format!("/v1/jobs/{job_id}/items"))
        .header("accept", "text/csv")
        .body(Body::empty())
        .unwrap();
    let response = app.send_for_text(request).await;
    assert_eq!(response.status, StatusCode::OK);
    let rows: Vec<&str> = response.text.split("\r\n").collect();
    assert_eq!(
        rows[1],
        format!(
            "0,'@lead,{url},succeeded,,,{VIDEO_ID},\
             \"'=HYPERLINK(\"\"https://evil.example\"\",\"\"click\"\")\",'-creator,0,0,0,0,0,0,1735689612,false"
        )
    );
    // JSON is data, not a spreadsheet: unchanged there.
    let json = app.get(&format!("/v1/jobs/{job_id}/items")).await;
    assert_eq!(
        json.body["data"][0]["result"]["description"],
        "=HYPERLINK(\"https://evil.example\",\"click\")"
    );
}
