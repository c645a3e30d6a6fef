//! Request signing (docs/tiktok-formats.md "Signing", "Unsigned requests", "How tools obtain
//! signatures"), pluggable:
//!
//! * [`SignerChoice::None`]: requests go out unsigned. Real TikTok (and the simulator) answer
//!   the signed endpoints (recommend, challenge items, post list, user detail) with an empty 200.
//! * [`SignerChoice::BuiltIn`]: appends an `X-Bogus`-shaped parameter (28 characters of TikTok's
//!   alphabet, derived from the query and User-Agent). It is **not** TikTok's algorithm: it
//!   satisfies the simulator and any endpoint that only checks presence; real TikTok needs a
//!   real signer (an external sign server).
//! * [`SignerChoice::External`]: a carcabot/tiktok-signature server: `POST {url}` with
//!   `{"url", "userAgent"}` → `{"status":"ok","data":{"signed_url","x-bogus","x-gnarly",
//!   "navigator":{"user_agent"},"cookies"}}`; the request is then sent to `signed_url` with the
//!   server's User-Agent and cookies.

use std::time::Duration;

use base64::Engine;
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::egress::is_tiktok_owned_host;

/// Which signer a client uses (TIKTOK_SIGNER_URL selects `External`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SignerChoice {
    #[default]
    None,
    BuiltIn,
    External {
        url: String,
    },
}

/// A request ready to send: the (possibly signed) URL, the User-Agent it was signed for, and
/// cookies the signer wants sent (`name=value; …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub url: Url,
    pub user_agent: String,
    pub cookies: Option<String>,
}

/// Why the sign server did not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the sign server is unreachable: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("the sign server answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the sign server refused: {0}")]
    Refused(String),
    #[error("the sign server's answer is not understood: {0}")]
    InvalidAnswer(String),
    #[error("the sign server returned a URL outside TikTok")]
    ForeignUrl,
}

