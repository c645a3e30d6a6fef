//! The deterministic synthetic corpus (users, videos, photo posts, hashtags, trending) generated from a seed. (being written)
