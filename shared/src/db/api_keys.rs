//! API keys: stored as a SHA-256 of the key plus a display prefix; the key itself is never stored.

use chrono::{DateTime, Utc};

use crate::ids::ApiKeyId;

/// One row of `api_keys` (no secret in it: only the hash, which is not exposed here either).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub api_key_id: ApiKeyId,
    pub name: String,
    pub key_prefix: String,
    pub is_bootstrap: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub limits: KeyLimitColumns,
}

/// A key's own limits (docs/rate-limits.md); `None`: the api's default applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyLimitColumns {
    pub requests_per_second: Option<i32>,
    pub urls_per_minute: Option<i32>,
    pub max_items_in_flight: Option<i32>,
    /// Watches this key may have (default: WATCH_MAX_PER_KEY).
    pub max_watches: Option<i32>,
}

/// The key that authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthenticatedKeyRow {
    pub api_key_id: ApiKeyId,
    pub name: String,
    #[sqlx(flatten)]
    pub limits: KeyLimitColumns,
}

/// Inserts a new key (already hashed by the caller).
pub async fn insert_api_key(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
    name: &str,
    key_prefix: &str,
    key_sha256: &[u8],
) -> Result<ApiKeyRow, sqlx::Error> {
    sqlx::query_as::<_, ApiKeyRow>(
        "insert into api_keys (api_key_id, name, key_prefix, key_sha256)
         values ($1, $2, $3, $4)
         returning api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at,
                   requests_per_second, urls_per_minute, max_items_in_flight, max_watches",
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
    new_api_key_id: ApiKeyId,
    key_prefix: &str,
    key_sha256: &[u8],
) -> Result<ApiKeyRow, sqlx::Error> {
    sqlx::query_as::<_, ApiKeyRow>(
        "insert into api_keys (api_key_id, name, key_prefix, key_sha256, is_bootstrap)
         values ($1, 'bootstrap (API_KEY)', $2, $3, true)
         on conflict (key_sha256) do update set is_bootstrap = true
         returning api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at,
                   requests_per_second, urls_per_minute, max_items_in_flight, max_watches",
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
        "select api_key_id, name, requests_per_second, urls_per_minute, max_items_in_flight, max_watches
         from api_keys where key_sha256 = $1 and revoked_at is null",
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
        "select api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at,
                requests_per_second, urls_per_minute, max_items_in_flight, max_watches
         from api_keys order by created_at, api_key_id",
    )
    .fetch_all(executor)
    .await
}

/// Revokes a key (idempotent: an already revoked key keeps its first `revoked_at`).
/// Returns the row, or `None` when no key has this id.
pub async fn revoke_api_key(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as::<_, ApiKeyRow>(
        "update api_keys set revoked_at = coalesce(revoked_at, now())
         where api_key_id = $1
         returning api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at,
                   requests_per_second, urls_per_minute, max_items_in_flight, max_watches",
    )
    .bind(api_key_id)
    .fetch_optional(executor)
    .await
}

/// Sets a key's own limits (`None`: the api's default). Returns the row, or `None` when no key
/// has this id.
pub async fn set_api_key_limits(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
    limits: &KeyLimitColumns,
) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as::<_, ApiKeyRow>(
        "update api_keys
         set requests_per_second = $2, urls_per_minute = $3, max_items_in_flight = $4,
             max_watches = $5
         where api_key_id = $1
         returning api_key_id, name, key_prefix, is_bootstrap, created_at, revoked_at,
                   requests_per_second, urls_per_minute, max_items_in_flight, max_watches",
    )
    .bind(api_key_id)
    .bind(limits.requests_per_second)
    .bind(limits.urls_per_minute)
    .bind(limits.max_items_in_flight)
    .bind(limits.max_watches)
    .fetch_optional(executor)
    .await
}

/// Items of the key's unfinished jobs that have not ended (queued or running), from the jobs'
/// counters (index `jobs_unfinished_by_key`). The api reads it at most once per second per key.
pub async fn count_items_in_flight(
    executor: impl sqlx::PgExecutor<'_>,
    api_key_id: ApiKeyId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select coalesce(sum(items_total - items_succeeded - items_failed - items_canceled), 0)::bigint
         from jobs where api_key_id = $1 and status in ('queued', 'running')",
    )
    .bind(api_key_id)
    .fetch_one(executor)
    .await
}
