//! `tokworks url TEXT`: says what a pasted TikTok URL (or share text holding one) is and which
//! command takes it, with the same parser the service uses; needs no key and no network.

use serde_json::{Value, json};
use tokworks_shared::tiktok_url::{TiktokUrl, TiktokUrlKind};

use crate::Output;
use crate::commands::print_json;

/// The command that takes `kind`, for the human form (`None`: no command does).
fn command_for(kind: &TiktokUrlKind) -> Option<String> {
    match kind {
        TiktokUrlKind::Post { video_id, .. } => Some(format!(
            "a video: `tokworks submit` a file with it, `tokworks comments URL`, or `tokworks videos get {video_id}` once extracted"
        )),
        TiktokUrlKind::ShortLink { .. } => {
            Some("a short link to a video: `tokworks submit` or `tokworks comments URL`".to_owned())
        }
        TiktokUrlKind::Profile { username } => Some(format!("`tokworks user {username}`")),
        TiktokUrlKind::Hashtag { name } => Some(format!("`tokworks hashtag {name}`")),
        TiktokUrlKind::Sound { music_id } => Some(format!("`tokworks sound {music_id}`")),
        TiktokUrlKind::Search { query } => Some(format!("`tokworks search \"{query}\"`")),
        TiktokUrlKind::Other => None,
    }
}

/// The JSON form: the kind's name, its fields and the canonical URL.
fn describe_json(url: &TiktokUrl) -> Value {
    let mut described = match url.kind() {
        TiktokUrlKind::Post {
            video_id,
            username,
            is_photo,
        } => {
            json!({"kind": "post", "video_id": video_id, "username": username, "is_photo": is_photo})
        }
        TiktokUrlKind::ShortLink { code } => json!({"kind": "short_link", "code": code}),
        TiktokUrlKind::Profile { username } => json!({"kind": "profile", "username": username}),
        TiktokUrlKind::Hashtag { name } => json!({"kind": "hashtag", "hashtag": name}),
        TiktokUrlKind::Sound { music_id } => json!({"kind": "sound", "music_id": music_id}),
        TiktokUrlKind::Search { query } => json!({"kind": "search", "query": query}),
        TiktokUrlKind::Other => json!({"kind": "other"}),
    };
    described["canonical_url"] = json!(url.canonical_url());
    described["description"] = json!(url.kind().describe());
    described
}

/// Prints what `text` is; `false` when it is no usable TikTok URL.
pub fn url(text: &str, output: Output) -> bool {
    match TiktokUrl::parse(text) {
        Ok(url) => {
            if output.json {
                print_json(&describe_json(&url));
            } else {
                println!("{}", url.kind().describe());
                println!("canonical: {}", url.canonical_url());
                match command_for(url.kind()) {
                    Some(command) => println!("use: {command}"),
                    None => println!("no tokworks job takes this page"),
                }
            }
            true
        }
        Err(error) => {
            if output.json {
                print_json(&json!({"kind": null, "error": error.to_string()}));
            } else {
                println!("not a usable TikTok URL: {error}");
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(text: &str) -> Value {
        describe_json(&TiktokUrl::parse(text).unwrap())
    }

    #[test]
    fn sound_tag_and_search_urls_are_named_with_their_target() {
        let sound = described("https://www.tiktok.com/music/original-sound-7454730076952459393");
        assert_eq!(sound["kind"], "sound");
        assert_eq!(sound["music_id"], "7454730076952459393");
        let tag = described("https://www.tiktok.com/tag/ramen");
        assert_eq!(tag["kind"], "hashtag");
        assert_eq!(tag["hashtag"], "ramen");
        let search = described("https://www.tiktok.com/search?q=spicy%20ramen");
        assert_eq!(search["kind"], "search");
        assert_eq!(search["query"], "spicy ramen");
    }

    #[test]
    fn each_kind_names_the_command_that_takes_it() {
        let sound = TiktokUrl::parse("https://www.tiktok.com/music/x-7454730076952459393").unwrap();
        assert_eq!(
            command_for(sound.kind()).unwrap(),
            "`tokworks sound 7454730076952459393`"
        );
        let video = TiktokUrl::parse("https://www.tiktok.com/@scout2015/video/6718335390845095173")
            .unwrap();
        assert!(
            command_for(video.kind())
                .unwrap()
                .contains("tokworks comments")
        );
    }
}
