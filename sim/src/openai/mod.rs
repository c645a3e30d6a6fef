//! The OpenAI-compatible vision endpoint `POST /v1/chat/completions`. (being written)

use crate::exchange::{SimRequest, SimResponse};

/// Fault and behaviour knobs of the vision endpoint.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct OpenAiKnobs {
    /// Accepted bearer key; `None` accepts any non-empty key.
    pub api_key: Option<String>,
}

/// Answers one direct request to `/v1/...`.
pub fn handle(_request: &SimRequest, _knobs: &OpenAiKnobs) -> SimResponse {
    SimResponse::new(http::StatusCode::NOT_IMPLEMENTED)
}
