-- tokworks issue #15, sound feeds: the sound's metadata a `sound` walk read from TikTok's
-- `/api/music/detail/` (a versioned `SoundInfo`, decoded in `shared::db::feed_walks::sounds`),
-- stored with the walk so every job it serves, cache hits too, shows it. Null for other kinds.
alter table feed_walks add column sound jsonb;
