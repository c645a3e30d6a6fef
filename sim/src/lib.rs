//! tokworks-sim: an offline model of TikTok (pages, feeds, short links, CDN, anti-bot) and of an
//! OpenAI-compatible vision API, served behind one HTTP proxy port on 127.0.0.1.
//!
//! It depends on nothing else in the workspace: it is written from the format reference, so its
//! mistakes cannot silently agree with the mapper's.

pub mod control;
pub mod corpus;
pub mod exchange;
pub mod faults;
pub mod openai;
pub mod server;
pub mod site;

pub use faults::{FaultKind, FaultMatch, FaultRuleSpec};
pub use server::{SimConfig, SimHandle, StartError, start};
