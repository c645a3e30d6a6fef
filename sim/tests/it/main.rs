//! Integration tests of tokworks-sim's front door: proxy, TLS, control API, faults, start-up,
//! command line, and the real yt-dlp extracting through it.

// Test helpers outside #[test] functions may unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod control_api;
mod faults;
mod proxy;
mod startup;
mod support;
mod ytdlp;
