//! Engagement counts: exact values (served as `statsV2` strings) and TikTok's display rounding
//! (served as `stats` integers).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Exact engagement counts of one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactStats {
    pub play_count: u64,
    pub like_count: u64,
    pub comment_count: u64,
    pub share_count: u64,
    pub collect_count: u64,
    pub repost_count: u64,
}

/// TikTok's display rounding of `stats`: below 10,000 exact; up to 999,999 to the nearest
/// hundred; up to 999,999,999 to the nearest hundred thousand; above to the nearest hundred
/// million.
pub fn display_rounded(exact: u64) -> u64 {
    let step = match exact {
        0..=9_999 => return exact,
        10_000..=999_999 => 100,
        1_000_000..=999_999_999 => 100_000,
        _ => 100_000_000,
    };
    (exact + step / 2) / step * step
}

/// A log-uniform draw in `[low, high]`.
pub fn log_uniform(rng: &mut ChaCha8Rng, low: u64, high: u64) -> u64 {
    let (low_ln, high_ln) = ((low.max(1) as f64).ln(), (high.max(2) as f64).ln());
    let value = rng.random_range(low_ln..high_ln).exp();
    (value as u64).clamp(low, high)
}

/// Plausible, internally consistent counts.
pub fn draw_post_stats(rng: &mut ChaCha8Rng) -> ExactStats {
    let play_count = log_uniform(rng, 150, 60_000_000);
    let like_count = (play_count as f64 * rng.random_range(0.01..0.16)) as u64;
    let comment_count = (like_count as f64 * rng.random_range(0.002..0.05)) as u64;
    let share_count = (like_count as f64 * rng.random_range(0.001..0.08)) as u64;
    let collect_count = (like_count as f64 * rng.random_range(0.005..0.12)) as u64;
    let repost_count = if rng.random_bool(0.2) {
        rng.random_range(1..200)
    } else {
        0
    };
    ExactStats {
        play_count,
        like_count,
        comment_count,
        share_count,
        collect_count,
        repost_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_rounding_follows_the_documented_rule() {
        assert_eq!(display_rounded(0), 0);
        assert_eq!(display_rounded(9_999), 9_999);
        assert_eq!(display_rounded(38_884), 38_900);
        assert_eq!(display_rounded(10_049), 10_000);
        assert_eq!(display_rounded(1_585_253), 1_600_000);
        assert_eq!(display_rounded(6_764_096), 6_800_000);
        assert_eq!(display_rounded(1_058_142_180_587), 1_058_100_000_000);
        assert_eq!(display_rounded(427_682), 427_700);
    }
}
