//! Posts (videos and photo posts), rendered on demand from per-index RNG streams: a cheap
//! skeleton (id, time, author, hashtags, counts) and the full detail (caption, media, music,
//! subtitles).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::captions::{self, Caption, CaptionToken};
use super::ids::{self, Domain};
use super::stats::{self, ExactStats};
use super::{Corpus, PostCondition, Slot, words};

/// Video or photo post (slideshow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    Video,
    Photo,
}

/// The cheap part of a post, enough for feed indexes.
#[derive(Debug, Clone)]
pub struct PostSkeleton {
    pub global_index: u32,
    pub slot: Slot,
    pub id: u64,
    pub create_time: i64,
    pub author: u32,
    pub kind: PostKind,
    pub long_video: bool,
    pub hashtags: Vec<u32>,
    pub mentions: Vec<u32>,
    pub stats: ExactStats,
    pub is_ad: bool,
}

impl PostSkeleton {
    pub fn condition(&self) -> PostCondition {
        match self.slot {
            Slot::Case(condition) => condition,
            Slot::Regular(_) | Slot::Spare(_) | Slot::Added(_) => PostCondition::Public,
        }
    }
}

/// Video codec of a rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    Bytevc1,
}

/// One rendition of `bitrateInfo`.
#[derive(Debug, Clone)]
pub struct Gear {
    pub name: &'static str,
    pub quality_type: u32,
    pub bitrate: u64,
    pub codec: Codec,
    /// 540, 720 or 1080 (the `NNNp` of `UrlKey`).
    pub resolution: u32,
    pub width: u32,
    pub height: u32,
    pub object_key: String,
    pub data_size: u64,
    pub file_hash: String,
}

/// The post's sound.
#[derive(Debug, Clone)]
pub struct Music {
    pub id: u64,
    pub title: String,
    pub author_name: String,
    pub album: String,
    pub original: bool,
    pub duration: u32,
    pub cover_key: String,
    pub audio_key: String,
}

/// One slideshow image (or cover): a key the image CDN serves and its advertised size.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub key: String,
    pub width: u32,
    pub height: u32,
}

/// Where a subtitle track comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtitleSource {
    Asr,
    Mt,
}

/// One subtitle track.
#[derive(Debug, Clone, Copy)]
pub struct SubtitleTrack {
    /// Index into [`words::SUBTITLE_LANGUAGES`].
    pub language: usize,
    pub source: SubtitleSource,
}

impl SubtitleTrack {
    pub fn language_code_name(&self) -> &'static str {
        words::SUBTITLE_LANGUAGES[self.language].0
    }
}

/// A fully rendered post.
#[derive(Debug, Clone)]
pub struct Post {
    pub skeleton: PostSkeleton,
    pub caption: Caption,
    /// Plain words of the caption (no hashtags, mentions, emoji): what subtitles say.
    pub spoken_lines: Vec<String>,
    pub duration: u32,
    pub width: u32,
    pub height: u32,
    pub storage_uri: String,
    pub gears: Vec<Gear>,
    pub download_object_key: String,
    pub music: Music,
    pub images: Vec<ImageSpec>,
    pub cover: ImageSpec,
    pub subtitles: Vec<SubtitleTrack>,
    pub location: &'static str,
    pub text_language: &'static str,
    pub labels: &'static [&'static str],
    pub vq_score: String,
    pub loudness: f64,
    pub peak: f64,
    pub pinned: bool,
}

/// Aspect codes carried in the first character of image keys, so the CDN can draw an image of
/// the advertised shape without a lookup: (code, width, height).
pub const IMAGE_ASPECTS: &[(char, u32, u32)] = &[
    ('0', 1080, 1920),
    ('1', 1080, 1440),
    ('2', 1080, 1350),
    ('3', 1080, 1080),
    ('4', 1920, 1080),
];

/// An image key: 32 hex characters whose first one is the aspect code.
pub fn image_key(hash: u64, aspect: usize) -> String {
    let (code, _, _) = IMAGE_ASPECTS[aspect % IMAGE_ASPECTS.len()];
    let mut key = ids::hex32(hash);
    key.replace_range(0..1, code.encode_utf8(&mut [0u8; 4]));
    key
}

