//! The TikTok WAF JavaScript proof-of-work page (docs/tiktok-formats.md "The WAF JavaScript
//! challenge") and the check of the
//! `_wafchallengeid` cookie a solver sends back.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use super::stable_hash;

/// Name of the cookie carrying the solution (the `class` of `id="wci"`).
pub const CHALLENGE_COOKIE: &str = "_wafchallengeid";
/// Name of the optional second cookie (the `class` of `id="rci"`).
pub const ORIGINAL_REQUEST_COOKIE: &str = "waforiginalreid";
/// Largest nonce the simulator picks: yt-dlp solves it in a few milliseconds.
pub const MAX_NONCE: u64 = 20_000;

/// One challenge: deterministic from (seed, path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub prefix: Vec<u8>,
    pub nonce: u64,
}

impl Challenge {
    pub fn for_path(seed: u64, path: &str) -> Self {
        let key = stable_hash(&[b"waf-challenge", &seed.to_le_bytes(), path.as_bytes()]);
        let nonce = key % (MAX_NONCE + 1);
        let digest = Sha256::digest([&key.to_le_bytes()[..], path.as_bytes()].concat());
        Challenge {
            prefix: digest[..16].to_vec(),
            nonce,
        }
    }

    /// `v.a`: base64 of the prefix bytes.
    pub fn prefix_b64(&self) -> String {
        STANDARD.encode(&self.prefix)
    }

    /// `v.c`: base64 of `sha256(prefix + str(nonce))`.
    pub fn digest_b64(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(&self.prefix);
        hasher.update(self.nonce.to_string().as_bytes());
        STANDARD.encode(hasher.finalize())
    }

    /// The JSON in `id="cs"`, before base64.
    pub fn challenge_json(&self) -> serde_json::Value {
        serde_json::json!({
            "v": { "a": self.prefix_b64(), "c": self.digest_b64() },
            "s": "pow",
            "t": 1,
        })
    }

    /// The ~1.4 KB HTML page.
    pub fn page(&self, path: &str) -> String {
        let challenge_attr = STANDARD_NO_PAD.encode(self.challenge_json().to_string());
        let request_id = hex::encode(&Sha256::digest(format!("{}{path}", self.prefix_b64()))[..12]);
        format!(
            concat!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
                "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
                "<title>TikTok</title>",
                "<style>body{{margin:0;font-family:Arial,sans-serif;background:#fff}}",
                ".w{{display:flex;height:100vh;align-items:center;justify-content:center;color:#161823}}</style>",
                "</head><body>",
                "<div id=\"cs\" class=\"{challenge}\"></div>",
                "<div id=\"wci\" class=\"{cookie}\"></div>",
                "<div id=\"rci\" class=\"{original_cookie}\"></div>",
                "<div id=\"rs\" class=\"{request_id}\"></div>",
                "<div class=\"w\"><p>Please wait...</p></div>",
                "<script>(function(){{",
                "var e=document.getElementById('cs'),w=document.getElementById('wci').className,",
                "r=document.getElementById('rci').className,s=document.getElementById('rs').className;",
                "var d=JSON.parse(atob(e.className));",
                "function h(b){{return crypto.subtle.digest('SHA-256',b).then(function(x){{",
                "return btoa(String.fromCharCode.apply(null,new Uint8Array(x)))}})}}",
                "var a=Uint8Array.from(atob(d.v.a),function(c){{return c.charCodeAt(0)}});",
                "function t(i){{var n=new TextEncoder().encode(String(i)),b=new Uint8Array(a.length+n.length);",
                "b.set(a);b.set(n,a.length);return h(b).then(function(x){{",
                "if(x===d.v.c){{d.d=btoa(String(i));",
                "document.cookie=w+'='+btoa(JSON.stringify(d))+';Max-Age=1;path=/;domain=.tiktok.com';",
                "document.cookie=r+'='+s+';Max-Age=1;path=/;domain=.tiktok.com';",
                "location.reload();}}else if(i<1000000){{return t(i+1)}}}})}}",
                "t(0);}})();</script></body></html>"
            ),
            challenge = challenge_attr,
            cookie = CHALLENGE_COOKIE,
            original_cookie = ORIGINAL_REQUEST_COOKIE,
            request_id = request_id,
        )
    }

    /// Whether a `_wafchallengeid` cookie value solves this challenge: base64 of the challenge JSON
    /// with `"d": base64(str(nonce))` added.
    pub fn is_solved_by(&self, cookie_value: &str) -> bool {
        let Some(json_bytes) = decode_base64_lenient(cookie_value.trim().trim_matches('"')) else {
            return false;
        };
        let Ok(solution) = serde_json::from_slice::<serde_json::Value>(&json_bytes) else {
            return false;
        };
        let field = |pointer: &str| {
            solution
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
        };
        let Some(answer) = field("/d").and_then(decode_base64_lenient) else {
            return false;
        };
        field("/v/a") == Some(self.prefix_b64().as_str())
            && field("/v/c") == Some(self.digest_b64().as_str())
            && answer == self.nonce.to_string().as_bytes()
    }
}

fn decode_base64_lenient(text: &str) -> Option<Vec<u8>> {
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Solves the page the way yt-dlp does (tiktok.py `_solve_challenge_and_set_cookies`).
    fn solve(page: &str) -> String {
        let start = page.find("id=\"cs\" class=\"").unwrap() + "id=\"cs\" class=\"".len();
        let end = start + page[start..].find('"').unwrap();
        let mut data: serde_json::Value =
            serde_json::from_slice(&STANDARD_NO_PAD.decode(&page[start..end]).unwrap()).unwrap();
        let prefix = STANDARD.decode(data["v"]["a"].as_str().unwrap()).unwrap();
        let expected = STANDARD.decode(data["v"]["c"].as_str().unwrap()).unwrap();
        let nonce = (0..=1_000_000u64)
            .find(|i| {
                Sha256::digest([&prefix[..], i.to_string().as_bytes()].concat()).as_slice()
                    == expected
            })
            .unwrap();
        data["d"] = STANDARD.encode(nonce.to_string()).into();
        STANDARD.encode(data.to_string())
    }

    #[test]
    fn page_is_solvable_and_deterministic() {
        let challenge = Challenge::for_path(42, "/@u/video/7454730070402848956");
        assert!(challenge.nonce <= MAX_NONCE);
        assert_eq!(
            challenge,
            Challenge::for_path(42, "/@u/video/7454730070402848956")
        );
        let page = challenge.page("/@u/video/7454730070402848956");
        assert!(
            page.contains("Please wait...")
                && page.contains("id=\"wci\" class=\"_wafchallengeid\"")
        );
        assert!((1200..1800).contains(&page.len()), "{}", page.len());
        let cookie = solve(&page);
        assert!(challenge.is_solved_by(&cookie));
        assert!(!Challenge::for_path(42, "/other").is_solved_by(&cookie));
        assert!(!challenge.is_solved_by("garbage"));
    }
}
