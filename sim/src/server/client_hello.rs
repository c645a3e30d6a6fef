//! The TLS ClientHello of a CONNECT tunnel, read before rustls sees the stream: its cipher-suite
//! and extension order, a JA4 fingerprint and a coarse label (`chrome-like`, `browser-like`,
//! `openssl-like`, `other`), so tests can tell a browser-grade client from rustls or Python's
//! OpenSSL (docs/tiktok-formats.md "TLS fingerprints"). The parser never panics on any input.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// A TLS record's header: content type, version, length.
const RECORD_HEADER: usize = 5;
const HANDSHAKE_RECORD: u8 = 0x16;
const CLIENT_HELLO: u8 = 0x01;
/// The most bytes read while waiting for a whole ClientHello (Chrome's is about 2 KiB).
pub const MAX_CLIENT_HELLO_BYTES: usize = 32 * 1024;

const EXTENSION_SERVER_NAME: u16 = 0x0000;
const EXTENSION_SIGNATURE_ALGORITHMS: u16 = 0x000d;
const EXTENSION_ALPN: u16 = 0x0010;
const EXTENSION_ENCRYPT_THEN_MAC: u16 = 0x0016;
const EXTENSION_SUPPORTED_VERSIONS: u16 = 0x002b;
/// `application_settings` (ALPS), old and new code points: only Chromium sends them.
const EXTENSIONS_ALPS: [u16; 2] = [0x4469, 0x44cd];

/// What the simulator records of one ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsFingerprint {
    /// `chrome-like` (GREASE and ALPS), `browser-like` (GREASE), `openssl-like` (no GREASE,
    /// `encrypt_then_mac`), else `other` (rustls, Go, …).
    pub label: &'static str,
    /// JA4 (FoxIO's TLS client fingerprint over TCP): stable across Chrome's extension shuffling.
    pub ja4: String,
    /// Whether GREASE values (RFC 8701) appear among the cipher suites or extensions.
    pub grease: bool,
    /// Cipher suites in the order sent (GREASE included).
    pub cipher_suites: Vec<u16>,
    /// Extension types in the order sent (GREASE included).
    pub extensions: Vec<u16>,
    /// The first ALPN protocol offered.
    pub alpn: Option<String>,
}

/// Whether the bytes read so far hold a whole ClientHello (or can never become one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// Read more.
    NeedMore,
    /// Enough to parse (or give up): stop reading.
    Done,
}

/// Decides whether to keep reading: done once the handshake message is complete, the first
/// byte is not a handshake record, or [`MAX_CLIENT_HELLO_BYTES`] are buffered.
pub fn completeness(bytes: &[u8]) -> Completeness {
    if bytes.len() >= MAX_CLIENT_HELLO_BYTES {
        return Completeness::Done;
    }
    match handshake_payload(bytes) {
        Payload::Complete(_) | Payload::Invalid => Completeness::Done,
        Payload::Partial => Completeness::NeedMore,
    }
}

enum Payload {
    Complete(Vec<u8>),
    Partial,
    Invalid,
}

/// The handshake message carried by the leading handshake records, defragmented.
fn handshake_payload(bytes: &[u8]) -> Payload {
    let mut payload = Vec::new();
    let mut offset = 0;
    loop {
        let Some(header) = bytes.get(offset..offset + RECORD_HEADER) else {
            return Payload::Partial;
        };
        if header[0] != HANDSHAKE_RECORD {
            return Payload::Invalid;
        }
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if length == 0 {
            return Payload::Invalid;
        }
        let start = offset + RECORD_HEADER;
        let Some(fragment) = bytes.get(start..start + length) else {
            return Payload::Partial;
        };
        payload.extend_from_slice(fragment);
        offset = start + length;
        if let Some(head) = payload.get(..4) {
            if head[0] != CLIENT_HELLO {
                return Payload::Invalid;
            }
            let message_length =
                (usize::from(head[1]) << 16) | (usize::from(head[2]) << 8) | usize::from(head[3]);
            if payload.len() >= 4 + message_length {
                payload.truncate(4 + message_length);
                return Payload::Complete(payload);
            }
        }
    }
}

/// A cursor over a byte slice whose reads fail instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        if count > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|bytes| bytes[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2)
            .map(|bytes| u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn vector_u8(&mut self) -> Option<&'a [u8]> {
        let length = self.u8()?;
        self.take(usize::from(length))
    }

    fn vector_u16(&mut self) -> Option<&'a [u8]> {
        let length = self.u16()?;
        self.take(usize::from(length))
    }

    fn u16_list(bytes: &[u8]) -> Vec<u16> {
        bytes
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect()
    }
}

/// Whether `value` is a GREASE code point (RFC 8701: `0x?A?A` with equal bytes).
pub fn is_grease(value: u16) -> bool {
    let [high, low] = value.to_be_bytes();
    high == low && low & 0x0f == 0x0a
}

