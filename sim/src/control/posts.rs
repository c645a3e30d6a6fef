//! `POST /_sim/posts`: adds a new post to a user's posts, a hashtag's or a sound's item list
//! (the corpus overlay, `corpus::added`), so that tests can make something new appear.
//!
//! Body: `{"user": "<unique_id>", "hashtag": "<name>", "sound": "<music id>"}` (any of them,
//! at least one; one post carrying them all) or a JSON array of such objects (one post each).
//! Without `user`, the author is a public user picked deterministically. Answer: the post
//! `{"id", "url", "author", "hashtag", "sound", "create_time"}` (201), or `{"posts": [...]}` for
//! an array. `POST /_sim/reset` removes every added post.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::corpus::Corpus;
use crate::corpus::added::AddedPost;
use crate::exchange::{SimRequest, SimResponse};
use crate::server::state::SimState;

use super::error_response;

/// One post to add, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPostRequest {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    hashtag: Option<String>,
    #[serde(default)]
    sound: Option<Value>,
}

/// The body: one post or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NewPostsBody {
    One(NewPostRequest),
    Many(Vec<NewPostRequest>),
}

/// Handles `POST /_sim/posts`.
pub fn add_posts(state: &SimState, request: &SimRequest) -> SimResponse {
    let body: NewPostsBody = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!(
                    "bad JSON for a new post ({{\"user\"|\"hashtag\"|\"sound\": …}} or a list): {error}"
                ),
            );
        }
    };
    let corpus = state.site.corpus();
    match body {
        NewPostsBody::One(post) => match add_one(corpus, &post) {
            Ok(created) => SimResponse::json(StatusCode::CREATED, &created),
            Err(message) => error_response(StatusCode::BAD_REQUEST, &message),
        },
        NewPostsBody::Many(posts) => {
            // Check every entry before adding any.
            if let Some(message) = posts.iter().find_map(|post| resolve(corpus, post).err()) {
                return error_response(StatusCode::BAD_REQUEST, &message);
            }
            let mut created = Vec::with_capacity(posts.len());
            for post in &posts {
                match add_one(corpus, post) {
                    Ok(one) => created.push(one),
                    Err(message) => return error_response(StatusCode::BAD_REQUEST, &message),
                }
            }
            SimResponse::json(StatusCode::CREATED, &json!({ "posts": created }))
        }
    }
}

/// The overlay entry a request names, or why it names none.
fn resolve(corpus: &Corpus, post: &NewPostRequest) -> Result<AddedPost, String> {
    let hashtag = match &post.hashtag {
        None => None,
        Some(name) => Some(
            corpus
                .hashtag_by_name(name.trim_start_matches('#'))
                .ok_or_else(|| format!("unknown hashtag `{name}`"))?
                .index,
        ),
    };
    let sound = match &post.sound {
        None => None,
        Some(Value::String(text)) => Some(
            text.parse::<u64>()
                .map_err(|_| format!("`sound` must be a music id, got `{text}`"))?,
        ),
        Some(Value::Number(number)) => Some(
            number
                .as_u64()
                .ok_or_else(|| format!("`sound` must be a music id, got {number}"))?,
        ),
        Some(other) => return Err(format!("`sound` must be a music id, got {other}")),
    };
    let author = match &post.user {
        Some(unique_id) => {
            let user = corpus
                .users
                .by_unique_id(unique_id.trim_start_matches('@'))
                .ok_or_else(|| format!("unknown user `{unique_id}`"))?;
            if user.private_account {
                return Err(format!(
                    "user `{unique_id}` is private: add posts to a public one"
                ));
            }
            user.index
        }
        None if hashtag.is_none() && sound.is_none() => {
            return Err("name at least one of `user`, `hashtag`, `sound`".to_owned());
        }
        None => {
            let seed =
                hashtag.map_or(0, u64::from) ^ sound.unwrap_or(0) ^ u64::from(corpus.added_count());
            (seed % u64::from(corpus.users.public_count.max(1))) as u32
        }
    };
    Ok(AddedPost {
        author,
        hashtag,
        sound,
    })
}

fn add_one(corpus: &Corpus, post: &NewPostRequest) -> Result<Value, String> {
    let added = resolve(corpus, post)?;
    let index = corpus.add_post(added).map_err(|error| error.to_string())?;
    let skeleton = corpus
        .skeleton(index)
        .ok_or_else(|| "the added post does not render".to_owned())?;
    let author = corpus
        .users
        .get(skeleton.author)
        .map_or("_", |user| user.unique_id.as_str());
    Ok(json!({
        "id": skeleton.id.to_string(),
        "url": format!("https://www.tiktok.com/@{author}/video/{}", skeleton.id),
        "author": author,
        "hashtag": post.hashtag.as_deref().map(|name| name.trim_start_matches('#').to_lowercase()),
        "sound": added.sound.map(|sound| sound.to_string()),
        "create_time": skeleton.create_time,
    }))
}
