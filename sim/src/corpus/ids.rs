//! Identifier machinery of the corpus: seeded hashing and RNG streams, the keyed 32-bit
//! permutation that hides an index in an id's low bits, TikTok-shaped ids and tokens, base62.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Distinct RNG/hash domains, so streams for different purposes never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Domain {
    PostSkeleton = 1,
    PostDetail = 2,
    User = 3,
    Hashtag = 4,
    PostIdPermutation = 5,
    MusicIdPermutation = 6,
    UserIdPermutation = 7,
    ShortCodeVm = 8,
    ShortCodeVt = 9,
    ShortCodeT = 10,
    ShortCodeCheck = 11,
    Media = 12,
    Site = 13,
}

/// SplitMix64 finaliser: a cheap, well-mixed 64-bit hash step.
pub fn mix64(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

/// Hash of `(seed, domain, index)`.
pub fn hash3(seed: u64, domain: Domain, index: u64) -> u64 {
    mix64(mix64(seed ^ mix64(domain as u64)) ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// Hash of arbitrary bytes under a seed (FNV-1a then mixed).
pub fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in bytes {
        state ^= u64::from(*byte);
        state = state.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(state)
}

/// A deterministic RNG stream for one object.
pub fn stream_rng(seed: u64, domain: Domain, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(hash3(seed, domain, index))
}

/// A keyed bijection on `u32` (4-round Feistel network on 16-bit halves).
#[derive(Debug, Clone, Copy)]
pub struct Permutation32 {
    round_keys: [u64; 4],
}

impl Permutation32 {
    pub fn new(seed: u64, domain: Domain) -> Self {
        let mut round_keys = [0u64; 4];
        for (round, key) in round_keys.iter_mut().enumerate() {
            *key = hash3(seed, domain, round as u64 + 1000);
        }
        Permutation32 { round_keys }
    }

    fn round(&self, round: usize, half: u32) -> u32 {
        (mix64(self.round_keys[round] ^ u64::from(half)) & 0xFFFF) as u32
    }

    pub fn forward(&self, value: u32) -> u32 {
        let (mut left, mut right) = (value >> 16, value & 0xFFFF);
        for round in 0..4 {
            let next = left ^ self.round(round, right);
            left = right;
            right = next;
        }
        (left << 16) | right
    }

    pub fn inverse(&self, value: u32) -> u32 {
        let (mut left, mut right) = (value >> 16, value & 0xFFFF);
        for round in (0..4).rev() {
            let previous = right ^ self.round(round, left);
            right = left;
            left = previous;
        }
        (left << 16) | right
    }
}

/// TikTok's id rule: creation second in the high 32 bits, opaque low bits.
pub fn snowflake(created_at: i64, low: u32) -> u64 {
    ((created_at.max(0) as u64) << 32) | u64::from(low)
}

pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LOWER_ALNUM: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// `value` in base62, exactly `width` characters (most significant first).
pub fn base62_fixed(mut value: u128, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Inverse of [`base62_fixed`]; `None` for characters outside the alphabet.
pub fn base62_decode(text: &str) -> Option<u128> {
    let mut value: u128 = 0;
    for byte in text.bytes() {
        let digit = BASE62.iter().position(|candidate| *candidate == byte)? as u128;
        value = value.checked_mul(62)?.checked_add(digit)?;
    }
    Some(value)
}

/// `len` random characters from an alphabet.
pub fn random_chars(rng: &mut ChaCha8Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// `MS4wLjABAAAA` + 64 url-safe base64 characters (76 in total).
pub fn sec_uid(rng: &mut ChaCha8Rng) -> String {
    format!("MS4wLjABAAAA{}", random_chars(rng, URL_SAFE, 64))
}

/// Video storage id (`PlayAddr.Uri`): `v` + 31 lowercase alphanumerics.
pub fn video_storage_uri(hash: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(hash);
    format!(
        "v{}g50000{}",
        rng.random_range(10..100),
        random_chars(&mut rng, LOWER_ALNUM, 23)
    )
}

/// 32 lowercase hex characters derived from a hash.
pub fn hex32(hash: u64) -> String {
    format!(
        "{:016x}{:016x}",
        mix64(hash),
        mix64(hash ^ 0x5555_5555_5555_5555)
    )
}

/// An object key like TikTok's (`o` + 29 base62-ish characters), derived from a hash.
pub fn object_key(hash: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(hash);
    format!("o{}", random_chars(&mut rng, BASE62, 29))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection_on_samples() {
        let permutation = Permutation32::new(7, Domain::PostIdPermutation);
        for value in [0u32, 1, 2, 77, 65_535, 65_536, 1_000_000, u32::MAX] {
            assert_eq!(permutation.inverse(permutation.forward(value)), value);
        }
        assert_ne!(permutation.forward(1), 1);
    }

    #[test]
    fn base62_round_trips() {
        let text = base62_fixed(123_456_789_012, 9);
        assert_eq!(text.len(), 9);
        assert_eq!(base62_decode(&text), Some(123_456_789_012));
        assert_eq!(base62_decode("ab-c"), None);
    }

    #[test]
    fn sec_uid_has_the_real_shape() {
        let mut rng = stream_rng(1, Domain::User, 1);
        let value = sec_uid(&mut rng);
        assert_eq!(value.len(), 76);
        assert!(value.starts_with("MS4wLjABAAAA"));
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn storage_uri_is_32_characters() {
        assert_eq!(video_storage_uri(5).len(), 32);
    }
}
