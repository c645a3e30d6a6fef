//! Search and sound jobs through `POST /v1/jobs`: validation (stable 422 codes), one walk for
//! the same normalised query or music id however it is written, and the job view's query, music
//! id and sound (null until the walk read it, then the typed sound).

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokworks_shared::db::feed_walks::WalkStatus;
use tokworks_shared::db::feed_walks::claims::{self as walk_claims, WalkEnd};
use tokworks_shared::db::feed_walks::sounds::store_walk_sound;
use tokworks_shared::sound::SoundInfo;

use crate::support::TestApp;

const MUSIC_ID: &str = "7454730076952459393";

async fn submit(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/v1/jobs", &body).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{:#}", response.body);
    response.body
}

fn walk_id(job: &Value) -> String {
    job["feed"]["walk"]["id"]
        .as_str()
        .expect("a walk id")
        .to_owned()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn bad_search_and_sound_requests_get_stable_422_codes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for (body, code) in [
        (json!({"kind": "search"}), "INVALID_FIELD"),
        (json!({"kind": "search", "query": "   "}), "INVALID_FIELD"),
        (
            json!({"kind": "search", "query": "x".repeat(101)}),
            "INVALID_FIELD",
        ),
        (json!({"kind": "search", "query": 5}), "INVALID_FIELD"),
        (
            json!({"kind": "search", "query": "a", "hashtag": "a"}),
            "INVALID_FIELD",
        ),
        (
            json!({"kind": "search", "query": "a", "count": 0}),
            "INVALID_FIELD",
        ),
        (json!({"kind": "sound"}), "INVALID_FIELD"),
        (json!({"kind": "sound", "sound": "12345"}), "INVALID_FIELD"),
        (
            json!({"kind": "sound", "sound": "not a sound"}),
            "INVALID_FIELD",
        ),
        (
            json!({"kind": "sound", "sound": "https://www.tiktok.com/tag/food"}),
            "UNSUPPORTED_URL",
        ),
        (
            json!({"kind": "sound", "sound": MUSIC_ID, "query": "a"}),
            "INVALID_FIELD",
        ),
        (
            json!({"kind": "video", "url": "x", "sound": MUSIC_ID}),
            "INVALID_FIELD",
        ),
        (
            json!({"kind": "hashtag", "hashtag": "a", "query": "a"}),
            "INVALID_FIELD",
        ),
    ] {
        let response = app.post_json("/v1/jobs", &body).await;
        response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    assert_eq!(app.count_jobs().await, 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_music_url_where_a_video_is_wanted_says_it_is_a_sound(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app
        .post_json(
            "/v1/jobs",
            &json!({"kind": "video", "url": format!("https://www.tiktok.com/music/x-{MUSIC_ID}")}),
        )
        .await;
    response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "UNSUPPORTED_URL");
    assert!(
        response
            .body
            .to_string()
            .contains("a sound URL: submit kind `sound`"),
        "{:#}",
        response.body
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_same_search_however_written_shares_one_walk(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let first = submit(
        &app,
        json!({"kind": "search", "query": " Spicy  Ramen ", "count": 20}),
    )
    .await;
    assert_eq!(first["kind"], "search");
    assert_eq!(first["feed"]["query"], "spicy ramen");
    assert_eq!(first["feed"]["count"], 20);
    assert!(first["feed"].get("sound").is_none(), "{first:#}");
    let second = submit(
        &app,
        json!({"kind": "search", "query": "spicy ramen", "count": 20}),
    )
    .await;
    assert_eq!(walk_id(&second), walk_id(&first));
    let other = submit(
        &app,
        json!({"kind": "search", "query": "spicy", "count": 20}),
    )
    .await;
    assert_ne!(walk_id(&other), walk_id(&first));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_sound_job_shows_its_sound_once_the_walk_read_it(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let job = submit(
        &app,
        json!({"kind": "sound", "sound": format!("https://www.tiktok.com/music/original-sound-{MUSIC_ID}"), "count": 2}),
    )
    .await;
    assert_eq!(job["kind"], "sound");
    assert_eq!(job["feed"]["music_id"], MUSIC_ID);
    assert_eq!(job["feed"]["sound"], Value::Null, "{job:#}");
    let by_id = submit(
        &app,
        json!({"kind": "sound", "sound": MUSIC_ID, "count": 2}),
    )
    .await;
    assert_eq!(walk_id(&by_id), walk_id(&job));

    let sound = SoundInfo {
        id: MUSIC_ID.to_owned(),
        title: "original sound - Ann".to_owned(),
        author: Some("Ann".to_owned()),
        album: None,
        duration_seconds: Some(31),
        original: true,
        cover_url: Some("https://p16-sign.tiktokcdn-us.com/c.jpeg".to_owned()),
        play_url: None,
        video_count: Some(2),
    };
    let walks = walk_claims::claim_due_walks(&app.pool, "test-worker", Duration::from_secs(10), 1)
        .await
        .expect("claim");
    let mut transaction = app.pool.begin().await.expect("a transaction");
    assert!(
        store_walk_sound(
            &mut transaction,
            walks[0].walk_id,
            walks[0].claim_id,
            &sound
        )
        .await
        .expect("stored")
    );
    walk_claims::end_walk(
        &mut transaction,
        &walks[0],
        &WalkEnd::Finished {
            status: WalkStatus::Succeeded,
            video_ids: Vec::new(),
            stop_code: "NO_MORE".to_owned(),
            stop_message: None,
            pages_fetched: 1,
            walk_duration: Duration::from_millis(5),
        },
    )
    .await
    .expect("ended");
    transaction.commit().await.expect("committed");

    let id = job["id"].as_str().expect("an id");
    let view = app.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(
        view.body["feed"]["sound"],
        json!({"id": MUSIC_ID, "title": "original sound - Ann", "author": "Ann", "album": null,
               "duration_seconds": 31, "original": true,
               "cover_url": "https://p16-sign.tiktokcdn-us.com/c.jpeg", "play_url": null,
               "video_count": 2}),
        "{:#}",
        view.body
    );
}