/// Advertised size of the image named by `key`.
pub fn image_dimensions(key: &str) -> (u32, u32) {
    let code = key.chars().next().unwrap_or('0');
    IMAGE_ASPECTS
        .iter()
        .find(|(candidate, _, _)| *candidate == code)
        .map_or((1080, 1920), |(_, width, height)| (*width, *height))
}

/// Byte length of the fake MP4 the CDN serves for `object_key` (a few KB).
pub fn video_file_len(object_key: &str) -> u64 {
    3_072 + ids::hash_bytes(0x006d_7034, object_key.as_bytes()) % 9_000
}

/// Byte length of the fake MP3 the CDN serves for `audio_key`.
pub fn audio_file_len(audio_key: &str) -> u64 {
    // Whole 417-byte MPEG frames after a 10-byte ID3 header.
    10 + 417 * (6 + ids::hash_bytes(0x006d_7033, audio_key.as_bytes()) % 14)
}

impl Corpus {
    /// The cheap skeleton of post `global_index` (any slot).
    pub fn skeleton(&self, global_index: u32) -> Option<PostSkeleton> {
        let slot = self.slot(global_index)?;
        let (id_time, create_time) = self.post_times(global_index);
        let mut rng = ids::stream_rng(self.seed, Domain::PostSkeleton, u64::from(global_index));
        let roll = rng.random_range(0..100u32);
        let kind = match slot {
            Slot::Regular(1) => PostKind::Photo,
            Slot::Regular(2) | Slot::Regular(3) => PostKind::Video,
            Slot::Case(_) | Slot::Added(_) => PostKind::Video,
            _ if roll < 10 => PostKind::Photo,
            _ => PostKind::Video,
        };
        let long_video = kind == PostKind::Video
            && (matches!(slot, Slot::Regular(2)) || (10..13).contains(&roll));
        let empty_caption = rng.random_bool(0.01) && !matches!(slot, Slot::Regular(0));
        let author = self.author_of(global_index, &mut rng);
        let hashtag_count = if empty_caption {
            0
        } else {
            rng.random_range(1..=5usize)
        };
        let mut hashtags: Vec<u32> = Vec::with_capacity(hashtag_count);
        while hashtags.len() < hashtag_count {
            // Quadratic bias: popular tags (low indices) appear far more often.
            let draw: f64 = rng.random();
            let index = ((draw * draw) * self.hashtags.len() as f64) as u32;
            if !hashtags.contains(&index) {
                hashtags.push(index);
            }
        }
        let mention_count = if empty_caption {
            0
        } else {
            match rng.random_range(0..100) {
                0..70 => 0,
                70..95 => 1,
                _ => 2,
            }
        };
        let mut mentions = Vec::new();
        let public_users = self.users.public_count;
        for _ in 0..mention_count {
            let user = rng.random_range(0..public_users);
            if user != author && !mentions.contains(&user) {
                mentions.push(user);
            }
        }
        if let Some(hashtag) = self.added_of(Some(slot)).and_then(|post| post.hashtag)
            && !hashtags.contains(&hashtag)
        {
            hashtags.insert(0, hashtag);
        }
        let stats = stats::draw_post_stats(&mut rng);
        let is_ad = rng.random_bool(0.03);
        Some(PostSkeleton {
            global_index,
            slot,
            id: ids::snowflake(id_time, self.post_permutation.forward(global_index)),
            create_time,
            author,
            kind,
            long_video,
            hashtags,
            mentions,
            stats,
            is_ad,
        })
    }

