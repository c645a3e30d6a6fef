//! Job handlers run by the apalis workers.

pub mod extract_item;
pub mod feed_walk;