/// Parses the ClientHello at the start of `bytes` (TLS records as read from the socket).
pub fn parse_client_hello(bytes: &[u8]) -> Option<TlsFingerprint> {
    let Payload::Complete(message) = handshake_payload(bytes) else {
        return None;
    };
    let mut reader = Reader {
        bytes: message.get(4..)?,
    };
    let legacy_version = reader.u16()?;
    reader.take(32)?;
    reader.vector_u8()?;
    let cipher_suites = Reader::u16_list(reader.vector_u16()?);
    reader.vector_u8()?;
    let mut extensions = Vec::new();
    let mut alpn = None;
    let mut versions = Vec::new();
    let mut signature_algorithms = Vec::new();
    if let Some(block) = reader.vector_u16() {
        let mut block = Reader { bytes: block };
        while let (Some(kind), Some(data)) = (block.u16(), block.vector_u16()) {
            extensions.push(kind);
            let mut data = Reader { bytes: data };
            match kind {
                EXTENSION_ALPN => {
                    alpn = data.vector_u16().and_then(|list| {
                        let mut list = Reader { bytes: list };
                        list.vector_u8()
                            .map(|name| String::from_utf8_lossy(name).into_owned())
                    });
                }
                EXTENSION_SUPPORTED_VERSIONS => {
                    versions = data.vector_u8().map(Reader::u16_list).unwrap_or_default();
                }
                EXTENSION_SIGNATURE_ALGORITHMS => {
                    signature_algorithms =
                        data.vector_u16().map(Reader::u16_list).unwrap_or_default();
                }
                _ => {}
            }
        }
    }
    let grease = cipher_suites
        .iter()
        .chain(&extensions)
        .any(|v| is_grease(*v));
    let label = if grease && extensions.iter().any(|kind| EXTENSIONS_ALPS.contains(kind)) {
        "chrome-like"
    } else if grease {
        "browser-like"
    } else if extensions.contains(&EXTENSION_ENCRYPT_THEN_MAC) {
        "openssl-like"
    } else {
        "other"
    };
    let version = versions
        .iter()
        .copied()
        .filter(|version| !is_grease(*version))
        .max()
        .unwrap_or(legacy_version);
    let ja4 = ja4(
        version,
        &cipher_suites,
        &extensions,
        alpn.as_deref(),
        &signature_algorithms,
    );
    Some(TlsFingerprint {
        label,
        ja4,
        grease,
        cipher_suites,
        extensions,
        alpn,
    })
}

/// JA4 (`t{version}{d|i}{ciphers:02}{extensions:02}{alpn}_{ciphers hash}_{extensions hash}`):
/// counts and hashes leave GREASE out, the lists are sorted, the extension hash leaves SNI and
/// ALPN out and appends the signature algorithms in their order.
fn ja4(
    version: u16,
    cipher_suites: &[u16],
    extensions: &[u16],
    alpn: Option<&str>,
    signature_algorithms: &[u16],
) -> String {
    let version = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        _ => "00",
    };
    let mut ciphers: Vec<u16> = cipher_suites
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    let real_extensions: Vec<u16> = extensions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    let sni = if real_extensions.contains(&EXTENSION_SERVER_NAME) {
        'd'
    } else {
        'i'
    };
    let alpn = match alpn.map(str::as_bytes) {
        Some([first, .., last])
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() =>
        {
            format!("{}{}", char::from(*first), char::from(*last))
        }
        Some([only]) if only.is_ascii_alphanumeric() => format!("{0}{0}", char::from(*only)),
        Some([]) | None => "00".to_owned(),
        Some(_) => "99".to_owned(),
    };
    let head = format!(
        "t{version}{sni}{:02}{:02}{alpn}",
        ciphers.len().min(99),
        real_extensions.len().min(99)
    );
    ciphers.sort_unstable();
    let mut hashed_extensions: Vec<u16> = real_extensions
        .into_iter()
        .filter(|kind| *kind != EXTENSION_SERVER_NAME && *kind != EXTENSION_ALPN)
        .collect();
    hashed_extensions.sort_unstable();
    let mut extension_text = hex_list(&hashed_extensions);
    if !signature_algorithms.is_empty() {
        extension_text.push('_');
        extension_text.push_str(&hex_list(signature_algorithms));
    }
    format!(
        "{head}_{}_{}",
        truncated_sha256(&hex_list(&ciphers)),
        truncated_sha256(&extension_text)
    )
}

