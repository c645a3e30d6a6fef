//! The deterministic synthetic corpus (users, videos, photo posts, hashtags, trending) generated
//! from a seed. Construction builds only light indexes (users, hashtags); posts are rendered on
//! demand from per-index RNG streams, and feed indexes are built lazily on first use.

pub mod added;
pub mod captions;
pub mod ids;
pub mod posts;
pub mod sounds_search;
pub mod stats;
pub mod users;
pub mod words;

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use self::ids::{Domain, Permutation32};
use self::posts::PostSkeleton;
use self::users::UserTable;

/// Corpus construction options.
#[derive(Debug, Clone, Copy)]
pub struct CorpusOptions {
    pub seed: u64,
    pub video_count: usize,
    pub now_unix: i64,
}

/// What a post's page says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostCondition {
    Public,
    Deleted,
    PrivatePost,
    PrivateAccount,
    UnderReview,
    RegionBlocked,
    AgeRestricted,
}

impl PostCondition {
    /// `statusCode` of the video page.
    pub fn status_code(self) -> i64 {
        match self {
            PostCondition::Public | PostCondition::AgeRestricted => 0,
            PostCondition::Deleted => 10204,
            PostCondition::PrivatePost => 10216,
            PostCondition::PrivateAccount => 10222,
            PostCondition::UnderReview => 10217,
            PostCondition::RegionBlocked => 10231,
        }
    }

    /// `statusMsg` of the video page.
    pub fn status_msg(self) -> &'static str {
        match self {
            PostCondition::Deleted => "item doesn't exist",
            PostCondition::UnderReview => "author_status,status_reviewing",
            _ => "",
        }
    }

    /// Stable case name (`GET /_sim/cases`).
    pub fn case_name(self) -> &'static str {
        match self {
            PostCondition::Public => "public",
            PostCondition::Deleted => "deleted",
            PostCondition::PrivatePost => "private_post",
            PostCondition::PrivateAccount => "private_account",
            PostCondition::UnderReview => "under_review",
            PostCondition::RegionBlocked => "region_blocked",
            PostCondition::AgeRestricted => "age_restricted",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            PostCondition::Public => "A public post.",
            PostCondition::Deleted => {
                "A deleted post: the page carries statusCode 10204 and no itemInfo."
            }
            PostCondition::PrivatePost => "A post its author made private: statusCode 10216.",
            PostCondition::PrivateAccount => "A post of a private account: statusCode 10222.",
            PostCondition::UnderReview => "A post under first review: statusCode 10217.",
            PostCondition::RegionBlocked => {
                "A post blocked in the visitor's region: statusCode 10231."
            }
            PostCondition::AgeRestricted => {
                "An age-restricted post: statusCode 0, isContentClassified true and no video object."
            }
        }
    }
}

/// Which population a post index belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A regular public post listed in ground truth and feeds (index `0..video_count`).
    Regular(u32),
    /// A valid public post reserved for fault cases (not in ground truth or feeds).
    Spare(u32),
    /// A built-in error case.
    Case(PostCondition),
    /// A post added by the control API (`added`: its position among the added posts).
    Added(u32),
}

/// Number of spare posts after the regular ones.
pub const SPARE_COUNT: u32 = 256;

/// The built-in error-case posts, in index order after the spares.
pub const CASE_CONDITIONS: [PostCondition; 6] = [
    PostCondition::Deleted,
    PostCondition::PrivatePost,
    PostCondition::PrivateAccount,
    PostCondition::UnderReview,
    PostCondition::RegionBlocked,
    PostCondition::AgeRestricted,
];

/// A hashtag (challenge).
#[derive(Debug, Clone)]
pub struct Hashtag {
    pub index: u32,
    pub id: String,
    pub name: String,
    pub view_count: u64,
}

/// Indexes that need every post's skeleton: built once, on first use.
#[derive(Debug)]
struct FeedIndex {
    /// Regular post indices per hashtag, newest first.
    posts_by_hashtag: Vec<Vec<u32>>,
    /// Trending list (regular post indices), most played first.
    trending: Vec<u32>,
}

/// Longest trending list.
pub const TRENDING_LIMIT: usize = 150;

