//! API keys: stored as a SHA-256 of the key plus a display prefix; the key itself is never stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One row of `api_keys` (no secret in it: only the hash, which is not exposed here either).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub api_key_id: Uuid,
    pub name: String,
    pub key_prefix: String,
    pub is_bootstrap: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The key that authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthenticatedKeyRow {
    pub api_key_id: Uuid,
    pub name: String,
}

/// Inserts a new key (already hashed by the caller).
pub async fn insert_api_key(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: Uuid,
    name: &str,
    key_prefix: &str,
    key_sha256: &[u8],
) -> Result<ApiKeyRow, sqlx::Error> {
    sqlx::query_as::<_, ApiKeyRow>(
        "insert into api_keys (api_key_id, name, key_prefix, key_sha256)
         values ($1, $2, $3, $4)
         returning api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at",
    )
    .bind(api_key_id)
    .bind(name)
    .bind(key_prefix)
    .bind(key_sha256)
    .fetch_one(executor)
    .await
}

/// Makes the key with this hash a bootstrap key: inserts it if new, marks it `is_bootstrap` if
/// it already exists. No other key is touched (replicas started with different `API_KEY` values
/// must not revoke each other), and a key revoked by an operator stays revoked. Returns the
/// key's row.
pub async fn upsert_bootstrap_api_key(
    connection: &mut sqlx::PgConnection,
    new_api_key_id: Uuid,
    key_prefix: &str,
    key_sha256: &[u8],
) -> Result<ApiKeyRow, sqlx::Error> {
    sqlx::query_as::<_, ApiKeyRow>(
        "insert into api_keys (api_key_id, name, key_prefix, key_sha256, is_bootstrap)
         values ($1, 'bootstrap (API_KEY)', $2, $3, true)
         on conflict (key_sha256) do update set is_bootstrap = true
         returning api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at",
    )
    .bind(new_api_key_id)
    .bind(key_prefix)
    .bind(key_sha256)
    .fetch_one(&mut *connection)
    .await
}

/// Finds the active (not revoked) key with this SHA-256.
pub async fn find_active_api_key_by_hash(
    executor: impl sqlx::PgExecutor<'_>,
    key_sha256: &[u8],
) -> Result<Option<AuthenticatedKeyRow>, sqlx::Error> {
    sqlx::query_as::<_, AuthenticatedKeyRow>(
        "select api_key_id, name from api_keys where key_sha256 = $1 and revoked_at is null",
    )
    .bind(key_sha256)
    .fetch_optional(executor)
    .await
}

/// Every key, oldest first (revoked ones included).
pub async fn list_api_keys(
    executor: impl sqlx::PgExecutor<'_>,
) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as::<_, ApiKeyRow>(
        "select api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at
         from api_keys order by created_at, api_key_id",
    )
    .fetch_all(executor)
    .await
}

/// Revokes a key (idempotent: an already revoked key keeps its first `revoked_at`).
/// Returns the row, or `None` when no key has this id.
pub async fn revoke_api_key(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: Uuid,
) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as::<_, ApiKeyRow>(
        "update api_keys set revoked_at = coalesce(revoked_at, now())
         where api_key_id = $1
         returning api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at",
    )
    .bind(api_key_id)
    .fetch_optional(executor)
    .await
}
