//! `tokworks-api keys create|list|revoke`: key generation (`tok_` + 43 url-safe base64
//! characters of 32 random bytes) and the operator's view of keys.

use std::io::Write;
use tokworks_shared::ids::ApiKeyId;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::PgPool;
use tokworks_shared::db::api_keys::{self, ApiKeyRow, KeyLimitColumns};
use tokworks_shared::db::webhooks;

use crate::auth::{hash_api_key, key_prefix};
use crate::config::{KeyLimitOptions, KeysCommand};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "tok_";

/// A `keys` command that failed.
#[derive(Debug, thiserror::Error)]
pub enum KeysCommandError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("no API key has the id {0}")]
    UnknownKey(ApiKeyId),
    #[error("the key name must be 1 to 200 characters")]
    InvalidName,
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// A fresh random key: `tok_` + 43 url-safe base64 characters (32 bytes from a CSPRNG).
pub fn generate_api_key() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Creates a key named `name` with the api's default limits; returns its row and the key (to
/// show once; only its hash is stored).
pub async fn create_api_key(
    pool: &PgPool,
    name: &str,
) -> Result<(ApiKeyRow, String), KeysCommandError> {
    create_api_key_with_limits(pool, name, &KeyLimitOptions::default()).await
}

/// Creates a key named `name` with its own `limits` (those left out follow the api's defaults).
pub async fn create_api_key_with_limits(
    pool: &PgPool,
    name: &str,
    limits: &KeyLimitOptions,
) -> Result<(ApiKeyRow, String), KeysCommandError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(KeysCommandError::InvalidName);
    }
    let key = generate_api_key();
    let row = api_keys::insert_api_key(
        pool,
        ApiKeyId::new_v7(),
        name,
        &key_prefix(&key),
        &hash_api_key(&key),
    )
    .await?;
    // The key's webhook signing secret is created with it.
    webhooks::ensure_webhook_secret(pool, row.api_key_id).await?;
    let columns = KeyLimitColumns {
        requests_per_second: limits.requests_per_second,
        urls_per_minute: limits.urls_per_minute,
        max_items_in_flight: limits.max_items_in_flight,
        max_watches: limits.max_watches,
    };
    if columns == KeyLimitColumns::default() {
        return Ok((row, key));
    }
    let row = api_keys::set_api_key_limits(pool, row.api_key_id, &columns)
        .await?
        .ok_or(KeysCommandError::UnknownKey(row.api_key_id))?;
    Ok((row, key))
}

/// Runs one `keys` subcommand, writing its human-readable output to `out`.
pub async fn run_keys_command(
    pool: &PgPool,
    command: &KeysCommand,
    out: &mut impl Write,
) -> Result<(), KeysCommandError> {
    match command {
        KeysCommand::Create { name, limits } => {
            let (row, key) = create_api_key_with_limits(pool, name, limits).await?;
            writeln!(out, "{key}")?;
            writeln!(
                out,
                "# id {} name {:?}: this key is shown once; store it now.",
                row.api_key_id, row.name
            )?;
        }
        KeysCommand::List => {
            writeln!(
                out,
                "id\tprefix\tname\tcreated_at\tstatus\trequests_per_second\turls_per_minute\tmax_items_in_flight\tmax_watches"
            )?;
            for row in api_keys::list_api_keys(pool).await? {
                let status = match (row.revoked_at, row.is_bootstrap) {
                    (Some(revoked_at), _) => format!("revoked {}", revoked_at.to_rfc3339()),
                    (None, true) => "active (bootstrap)".to_owned(),
                    (None, false) => "active".to_owned(),
                };
                let limit =
                    |value: Option<i32>| value.map_or("default".to_owned(), |v| v.to_string());
                writeln!(
                    out,
                    "{}\t{}…\t{}\t{}\t{status}\t{}\t{}\t{}\t{}",
                    row.api_key_id,
                    row.key_prefix,
                    row.name,
                    row.created_at.to_rfc3339(),
                    limit(row.limits.requests_per_second),
                    limit(row.limits.urls_per_minute),
                    limit(row.limits.max_items_in_flight),
                    limit(row.limits.max_watches),
                )?;
            }
        }
        KeysCommand::Revoke { id } => {
            let row = api_keys::revoke_api_key(pool, *id)
                .await?
                .ok_or(KeysCommandError::UnknownKey(*id))?;
            writeln!(out, "revoked {} ({})", row.api_key_id, row.name)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape_and_differ() {
        let first = generate_api_key();
        let second = generate_api_key();
        assert_ne!(first, second);
        assert_eq!(first.len(), 4 + 43);
        assert!(first.starts_with("tok_"));
        assert!(
            first[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{first}"
        );
    }
}
