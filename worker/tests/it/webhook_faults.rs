//! Webhook deliverer faults (issue #12): a receiver's body holding NUL is recorded and the
//! delivery ends; a delivery whose outcome is never recorded ends `failed` after a bound of
//! claims; one slow receiver does not hold back another tenant's deliveries.

// Test helpers, not only `#[test]` fns: unwrap is fine here (the crate root is not `cfg(test)`).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};
use tokworks_shared::db::webhooks as webhook_db;

use crate::webhooks::{
    await_finished, enqueue, job_with_webhook, settings, start_deliverer, start_receiver,
};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_response_body_with_nul_is_recorded_and_the_delivery_succeeds_once(pool: PgPool) {
    let mut receiver = start_receiver(Arc::new(|_| {
        (StatusCode::OK, "ok\u{0}done \u{0}").into_response()
    }))
    .await;
    let (_, job_id) = job_with_webhook(&pool, &receiver.url).await;
    enqueue(&pool, job_id, "job.completed").await;
    let _stop = start_deliverer(&pool, settings(&receiver, true, vec![]));
    receiver.next().await;
    assert_eq!(
        await_finished(&pool, job_id).await,
        vec![("succeeded".to_owned(), 1, Some(200))]
    );
    let excerpts: Vec<Option<String>> = sqlx::query_scalar(
        "select a.response_excerpt from webhook_delivery_attempts a
         join webhook_deliveries d using (delivery_id) where d.job_id = $1",
    )
    .bind(job_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(excerpts, vec![Some("okdone ".to_owned())]);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), receiver.received.recv())
            .await
            .is_err(),
        "sent once"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_delivery_whose_outcome_is_never_recorded_ends_failed_after_max_claims(pool: PgPool) {
    let (_, job_id) = job_with_webhook(&pool, "http://127.0.0.1:9/hook").await;
    enqueue(&pool, job_id, "job.completed").await;
    // Each claim's lease expires (zero here) without an outcome, as when recording it fails.
    for claim in 1..=3 {
        let claimed = webhook_db::claim_due_deliveries(&pool, "w", Duration::ZERO, 10, 3)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "claim {claim}");
        assert_eq!(claimed[0].attempt, claim);
    }
    let claimed = webhook_db::claim_due_deliveries(&pool, "w", Duration::ZERO, 10, 3)
        .await
        .unwrap();
    assert!(claimed.is_empty(), "not sent a fourth time: {claimed:?}");
    let (status, attempts, error): (String, i32, Option<String>) = sqlx::query_as(
        "select status, attempts, last_error from webhook_deliveries where job_id = $1",
    )
    .bind(job_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts), ("failed", 3));
    assert_eq!(error.as_deref(), Some(webhook_db::UNRECORDED_OUTCOME_ERROR));
    assert_eq!(
        webhook_db::next_delivery_due_at(&pool).await.unwrap(),
        None,
        "nothing left to send"
    );
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_slow_receiver_does_not_delay_another_tenants_delivery(pool: PgPool) {
    // `/slow` holds its request until released; `/fast` answers at once.
    let release = Arc::new(Notify::new());
    let (slow_seen, mut slow_received) = mpsc::unbounded_channel::<()>();
    let slow_release = release.clone();
    let app = Router::new()
        .route(
            "/slow",
            post(move || {
                let release = slow_release.clone();
                let seen = slow_seen.clone();
                async move {
                    let _ = seen.send(());
                    release.notified().await;
                    StatusCode::OK
                }
            }),
        )
        .route("/fast", post(|| async { StatusCode::OK }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let slow_url = format!("http://127.0.0.1:{port}/slow");
    let fast_url = format!("http://127.0.0.1:{port}/fast");
    let (_, slow_job) = job_with_webhook(&pool, &slow_url).await;
    let (_, fast_job) = job_with_webhook(&pool, &fast_url).await;
    // `settings` only reads the port of the receiver's URL.
    let dummy = start_receiver(Arc::new(|_| StatusCode::OK.into_response())).await;
    let mut settings = settings(&dummy, true, vec![]);
    settings.policy.allowed_ports = vec![port];
    let _stop = start_deliverer(&pool, settings);

    enqueue(&pool, slow_job, "job.completed").await;
    tokio::time::timeout(Duration::from_secs(20), slow_received.recv())
        .await
        .expect("the slow receiver got its request")
        .unwrap();
    // The slow send is in flight (held for the whole 20 s request timeout unless released).
    enqueue(&pool, fast_job, "job.completed").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status: String =
            sqlx::query_scalar("select status from webhook_deliveries where job_id = $1")
                .bind(fast_job)
                .fetch_one(&pool)
                .await
                .unwrap();
        if status == "succeeded" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the fast delivery waited for the slow one (status {status})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slow_status: String =
        sqlx::query_scalar("select status from webhook_deliveries where job_id = $1")
            .bind(slow_job)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        slow_status, "delivering",
        "the slow send is still in flight"
    );
    release.notify_one();
    assert_eq!(
        await_finished(&pool, slow_job).await,
        vec![("succeeded".to_owned(), 1, Some(200))]
    );
}