/// Why a signer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SignerSetupError {
    #[error("TIKTOK_SIGNER_URL is not a valid URL: {0}")]
    InvalidUrl(#[source] url::ParseError),
    #[error("cannot build the sign server's HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// A configured signer.
#[derive(Debug, Clone)]
pub struct Signer {
    kind: SignerKind,
}

#[derive(Debug, Clone)]
enum SignerKind {
    None,
    BuiltIn,
    External {
        endpoint: Url,
        http: reqwest::Client,
    },
}

#[derive(Debug, Deserialize)]
struct SignAnswer {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: Option<SignData>,
}

#[derive(Debug, Deserialize)]
struct SignData {
    #[serde(default)]
    signed_url: Option<String>,
    #[serde(default)]
    navigator: Option<SignNavigator>,
    #[serde(default)]
    cookies: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SignNavigator {
    #[serde(default)]
    user_agent: Option<String>,
}

impl Signer {
    /// Builds the signer; an external sign server is reached directly (never via the TikTok
    /// proxy), each call bounded by `timeout`.
    pub fn new(choice: &SignerChoice, timeout: Duration) -> Result<Signer, SignerSetupError> {
        let kind = match choice {
            SignerChoice::None => SignerKind::None,
            SignerChoice::BuiltIn => SignerKind::BuiltIn,
            SignerChoice::External { url } => {
                let base = Url::parse(url).map_err(SignerSetupError::InvalidUrl)?;
                let endpoint = if base.path().trim_end_matches('/').ends_with("/signature") {
                    base
                } else {
                    let path = format!("{}/signature", base.path().trim_end_matches('/'));
                    let mut endpoint = base;
                    endpoint.set_path(&path);
                    endpoint
                };
                let http = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(timeout)
                    .build()
                    .map_err(SignerSetupError::Build)?;
                SignerKind::External { endpoint, http }
            }
        };
        Ok(Signer { kind })
    }

    /// Whether requests get a signature at all.
    pub fn signs(&self) -> bool {
        !matches!(self.kind, SignerKind::None)
    }

    /// Signs `url` (its final query, `msToken` included) for `user_agent`.
    pub async fn sign(&self, url: &Url, user_agent: &str) -> Result<SignedRequest, SignError> {
        match &self.kind {
            SignerKind::None => Ok(SignedRequest {
                url: url.clone(),
                user_agent: user_agent.to_owned(),
                cookies: None,
            }),
            SignerKind::BuiltIn => {
                let mut signed = url.clone();
                let x_bogus = built_in_x_bogus(url.query().unwrap_or_default(), user_agent);
                signed.query_pairs_mut().append_pair("X-Bogus", &x_bogus);
                Ok(SignedRequest {
                    url: signed,
                    user_agent: user_agent.to_owned(),
                    cookies: None,
                })
            }
            SignerKind::External { endpoint, http } => {
                sign_externally(http, endpoint, url, user_agent).await
            }
        }
    }
}

async fn sign_externally(
    http: &reqwest::Client,
    endpoint: &Url,
    url: &Url,
    user_agent: &str,
) -> Result<SignedRequest, SignError> {
    let response = http
        .post(endpoint.clone())
        .json(&serde_json::json!({ "url": url.as_str(), "userAgent": user_agent }))
        .send()
        .await
        .map_err(SignError::Transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(SignError::Transport)?;
    let answer: Result<SignAnswer, _> = serde_json::from_slice(&body);
    if !status.is_success() {
        let message = answer
            .ok()
            .and_then(|answer| answer.message)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        return Err(SignError::Status {
            status: status.as_u16(),
            message,
        });
    }
    let answer = answer.map_err(|error| SignError::InvalidAnswer(error.to_string()))?;
    if answer.status.as_deref() != Some("ok") {
        return Err(SignError::Refused(
            answer
                .message
                .unwrap_or_else(|| "status is not \"ok\"".to_owned()),
        ));
    }
    let data = answer
        .data
        .ok_or_else(|| SignError::InvalidAnswer("no `data`".to_owned()))?;
    let signed_url = data
        .signed_url
        .ok_or_else(|| SignError::InvalidAnswer("no `data.signed_url`".to_owned()))?;
    let signed_url =
        Url::parse(&signed_url).map_err(|error| SignError::InvalidAnswer(error.to_string()))?;
    if signed_url.scheme() != "https" || !signed_url.host_str().is_some_and(is_tiktok_owned_host) {
        return Err(SignError::ForeignUrl);
    }
    let user_agent = data
        .navigator
        .and_then(|navigator| navigator.user_agent)
        .filter(|agent| !agent.trim().is_empty())
        .unwrap_or_else(|| user_agent.to_owned());
    Ok(SignedRequest {
        url: signed_url,
        user_agent,
        cookies: data.cookies.filter(|cookies| !cookies.trim().is_empty()),
    })
}

/// TikTok's X-Bogus alphabet (a permuted base64 alphabet).
const BOGUS_ALPHABET: &[u8; 64] =
    b"Dkdpgh4ZKsQB80/Mfvw36XI1R25-WUAlEi7NLboqYTOPuzmFjJnryx9HVGcaStCe";

/// A 28-character `X-Bogus`-shaped value, deterministic in the query and User-Agent. Not
/// TikTok's algorithm (see the module documentation).
pub fn built_in_x_bogus(query: &str, user_agent: &str) -> String {
    let digest = Sha256::new()
        .chain_update(query.as_bytes())
        .chain_update([0u8])
        .chain_update(user_agent.as_bytes())
        .finalize();
    let mut out = String::from("DFSz");
    for index in 0..24 {
        let byte = digest[index % digest.len()] ^ (index as u8).wrapping_mul(31);
        out.push(char::from(BOGUS_ALPHABET[usize::from(byte & 63)]));
    }
    out
}

/// A stand-in `msToken` (146 url-safe base64 characters + `==`, as Evil0ctal fakes it) for
/// sessions where TikTok set none and TIKTOK_MS_TOKEN is unset.
pub fn fake_ms_token() -> String {
    let mut bytes = [0u8; 110];
    rand::rng().fill(&mut bytes[..]);
    let mut token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    token.truncate(146);
    token.push_str("==");
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_signature_has_x_bogus_shape_and_depends_on_query_and_agent() {
        let one = built_in_x_bogus("aid=1988&count=30", "UA");
        assert_eq!(one.len(), 28);
        assert!(one.bytes().all(|byte| BOGUS_ALPHABET.contains(&byte)));
        assert_eq!(one, built_in_x_bogus("aid=1988&count=30", "UA"));
        assert_ne!(one, built_in_x_bogus("aid=1988&count=31", "UA"));
        assert_ne!(one, built_in_x_bogus("aid=1988&count=30", "UA2"));
        let token = fake_ms_token();
        assert_eq!(token.len(), 148);
        assert!(token.ends_with("=="));
    }

    #[tokio::test]
    async fn built_in_signer_appends_x_bogus_last_and_none_leaves_the_url() {
        let url = Url::parse("https://www.tiktok.com/api/x/?a=1&msToken=t").unwrap();
        let built_in = Signer::new(&SignerChoice::BuiltIn, Duration::from_secs(1)).unwrap();
        let signed = built_in.sign(&url, "UA").await.unwrap();
        let last = signed.url.query_pairs().last().unwrap();
        assert_eq!(last.0, "X-Bogus");
        assert!(built_in.signs());
        let none = Signer::new(&SignerChoice::None, Duration::from_secs(1)).unwrap();
        assert_eq!(none.sign(&url, "UA").await.unwrap().url, url);
        assert!(!none.signs());
        let external = SignerChoice::External {
            url: "http://127.0.0.1:8080".to_owned(),
        };
        let SignerKind::External { endpoint, .. } =
            Signer::new(&external, Duration::from_secs(1)).unwrap().kind
        else {
            panic!("external signer expected");
        };
        assert_eq!(endpoint.as_str(), "http://127.0.0.1:8080/signature");
    }
}
