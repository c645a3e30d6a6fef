//! Standard Webhooks v1 signatures (HMAC-SHA256): secrets (`whsec_` + base64), signing of
//! `{webhook-id}.{webhook-timestamp}.{body}`, and the verifier we ship to clients: every `v1,`
//! entry of the header is checked in constant time, with a 5-minute timestamp tolerance.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Prefix of a symmetric secret as shown to users.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated secret (the spec allows 24 to 64).
pub const SECRET_BYTES: usize = 32;
/// Largest accepted gap between `webhook-timestamp` and now, either way.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 5 * 60;

type HmacSha256 = Hmac<Sha256>;

/// A secret that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the webhook secret is not valid base64 (after the `whsec_` prefix)")]
    NotBase64,
    #[error("the webhook secret is empty")]
    Empty,
}

/// Why a webhook did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("`webhook-timestamp` is not an integer")]
    InvalidTimestamp,
    #[error("`webhook-timestamp` is more than 5 minutes old")]
    TimestampTooOld,
    #[error("`webhook-timestamp` is more than 5 minutes in the future")]
    TimestampInFuture,
    #[error("no `v1` signature in `webhook-signature` matches")]
    NoMatchingSignature,
}

/// The HMAC key of a secret: the base64-decoded bytes after the optional `whsec_` prefix.
#[derive(Clone)]
pub struct SigningKey(HmacSha256);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SigningKey(…)")
    }
}

impl SigningKey {
    /// Loads `whsec_…` (or the bare base64).
    pub fn parse(secret: &str) -> Result<SigningKey, SecretError> {
        let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        HmacSha256::new_from_slice(&bytes)
            .map(SigningKey)
            .map_err(|_| SecretError::Empty)
    }

    fn mac(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// `v1,<base64 HMAC-SHA256 of "{webhook_id}.{timestamp}.{body}">`.
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(webhook_id, timestamp, body)
            .finalize()
            .into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }

    /// Whether `signature` (base64, without `v1,`) is this key's, compared in constant time.
    fn matches(&self, webhook_id: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
        let Ok(tag) = STANDARD.decode(signature) else {
            return false;
        };
        self.mac(webhook_id, timestamp, body)
            .verify_slice(&tag)
            .is_ok()
    }
}

/// A fresh random secret, `whsec_` + base64 of [`SECRET_BYTES`] bytes from a CSPRNG.
pub fn generate_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header value: one `v1,` entry per key, space-separated.
pub fn signature_header(
    keys: &[SigningKey],
    webhook_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    keys.iter()
        .map(|key| key.sign(webhook_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Verifies a received webhook, as clients should: `secret` is the `whsec_…` value of
/// `GET /v1/webhook-secret`; the three header values as received; `body` the raw bytes (never
/// re-serialised JSON); `now_unix` the receiver's clock in Unix seconds. Accepts when any `v1`
/// entry matches and the timestamp is within 5 minutes of `now_unix`.
pub fn verify_webhook(
    secret: &str,
    webhook_id: &str,
    webhook_timestamp: &str,
    webhook_signature: &str,
    body: &[u8],
    now_unix: i64,
) -> Result<(), VerifyError> {
    let key = SigningKey::parse(secret)?;
    let timestamp: i64 = webhook_timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::InvalidTimestamp)?;
    if now_unix.saturating_sub(timestamp) > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(VerifyError::TimestampTooOld);
    }
    if timestamp.saturating_sub(now_unix) > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(VerifyError::TimestampInFuture);
    }
    let matched = webhook_signature
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .any(|(_, signature)| key.matches(webhook_id, timestamp, body, signature));
    if matched {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference test vector of the Standard Webhooks Rust library (docs/webhooks.md "Standard Webhooks signing").
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const MSG_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1_649_367_553;
    const PAYLOAD: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn the_sender_reproduces_the_reference_vector() {
        let key = SigningKey::parse(SECRET).unwrap();
        assert_eq!(key.sign(MSG_ID, TIMESTAMP, PAYLOAD), SIGNATURE);
    }

    #[test]
    fn the_verifier_accepts_the_reference_vector() {
        verify_webhook(SECRET, MSG_ID, "1649367553", SIGNATURE, PAYLOAD, TIMESTAMP).unwrap();
    }

    #[test]
    fn the_timestamp_must_be_within_five_minutes() {
        let verify = |now| verify_webhook(SECRET, MSG_ID, "1649367553", SIGNATURE, PAYLOAD, now);
        assert_eq!(verify(TIMESTAMP + 300), Ok(()));
        assert_eq!(verify(TIMESTAMP - 300), Ok(()));
        assert_eq!(verify(TIMESTAMP + 301), Err(VerifyError::TimestampTooOld));
        assert_eq!(verify(TIMESTAMP - 301), Err(VerifyError::TimestampInFuture));
        assert_eq!(
            verify_webhook(SECRET, MSG_ID, "16493x", SIGNATURE, PAYLOAD, TIMESTAMP),
            Err(VerifyError::InvalidTimestamp)
        );
    }

    #[test]
    fn any_matching_v1_entry_is_enough() {
        let other = SigningKey::parse(&generate_secret()).unwrap();
        let header = format!(
            "v1a,abc {} v1,!!notbase64!! {SIGNATURE}",
            other.sign(MSG_ID, TIMESTAMP, PAYLOAD)
        );
        verify_webhook(SECRET, MSG_ID, "1649367553", &header, PAYLOAD, TIMESTAMP).unwrap();
        let keys = [other, SigningKey::parse(SECRET).unwrap()];
        let both = signature_header(&keys, MSG_ID, TIMESTAMP, PAYLOAD);
        assert!(both.ends_with(SIGNATURE));
        verify_webhook(SECRET, MSG_ID, "1649367553", &both, PAYLOAD, TIMESTAMP).unwrap();
    }

    #[test]
    fn bad_signatures_bodies_and_secrets_are_refused() {
        let refused = |header: &str, body: &[u8]| {
            verify_webhook(SECRET, MSG_ID, "1649367553", header, body, TIMESTAMP)
        };
        assert_eq!(
            refused(SIGNATURE, b"{}"),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            refused("v1,%%%", PAYLOAD),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            refused("v1,dGVzdA==", PAYLOAD),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            refused("v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=", PAYLOAD),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(refused("", PAYLOAD), Err(VerifyError::NoMatchingSignature));
        assert_eq!(
            SigningKey::parse("whsec_%%%").err(),
            Some(SecretError::NotBase64)
        );
        assert_eq!(SigningKey::parse("whsec_").err(), Some(SecretError::Empty));
    }

    #[test]
    fn generated_secrets_parse_and_differ() {
        let (first, second) = (generate_secret(), generate_secret());
        assert_ne!(first, second);
        assert!(first.starts_with(SECRET_PREFIX));
        SigningKey::parse(&first).unwrap();
    }
}