    /// The fully rendered post `global_index`.
    pub fn post(&self, global_index: u32) -> Option<Post> {
        let skeleton = self.skeleton(global_index)?;
        let mut rng = ids::stream_rng(self.seed, Domain::PostDetail, u64::from(global_index));
        let (caption, spoken_lines, text_language) = self.draw_caption(&skeleton, &mut rng);
        let media_hash = ids::hash3(self.seed, Domain::Media, skeleton.id);
        let landscape = skeleton.kind == PostKind::Video && rng.random_bool(0.08);
        let duration = match (skeleton.kind, skeleton.long_video) {
            (PostKind::Photo, _) => 0,
            (PostKind::Video, true) => rng.random_range(301..1_200),
            (PostKind::Video, false) => rng.random_range(5..181),
        };
        let mut music = self.draw_music(&skeleton, duration, &mut rng);
        if let Some(sound) = self
            .added_of(Some(skeleton.slot))
            .and_then(|post| post.sound)
        {
            music.id = sound;
        }
        let storage_uri = ids::video_storage_uri(media_hash);
        let gears = if skeleton.kind == PostKind::Video {
            draw_gears(landscape, media_hash, &mut rng)
        } else {
            Vec::new()
        };
        let images = if skeleton.kind == PostKind::Photo {
            let aspect = rng.random_range(1..4usize);
            (0..rng.random_range(2..=8u64))
                .map(|number| {
                    let key = image_key(media_hash ^ ids::mix64(number + 77), aspect);
                    let (width, height) = image_dimensions(&key);
                    ImageSpec { key, width, height }
                })
                .collect()
        } else {
            Vec::new()
        };
        let cover = match images.first() {
            Some(first) => first.clone(),
            None => {
                let key = image_key(media_hash ^ 0xC0FE, if landscape { 4 } else { 0 });
                let (width, height) = image_dimensions(&key);
                ImageSpec { key, width, height }
            }
        };
        let (width, height) = match (
            gears.iter().find(|gear| gear.name == "normal_540_0"),
            &images.first(),
        ) {
            (Some(gear), _) => (gear.width, gear.height),
            (None, Some(image)) => (image.width, image.height),
            (None, None) => (576, 1024),
        };
        let subtitles = if skeleton.kind == PostKind::Video && rng.random_bool(0.7) {
            let original = match text_language {
                "id" => 1,
                "es" => 2,
                _ => 0,
            };
            let mut tracks = vec![SubtitleTrack {
                language: original,
                source: SubtitleSource::Asr,
            }];
            if rng.random_bool(0.4) {
                let translated = if original == 0 { 1 } else { 0 };
                tracks.push(SubtitleTrack {
                    language: translated,
                    source: SubtitleSource::Mt,
                });
            }
            tracks
        } else {
            Vec::new()
        };
        let pinned = match skeleton.slot {
            Slot::Regular(index) => self.pinned_regular_of(skeleton.author) == Some(index),
            _ => false,
        };
        Some(Post {
            download_object_key: ids::object_key(media_hash ^ 0xD0D0),
            location: words::LOCATIONS[rng.random_range(0..words::LOCATIONS.len())],
            labels: words::LABELS[rng.random_range(0..words::LABELS.len())],
            vq_score: format!("{:.2}", rng.random_range(40.0..90.0)),
            loudness: (rng.random_range(-300..-50) as f64) / 10.0,
            peak: (rng.random_range(10..100) as f64) / 100.0,
            skeleton,
            caption,
            spoken_lines,
            duration,
            width,
            height,
            storage_uri,
            gears,
            music,
            images,
            cover,
            subtitles,
            text_language,
            pinned,
        })
    }

    fn draw_caption(
        &self,
        skeleton: &PostSkeleton,
        rng: &mut ChaCha8Rng,
    ) -> (Caption, Vec<String>, &'static str) {
        if skeleton.hashtags.is_empty() && skeleton.mentions.is_empty() {
            return (Caption::default(), Vec::new(), "un");
        }
        let phrase = words::CAPTION_PHRASES[rng.random_range(0..words::CAPTION_PHRASES.len())];
        let language = if phrase.starts_with("cara ") || phrase.starts_with("resep ") {
            "id"
        } else if phrase.starts_with("día ") {
            "es"
        } else {
            "en"
        };
        let second_line = rng.random_bool(0.25).then(|| {
            words::CAPTION_SECOND_LINES[rng.random_range(0..words::CAPTION_SECOND_LINES.len())]
        });
        let emoji = rng
            .random_bool(0.3)
            .then(|| words::EMOJI[rng.random_range(0..words::EMOJI.len())]);
        let hashtag_tokens: Vec<CaptionToken<'_>> = skeleton
            .hashtags
            .iter()
            .filter_map(|index| {
                let hashtag = self.hashtags.get(*index as usize)?;
                Some(CaptionToken::Hashtag {
                    name: &hashtag.name,
                    hashtag: *index,
                })
            })
            .collect();
        let mention_tokens: Vec<CaptionToken<'_>> = skeleton
            .mentions
            .iter()
            .filter_map(|index| {
                let user = self.users.get(*index)?;
                Some(CaptionToken::Mention {
                    unique_id: &user.unique_id,
                    user: *index,
                })
            })
            .collect();
        let split_at = if second_line.is_some() && hashtag_tokens.len() > 1 {
            hashtag_tokens.len() - 1
        } else {
            hashtag_tokens.len()
        };
        let mut first = vec![CaptionToken::Plain(phrase)];
        first.extend_from_slice(&hashtag_tokens[..split_at]);
        first.extend_from_slice(&mention_tokens);
        if let Some(emoji) = emoji {
            first.push(CaptionToken::Plain(emoji));
        }
        let mut lines = vec![first];
        let mut spoken = vec![strip_emoji(phrase)];
        if let Some(second) = second_line {
            let mut tokens = vec![CaptionToken::Plain(second)];
            tokens.extend_from_slice(&hashtag_tokens[split_at..]);
            lines.push(tokens);
            spoken.push(strip_emoji(second));
        }
        (captions::build_caption(&lines), spoken, language)
    }

