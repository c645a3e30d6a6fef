//! What every request of the native TikTok client passes through on its way out: the shared
//! per-host request budget (`budget`, TIKTOK_MAX_REQUESTS_PER_SECOND).

pub mod budget;
