//! Keys derived from the seed, CDN URL signatures (video `signature=`, image `x-signature=`,
//! path-expiry signatures) and the session tokens the site issues (`tt_chain_token` is
//! self-verifying, so no per-session state is kept).

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::corpus::ids;

type HmacSha256 = Hmac<Sha256>;

/// All secrets of one simulated site.
#[derive(Debug)]
pub struct Signer {
    cdn_mac: HmacSha256,
    session_mac: HmacSha256,
    session_counter: AtomicU64,
    seed: u64,
}

/// What a signature covers, so one kind can never be replayed as another.
#[derive(Debug, Clone, Copy)]
pub enum SignatureKind {
    Video,
    Image,
    PathExpiry,
}

impl SignatureKind {
    fn tag(self) -> &'static [u8] {
        match self {
            SignatureKind::Video => b"video|",
            SignatureKind::Image => b"image|",
            SignatureKind::PathExpiry => b"path|",
        }
    }
}

fn keyed_mac(seed: u64, purpose: &str) -> HmacSha256 {
    let mut hasher = Sha256::new();
    hasher.update(b"tokworks-sim ");
    hasher.update(purpose.as_bytes());
    hasher.update(seed.to_le_bytes());
    let key = hasher.finalize();
    // HMAC accepts keys of any length, so this cannot fail; fall back to an empty key anyway.
    HmacSha256::new_from_slice(&key)
        .or_else(|_| HmacSha256::new_from_slice(&[]))
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

impl Signer {
    pub fn new(seed: u64) -> Self {
        Signer {
            cdn_mac: keyed_mac(seed, "cdn"),
            session_mac: keyed_mac(seed, "session"),
            session_counter: AtomicU64::new(ids::mix64(seed) >> 16),
            seed,
        }
    }

    fn cdn_digest(&self, kind: SignatureKind, path: &str, expires: i64) -> [u8; 32] {
        let mut mac = self.cdn_mac.clone();
        mac.update(kind.tag());
        mac.update(path.as_bytes());
        mac.update(b"|");
        mac.update(expires.to_string().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// 32 lowercase hex characters (video `signature=` and path-expiry prefixes).
    pub fn hex_signature(&self, kind: SignatureKind, path: &str, expires: i64) -> String {
        hex::encode(&self.cdn_digest(kind, path, expires)[..16])
    }

    /// Standard base64 of 20 bytes, like `x-signature=` (before percent-encoding).
    pub fn image_signature(&self, path: &str, expires: i64) -> String {
        STANDARD.encode(&self.cdn_digest(SignatureKind::Image, path, expires)[..20])
    }

    pub fn verify_hex(
        &self,
        kind: SignatureKind,
        path: &str,
        expires: i64,
        signature: &str,
    ) -> bool {
        constant_time_eq(
            self.hex_signature(kind, path, expires).as_bytes(),
            signature.as_bytes(),
        )
    }

    pub fn verify_image(&self, path: &str, expires: i64, signature: &str) -> bool {
        constant_time_eq(
            self.image_signature(path, expires).as_bytes(),
            signature.as_bytes(),
        )
    }

    fn session_tag(&self, nonce: &[u8]) -> [u8; 32] {
        let mut mac = self.session_mac.clone();
        mac.update(nonce);
        mac.finalize().into_bytes().into()
    }

    /// A fresh `tt_chain_token`: base64 of 8 nonce bytes + 8 tag bytes (24 characters).
    pub fn issue_chain_token(&self) -> String {
        let counter = self.session_counter.fetch_add(1, Ordering::Relaxed);
        let nonce = ids::mix64(counter ^ self.seed.rotate_left(17)).to_be_bytes();
        let tag = self.session_tag(&nonce);
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&nonce);
        raw[8..].copy_from_slice(&tag[..8]);
        STANDARD.encode(raw)
    }

    /// Whether `token` is a `tt_chain_token` this site issued.
    pub fn is_issued_chain_token(&self, token: &str) -> bool {
        let Ok(raw) = STANDARD.decode(token.trim_matches('"')) else {
            return false;
        };
        if raw.len() != 16 {
            return false;
        }
        let tag = self.session_tag(&raw[..8]);
        constant_time_eq(&tag[..8], &raw[8..])
    }

    /// Companion cookies of one session, derived from its chain token:
    /// `(ttwid, tt_csrf_token, msToken)`.
    pub fn session_companions(&self, chain_token: &str, now_unix: i64) -> (String, String, String) {
        let mut material = Vec::with_capacity(160);
        for round in 0u8..4 {
            let mut mac = self.session_mac.clone();
            mac.update(chain_token.as_bytes());
            mac.update(&[round]);
            material.extend_from_slice(&mac.finalize().into_bytes());
        }
        let ttwid = format!(
            "1%7C{}%7C{now_unix}%7C{}",
            URL_SAFE_NO_PAD.encode(&material[..32]),
            hex::encode(&material[32..64])
        );
        let csrf_body = URL_SAFE_NO_PAD.encode(&material[64..84]);
        let tt_csrf_token = format!("{}-{}", &csrf_body[..8], &csrf_body[8..]);
        let mut ms_token = URL_SAFE_NO_PAD.encode(&material[..110]);
        ms_token.truncate(146);
        ms_token.push_str("==");
        (ttwid, tt_csrf_token, ms_token)
    }
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_tokens_verify_only_when_issued_by_this_seed() {
        let signer = Signer::new(1);
        let token = signer.issue_chain_token();
        assert_eq!(token.len(), 24);
        assert!(signer.is_issued_chain_token(&token));
        assert!(!Signer::new(2).is_issued_chain_token(&token));
        assert!(!signer.is_issued_chain_token("uiu06/A07IgETEOnRD+0Qg=="));
        assert_ne!(token, signer.issue_chain_token());
    }

    #[test]
    fn session_companions_have_the_documented_shapes() {
        let signer = Signer::new(1);
        let (ttwid, csrf, ms_token) = signer.session_companions("abc", 1_700_000_000);
        assert!(ttwid.starts_with("1%7C") && ttwid.contains("%7C1700000000%7C"));
        assert_eq!(csrf.as_bytes()[8], b'-');
        assert_eq!(ms_token.len(), 148);
        assert!(ms_token.ends_with("=="));
    }

    #[test]
    fn signatures_bind_path_and_expiry() {
        let signer = Signer::new(9);
        let signature = signer.hex_signature(SignatureKind::Video, "/video/tos/x/", 100);
        assert!(signer.verify_hex(SignatureKind::Video, "/video/tos/x/", 100, &signature));
        assert!(!signer.verify_hex(SignatureKind::Video, "/video/tos/x/", 101, &signature));
        assert!(!signer.verify_hex(SignatureKind::Video, "/video/tos/y/", 100, &signature));
        let image = signer.image_signature("/a~b.jpeg", 5);
        assert!(signer.verify_image("/a~b.jpeg", 5, &image));
    }
}
