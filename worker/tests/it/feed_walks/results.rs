//! What feed jobs end with: the simulator's ground truth for every feed kind, the feed cache
//! (no upstream request) and `refresh`, and coalescing of identical jobs into one walk.

use tokworks_shared::ids::{JobId, WalkId};

use super::*;

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn trending_hashtag_and_user_jobs_end_with_the_simulators_ground_truth(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let tag = biggest_hashtag(&sim);
    let tag_name = tag["name"].as_str().expect("a name").to_owned();
    let user = sim
        .site()
        .ground_truth_users(0, 1000)
        .into_iter()
        .filter(|user| user["private_account"] == false)
        .max_by_key(|user| user["video_count"].as_u64().unwrap_or(0))
        .expect("a public user");
    let handle = user["unique_id"].as_str().expect("a handle").to_owned();

    let (trending_job, _) = submit(&pool, key, &trending(30), false).await;
    let hashtag_ask = FeedAsk {
        kind: JobKind::Hashtag,
        target: Some(&tag_name),
        count: 50,
        options: json!({}),
    };
    let (hashtag_job, _) = submit(&pool, key, &hashtag_ask, false).await;
    let user_ask = FeedAsk {
        kind: JobKind::User,
        target: Some(&handle),
        count: 500,
        options: json!({}),
    };
    let (user_job, _) = submit(&pool, key, &user_ask, false).await;
    let outcomes = runner.run_due_walks().await;
    assert_eq!(outcomes.len(), 3);

    let trending_items = items(&pool, trending_job).await;
    assert_eq!(video_ids(&trending_items), truth_trending(&sim, 30));
    assert!(
        trending_items
            .iter()
            .all(|item| item.0 == "succeeded" && item.2 == Some(false))
    );
    let hashtag_ids = video_ids(&items(&pool, hashtag_job).await);
    assert_eq!(hashtag_ids, strings(&tag["video_ids"])[..50].to_vec());
    let mut user_ids = video_ids(&items(&pool, user_job).await);
    let mut expected = strings(&user["video_ids"]);
    user_ids.sort();
    expected.sort();
    assert_eq!(user_ids, expected);
    for job_id in [trending_job, hashtag_job, user_job] {
        let job = job_row(&pool, job_id).await;
        assert_eq!(job.status, "succeeded", "{job:?}");
        assert_eq!(
            usize::try_from(job.items_succeeded).unwrap(),
            items(&pool, job_id).await.len()
        );
    }

    // Every video is in the cache with its raw item (source web), and the covers are stored.
    let first = &truth_trending(&sim, 1)[0];
    let (source, raw_id): (String, Option<String>) =
        sqlx::query_as("select source, raw_item->>'id' from videos where video_id = $1")
            .bind(first)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (source.as_str(), raw_id.as_deref()),
        ("web", Some(first.as_str()))
    );
    let covers: i64 =
        sqlx::query_scalar("select count(*) from thumbnails where video_id = any($1)")
            .bind(truth_trending(&sim, 30))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(covers, 30);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_identical_job_within_the_ttl_is_served_without_touching_tiktok(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let (first_job, first_service) = submit(&pool, key, &trending(30), false).await;
    assert!(matches!(first_service, FeedService::NewWalk { .. }));
    run_one(&runner).await;
    let walked = upstream_requests(&sim, "/api/").await;
    assert!(walked > 0);

    let (second_job, service) = submit(&pool, key, &trending(30), false).await;
    assert!(
        matches!(&service, FeedService::FromCache { job_status, .. } if *job_status == JobStatus::Succeeded),
        "{service:?}"
    );
    assert_eq!(job_row(&pool, second_job).await.status, "succeeded");
    let cached = items(&pool, second_job).await;
    assert_eq!(
        video_ids(&cached),
        video_ids(&items(&pool, first_job).await)
    );
    assert!(cached.iter().all(|item| item.2 == Some(true)));
    assert!(runner.run_due_walks().await.is_empty(), "no walk to run");
    assert_eq!(
        upstream_requests(&sim, "/api/").await,
        walked,
        "no upstream request"
    );

    let (refreshed, service) = submit(&pool, key, &trending(30), true).await;
    assert!(
        matches!(service, FeedService::NewWalk { .. }),
        "{service:?}"
    );
    run_one(&runner).await;
    assert!(upstream_requests(&sim, "/api/").await > walked);
    assert_eq!(job_row(&pool, refreshed).await.status, "succeeded");
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn identical_jobs_submitted_together_share_one_upstream_walk(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let asks = (trending(30), trending(30), trending(30));
    let (one, two, three) = tokio::join!(
        submit(&pool, key, &asks.0, false),
        submit(&pool, key, &asks.1, false),
        submit(&pool, key, &asks.2, false),
    );
    let walk_of = |service: &FeedService| match service {
        FeedService::NewWalk { walk_id } | FeedService::Attached { walk_id } => *walk_id,
        other => panic!("not in flight: {other:?}"),
    };
    assert_eq!(walk_of(&one.1), walk_of(&two.1));
    assert_eq!(walk_of(&one.1), walk_of(&three.1));

    let outcome = run_one(&runner).await;
    assert_eq!(
        outcome,
        WalkOutcome::Finished {
            status: WalkStatus::Succeeded,
            videos: 30,
            jobs: 3
        }
    );
    // One walk = one session: every recommend request carries the same device_id.
    let log = sim_get(
        &sim,
        "/_sim/requests",
        &[("path_prefix", "/api/recommend/item_list/")],
    )
    .await;
    let device_ids: std::collections::HashSet<String> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|entry| entry["query"].as_str())
        .filter_map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "device_id")
                .map(|(_, value)| value.into_owned())
        })
        .collect();
    assert_eq!(device_ids.len(), 1, "{device_ids:?}");
    let expected = truth_trending(&sim, 30);
    for job_id in [one.0, two.0, three.0] {
        assert_eq!(job_row(&pool, job_id).await.status, "succeeded");
        assert_eq!(video_ids(&items(&pool, job_id).await), expected);
    }
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_unsigned_user_job_walks_the_creator_list_newest_first(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::None).await;
    let key = api_key(&pool).await;
    let user = sim
        .site()
        .ground_truth_users(0, 1000)
        .into_iter()
        .filter(|user| user["private_account"] == false)
        .max_by_key(|user| user["video_count"].as_u64().unwrap_or(0))
        .expect("a public user");
    let ask = FeedAsk {
        kind: JobKind::User,
        target: user["unique_id"].as_str(),
        count: 500,
        options: json!({}),
    };
    let (job_id, _) = submit(&pool, key, &ask, false).await;
    run_one(&runner).await;
    assert_eq!(job_row(&pool, job_id).await.status, "succeeded");
    assert_eq!(
        video_ids(&items(&pool, job_id).await),
        strings(&user["video_ids"])
    );
    assert!(upstream_requests(&sim, "/api/creator/item_list/").await > 0);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_feed_job_with_a_webhook_gets_item_and_completed_events(pool: PgPool) {
    let sim = start_sim().await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let key = api_key(&pool).await;
    let job = NewJob {
        job_id: JobId::new_v7(),
        api_key_id: key,
        kind: JobKind::Trending,
        request: json!({"kind": "trending", "count": 3}),
        options: StoredJobOptions::default(),
        metadata: json!({}),
        idempotency_key: None,
        items: Vec::new(),
        webhook: Some(tokworks_shared::db::jobs::NewJobWebhook {
            url: "https://93.184.216.34/hook".to_owned(),
            events: vec!["item.succeeded".to_owned(), "job.completed".to_owned()],
        }),
    };
    let walk = NewFeedWalk {
        walk_id: WalkId::new_v7(),
        feed_key: feed_key(JobKind::Trending, None, 3),
        kind: JobKind::Trending,
        target: None,
        requested_count: 3,
        max_attempts: 2,
    };
    let mut connection = pool.acquire().await.unwrap();
    submit_feed_job(&mut connection, &job, &walk, TTL, false)
        .await
        .unwrap();
    run_one(&runner).await;
    let events: Vec<(String, Value)> = sqlx::query_as(
        "select event_type, payload from webhook_deliveries where job_id = $1
         order by delivery_id",
    )
    .bind(job.job_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let types: Vec<&str> = events.iter().map(|event| event.0.as_str()).collect();
    assert_eq!(
        types,
        [
            "item.succeeded",
            "item.succeeded",
            "item.succeeded",
            "job.completed"
        ]
    );
    let completed = &events[3].1["data"];
    assert_eq!(completed["status"], "succeeded");
    assert_eq!(completed["counts"]["succeeded"], 3);
    assert_eq!(
        completed["links"]["items"],
        format!("/v1/jobs/{}/items", job.job_id)
    );
}
