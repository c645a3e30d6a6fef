//! The watch limits of the api (command line and settings).

use clap::Args;

/// Watch limits on the api's command line.
#[derive(Debug, Clone, Args)]
pub struct WatchLimitArgs {
    /// Watches one API key may have (more: 409 WATCH_LIMIT_REACHED); a key's own limit
    /// (`api_keys.max_watches`) wins.
    #[arg(long = "watch-max-per-key", env = "WATCH_MAX_PER_KEY", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub watch_max_per_key: u32,

    /// Shortest `every` of a watch, in seconds (shorter: 422 INVALID_FIELD).
    #[arg(long = "watch-min-interval-seconds", env = "WATCH_MIN_INTERVAL_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(1..=604_800))]
    pub watch_min_interval_seconds: u32,
}

/// The watch limits handlers apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchSettings {
    /// WATCH_MAX_PER_KEY.
    pub max_per_key: u32,
    /// WATCH_MIN_INTERVAL_SECONDS.
    pub min_interval_seconds: u32,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            max_per_key: 100,
            min_interval_seconds: 300,
        }
    }
}

impl From<&WatchLimitArgs> for WatchSettings {
    fn from(args: &WatchLimitArgs) -> Self {
        WatchSettings {
            max_per_key: args.watch_max_per_key,
            min_interval_seconds: args.watch_min_interval_seconds,
        }
    }
}
