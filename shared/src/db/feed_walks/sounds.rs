//! The sound of a `sound` walk (`feed_walks.sound`, a versioned [`SoundInfo`]): written by the
//! walker in the walk's ending transaction under its claim, read with the job's feed.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::ids::{ClaimId, WalkId};
use crate::sound::SoundInfo;

/// The current [`StoredSound::v`]. Bump it (and keep reading the old one) on any change.
pub const STORED_SOUND_VERSION: u32 = 1;

/// A sound as `feed_walks.sound` stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSound {
    pub v: u32,
    #[serde(flatten)]
    pub sound: SoundInfo,
}

/// Stores the sound of the walk held by `claim_id` (in the caller's transaction); `false` when
/// the claim is no longer held (nothing written).
pub async fn store_walk_sound(
    connection: &mut PgConnection,
    walk_id: WalkId,
    claim_id: ClaimId,
    sound: &SoundInfo,
) -> Result<bool, sqlx::Error> {
    let stored = StoredSound {
        v: STORED_SOUND_VERSION,
        sound: sound.clone(),
    };
    let updated = sqlx::query(
        "update feed_walks set sound = $3
         where walk_id = $1 and claim_id = $2 and status = 'running'",
    )
    .bind(walk_id)
    .bind(claim_id)
    .bind(Json(&stored))
    .execute(connection)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// The sound stored with walk `walk_id`, if any.
pub async fn find_walk_sound(
    executor: impl sqlx::PgExecutor<'_>,
    walk_id: WalkId,
) -> Result<Option<SoundInfo>, sqlx::Error> {
    let stored: Option<Option<Json<StoredSound>>> =
        sqlx::query_scalar("select sound from feed_walks where walk_id = $1")
            .bind(walk_id)
            .fetch_optional(executor)
            .await?;
    Ok(stored.flatten().map(|Json(stored)| stored.sound))
}
