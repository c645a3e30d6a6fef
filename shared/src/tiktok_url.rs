//! (being written: TikTok URL parsing and canonicalisation)
