//! The watches feature (docs/watches.md): `/v1/watches` — a feed the workers run as an ordinary
//! feed job every `every` seconds, reporting once what no earlier run found. `request` checks the
//! bodies, `routes` the watch itself, `lists` its runs and seen videos, `view` the wire shapes,
//! `settings` the limits (WATCH_MAX_PER_KEY, WATCH_MIN_INTERVAL_SECONDS).

pub mod lists;
pub mod request;
pub mod routes;
pub mod settings;
pub mod view;
