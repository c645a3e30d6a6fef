//! Every URL shape of docs/tiktok-formats.md "URL shapes", rejections, and properties.

use proptest::prelude::*;

use super::*;

const ID: &str = "7454730070402848956";

fn post(input: &str) -> (String, Option<String>, bool, String) {
    let parsed = TiktokUrl::parse(input).unwrap_or_else(|error| panic!("{input}: {error}"));
    match parsed.kind() {
        TiktokUrlKind::Post {
            video_id,
            username,
            is_photo,
        } => (
            video_id.clone(),
            username.clone(),
            *is_photo,
            parsed.canonical_url().to_string(),
        ),
        other => panic!("{input}: expected a post, got {other:?}"),
    }
}

fn short(input: &str) -> (String, String) {
    let parsed = TiktokUrl::parse(input).unwrap_or_else(|error| panic!("{input}: {error}"));
    match parsed.kind() {
        TiktokUrlKind::ShortLink { code } => (code.clone(), parsed.canonical_url().to_string()),
        other => panic!("{input}: expected a short link, got {other:?}"),
    }
}

#[test]
fn full_video_urls_on_www_m_and_bare_host() {
    let canonical = format!("https://www.tiktok.com/@creator.name/video/{ID}");
    for input in [
        format!("https://www.tiktok.com/@creator.name/video/{ID}"),
        format!("https://tiktok.com/@creator.name/video/{ID}"),
        format!("https://m.tiktok.com/@creator.name/video/{ID}"),
        format!("http://www.tiktok.com/@creator.name/video/{ID}/"),
        format!(
            "https://WWW.TikTok.COM/@creator.name/video/{ID}?lang=en&is_from_webapp=1&sender_device=pc"
        ),
        format!("https://www.tiktok.com/@creator.name/video/{ID}?_t=8SWmo5vqOfG&_r=1#comments"),
        format!("www.tiktok.com/@creator.name/video/{ID}"),
        format!("  https://www.tiktok.com/@creator.name/video/{ID}  "),
    ] {
        assert_eq!(
            post(&input),
            (
                ID.to_string(),
                Some("creator.name".to_string()),
                false,
                canonical.clone()
            )
        );
    }
}

#[test]
fn video_urls_without_a_user_canonicalise_to_underscore() {
    let canonical = format!("https://www.tiktok.com/@_/video/{ID}");
    for input in [
        format!("https://www.tiktok.com/@/video/{ID}"),
        format!("https://www.tiktok.com/@_/video/{ID}"),
        format!("https://www.tiktok.com/share/video/{ID}"),
        format!("https://www.tiktokv.com/share/video/{ID}/"),
        format!("https://m.tiktok.com/v/{ID}.html"),
        format!("https://m.tiktok.com/v/{ID}"),
        format!("https://m.tiktok.com/v/{ID}.html?_d=secCgYIASAHKAESMgow&language=en&preview_pb=0"),
        format!("https://www.tiktok.com/embed/v2/{ID}"),
        format!("https://www.tiktok.com/embed/{ID}?lang=en"),
        format!("https://www.tiktok.com/node/share/video/@creator/{ID}"),
    ] {
        let (video_id, _, is_photo, canonical_url) = post(&input);
        assert_eq!(video_id, ID, "{input}");
        assert!(!is_photo, "{input}");
        if !input.contains("/node/") {
            assert_eq!(canonical_url, canonical, "{input}");
        }
    }
}

#[test]
fn photo_urls_keep_the_photo_path() {
    let (video_id, username, is_photo, canonical) = post(&format!(
        "https://www.tiktok.com/@snap.shot/photo/{ID}?lang=en"
    ));
    assert_eq!(video_id, ID);
    assert_eq!(username.as_deref(), Some("snap.shot"));
    assert!(is_photo);
    assert_eq!(
        canonical,
        format!("https://www.tiktok.com/@snap.shot/photo/{ID}")
    );
}

