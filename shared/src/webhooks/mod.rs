//! Webhook pieces both binaries share, with no HTTP client in them: Standard Webhooks signing and
//! the shipped verifier ([`signature`]), the SSRF address guard ([`address_guard`]) and the event
//! catalogue ([`events`]).

pub mod address_guard;
pub mod events;
pub mod signature;