/// The corpus. Cheap to query concurrently (`&self` only).
#[derive(Debug)]
pub struct Corpus {
    seed: u64,
    now_unix: i64,
    regular_count: u32,
    timeline_start: i64,
    spacing: i64,
    pub users: UserTable,
    pub hashtags: Vec<Hashtag>,
    hashtags_by_name: HashMap<String, u32>,
    hashtags_by_id: HashMap<String, u32>,
    post_permutation: Permutation32,
    music_permutation: Permutation32,
    feed_index: OnceLock<FeedIndex>,
    /// Posts added at run time (`added`).
    added: RwLock<Vec<added::AddedPost>>,
    detail_index: OnceLock<sounds_search::DetailIndex>,
}

impl Corpus {
    pub fn new(options: CorpusOptions) -> Self {
        let seed = options.seed;
        let regular_count = u32::try_from(options.video_count)
            .unwrap_or(u32::MAX / 2)
            .min(u32::MAX / 2);
        let timeline_end = options.now_unix - 3_600;
        let spacing = (730 * 86_400 / i64::from(regular_count.max(1))).max(8);
        let timeline_start = timeline_end - spacing * i64::from(regular_count.max(1));
        let public_users = (regular_count / 20).clamp(5, 50_000);
        let private_users = (public_users / 10).max(2);
        let users = UserTable::generate(seed, public_users, private_users, timeline_start);
        let hashtag_permutation = Permutation32::new(seed, Domain::Hashtag);
        let mut hashtags = Vec::with_capacity(words::HASHTAGS.len());
        let mut hashtags_by_name = HashMap::new();
        let mut hashtags_by_id = HashMap::new();
        for (index, (name, fixed_id)) in words::HASHTAGS.iter().enumerate() {
            let index = index as u32;
            let mut rng = ids::stream_rng(seed, Domain::Hashtag, u64::from(index));
            let id = match fixed_id {
                Some(id) => (*id).to_string(),
                None => ids::snowflake(
                    rng.random_range(1_560_000_000..1_700_000_000),
                    hashtag_permutation.forward(index),
                )
                .to_string(),
            };
            let popularity = (words::HASHTAGS.len() as u64 - u64::from(index)).pow(3);
            let view_count = popularity * rng.random_range(1_000_000..9_000_000);
            hashtags_by_name.insert((*name).to_string(), index);
            hashtags_by_id.insert(id.clone(), index);
            hashtags.push(Hashtag {
                index,
                id,
                name: (*name).to_string(),
                view_count,
            });
        }
        Corpus {
            seed,
            now_unix: options.now_unix,
            regular_count,
            timeline_start,
            spacing,
            users,
            hashtags,
            hashtags_by_name,
            hashtags_by_id,
            post_permutation: Permutation32::new(seed, Domain::PostIdPermutation),
            music_permutation: Permutation32::new(seed, Domain::MusicIdPermutation),
            feed_index: OnceLock::new(),
            added: RwLock::new(Vec::new()),
            detail_index: OnceLock::new(),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn now_unix(&self) -> i64 {
        self.now_unix
    }

    pub fn regular_count(&self) -> u32 {
        self.regular_count
    }

    /// Regular + spare + case posts, and the added ones.
    pub fn total_posts(&self) -> u32 {
        self.base_posts() + self.added_count()
    }

    /// Regular + spare + case posts (the first added post's index).
    fn base_posts(&self) -> u32 {
        self.regular_count + SPARE_COUNT + CASE_CONDITIONS.len() as u32
    }

    pub fn slot(&self, global_index: u32) -> Option<Slot> {
        let spare_start = self.regular_count;
        let case_start = spare_start + SPARE_COUNT;
        if global_index < spare_start {
            Some(Slot::Regular(global_index))
        } else if global_index < case_start {
            Some(Slot::Spare(global_index - spare_start))
        } else if global_index < self.base_posts() {
            CASE_CONDITIONS
                .get((global_index - case_start) as usize)
                .map(|condition| Slot::Case(*condition))
        } else {
            let added = global_index - self.base_posts();
            (added < self.added_count()).then_some(Slot::Added(added))
        }
    }

    /// Post index of the spare post `spare`.
    pub fn spare_index(&self, spare: u32) -> Option<u32> {
        (spare < SPARE_COUNT).then(|| self.regular_count + spare)
    }

    /// Post index of the error case with `condition`.
    pub fn case_index(&self, condition: PostCondition) -> Option<u32> {
        let position = CASE_CONDITIONS
            .iter()
            .position(|candidate| *candidate == condition)?;
        Some(self.regular_count + SPARE_COUNT + position as u32)
    }

    /// `(id_time, create_time)`: the second in the id's high bits and the post's createTime.
    /// Regular posts are strictly increasing in time with their index.
    fn post_times(&self, global_index: u32) -> (i64, i64) {
        let hash = ids::hash3(
            self.seed,
            Domain::PostSkeleton,
            u64::from(global_index) + (1 << 40),
        );
        match self.slot(global_index) {
            Some(Slot::Regular(index)) => {
                let slot_start = self.timeline_start + i64::from(index) * self.spacing;
                let id_time = slot_start + (hash % (self.spacing as u64 / 2)) as i64;
                let delta_limit = (self.spacing / 4).min(90) as u64 + 1;
                (id_time, id_time + ((hash >> 20) % delta_limit) as i64)
            }
            Some(Slot::Added(added)) => self.added_post_times(added),
            _ => {
                let span = (self.now_unix - 7_200 - self.timeline_start).max(1) as u64;
                let id_time = self.timeline_start + (hash % span) as i64;
                (id_time, id_time + ((hash >> 24) % 60) as i64)
            }
        }
    }

    /// The 64-bit id of post `global_index`.
    pub fn post_id(&self, global_index: u32) -> u64 {
        ids::snowflake(
            self.post_times(global_index).0,
            self.post_permutation.forward(global_index),
        )
    }

    /// The post index behind an id, if the id belongs to the corpus.
    pub fn resolve_post_id(&self, id: u64) -> Option<u32> {
        let global_index = self.post_permutation.inverse(id as u32);
        (global_index < self.total_posts() && self.post_id(global_index) == id)
            .then_some(global_index)
    }

    fn author_of(&self, global_index: u32, rng: &mut ChaCha8Rng) -> u32 {
        let public = self.users.public_count;
        match self.slot(global_index) {
            Some(Slot::Regular(index)) => index % public,
            Some(Slot::Case(PostCondition::PrivateAccount)) => public,
            Some(Slot::Added(added)) => self
                .added_post(added)
                .map_or_else(|| rng.random_range(0..public), |post| post.author),
            _ => rng.random_range(0..public),
        }
    }

    /// Number of regular posts authored by `user`.
    pub fn user_post_count(&self, user: u32) -> u32 {
        let public = self.users.public_count;
        if user >= public || user >= self.regular_count {
            return 0;
        }
        (self.regular_count - user).div_ceil(public)
    }

    /// Post indices of `user`, newest first (the pinned post included in its place): the posts
    /// added by the control API, then the regular ones.
    pub fn user_posts_newest_first(&self, user: u32) -> impl Iterator<Item = u32> + '_ {
        let public = self.users.public_count;
        self.added_posts_for(added::FeedRef::User(user))
            .into_iter()
            .chain(
                (0..self.user_post_count(user))
                    .rev()
                    .map(move |k| user + k * public),
            )
    }

    /// The pinned post of `user`, if any: every third account pins its oldest post.
    pub fn pinned_regular_of(&self, user: u32) -> Option<u32> {
        (user.is_multiple_of(3) && self.user_post_count(user) >= 3).then_some(user)
    }

    pub fn hashtag_by_name(&self, name: &str) -> Option<&Hashtag> {
        let index = match self.hashtags_by_name.get(name) {
            Some(index) => *index,
            None => *self.hashtags_by_name.get(&name.to_lowercase())?,
        };
        self.hashtags.get(index as usize)
    }

    pub fn hashtag_by_id(&self, id: &str) -> Option<&Hashtag> {
        self.hashtags.get(*self.hashtags_by_id.get(id)? as usize)
    }

    fn feed_index(&self) -> &FeedIndex {
        self.feed_index.get_or_init(|| {
            let mut posts_by_hashtag = vec![Vec::new(); self.hashtags.len()];
            let mut by_plays: Vec<(u64, u32)> = Vec::with_capacity(self.regular_count as usize);
            for index in (0..self.regular_count).rev() {
                let Some(skeleton) = self.skeleton(index) else {
                    continue;
                };
                for hashtag in &skeleton.hashtags {
                    if let Some(list) = posts_by_hashtag.get_mut(*hashtag as usize) {
                        list.push(index);
                    }
                }
                by_plays.push((skeleton.stats.play_count, index));
            }
            by_plays.sort_unstable_by(|a, b| b.cmp(a));
            let trending = by_plays
                .into_iter()
                .take(TRENDING_LIMIT)
                .map(|(_, index)| index)
                .collect();
            FeedIndex {
                posts_by_hashtag,
                trending,
            }
        })
    }

    /// Regular posts carrying `hashtag`, newest first.
    pub fn hashtag_posts(&self, hashtag: u32) -> &[u32] {
        self.feed_index()
            .posts_by_hashtag
            .get(hashtag as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The trending list (regular post indices), in serving order.
    pub fn trending(&self) -> &[u32] {
        &self.feed_index().trending
    }

    /// Skeletons of `indices` (a convenience for feeds).
    pub fn skeletons<'a>(&'a self, indices: &'a [u32]) -> impl Iterator<Item = PostSkeleton> + 'a {
        indices.iter().filter_map(|index| self.skeleton(*index))
    }
}

#[cfg(test)]
mod tests {
    use super::posts::PostKind;
    use super::*;

    fn corpus(count: usize) -> Corpus {
        Corpus::new(CorpusOptions {
            seed: 42,
            video_count: count,
            now_unix: 1_767_225_600,
        })
    }

    #[test]
    fn ids_carry_their_creation_second_and_resolve_back() {
        let corpus = corpus(500);
        let mut previous_time = 0;
        for index in 0..corpus.total_posts() {
            let skeleton = corpus.skeleton(index).unwrap();
            assert!((skeleton.id >> 32) as i64 <= skeleton.create_time);
            assert!(skeleton.create_time < corpus.now_unix());
            assert_eq!(corpus.resolve_post_id(skeleton.id), Some(index));
            assert!(skeleton.id.to_string().len() == 19);
            if index < corpus.regular_count() {
                assert!(skeleton.create_time > previous_time);
                previous_time = skeleton.create_time;
            }
        }
        assert_eq!(corpus.resolve_post_id(7_300_000_000_000_000_001), None);
    }

    #[test]
    fn corpus_has_photos_long_videos_and_private_authors() {
        let corpus = corpus(200);
        let posts: Vec<_> = (0..200).filter_map(|index| corpus.post(index)).collect();
        assert!(
            posts
                .iter()
                .any(|post| post.skeleton.kind == PostKind::Photo)
        );
        assert!(posts.iter().any(|post| post.duration > 300));
        assert!(posts.iter().all(|post| {
            !corpus
                .users
                .get(post.skeleton.author)
                .unwrap()
                .private_account
        }));
        let private_case = corpus.case_index(PostCondition::PrivateAccount).unwrap();
        let author = corpus.skeleton(private_case).unwrap().author;
        assert!(corpus.users.get(author).unwrap().private_account);
    }

    #[test]
    fn user_posts_partition_the_regular_posts() {
        let corpus = corpus(333);
        let mut seen = vec![false; 333];
        for user in 0..corpus.users.public_count {
            let mut previous = i64::MAX;
            for index in corpus.user_posts_newest_first(user) {
                let skeleton = corpus.skeleton(index).unwrap();
                assert_eq!(skeleton.author, user);
                assert!(skeleton.create_time < previous);
                previous = skeleton.create_time;
                assert!(!seen[index as usize]);
                seen[index as usize] = true;
            }
        }
        assert!(seen.iter().all(|flag| *flag));
    }

    #[test]
    fn hashtag_index_matches_captions() {
        let corpus = corpus(120);
        let fyp = corpus.hashtag_by_name("fyp").unwrap();
        assert_eq!(fyp.id, "229207");
        for index in corpus.hashtag_posts(fyp.index) {
            let post = corpus.post(*index).unwrap();
            assert!(post.caption.text.contains("#fyp"));
        }
        assert!(!corpus.trending().is_empty());
    }
}
