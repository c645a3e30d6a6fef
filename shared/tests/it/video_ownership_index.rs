//! `GET /v1/videos/{id}` checks ownership through `job_items.result_video_id`: that lookup is
//! served by an index (`job_items_by_result_video`), not a scan of every item.

use sqlx::PgPool;

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_video_ownership_check_can_use_an_index_on_result_video_id(pool: PgPool) {
    let mut transaction = pool.begin().await.unwrap();
    // An empty test table would be scanned anyway: ask for the plan an index makes possible.
    sqlx::query("set local enable_seqscan = off")
        .execute(&mut *transaction)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "explain select v.video_id from videos v
         where v.video_id = '7454730070402848956'
           and exists (select 1 from job_items i join jobs j on j.job_id = i.job_id
                       where i.result_video_id = v.video_id
                         and j.api_key_id = '00000000-0000-0000-0000-000000000001')",
    )
    .fetch_all(&mut *transaction)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains("job_items_by_result_video"),
        "the ownership check scans job_items:\n{plan}"
    );
}