    fn draw_music(&self, skeleton: &PostSkeleton, duration: u32, rng: &mut ChaCha8Rng) -> Music {
        let author = self.users.get(skeleton.author);
        let nickname = author.map_or("", |user| user.nickname.as_str());
        let original = skeleton.kind == PostKind::Video && rng.random_bool(0.65);
        let music_low = self.music_permutation.forward(skeleton.global_index);
        let cover_key = image_key(rng.random(), 3);
        let audio_key = ids::object_key(rng.random());
        if original {
            let created = (skeleton.id >> 32) as i64 + rng.random_range(1..30);
            Music {
                id: ids::snowflake(created, music_low),
                title: format!("original sound - {nickname}"),
                author_name: nickname.to_string(),
                album: String::new(),
                original: true,
                duration: duration.max(1),
                cover_key,
                audio_key,
            }
        } else {
            let track = rng.random_range(0..words::TRACKS.len());
            let (title, artist, album, track_duration) = words::TRACKS[track];
            Music {
                // Licensed tracks keep one id across the corpus.
                id: ids::snowflake(
                    1_600_000_000 + track as i64 * 86_400,
                    0x4D00_0000 + track as u32,
                ),
                title: title.to_string(),
                author_name: artist.to_string(),
                album: album.to_string(),
                original: false,
                duration: if skeleton.kind == PostKind::Photo {
                    rng.random_range(15..61)
                } else {
                    track_duration.min(duration.max(5))
                },
                cover_key,
                audio_key,
            }
        }
    }
}

fn strip_emoji(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| {
            c.is_alphanumeric()
                || c.is_whitespace()
                || matches!(c, '\'' | ':' | ',' | '?' | '!' | '.' | '&')
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn draw_gears(landscape: bool, media_hash: u64, rng: &mut ChaCha8Rng) -> Vec<Gear> {
    let mut specs: Vec<(&'static str, u32, Codec, u32)> = vec![
        ("normal_540_0", 20, Codec::H264, 540),
        ("lower_540_0", 24, Codec::H264, 540),
    ];
    if rng.random_bool(0.7) {
        specs.insert(0, ("normal_720_0", 10, Codec::H264, 720));
    }
    if rng.random_bool(0.35) {
        specs.insert(0, ("adapt_lowest_1080_1", 2, Codec::Bytevc1, 1080));
    }
    specs
        .into_iter()
        .enumerate()
        .map(|(number, (name, quality_type, codec, resolution))| {
            let (short, long) = match resolution {
                540 => (576, 1024),
                720 => (720, 1280),
                _ => (1080, 1920),
            };
            let (width, height) = if landscape {
                (long, short)
            } else {
                (short, long)
            };
            let base = match resolution {
                540 => 350_000,
                720 => 900_000,
                _ => 700_000,
            };
            let bitrate = base + rng.random_range(0..400_000)
                - if name.starts_with("lower") {
                    150_000
                } else {
                    0
                };
            let object_key = ids::object_key(media_hash ^ ids::mix64(number as u64 + 1));
            Gear {
                name,
                quality_type,
                bitrate,
                codec,
                resolution,
                width,
                height,
                data_size: video_file_len(&object_key),
                file_hash: ids::hex32(ids::hash_bytes(7, object_key.as_bytes())),
                object_key,
            }
        })
        .collect()
}
