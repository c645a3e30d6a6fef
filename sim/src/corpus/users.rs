//! Corpus users: handles, secUids, nicknames, bios, privacy, follower counts.

use std::collections::HashMap;

use rand::Rng;

use super::ids::{self, Domain, Permutation32};
use super::stats::log_uniform;
use super::words;

/// One account.
#[derive(Debug, Clone)]
pub struct User {
    pub index: u32,
    pub id: u64,
    pub unique_id: String,
    pub nickname: String,
    pub sec_uid: String,
    pub signature: String,
    pub verified: bool,
    pub private_account: bool,
    pub create_time: i64,
    pub region: &'static str,
    pub follower_count: u64,
    pub following_count: u64,
    pub heart_count: u64,
    pub digg_count: u64,
    pub friend_count: u64,
    /// 32 hex characters naming the avatar image.
    pub avatar_key: String,
    /// Short hex token in avatar URLs (`refresh_token=`).
    pub avatar_refresh_token: String,
}

/// All users plus their lookup indexes.
#[derive(Debug)]
pub struct UserTable {
    pub users: Vec<User>,
    pub public_count: u32,
    by_unique_id: HashMap<String, u32>,
    by_sec_uid: HashMap<String, u32>,
}

impl UserTable {
    /// `public_count` public accounts (indices `0..public_count`) then `private_count` private ones.
    pub fn generate(seed: u64, public_count: u32, private_count: u32, timeline_start: i64) -> Self {
        let permutation = Permutation32::new(seed, Domain::UserIdPermutation);
        let total = public_count + private_count;
        let mut users = Vec::with_capacity(total as usize);
        let mut by_unique_id = HashMap::with_capacity(total as usize);
        let mut by_sec_uid = HashMap::with_capacity(total as usize);
        for index in 0..total {
            let mut rng = ids::stream_rng(seed, Domain::User, u64::from(index));
            let first = words::HANDLE_FIRST[rng.random_range(0..words::HANDLE_FIRST.len())];
            let second = words::HANDLE_SECOND[rng.random_range(0..words::HANDLE_SECOND.len())];
            let separator = [".", "_", ""][rng.random_range(0..3)];
            let mut unique_id = match rng.random_range(0..3) {
                0 => format!("{first}{separator}{second}"),
                1 => format!("{first}{separator}{second}{}", rng.random_range(1..100)),
                _ => format!("the{separator}{first}{second}"),
            };
            if by_unique_id.contains_key(&unique_id) {
                unique_id = format!("{unique_id}.{index}");
            }
            let created_at = timeline_start - rng.random_range(86_400..3 * 365 * 86_400);
            let sec_uid = ids::sec_uid(&mut rng);
            let follower_count = log_uniform(&mut rng, 12, 25_000_000);
            let user = User {
                index,
                id: ids::snowflake(
                    created_at - rng.random_range(0..120),
                    permutation.forward(index),
                ),
                nickname: words::NICKNAMES[rng.random_range(0..words::NICKNAMES.len())].to_string(),
                signature: words::SIGNATURES[rng.random_range(0..words::SIGNATURES.len())]
                    .to_string(),
                verified: follower_count > 1_000_000 && rng.random_bool(0.5),
                private_account: index >= public_count,
                create_time: created_at,
                region: words::LOCATIONS[rng.random_range(0..words::LOCATIONS.len())],
                following_count: rng.random_range(0..2_500),
                heart_count: follower_count.saturating_mul(rng.random_range(3..30)),
                digg_count: rng.random_range(0..40_000),
                friend_count: rng.random_range(0..300),
                avatar_key: ids::hex32(rng.random()),
                avatar_refresh_token: format!("{:08x}", rng.random::<u32>()),
                follower_count,
                unique_id: unique_id.clone(),
                sec_uid: sec_uid.clone(),
            };
            by_unique_id.insert(unique_id, index);
            by_sec_uid.insert(sec_uid, index);
            users.push(user);
        }
        UserTable {
            users,
            public_count,
            by_unique_id,
            by_sec_uid,
        }
    }

    pub fn get(&self, index: u32) -> Option<&User> {
        self.users.get(index as usize)
    }

    /// Case-insensitive handle lookup (TikTok handles are case-insensitive).
    pub fn by_unique_id(&self, unique_id: &str) -> Option<&User> {
        let index = match self.by_unique_id.get(unique_id) {
            Some(index) => *index,
            None => *self.by_unique_id.get(&unique_id.to_ascii_lowercase())?,
        };
        self.get(index)
    }

    pub fn by_sec_uid(&self, sec_uid: &str) -> Option<&User> {
        self.get(*self.by_sec_uid.get(sec_uid)?)
    }

    pub fn private_users(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|user| user.private_account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_unique_and_well_formed() {
        let table = UserTable::generate(3, 500, 50, 1_700_000_000);
        let mut seen = std::collections::HashSet::new();
        for user in &table.users {
            assert!(
                seen.insert(user.unique_id.clone()),
                "duplicate {}",
                user.unique_id
            );
            assert!(
                user.unique_id.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'.'
                    || b == b'_')
            );
            assert!((user.id >> 32) as i64 <= user.create_time);
            assert_eq!(
                table.by_sec_uid(&user.sec_uid).map(|found| found.index),
                Some(user.index)
            );
        }
        assert_eq!(table.private_users().count(), 50);
    }
}
