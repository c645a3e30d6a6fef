//! The extractor fallback counters add up by reason (EXTRACTOR=auto, issue #11 item 2).

use tokworks_shared::db::extractor_fallbacks::{fallback_counts, record_fallback};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn fallbacks_add_up_by_reason(pool: sqlx::PgPool) {
    record_fallback(&pool, "UPSTREAM_CHANGED", true)
        .await
        .unwrap();
    record_fallback(&pool, "UPSTREAM_CHANGED", false)
        .await
        .unwrap();
    record_fallback(&pool, "UPSTREAM_BLOCKED", true)
        .await
        .unwrap();
    let counts: Vec<(String, i64, i64)> = fallback_counts(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.reason, row.fallbacks, row.recovered))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("UPSTREAM_BLOCKED".to_owned(), 1, 1),
            ("UPSTREAM_CHANGED".to_owned(), 2, 1)
        ]
    );
}
