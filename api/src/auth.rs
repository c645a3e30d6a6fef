//! Authentication: the `ApiKey` extractor (`x-api-key: KEY` or `Authorization: Bearer KEY`),
//! key hashing, and the `API_KEY` bootstrap key. Keys are looked up by SHA-256 and never logged.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokworks_shared::db::api_keys;
use tokworks_shared::ids::ApiKeyId;

use crate::problem::ApiError;
use crate::rate_limits::{KeyLimits, RequestCharge};
use crate::state::AppState;

/// Header of the key (alternative: `Authorization: Bearer`).
pub const API_KEY_HEADER: &str = "x-api-key";

/// Characters of a key kept for display (`tok_` and four more).
const KEY_PREFIX_CHARS: usize = 8;

/// The authenticated caller. Handlers take it as an argument, so none can forget auth.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub api_key_id: ApiKeyId,
    pub name: String,
    /// The key's effective limits (its own, else the api's defaults).
    pub limits: KeyLimits,
    /// This request's rate-limit charge (set by the limits middleware; empty in the cache).
    pub charge: RequestCharge,
}

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The limits middleware authenticated it already.
        if let Some(key) = parts.extensions.get::<ApiKey>() {
            return Ok(key.clone());
        }
        Self::authenticate(parts, state).await
    }
}

impl ApiKey {
    /// Looks the presented key up (in-process cache first, then Postgres).
    pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = presented_key(parts).ok_or(ApiError::Unauthenticated)?;
        let key_sha256 = hash_api_key(presented);
        if let Some(key) = state.verified_keys.get(&key_sha256) {
            crate::access_log::record_key_id(key.api_key_id);
            return Ok(key);
        }
        let row = api_keys::find_active_api_key_by_hash(&state.db, &key_sha256)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let key = ApiKey {
            api_key_id: row.api_key_id,
            name: row.name,
            limits: KeyLimits::resolve(&row.limits, &state.settings.key_limits),
            charge: RequestCharge::default(),
        };
        state.verified_keys.insert(key_sha256, key.clone());
        crate::access_log::record_key_id(key.api_key_id);
        Ok(key)
    }
}

/// Keys verified against Postgres in the last `API_KEY_CACHE_SECONDS`, by SHA-256, so a busy
/// client costs one key lookup per interval instead of one per request. A revoked key is
/// therefore refused at the latest that long after its revocation; unknown keys are never
/// cached (a new key works at once).
#[derive(Clone)]
pub struct VerifiedKeys {
    cache: Option<moka::sync::Cache<[u8; 32], ApiKey>>,
}

/// Most keys the cache holds (beyond it, the least used are looked up again).
const VERIFIED_KEYS_CAPACITY: u64 = 100_000;

impl VerifiedKeys {
    /// A cache keeping each key for `ttl` (zero: no cache, every request reads Postgres).
    pub fn new(ttl: std::time::Duration) -> Self {
        let cache = (!ttl.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(VERIFIED_KEYS_CAPACITY)
                .time_to_live(ttl)
                .build()
        });
        VerifiedKeys { cache }
    }

    fn get(&self, key_sha256: &[u8; 32]) -> Option<ApiKey> {
        self.cache.as_ref()?.get(key_sha256)
    }

    fn insert(&self, key_sha256: [u8; 32], key: ApiKey) {
        if let Some(cache) = &self.cache {
            cache.insert(key_sha256, key);
        }
    }
}

impl std::fmt::Debug for VerifiedKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("VerifiedKeys")
            .field("enabled", &self.cache.is_some())
            .finish_non_exhaustive()
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