#[test]
fn short_links_on_vm_vt_and_t_path() {
    assert_eq!(
        short("https://vm.tiktok.com/ZMabc123/"),
        ("ZMabc123".into(), "https://vm.tiktok.com/ZMabc123/".into())
    );
    assert_eq!(
        short("https://vt.tiktok.com/ZSu1kHk5"),
        ("ZSu1kHk5".into(), "https://vt.tiktok.com/ZSu1kHk5/".into())
    );
    assert_eq!(
        short("vm.tiktok.com/ZMLhV4Lcv"),
        (
            "ZMLhV4Lcv".into(),
            "https://vm.tiktok.com/ZMLhV4Lcv/".into()
        )
    );
    assert_eq!(
        short("https://www.tiktok.com/t/ZS98QYgBSwy4P-MVZ1G/"),
        (
            "ZS98QYgBSwy4P-MVZ1G".into(),
            "https://www.tiktok.com/t/ZS98QYgBSwy4P-MVZ1G/".into()
        )
    );
    assert_eq!(
        short("https://tiktok.com/t/ZTabc/?k=1").1,
        "https://www.tiktok.com/t/ZTabc/"
    );
    assert_eq!(short("HTTPS://VM.TIKTOK.COM/ZMabc123/").0, "ZMabc123");
}

#[test]
fn share_text_containing_a_link() {
    assert_eq!(
        short("Check this out! https://vm.tiktok.com/ZMabc123/ #fyp").0,
        "ZMabc123"
    );
    assert_eq!(short("lol (https://vt.tiktok.com/ZSxyz/).").0, "ZSxyz");
    assert_eq!(short("look at vm.tiktok.com/ZMqq99 now").0, "ZMqq99");
    let (video_id, ..) = post(&format!(
        "Watch @creator.name's video: https://www.tiktok.com/@creator.name/video/{ID}?_r=1, so good"
    ));
    assert_eq!(video_id, ID);
}

#[test]
fn profiles_tags_and_other_pages_are_classified() {
    let profile = TiktokUrl::parse("https://www.tiktok.com/@creator.name?lang=en").unwrap();
    assert_eq!(
        profile.kind(),
        &TiktokUrlKind::Profile {
            username: "creator.name".into()
        }
    );
    assert_eq!(
        profile.canonical_url(),
        "https://www.tiktok.com/@creator.name"
    );
    assert!(!profile.kind().is_video_input());

    let tag = TiktokUrl::parse("https://www.tiktok.com/tag/fyp%E3%82%B7").unwrap();
    assert_eq!(
        tag.kind(),
        &TiktokUrlKind::Hashtag {
            name: "fypシ".into()
        }
    );
    assert_eq!(
        tag.canonical_url(),
        "https://www.tiktok.com/tag/fyp%E3%82%B7"
    );
    assert_eq!(
        TiktokUrl::parse(tag.canonical_url()).unwrap().kind(),
        tag.kind()
    );

    for other in [
        "https://www.tiktok.com/music/original-sound-abc",
        "https://www.tiktok.com/search?q=%20%20",
        "https://www.tiktok.com/search/user?q=cats",
        "https://www.tiktok.com/@creator.name/live",
        "https://www.tiktok.com/@creator.name/collection/best-7454730076952459393",
        "https://www.tiktok.com/",
        "https://www.tiktok.com/notfound",
        "https://www.tiktok.com/sticker/funny-123",
    ] {
        let parsed = TiktokUrl::parse(other).unwrap_or_else(|error| panic!("{other}: {error}"));
        assert_eq!(parsed.kind(), &TiktokUrlKind::Other, "{other}");
        assert!(!parsed.kind().is_video_input());
    }
}

#[test]
fn sound_urls_name_their_music_id() {
    for (input, canonical) in [
        (
            "https://www.tiktok.com/music/original-sound-7454730076952459393",
            "https://www.tiktok.com/music/original-sound-7454730076952459393",
        ),
        (
            "https://www.tiktok.com/music/Espresso-7454730076952459393?lang=en",
            "https://www.tiktok.com/music/Espresso-7454730076952459393",
        ),
        (
            "https://m.tiktok.com/h5/share/music/7454730076952459393.html",
            "https://www.tiktok.com/music/sound-7454730076952459393",
        ),
        (
            "listen https://www.tiktok.com/music/7454730076952459393 now",
            "https://www.tiktok.com/music/sound-7454730076952459393",
        ),
    ] {
        let parsed = TiktokUrl::parse(input).unwrap_or_else(|error| panic!("{input}: {error}"));
        assert_eq!(
            parsed.kind(),
            &TiktokUrlKind::Sound {
                music_id: "7454730076952459393".into()
            },
            "{input}"
        );
        assert_eq!(parsed.canonical_url(), canonical);
        assert!(!parsed.kind().is_video_input());
        assert_eq!(parsed.kind().describe(), "a sound URL: submit kind `sound`");
    }
}

