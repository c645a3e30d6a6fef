//! Sound and search lookups over the regular posts (docs/tiktok-formats.md "Music", "Search"):
//! the posts that use a music id (`posts_with_music`, newest first — the one function the sound
//! list reads, so posts added to the corpus later can join it there), the sound itself
//! (`music_by_id`), and a deterministic keyword search (`search_posts`: every word of the
//! keyword is a word or hashtag of the caption). The index is built once, on first use.

use std::collections::HashMap;

use super::Corpus;
use super::added::FeedRef;
use super::posts::Music;

/// Per-post facts the sound and search lookups need (rendering a post is not cheap).
#[derive(Debug, Default)]
pub(super) struct DetailIndex {
    /// Regular post indices per music id, newest first.
    by_music: HashMap<u64, Vec<u32>>,
    /// Every regular post, newest first, with the lowercase words of its caption (hashtags
    /// without `#`).
    words: Vec<(u32, Vec<String>)>,
}

/// The lowercase words of a text: runs of letters and digits (`#ramen` → `ramen`).
pub fn text_words(text: &str) -> Vec<String> {
    text.split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Corpus {
    fn detail_index(&self) -> &DetailIndex {
        self.detail_index.get_or_init(|| {
            let mut index = DetailIndex::default();
            for global_index in (0..self.regular_count()).rev() {
                let Some(post) = self.post(global_index) else {
                    continue;
                };
                index
                    .by_music
                    .entry(post.music.id)
                    .or_default()
                    .push(global_index);
                index
                    .words
                    .push((global_index, text_words(&post.caption.text)));
            }
            index
        })
    }

    /// The posts that use sound `music_id`, newest first: those added at run time
    /// (`POST /_sim/posts {"sound": …}`), then the corpus's own (empty for an unknown id).
    pub fn posts_with_music(&self, music_id: u64) -> Vec<u32> {
        let mut posts = self.added_posts_for(FeedRef::Sound(music_id));
        posts.extend(
            self.detail_index()
                .by_music
                .get(&music_id)
                .into_iter()
                .flatten(),
        );
        posts
    }

    /// The sound `music_id` as its newest post carries it; `None` when no post uses it.
    pub fn music_by_id(&self, music_id: u64) -> Option<(Music, u32)> {
        let newest = *self.posts_with_music(music_id).first()?;
        let post = self.post(newest)?;
        Some((post.music, post.skeleton.author))
    }

    /// The regular posts whose caption has every word of `keyword` (case-insensitive, `#`
    /// ignored), newest first; empty for a keyword without words.
    pub fn search_posts(&self, keyword: &str) -> Vec<u32> {
        let wanted = text_words(keyword);
        if wanted.is_empty() {
            return Vec::new();
        }
        self.detail_index()
            .words
            .iter()
            .filter(|(_, words)| wanted.iter().all(|word| words.contains(word)))
            .map(|(index, _)| *index)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::CorpusOptions;

    fn corpus() -> Corpus {
        Corpus::new(CorpusOptions {
            seed: 42,
            video_count: 300,
            now_unix: 1_767_225_600,
        })
    }

    #[test]
    fn a_sound_lists_exactly_the_posts_that_use_it() {
        let corpus = corpus();
        let post = corpus.post(10).unwrap();
        let posts = corpus.posts_with_music(post.music.id);
        assert!(posts.contains(&10));
        for index in &posts {
            assert_eq!(corpus.post(*index).unwrap().music.id, post.music.id);
        }
        assert!(
            posts.windows(2).all(|pair| pair[0] > pair[1]),
            "newest first"
        );
        let (music, _) = corpus.music_by_id(post.music.id).unwrap();
        assert_eq!(music.title, post.music.title);
        assert!(
            corpus
                .posts_with_music(7_000_000_000_000_000_001)
                .is_empty()
        );
        assert!(corpus.music_by_id(7_000_000_000_000_000_001).is_none());
        // Licensed tracks are shared by many posts.
        assert!((0..300).any(|index| {
            let music = corpus.post(index).unwrap().music;
            !music.original && corpus.posts_with_music(music.id).len() > 1
        }));
    }

    #[test]
    fn search_matches_every_word_of_the_keyword() {
        let corpus = corpus();
        let fyp = corpus.search_posts("#FYP");
        assert!(!fyp.is_empty());
        for index in &fyp {
            assert!(
                corpus
                    .post(*index)
                    .unwrap()
                    .caption
                    .text
                    .to_lowercase()
                    .contains("fyp")
            );
        }
        let (index, words) = (0..300)
            .map(|index| (index, text_words(&corpus.post(index).unwrap().caption.text)))
            .find(|(_, words)| words.len() >= 2)
            .expect("a caption with two words");
        let two = format!("{} {}", words[0].to_uppercase(), words[words.len() - 1]);
        assert!(corpus.search_posts(&two).contains(&index), "{two}");
        assert!(corpus.search_posts("zzqxnotaword").is_empty());
        assert!(corpus.search_posts("  ").is_empty());
    }
}
