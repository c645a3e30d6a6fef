//! `ExtractQueue` against the shared Redis (a namespace per test).

use std::time::Duration;
use tokworks_shared::ids::{ItemId, JobId};

use tokworks_shared::queue::QueueDepth;
use tokworks_shared::queue_tasks::ExtractItemTask;

use crate::support::unique_queue;

fn tasks(count: usize) -> Vec<ExtractItemTask> {
    (0..count)
        .map(|_| ExtractItemTask::new(JobId::new_v7(), ItemId::new_v7()))
        .collect()
}

#[tokio::test]
async fn pushed_tasks_get_distinct_ids_redis_knows() {
    let queue = unique_queue().await;
    queue.ping().await.unwrap();

    let ids = queue.push(&tasks(3)).await.unwrap();
    let delayed = queue
        .push_delayed(tasks(1)[0], Duration::from_secs(60))
        .await
        .unwrap();

    assert_eq!(ids.len(), 3);
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        3
    );
    for id in ids.iter().chain([&delayed]) {
        assert!(queue.contains_task(id).await.unwrap(), "{id}");
    }
    assert!(
        !queue
            .contains_task("01NOTATASK0000000000000000")
            .await
            .unwrap()
    );
    assert_eq!(
        queue.depth().await.unwrap(),
        QueueDepth {
            scheduled: 4,
            ..QueueDepth::default()
        }
    );
    queue.delete_all_keys().await.unwrap();
}

#[tokio::test]
async fn the_promoter_moves_a_backlog_beyond_apalis_limit_in_chunks() {
    let queue = unique_queue().await;
    queue.push(&tasks(8500)).await.unwrap();
    let delayed = queue
        .push_delayed(tasks(1)[0], Duration::from_secs(3600))
        .await
        .unwrap();

    let moved = queue.promote_due_tasks().await.unwrap();

    assert_eq!(moved, 8500);
    let depth = queue.depth().await.unwrap();
    assert_eq!((depth.pending, depth.scheduled), (8500, 1));
    assert_eq!(queue.tasks_pending(&[delayed]).await.unwrap(), [true]);
    queue.delete_all_keys().await.unwrap();
}
