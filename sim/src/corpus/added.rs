//! Posts added at run time by the control API (`POST /_sim/posts`), so that tests can make
//! something new appear in a user's posts, a hashtag's or a sound's item list. An added post is
//! one more slot after the built-in cases ([`Slot::Added`]): its id is a snowflake of a second
//! newer than every corpus post (and than every earlier added post), and it renders, resolves
//! and serves its cover like any other post. The feeds ask [`Corpus::added_posts_for`] for the
//! added posts of their feed, newest first, and list them before the corpus's own.

use super::{Corpus, Slot};

/// Most posts that can be added before a reset.
pub const MAX_ADDED_POSTS: usize = 1_000;

/// Which feed an added post joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedRef {
    /// The posts of the public user with this index.
    User(u32),
    /// The item list of the hashtag with this index.
    Hashtag(u32),
    /// The item list of the sound with this music id.
    Sound(u64),
}

/// One added post: its author, and the hashtag and sound it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedPost {
    pub author: u32,
    pub hashtag: Option<u32>,
    pub sound: Option<u64>,
}

/// Why a post cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddPostError {
    #[error("the author is not a public user of the corpus")]
    NotAPublicUser,
    #[error("at most {MAX_ADDED_POSTS} posts can be added before a reset")]
    Full,
}

impl Corpus {
    /// Adds a post and returns its global index.
    pub fn add_post(&self, post: AddedPost) -> Result<u32, AddPostError> {
        if post.author >= self.users.public_count {
            return Err(AddPostError::NotAPublicUser);
        }
        let mut added = self
            .added
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if added.len() >= MAX_ADDED_POSTS {
            return Err(AddPostError::Full);
        }
        added.push(post);
        Ok(self.base_posts() + (added.len() as u32 - 1))
    }

    /// Forgets every added post.
    pub fn clear_added_posts(&self) {
        self.added
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }

    /// How many posts were added.
    pub fn added_count(&self) -> u32 {
        self.added
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .len() as u32
    }

    /// The added post in slot `added`, if any.
    pub fn added_post(&self, added: u32) -> Option<AddedPost> {
        self.added
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(added as usize)
            .copied()
    }

    /// The global indices of the posts added to `feed`, newest first: the feed routes list them
    /// before the corpus's own posts.
    pub fn added_posts_for(&self, feed: FeedRef) -> Vec<u32> {
        let added = self
            .added
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        let base = self.base_posts();
        added
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, post)| match feed {
                FeedRef::User(user) => post.author == user,
                FeedRef::Hashtag(hashtag) => post.hashtag == Some(hashtag),
                FeedRef::Sound(music_id) => post.sound == Some(music_id),
            })
            .map(|(slot, _)| base + slot as u32)
            .collect()
    }

    /// `(id_time, create_time)` of added slot `added`: newer than every corpus post (those end
    /// an hour before `now`) and than every earlier added post.
    pub(super) fn added_post_times(&self, added: u32) -> (i64, i64) {
        let time = self.now_unix() - 1_800 + i64::from(added);
        (time, time)
    }

    /// The added post behind `slot`, if it is one.
    pub(super) fn added_of(&self, slot: Option<Slot>) -> Option<AddedPost> {
        match slot {
            Some(Slot::Added(added)) => self.added_post(added),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::CorpusOptions;
    use super::*;

    #[test]
    fn an_added_post_is_the_newest_of_its_user_and_hashtag_and_resolves() {
        let corpus = Corpus::new(CorpusOptions {
            seed: 7,
            video_count: 200,
            now_unix: 1_767_225_600,
        });
        let newest_existing = (0..corpus.total_posts())
            .filter_map(|index| corpus.skeleton(index))
            .map(|skeleton| skeleton.id)
            .max()
            .expect("posts");
        let food = corpus.hashtag_by_name("food").expect("a hashtag").index;
        let index = corpus
            .add_post(AddedPost {
                author: 3,
                hashtag: Some(food),
                sound: Some(42),
            })
            .expect("added");
        let skeleton = corpus.skeleton(index).expect("rendered");
        assert!(skeleton.id > newest_existing);
        assert_eq!(skeleton.id.to_string().len(), 19);
        assert_eq!(skeleton.author, 3);
        assert!(skeleton.hashtags.contains(&food));
        assert_eq!(corpus.resolve_post_id(skeleton.id), Some(index));
        assert_eq!(corpus.user_posts_newest_first(3).next(), Some(index));
        assert_eq!(corpus.added_posts_for(FeedRef::Hashtag(food)), vec![index]);
        assert_eq!(corpus.added_posts_for(FeedRef::Sound(42)), vec![index]);
        assert_eq!(corpus.post(index).expect("a post").music.id, 42);
        let second = corpus
            .add_post(AddedPost {
                author: 3,
                hashtag: None,
                sound: None,
            })
            .expect("added");
        assert!(corpus.skeleton(second).expect("rendered").id > skeleton.id);
        assert_eq!(
            corpus.added_posts_for(FeedRef::User(3)),
            vec![second, index]
        );
        corpus.clear_added_posts();
        assert_eq!(corpus.resolve_post_id(skeleton.id), None);
        assert_ne!(corpus.user_posts_newest_first(3).next(), Some(index));
    }
}
