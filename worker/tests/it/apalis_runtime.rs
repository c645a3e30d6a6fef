//! The apalis runtime end to end: tasks pushed to Redis are run by the workers, a payload that
//! does not decode does not kill them, and the shutdown signal stops them.

use std::sync::Arc;
use std::time::Duration;

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use apalis_redis::Config;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokworks_worker::apalis_runtime::run_extract_workers;

use crate::support::{
    context, insert_job, item_row, sim_videos, start_sim, start_ytdlp, unique_queue,
};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn workers_run_pushed_tasks_survive_a_poison_payload_and_stop_on_signal(pool: PgPool) {
    let sim = start_sim().await;
    let extractor = Arc::new(start_ytdlp(&sim, 2, Duration::from_secs(30)).await);
    let queue = unique_queue().await;
    let context = context(pool.clone(), queue.clone(), extractor);
    let urls: Vec<String> = sim_videos(&sim, 20)
        .into_iter()
        .filter(|video| video["kind"] == "video" && video["duration"].as_u64() < Some(600))
        .take(3)
        .map(|video| video["canonical_url"].as_str().unwrap().to_owned())
        .collect();
    let url_refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let (job_id, tasks) = insert_job(&pool, &url_refs, 3, json!({})).await;
    let mut listener = PgListener::connect_with(&pool).await.unwrap();
    listener
        .listen(tokworks_shared::db::JOB_FINISHED_CHANNEL)
        .await
        .unwrap();

    // A payload that is not an ExtractItemTask goes first.
    let poison = TaskBuilder::new(br#"{"not":"a task"}"#.to_vec())
        .task_id(TaskId::from_string(
            tokworks_shared::queue::ExtractQueue::new_task_id(),
        ))
        .build();
    let mut connection = redis::Client::open(crate::support::REDIS_URL)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    apalis_redis::queries::push_tasks(
        &mut connection,
        &Config::default().queue(queue.queue_name()),
        &[poison],
    )
    .await
    .unwrap();
    queue.push(&tasks).await.unwrap();
    queue.promote_due_tasks().await.unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runtime = tokio::spawn(run_extract_workers(
        context,
        2,
        Duration::from_secs(10),
        async move {
            let _ = stopped.await;
            Ok(())
        },
    ));

    let notification = tokio::time::timeout(Duration::from_secs(30), listener.recv())
        .await
        .expect("the job finishes")
        .unwrap();
    assert_eq!(notification.payload(), job_id.to_string());
    for task in &tasks {
        let item = item_row(&pool, task.item_id).await;
        assert_eq!(item.status, "succeeded", "{item:?}");
    }

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(20), runtime)
        .await
        .expect("workers stop");
    assert!(result.unwrap().is_ok());
    let depth = queue.depth().await.unwrap();
    assert_eq!((depth.pending, depth.scheduled), (0, 0));
    assert_eq!(depth.dead, 1, "the poison payload went to the dead set");
    queue.delete_all_keys().await.unwrap();
}
