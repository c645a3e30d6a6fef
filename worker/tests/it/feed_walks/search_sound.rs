//! Search and sound jobs through the feed walker: a sound job shows its sound (a cache hit of
//! the same walk too), an unknown sound fails at once with `SOUND_NOT_FOUND`, and a search hit
//! by a 429 after its first page ends `partial` with that page's videos.

use tokworks_shared::db::feed_walks::find_job_feed;
use tokworks_shared::db::feed_walks::sounds::find_walk_sound;
use tokworks_sim::server::SimConfig;

use super::recovery::start_faulting_sign_server;
use super::*;

async fn start_sim_with(video_count: usize) -> SimHandle {
    tokworks_sim::server::start(SimConfig {
        video_count,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn post_ids(sim: &SimHandle, indices: &[u32]) -> Vec<String> {
    indices
        .iter()
        .map(|index| sim.site().corpus().post_id(*index).to_string())
        .collect()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_sound_job_and_its_cache_hit_show_the_sound(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let post = sim.site().corpus().post(7).expect("a post");
    let music_id = post.music.id.to_string();
    let expected = post_ids(&sim, &sim.site().corpus().posts_with_music(post.music.id));
    let ask = FeedAsk {
        kind: JobKind::Sound,
        target: Some(&music_id),
        count: 100,
        options: json!({}),
    };
    let (job_id, service) = submit(&pool, key, &ask, false).await;
    let FeedService::NewWalk { walk_id } = service else {
        panic!("a new walk: {service:?}");
    };
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
    assert_eq!(video_ids(&items(&pool, job_id).await), expected);
    let sound = find_walk_sound(&pool, walk_id)
        .await
        .expect("readable")
        .expect("the walk keeps its sound");
    assert_eq!(sound.id, music_id);
    assert_eq!(sound.title, post.music.title);
    assert_eq!(sound.original, post.music.original);

    let (cached_job, service) = submit(&pool, key, &ask, false).await;
    assert!(
        matches!(service, FeedService::FromCache { .. }),
        "{service:?}"
    );
    let feed = find_job_feed(&pool, cached_job)
        .await
        .expect("readable")
        .expect("a feed job");
    assert_eq!(feed.sound.map(|stored| stored.0.sound), Some(sound));
    assert_eq!(video_ids(&items(&pool, cached_job).await), expected);
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn an_unknown_sound_fails_at_once_with_sound_not_found(pool: PgPool) {
    let sim = start_sim().await;
    let key = api_key(&pool).await;
    let runner = runner(&pool, &sim, SignerChoice::BuiltIn).await;
    let ask = FeedAsk {
        kind: JobKind::Sound,
        target: Some("7000000000000000001"),
        count: 30,
        options: json!({}),
    };
    let (job_id, _) = submit(&pool, key, &ask, false).await;
    let outcome = run_one(&runner).await;
    assert!(
        matches!(
            outcome,
            WalkOutcome::Finished {
                status: WalkStatus::Failed,
                videos: 0,
                ..
            }
        ),
        "not retried: {outcome:?}"
    );
    let job = job_row(&pool, job_id).await;
    assert_eq!(job.status, "failed");
    assert_eq!(job.error_code.as_deref(), Some("SOUND_NOT_FOUND"));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_search_hit_by_a_429_after_its_first_page_ends_partial(pool: PgPool) {
    let sim = start_sim_with(400).await;
    let key = api_key(&pool).await;
    let (keyword, found) = {
        let site = sim.site();
        let corpus = site.corpus();
        let (name, found) = corpus
            .hashtags
            .iter()
            .map(|tag| (tag.name.clone(), corpus.search_posts(&tag.name)))
            .max_by_key(|(_, found)| found.len())
            .expect("hashtags");
        (name, post_ids(&sim, &found))
    };
    assert!(found.len() > 35);
    let rule = json!({"fault": "http_429", "retry_after_secs": 30, "times": 1,
                      "match": {"path_prefix": "/api/search/item/full/"}});
    let signer_url = start_faulting_sign_server(sim.base_url(), rule).await;
    let runner = runner(&pool, &sim, SignerChoice::External { url: signer_url }).await;
    let ask = FeedAsk {
        kind: JobKind::Search,
        target: Some(&keyword),
        count: 100,
        options: json!({}),
    };
    let (job_id, _) = submit(&pool, key, &ask, false).await;
    let outcome = run_one(&runner).await;
    assert!(
        matches!(
            outcome,
            WalkOutcome::Finished {
                status: WalkStatus::Partial,
                videos: 35,
                ..
            }
        ),
        "{outcome:?}"
    );
    let job = job_row(&pool, job_id).await;
    assert_eq!(job.status, "partial");
    assert_eq!(job.error_code.as_deref(), Some("UPSTREAM_RATE_LIMITED"));
    assert_eq!(video_ids(&items(&pool, job_id).await), found[..35].to_vec());
}
