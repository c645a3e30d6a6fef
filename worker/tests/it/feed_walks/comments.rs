//! Comments jobs walked against the simulator: the comments and their replies in order, `count`
//! reached across list pages, deleted comments skipped, the comments-off and unknown videos,
//! and a 429 on the replies after the top-level pages (partial, keeping what came).

use tokworks_shared::comment::{Comment, CommentsWalkKey};
use tokworks_shared::db::comments::job_comments_page;
use tokworks_sim::site::comments as sim_comments;

use super::*;

/// Submits a comments job for `url` (walk key by `video_id`) as the api does.
async fn submit_comments(
    pool: &PgPool,
    api_key_id: ApiKeyId,
    url: &str,
    key_target: &str,
    count: i32,
    replies: bool,
) -> JobId {
    let job = NewJob {
        job_id: JobId::new_v7(),
        api_key_id,
        kind: JobKind::Comments,
        request: json!({"kind": "comments", "url": url, "count": count, "replies": replies}),
        options: StoredJobOptions::default(),
        metadata: json!({}),
        idempotency_key: None,
        items: Vec::new(),
        webhook: None,
    };
    let walk = NewFeedWalk {
        walk_id: WalkId::new_v7(),
        feed_key: CommentsWalkKey {
            target: key_target,
            count,
            replies,
        }
        .key(),
        kind: JobKind::Comments,
        target: Some(url.to_owned()),
        requested_count: count,
        max_attempts: 1,
    };
    let mut connection = pool.acquire().await.expect("a connection");
    match submit_feed_job(&mut connection, &job, &walk, TTL, false)
        .await
        .expect("submit works")
    {
        SubmitFeedOutcome::Created(_) => job.job_id,
        other => panic!("not created: {other:?}"),
    }
}

async fn stored_comments(pool: &PgPool, job_id: JobId) -> Vec<Comment> {
    let rows = job_comments_page(pool, job_id, None, 100_000)
        .await
        .expect("comments readable");
    for (index, row) in rows.iter().enumerate() {
        assert_eq!(row.position, i32::try_from(index).expect("small"));
    }
    rows.into_iter().map(|row| row.comment).collect()
}

/// A ground-truth video with at least `top_level` visible top-level comments.
fn video_with_comments(sim: &SimHandle, top_level: usize) -> (String, String, Value) {
    let site = sim.site();
    site.ground_truth_videos(0, 50)
        .into_iter()
        .find_map(|video| {
            let id = video["video_id"].as_str()?.to_owned();
            let truth = sim_comments::truth(&site, &id)?;
            let visible = truth["comments"]
                .as_array()?
                .iter()
                .filter(|comment| comment["deleted"] == false)
                .count();
            (visible >= top_level).then(|| {
                (
                    id,
                    video["canonical_url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    truth,
                )
            })
        })
        .expect("a video with enough comments")
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn comments_with_replies_come_in_order_across_pages_without_deleted_ones(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let (video_id, url, truth) = video_with_comments(&sim, 70);
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let job_id = submit_comments(&pool, key, &url, &video_id, 60, true).await;

    let outcome = run_one(&runner).await;

    assert!(
        matches!(
            outcome,
            WalkOutcome::Finished {
                status: WalkStatus::Succeeded,
                ..
            }
        ),
        "{outcome:?}"
    );
    let mut expected = Vec::new();
    for comment in truth["comments"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|comment| comment["deleted"] == false)
        .take(60)
    {
        expected.push(comment["id"].as_str().expect("an id").to_owned());
        for reply in comment["replies"].as_array().expect("a list") {
            if reply["deleted"] == false {
                expected.push(reply["id"].as_str().expect("an id").to_owned());
            }
        }
    }
    let stored = stored_comments(&pool, job_id).await;
    let ids: Vec<String> = stored.iter().map(|comment| comment.id.clone()).collect();
    assert_eq!(
        ids, expected,
        "top-level comments each followed by their replies"
    );
    assert!(
        upstream_requests(&sim, "/api/comment/list/").await > 2,
        "more than one page"
    );
    let top: Vec<&Comment> = stored.iter().filter(|c| c.parent_id.is_none()).collect();
    assert_eq!(top.len(), 60);
    assert_eq!(top[0].pinned, Some(true), "the pinned comment comes first");
    assert!(
        top.iter()
            .any(|comment| comment.liked_by_author == Some(true))
    );
    assert!(top.iter().any(|comment| !comment.mentions.is_empty()));
    for comment in &stored {
        assert_eq!(comment.video_id, video_id);
        assert!(!comment.text.is_empty() && !comment.author.unique_id.is_empty());
    }
    let replies_total: u64 = top.iter().map(|comment| comment.reply_count).sum();
    assert_eq!(
        stored.len() as u64,
        60 + replies_total,
        "every reply TikTok counts"
    );
    let row = job_row(&pool, job_id).await;
    assert_eq!(row.status, "succeeded");
    assert_eq!(
        row.items_succeeded,
        i32::try_from(stored.len()).expect("small")
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn comments_off_and_unknown_videos_fail_with_their_codes(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    for (case, code) in [
        ("comments_off", ErrorCode::CommentsDisabled),
        ("video_not_found", ErrorCode::VideoNotFound),
    ] {
        let url = crate::support::sim_case_url(&sim, case);
        let job_id = submit_comments(&pool, key, &url, &url, 20, false).await;
        run_one(&runner).await;
        let row = job_row(&pool, job_id).await;
        assert_eq!(row.status, "failed", "{case}");
        assert_eq!(row.error_code.as_deref(), Some(code.as_str()), "{case}");
        assert!(stored_comments(&pool, job_id).await.is_empty());
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_429_on_the_replies_ends_the_job_partial_with_what_came(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let (video_id, url, _) = video_with_comments(&sim, 30);
    add_fault(
        &sim.base_url(),
        &json!({"fault": "http_429", "retry_after_secs": 30, "times": 1,
                "match": {"path_prefix": "/api/comment/list/reply/"}}),
    )
    .await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let job_id = submit_comments(&pool, key, &url, &video_id, 30, true).await;

    run_one(&runner).await;

    let row = job_row(&pool, job_id).await;
    assert_eq!(row.status, "partial");
    assert_eq!(
        row.error_code.as_deref(),
        Some(ErrorCode::UpstreamRateLimited.as_str())
    );
    let stored = stored_comments(&pool, job_id).await;
    assert_eq!(stored.iter().filter(|c| c.parent_id.is_none()).count(), 30);
    assert!(
        stored.iter().all(|c| c.parent_id.is_none()),
        "no reply page came"
    );
}
