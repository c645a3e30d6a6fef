//! Item error messages are what tenants read: an upstream's raw answer (a vision API 401 echoes
//! the key's last characters) stays in the operator's log, the item gets a summary.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

use serde_json::json;
use sqlx::PgPool;
use tokworks_shared::job_options::Language;
use tokworks_shared::job_status::AnalysisStatus;

use crate::support::start_sim;
use crate::thumbnail_analysis::{analyzer, image, namespace, set_knobs, vision_calls};

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_vision_401_is_summarised_without_the_keys_characters(pool: PgPool) {
    let sim = start_sim().await;
    // The simulator accepts another key: ours gets OpenAI's 401, which echoes `sk-***wxyz`.
    set_knobs(&sim, json!({"api_key": "sk-the-right-key"})).await;
    let analyzer = analyzer(&sim, &namespace(), Some("sk-live-0123456789-wxyz"), 4).await;

    let outcome = analyzer
        .analyze_for_item(&pool, "1", Some(&image(7)), Language::En)
        .await;
    assert_eq!(outcome.status, AnalysisStatus::Failed, "{outcome:?}");
    let calls = vision_calls(&sim).await;
    assert_eq!(calls.len(), 1, "a 401 is final");
    assert_eq!(calls[0]["status"], 401);
    let message = outcome.error_message.unwrap();
    assert_eq!(
        message,
        "vision API refused the request: the vision API answered HTTP 401 Unauthorized"
    );
    for leaked in ["wxyz", "sk-", "Incorrect API key"] {
        assert!(!message.contains(leaked), "{message}");
    }
}