/// Makes the `API_KEY` bootstrap key exist (stored hashed, with its webhook secret) without
/// touching any other key: replicas started with another value, or with none, never revoke each
/// other's keys; an operator retires an old bootstrap key with `tokworks-api keys revoke`. A key
/// revoked that way stays revoked (a warning says so). Unset: nothing is done. Shorter than
/// [`MIN_BOOTSTRAP_KEY_CHARS`]: refused, nothing is stored.
pub async fn sync_bootstrap_key(
    pool: &PgPool,
    api_key: Option<&SecretString>,
) -> Result<(), BootstrapKeyError> {
    let Some(key) = checked_bootstrap_key(api_key)? else {
        tracing::info!("API_KEY is unset: no bootstrap key (existing keys are left as they are)");
        return Ok(());
    };
    let mut connection = pool.acquire().await?;
    let row = api_keys::upsert_bootstrap_api_key(
        &mut connection,
        ApiKeyId::new_v7(),
        &key_prefix(key),
        &hash_api_key(key),
    )
    .await?;
    tokworks_shared::db::webhooks::ensure_webhook_secret(&mut *connection, row.api_key_id).await?;
    if row.revoked_at.is_some() {
        tracing::warn!(
            api_key_id = %row.api_key_id,
            "API_KEY is a key revoked with `tokworks-api keys revoke`: it is not accepted"
        );
    } else {
        tracing::info!(api_key_id = %row.api_key_id, "bootstrap key from API_KEY is active");
    }
    Ok(())
}

/// Shortest accepted `API_KEY`, in characters.
pub const MIN_BOOTSTRAP_KEY_CHARS: usize = 32;

/// Why the `API_KEY` bootstrap key was not stored.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapKeyError {
    #[error(
        "API_KEY is {length} characters long; at least {MIN_BOOTSTRAP_KEY_CHARS} are required \
         (use a long random key, e.g. `openssl rand -base64 32`)"
    )]
    TooShort { length: usize },
    #[error(
        "API_KEY is still the placeholder of .env.example (`change-me…`); set a long random key \
         (e.g. `openssl rand -base64 32`)"
    )]
    Placeholder,
    #[error("cannot store the API_KEY bootstrap key: {0}")]
    Database(#[from] sqlx::Error),
}

/// Beginning of the placeholder `API_KEY` of `.env.example` (refused, whatever follows).
pub const PLACEHOLDER_KEY_PREFIX: &str = "change-me";

/// The trimmed `API_KEY`: `None` when unset or blank, refused when shorter than
/// [`MIN_BOOTSTRAP_KEY_CHARS`] or when it is `.env.example`'s placeholder (it starts with
/// [`PLACEHOLDER_KEY_PREFIX`]). `serve` checks it before connecting to anything.
pub fn checked_bootstrap_key(
    api_key: Option<&SecretString>,
) -> Result<Option<&str>, BootstrapKeyError> {
    match api_key
        .map(|key| key.expose_secret().trim())
        .filter(|key| !key.is_empty())
    {
        Some(key) if key.chars().count() < MIN_BOOTSTRAP_KEY_CHARS => {
            Err(BootstrapKeyError::TooShort {
                length: key.chars().count(),
            })
        }
        Some(key)
            if key
                .get(..PLACEHOLDER_KEY_PREFIX.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(PLACEHOLDER_KEY_PREFIX)) =>
        {
            Err(BootstrapKeyError::Placeholder)
        }
        key => Ok(key),
    }
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
    fn the_placeholder_key_of_env_example_is_refused() {
        let env_example = include_str!("../../.env.example");
        let placeholder = env_example
            .lines()
            .find_map(|line| line.strip_prefix("API_KEY="))
            .expect(".env.example sets API_KEY");
        assert!(placeholder.len() >= MIN_BOOTSTRAP_KEY_CHARS);
        let placeholder = SecretString::from(placeholder);
        let refused = checked_bootstrap_key(Some(&placeholder));
        assert!(matches!(refused, Err(BootstrapKeyError::Placeholder)));
        assert!(refused.unwrap_err().to_string().contains("placeholder"));
        let shouting = SecretString::from("CHANGE-ME-to-something-long-and-random-xyz");
        assert!(matches!(
            checked_bootstrap_key(Some(&shouting)),
            Err(BootstrapKeyError::Placeholder)
        ));
        let real = SecretString::from("k3Jd9a0f8s7d6f5g4h3j2k1l0qwertyuiopZX");
        assert_eq!(
            checked_bootstrap_key(Some(&real)).unwrap(),
            Some("k3Jd9a0f8s7d6f5g4h3j2k1l0qwertyuiopZX")
        );
    }

    #[test]
    fn the_prefix_is_the_first_eight_characters() {
        assert_eq!(key_prefix("tok_Ab12cdefgh"), "tok_Ab12");
    }
}
