//! `tokworks webhook verify`: checks the Standard Webhooks signature of a saved request (its
//! headers, a blank line, its raw body — as `curl -D`, a proxy log or a receiver dump it) with
//! the same verifier tokworks ships to receivers (`tokworks_shared::webhooks::signature`).

use tokworks_shared::webhooks::signature::verify_webhook;

/// Why a saved request did not verify.
#[derive(Debug, thiserror::Error)]
pub enum SavedRequestError {
    #[error("the saved request has no `{0}` header")]
    MissingHeader(&'static str),
    #[error("the signature does not verify: {0}")]
    Invalid(#[from] tokworks_shared::webhooks::signature::VerifyError),
}

/// Verifies `saved` (a request as text: an optional request line, headers, a blank line, the
/// body) against `secret` at `now_unix`.
pub fn verify_saved_request(
    saved: &[u8],
    secret: &str,
    now_unix: i64,
) -> Result<(), SavedRequestError> {
    let split = find_blank_line(saved);
    let (head, body) = match split {
        Some((head_end, body_start)) => (&saved[..head_end], &saved[body_start..]),
        None => (saved, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let header = |name: &'static str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
            .ok_or(SavedRequestError::MissingHeader(name))
    };
    verify_webhook(
        secret,
        &header("webhook-id")?,
        &header("webhook-timestamp")?,
        &header("webhook-signature")?,
        body,
        now_unix,
    )?;
    Ok(())
}

/// The end of the headers and the start of the body (`\r\n\r\n` or `\n\n`).
fn find_blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let crlf = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| (at, at + 4));
    let lf = bytes
        .windows(2)
        .position(|window| window == b"\n\n")
        .map(|at| (at, at + 2));
    match (crlf, lf) {
        (Some(crlf), Some(lf)) => Some(if crlf.0 <= lf.0 { crlf } else { lf }),
        (one, other) => one.or(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokworks_shared::webhooks::signature::SigningKey;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    fn saved(signature: &str, body: &str) -> String {
        format!(
            "POST /hook HTTP/1.1\r\nContent-Type: application/json\r\nwebhook-id: msg_1\r\n\
             webhook-timestamp: 1700000000\r\nwebhook-signature: {signature}\r\n\r\n{body}"
        )
    }

    #[test]
    fn a_signed_request_verifies_and_a_changed_body_does_not() {
        let body = r#"{"type":"job.completed"}"#;
        let signature =
            SigningKey::parse(SECRET)
                .unwrap()
                .sign("msg_1", 1_700_000_000, body.as_bytes());
        let request = saved(&signature, body);
        verify_saved_request(request.as_bytes(), SECRET, 1_700_000_010).unwrap();
        let tampered = saved(&signature, r#"{"type":"job.failed"}"#);
        assert!(matches!(
            verify_saved_request(tampered.as_bytes(), SECRET, 1_700_000_010),
            Err(SavedRequestError::Invalid(_))
        ));
        assert!(matches!(
            verify_saved_request(b"webhook-id: x\n\n{}", SECRET, 0),
            Err(SavedRequestError::MissingHeader("webhook-timestamp"))
        ));
    }
}