fn hex_list(values: &[u16]) -> String {
    values
        .iter()
        .map(|value| format!("{value:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn truncated_sha256(text: &str) -> String {
    if text.is_empty() {
        return "000000000000".to_owned();
    }
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(digest)[..12].to_owned()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A ClientHello record with these ciphers and extensions (`(type, data)`).
    fn client_hello(ciphers: &[u16], extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        let cipher_bytes: Vec<u8> = ciphers.iter().flat_map(|c| c.to_be_bytes()).collect();
        body.extend_from_slice(&u16::try_from(cipher_bytes.len()).unwrap().to_be_bytes());
        body.extend_from_slice(&cipher_bytes);
        body.extend_from_slice(&[1, 0]);
        let mut extension_bytes = Vec::new();
        for (kind, data) in extensions {
            extension_bytes.extend_from_slice(&kind.to_be_bytes());
            extension_bytes.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
            extension_bytes.extend_from_slice(data);
        }
        body.extend_from_slice(&u16::try_from(extension_bytes.len()).unwrap().to_be_bytes());
        body.extend_from_slice(&extension_bytes);
        let mut handshake = vec![CLIENT_HELLO];
        handshake.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
        handshake.extend_from_slice(&body);
        let mut record = vec![HANDSHAKE_RECORD, 0x03, 0x01];
        record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
        record.extend_from_slice(&handshake);
        record
    }

    fn alpn_h2() -> Vec<u8> {
        vec![
            0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
        ]
    }

    fn versions_13() -> Vec<u8> {
        vec![4, 0x3a, 0x3a, 0x03, 0x04]
    }

    #[test]
    fn a_chrome_shaped_hello_is_chrome_like_and_its_ja4_ignores_extension_order() {
        let ciphers = [0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b];
        let mut extensions = vec![
            (0x0a0a, vec![]),
            (EXTENSION_SERVER_NAME, vec![0, 0]),
            (EXTENSION_ALPN, alpn_h2()),
            (EXTENSION_SUPPORTED_VERSIONS, versions_13()),
            (0x44cd, vec![0, 3, 2, b'h', b'2']),
            (0x001b, vec![2, 0, 2]),
            (0x1a1a, vec![0]),
        ];
        let first = parse_client_hello(&client_hello(&ciphers, &extensions)).unwrap();
        assert_eq!(first.label, "chrome-like");
        assert!(first.grease);
        assert_eq!(first.alpn.as_deref(), Some("h2"));
        assert_eq!(first.cipher_suites, ciphers);
        assert!(first.ja4.starts_with("t13d0405h2_"), "{}", first.ja4);
        extensions.swap(1, 4);
        extensions.swap(2, 5);
        let shuffled = parse_client_hello(&client_hello(&ciphers, &extensions)).unwrap();
        assert_ne!(shuffled.extensions, first.extensions);
        assert_eq!(shuffled.ja4, first.ja4);
    }

    #[test]
    fn hellos_without_grease_are_labelled_by_their_extensions() {
        let openssl = client_hello(
            &[0x1302, 0x1303, 0x1301, 0x00ff],
            &[
                (EXTENSION_SERVER_NAME, vec![0, 0]),
                (EXTENSION_ENCRYPT_THEN_MAC, vec![]),
            ],
        );
        let parsed = parse_client_hello(&openssl).unwrap();
        assert_eq!(parsed.label, "openssl-like");
        assert!(!parsed.grease);
        assert!(parsed.ja4.starts_with("t12d0402"), "{}", parsed.ja4);
        let other = client_hello(&[0x1302, 0x1301], &[(EXTENSION_SERVER_NAME, vec![0, 0])]);
        assert_eq!(parse_client_hello(&other).unwrap().label, "other");
    }

    #[test]
    fn a_hello_split_over_records_is_reassembled_and_partial_input_asks_for_more() {
        let whole = client_hello(&[0x1301], &[(EXTENSION_SERVER_NAME, vec![0, 0])]);
        let handshake = &whole[RECORD_HEADER..];
        let (first, second) = handshake.split_at(10);
        let mut split = Vec::new();
        for part in [first, second] {
            split.extend_from_slice(&[HANDSHAKE_RECORD, 3, 1]);
            split.extend_from_slice(&u16::try_from(part.len()).unwrap().to_be_bytes());
            split.extend_from_slice(part);
        }
        assert_eq!(
            parse_client_hello(&split).unwrap().cipher_suites,
            vec![0x1301]
        );
        assert_eq!(
            completeness(&split[..split.len() - 1]),
            Completeness::NeedMore
        );
        assert_eq!(completeness(&split), Completeness::Done);
        assert_eq!(completeness(b"GET / HTTP/1.1\r\n"), Completeness::Done);
        assert_eq!(parse_client_hello(b"GET / HTTP/1.1\r\n"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = completeness(&bytes);
            let _ = parse_client_hello(&bytes);
        }

        #[test]
        fn arbitrary_bytes_behind_a_handshake_header_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let mut bytes = vec![HANDSHAKE_RECORD, 3, 1];
            bytes.extend_from_slice(&u16::try_from(body.len() + 4).unwrap().to_be_bytes());
            bytes.push(CLIENT_HELLO);
            bytes.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
            bytes.extend_from_slice(&body);
            let _ = parse_client_hello(&bytes);
        }
    }
}