#[test]
fn search_urls_carry_their_query() {
    for (input, query) in [
        ("https://www.tiktok.com/search?q=cats", "cats"),
        (
            "https://www.tiktok.com/search/video?q=ramen%20%20recipe&t=1",
            "ramen recipe",
        ),
        (
            "https://www.tiktok.com/search?lang=en&q=+spicy++ramen+",
            "spicy ramen",
        ),
        (
            "https://www.tiktok.com/search?q=%23fyp%20%E3%82%B7",
            "#fyp シ",
        ),
    ] {
        let parsed = TiktokUrl::parse(input).unwrap_or_else(|error| panic!("{input}: {error}"));
        assert_eq!(
            parsed.kind(),
            &TiktokUrlKind::Search {
                query: query.into()
            },
            "{input}"
        );
        let again = TiktokUrl::parse(parsed.canonical_url()).unwrap();
        assert_eq!(again.kind(), parsed.kind(), "{}", parsed.canonical_url());
        assert!(
            parsed
                .canonical_url()
                .starts_with("https://www.tiktok.com/search?q=")
        );
    }
    assert_eq!(
        TiktokUrl::parse("https://www.tiktok.com/tag/ramen")
            .unwrap()
            .kind()
            .describe(),
        "a hashtag URL: submit kind `hashtag`"
    );
}

#[test]
fn rejections_have_the_right_reason_and_code() {
    type IsExpected = fn(&TiktokUrlError) -> bool;
    let cases: Vec<(String, IsExpected)> = vec![
        ("".into(), |error| matches!(error, TiktokUrlError::Empty)),
        ("   ".into(), |error| matches!(error, TiktokUrlError::Empty)),
        ("no link in here at all".into(), |error| {
            matches!(error, TiktokUrlError::NoUrlFound)
        }),
        (
            format!("https://www.nottiktok.com/@a/video/{ID}"),
            |error| matches!(error, TiktokUrlError::NotTiktokHost { .. }),
        ),
        (
            format!("https://tiktok.com.evil.net/@a/video/{ID}"),
            |error| matches!(error, TiktokUrlError::NotTiktokHost { .. }),
        ),
        (format!("https://www.youtube.com/watch?v={ID}"), |error| {
            matches!(error, TiktokUrlError::NotTiktokHost { .. })
        }),
        (
            format!("https://user:pass@www.tiktok.com/@a/video/{ID}"),
            |error| matches!(error, TiktokUrlError::HasCredentials),
        ),
        (
            format!("https://user@www.tiktok.com/@a/video/{ID}"),
            |error| matches!(error, TiktokUrlError::HasCredentials),
        ),
        (format!("http://127.0.0.1/@a/video/{ID}"), |error| {
            matches!(error, TiktokUrlError::IpAddressHost)
        }),
        (format!("http://[::1]/@a/video/{ID}"), |error| {
            matches!(error, TiktokUrlError::IpAddressHost)
        }),
        (format!("http://2130706433/@a/video/{ID}"), |error| {
            matches!(error, TiktokUrlError::IpAddressHost)
        }),
        (format!("ftp://www.tiktok.com/@a/video/{ID}"), |error| {
            matches!(error, TiktokUrlError::NotHttp { .. })
        }),
        ("javascript:alert(1)".into(), |error| {
            matches!(error, TiktokUrlError::NotHttp { .. })
        }),
        ("file:///etc/passwd".into(), |error| {
            matches!(error, TiktokUrlError::NotHttp { .. })
        }),
        (
            format!("https://www.tiktok.com:8443/@a/video/{ID}"),
            |error| matches!(error, TiktokUrlError::BadPort { port: 8443 }),
        ),
        (
            format!("http://www.tiktok.com:443/@a/video/{ID}"),
            |error| matches!(error, TiktokUrlError::BadPort { .. }),
        ),
        (
            format!("https://www.tiktok.com/@a/video/{}", "1".repeat(3000)),
            |error| matches!(error, TiktokUrlError::TooLong { .. }),
        ),
        ("x".repeat(10_000), |error| {
            matches!(error, TiktokUrlError::TooLong { .. })
        }),
        ("https://www.tiktok.com/@a/video/abc".into(), |error| {
            matches!(error, TiktokUrlError::InvalidVideoId { .. })
        }),
        (
            "https://www.tiktok.com/@a/video/99999999999999999999999".into(),
            |error| matches!(error, TiktokUrlError::InvalidVideoId { .. }),
        ),
        ("https://vm.tiktok.com/ZM%20bad/".into(), |error| {
            matches!(error, TiktokUrlError::InvalidShortCode { .. })
        }),
        ("https://www.tiktok.com/@bad%20name".into(), |error| {
            matches!(error, TiktokUrlError::InvalidUsername { .. })
        }),
    ];
    for (input, is_expected) in cases {
        let error = TiktokUrl::parse(&input).expect_err(&input);
        assert!(is_expected(&error), "{input}: unexpected error {error:?}");
        assert_eq!(error.error_code(), ErrorCode::InvalidUrl, "{input}");
    }
    let cdn = TiktokUrl::parse("https://v16-webapp-prime.tiktok.com/video/tos/x/?a=1988")
        .expect_err("cdn");
    assert!(matches!(cdn, TiktokUrlError::UnrecognisedPath { .. }));
    assert_eq!(cdn.error_code(), ErrorCode::UnsupportedUrl);
}

