//! Authentication: the `ApiKey` extractor (`x-api-key: KEY` or `Authorization: Bearer KEY`),
//! key hashing, and the `API_KEY` bootstrap key. Keys are looked up by SHA-256 and never logged.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokworks_shared::db::api_keys;
use uuid::Uuid;

use crate::problem::ApiError;
use crate::state::AppState;

/// Header of the key (alternative: `Authorization: Bearer`).
pub const API_KEY_HEADER: &str = "x-api-key";

/// Characters of a key kept for display (`tok_` and four more).
const KEY_PREFIX_CHARS: usize = 8;

/// The authenticated caller. Handlers take it as an argument, so none can forget auth.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub api_key_id: Uuid,
    pub name: String,
}

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = presented_key(parts).ok_or(ApiError::Unauthenticated)?;
        let key_sha256 = hash_api_key(presented);
        let row = api_keys::find_active_api_key_by_hash(&state.db, &key_sha256)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(ApiKey {
            api_key_id: row.api_key_id,
            name: row.name,
        })
    }
}

/// The key the client sent, if any (`x-api-key` first, then `Authorization: Bearer`).
fn presented_key(parts: &Parts) -> Option<&str> {
    if let Some(value) = parts.headers.get(API_KEY_HEADER) {
        return value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|key| !key.is_empty());
    }
    let authorization = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = authorization.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// SHA-256 of a key (keys are 256-bit random, so a fast hash is enough).
pub fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The display prefix of a key (`tok_Ab12`).
pub fn key_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX_CHARS).collect()
}

/// Makes `API_KEY` the one active bootstrap key (or revokes bootstrap keys when it is unset).
pub async fn sync_bootstrap_key(
    pool: &PgPool,
    api_key: Option<&SecretString>,
) -> Result<(), sqlx::Error> {
    let mut connection = pool.acquire().await?;
    match api_key
        .map(|key| key.expose_secret().trim())
        .filter(|key| !key.is_empty())
    {
        Some(key) => {
            if key.len() < 32 {
                tracing::warn!("API_KEY is shorter than 32 characters: use a long random key");
            }
            let row = api_keys::upsert_bootstrap_api_key(
                &mut connection,
                Uuid::now_v7(),
                &key_prefix(key),
                &hash_api_key(key),
            )
            .await?;
            tokworks_shared::db::webhooks::ensure_webhook_secret(&mut *connection, row.api_key_id)
                .await?;
            if row.revoked_at.is_some() {
                tracing::warn!(api_key_id = %row.api_key_id, "API_KEY is a revoked key: it is not accepted");
            } else {
                tracing::info!(api_key_id = %row.api_key_id, "bootstrap key from API_KEY is active");
            }
        }
        None => {
            let revoked =
                api_keys::revoke_bootstrap_api_keys_except(&mut *connection, None).await?;
            if revoked > 0 {
                tracing::info!(revoked, "API_KEY is unset: previous bootstrap keys revoked");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts_with(name: &str, value: &str) -> Parts {
        let (parts, ()) = Request::builder()
            .header(name, value)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn keys_are_read_from_x_api_key_or_bearer() {
        assert_eq!(
            presented_key(&parts_with("x-api-key", "tok_abc")),
            Some("tok_abc")
        );
        assert_eq!(
            presented_key(&parts_with("authorization", "Bearer tok_abc")),
            Some("tok_abc")
        );
        assert_eq!(
            presented_key(&parts_with("authorization", "bearer  tok_abc ")),
            Some("tok_abc")
        );
        assert_eq!(
            presented_key(&parts_with("authorization", "Basic dXNlcg==")),
            None
        );
        assert_eq!(presented_key(&parts_with("authorization", "Bearer ")), None);
    }

    #[test]
    fn the_prefix_is_the_first_eight_characters() {
        assert_eq!(key_prefix("tok_Ab12cdefgh"), "tok_Ab12");
    }
}