#[test]
fn id_creation_time_is_the_high_32_bits() {
    assert_eq!(
        id_creation_unix_seconds("7045537727743380782"),
        Some(1_640_417_084)
    );
    assert_eq!(id_creation_unix_seconds("abc"), None);
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_strings(input in ".{0,300}") {
        let _ = TiktokUrl::parse(&input);
    }

    #[test]
    fn parse_never_panics_on_url_like_strings(
        scheme in "(https?|ftp|)(://)?",
        host in "[a-zA-Z0-9.:@\\[\\]-]{0,30}",
        path in "[/@a-zA-Z0-9._%?&=#-]{0,60}",
    ) {
        let _ = TiktokUrl::parse(&format!("{scheme}{host}{path}"));
    }

    #[test]
    fn canonical_url_reparses_to_the_same_kind(
        id in "[1-9][0-9]{18}",
        user in "[a-z0-9._]{1,20}",
        code in "[A-Za-z0-9-]{4,19}",
        query in "[a-zA-Z0-9 #%+&=シ]{0,30}",
        shape in 0usize..12,
    ) {
        let input = match shape {
            9 => format!("https://www.tiktok.com/music/{user}-{id}"),
            10 => format!("https://www.tiktok.com/search?q={query}"),
            11 => format!("https://www.tiktok.com/search/video?q={query}&lang=en"),
            0 => format!("https://www.tiktok.com/@{user}/video/{id}?lang=en"),
            1 => format!("https://m.tiktok.com/v/{id}.html"),
            2 => format!("https://www.tiktok.com/@{user}/photo/{id}"),
            3 => format!("https://vm.tiktok.com/{code}/"),
            4 => format!("https://www.tiktok.com/t/{code}"),
            5 => format!("https://www.tiktok.com/@{user}"),
            6 => format!("https://www.tiktok.com/tag/{user}"),
            7 => format!("https://www.tiktok.com/embed/v2/{id}"),
            _ => format!("https://www.tiktokv.com/share/video/{id}/"),
        };
        let first = TiktokUrl::parse(&input).unwrap();
        let second = TiktokUrl::parse(first.canonical_url()).unwrap();
        prop_assert_eq!(first.kind(), second.kind());
        prop_assert_eq!(first.canonical_url(), second.canonical_url());
        prop_assert_eq!(first.video_id(), second.video_id());
    }

    #[test]
    fn a_19_digit_id_in_any_video_shape_is_extracted_exactly(
        id in "[1-9][0-9]{18}",
        user in "[A-Za-z0-9._]{0,24}",
        query in "(\\?[a-z_]{1,8}=[A-Za-z0-9]{0,12})?",
        shape in 0usize..8,
    ) {
        let input = match shape {
            0 => format!("https://www.tiktok.com/@{user}/video/{id}{query}"),
            1 => format!("https://tiktok.com/@{user}/photo/{id}/{query}"),
            2 => format!("https://m.tiktok.com/v/{id}.html{query}"),
            3 => format!("https://www.tiktok.com/embed/v2/{id}{query}"),
            4 => format!("https://www.tiktok.com/embed/{id}{query}"),
            5 => format!("https://www.tiktok.com/share/video/{id}{query}"),
            6 => format!("https://www.tiktokv.com/share/video/{id}/{query}"),
            _ => format!("see https://www.tiktok.com/@{user}/video/{id}{query} !"),
        };
        let parsed = TiktokUrl::parse(&input).unwrap();
        prop_assert_eq!(parsed.video_id(), Some(id.as_str()));
    }
}
