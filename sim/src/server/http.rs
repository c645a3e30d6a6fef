//! A small, strict HTTP/1.1 codec over any byte stream: reads request heads and bodies
//! (Content-Length or chunked) with limits, reports malformed input as a 400 reason instead of
//! failing, and encodes responses into one buffer so each answer leaves in a single write.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request head accepted (request line plus headers).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header lines accepted.
pub const MAX_HEADERS: usize = 128;
/// Largest request body accepted (images sent to the vision API are base64 inside JSON).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A parsed request line and headers.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: Method,
    /// The request target exactly as sent (origin, absolute, authority or asterisk form).
    pub target: String,
    /// `HTTP/1.0` (else `HTTP/1.1`).
    pub http10: bool,
    pub headers: HeaderMap,
}

impl RequestHead {
    /// Whether the client wants the connection kept open after this exchange.
    pub fn wants_keep_alive(&self) -> bool {
        let tokens: Vec<String> = self
            .headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| {
                value
                    .split(',')
                    .map(|token| token.trim().to_ascii_lowercase())
            })
            .collect();
        if self.http10 {
            tokens.iter().any(|token| token == "keep-alive")
        } else {
            !tokens.iter().any(|token| token == "close")
        }
    }
}

/// What arrived on the connection.
#[derive(Debug)]
pub enum Incoming {
    Request {
        head: RequestHead,
        body: Bytes,
    },
    /// The peer closed cleanly between requests.
    Closed,
    /// Unparseable input: answer `status` with `message`, then close.
    Malformed {
        status: StatusCode,
        message: String,
    },
}

fn malformed(message: impl Into<String>) -> Incoming {
    Incoming::Malformed {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

/// A stream with its read buffer.
#[derive(Debug)]
pub struct HttpStream<S> {
    pub stream: S,
    buffer: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> HttpStream<S> {
    pub fn new(stream: S) -> Self {
        HttpStream {
            stream,
            buffer: BytesMut::with_capacity(8 * 1024),
        }
    }

    /// Bytes received but not consumed (e.g. a TLS ClientHello sent right after CONNECT).
    pub fn take_leftover(&mut self) -> Bytes {
        self.buffer.split().freeze()
    }

    /// Reads more bytes; `Ok(false)` at end of stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.buffer.capacity() - self.buffer.len() < 4096 {
            self.buffer.reserve(8 * 1024);
        }
        Ok(self.stream.read_buf(&mut self.buffer).await? > 0)
    }

    /// Reads the next request. I/O errors are returned; protocol errors become `Malformed`.
    pub async fn next_request(&mut self) -> std::io::Result<Incoming> {
        let mut scanned = 0;
        let head_end = loop {
            // Tolerate empty lines before a request line (RFC 9112 §2.2).
            while self.buffer.starts_with(b"\r\n") {
                self.buffer.advance(2);
            }
            if let Some(position) = find_head_end(&self.buffer, scanned) {
                break position;
            }
            scanned = self.buffer.len().saturating_sub(3);
            if self.buffer.len() > MAX_HEAD_BYTES {
                return Ok(Incoming::Malformed {
                    status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    message: format!("request head larger than {MAX_HEAD_BYTES} bytes"),
                });
            }
            if !self.fill().await? {
                return Ok(if self.buffer.is_empty() {
                    Incoming::Closed
                } else {
                    malformed("connection closed in the middle of a request head")
                });
            }
        };
        let head_bytes = self.buffer.split_to(head_end + 4);
        let head = match parse_head(&head_bytes[..head_end]) {
            Ok(head) => head,
            Err(message) => return Ok(malformed(message)),
        };
        let body = match self.read_body(&head).await? {
            Ok(body) => body,
            Err(incoming) => return Ok(incoming),
        };
        Ok(Incoming::Request { head, body })
    }

    async fn read_body(&mut self, head: &RequestHead) -> std::io::Result<Result<Bytes, Incoming>> {
        let chunked = head
            .headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .any(|value| {
                value
                    .to_str()
                    .is_ok_and(|text| text.to_ascii_lowercase().contains("chunked"))
            });
        let lengths: Vec<&HeaderValue> = head
            .headers
            .get_all(header::CONTENT_LENGTH)
            .iter()
            .collect();
        if chunked && !lengths.is_empty() {
            return Ok(Err(malformed(
                "both Transfer-Encoding: chunked and Content-Length were sent",
            )));
        }
        let expects_continue = head
            .headers
            .get(header::EXPECT)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if chunked {
            if expects_continue {
                self.send(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
            }
            return self.read_chunked().await;
        }
        let Some(first) = lengths.first() else {
            return Ok(Ok(Bytes::new()));
        };
        if lengths
            .iter()
            .any(|value| value.as_bytes() != first.as_bytes())
        {
            return Ok(Err(malformed("conflicting Content-Length headers")));
        }
        let Some(length) = first
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
        else {
            return Ok(Err(malformed(format!(
                "invalid Content-Length {:?}",
                String::from_utf8_lossy(first.as_bytes())
            ))));
        };
        if length > MAX_BODY_BYTES {
            return Ok(Err(Incoming::Malformed {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: format!("request body of {length} bytes is larger than {MAX_BODY_BYTES}"),
            }));
        }
        if expects_continue && length > self.buffer.len() {
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        while self.buffer.len() < length {
            if !self.fill().await? {
                return Ok(Err(malformed(format!(
                    "connection closed after {} of {length} body bytes",
                    self.buffer.len()
                ))));
            }
        }
        Ok(Ok(self.buffer.split_to(length).freeze()))
    }

    async fn read_line(&mut self) -> std::io::Result<Option<BytesMut>> {
        loop {
            if let Some(position) = self.buffer.windows(2).position(|window| window == b"\r\n") {
                let line = self.buffer.split_to(position);
                self.buffer.advance(2);
                return Ok(Some(line));
            }
            if self.buffer.len() > MAX_HEAD_BYTES || !self.fill().await? {
                return Ok(None);
            }
        }
    }

    async fn read_chunked(&mut self) -> std::io::Result<Result<Bytes, Incoming>> {
        let mut body = BytesMut::new();
        loop {
            let Some(line) = self.read_line().await? else {
                return Ok(Err(malformed(
                    "chunked body ended without a chunk size line",
                )));
            };
            let size_text = String::from_utf8_lossy(&line);
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let Ok(size) = usize::from_str_radix(size_text, 16) else {
                return Ok(Err(malformed(format!("invalid chunk size {size_text:?}"))));
            };
            if size == 0 {
                loop {
                    match self.read_line().await? {
                        Some(trailer) if trailer.is_empty() => return Ok(Ok(body.freeze())),
                        Some(_) => {}
                        None => return Ok(Err(malformed("chunked body ended inside its trailer"))),
                    }
                }
            }
            if body.len() + size > MAX_BODY_BYTES {
                return Ok(Err(Incoming::Malformed {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    message: format!("chunked request body larger than {MAX_BODY_BYTES} bytes"),
                }));
            }
            while self.buffer.len() < size + 2 {
                if !self.fill().await? {
                    return Ok(Err(malformed("connection closed inside a chunk")));
                }
            }
            body.extend_from_slice(&self.buffer[..size]);
            if &self.buffer[size..size + 2] != b"\r\n" {
                return Ok(Err(malformed("chunk data not followed by CRLF")));
            }
            self.buffer.advance(size + 2);
        }
    }

    /// Writes `bytes` in one go and flushes.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Discards input until the peer closes or errors (used by the `hang` fault).
    pub async fn wait_for_peer_close(&mut self) {
        loop {
            self.buffer.clear();
            match self.fill().await {
                Ok(true) => {}
                Ok(false) | Err(_) => return,
            }
        }
    }
}

fn find_head_end(buffer: &[u8], from: usize) -> Option<usize> {
    buffer
        .get(from..)?
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|position| position + from)
}

fn parse_head(bytes: &[u8]) -> Result<RequestHead, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "request head is not valid UTF-8".to_string())?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "malformed request line {request_line:?}; expected METHOD TARGET HTTP/1.1"
        ));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        other => {
            return Err(format!(
                "unsupported protocol version {other:?}; this proxy speaks HTTP/1.1"
            ));
        }
    };
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|_| format!("invalid method {method:?}"))?;
    if target.is_empty() || target.bytes().any(|byte| byte.is_ascii_control()) {
        return Err(format!("invalid request target {target:?}"));
    }
    let mut headers = HeaderMap::new();
    for line in lines {
        if headers.len() >= MAX_HEADERS {
            return Err(format!("more than {MAX_HEADERS} header lines"));
        }
        if line.starts_with([' ', '\t']) {
            return Err("obsolete header line folding is not accepted".to_string());
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("malformed header line {line:?}"));
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value = HeaderValue::from_str(value.trim_matches([' ', '\t']))
            .map_err(|_| format!("invalid value for header {name}"))?;
        headers.append(name, value);
    }
    Ok(RequestHead {
        method,
        target: target.to_string(),
        http10,
        headers,
    })
}

/// `Tue, 01 Jan 2026 00:00:00 GMT` for now.
fn http_date() -> String {
    chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn push_title_case(out: &mut Vec<u8>, name: &str) {
    let mut upper = true;
    for byte in name.bytes() {
        out.push(if upper {
            byte.to_ascii_uppercase()
        } else {
            byte
        });
        upper = byte == b'-';
    }
}

/// Status line and headers: the model's headers plus `Content-Length` (= `content_length`),
/// `Date` and `Connection`.
pub fn encode_head(
    status: StatusCode,
    headers: &HeaderMap,
    content_length: usize,
    keep_alive: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + headers.len() * 48);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH
            || name == header::CONNECTION
            || name == header::DATE
            || name == header::TRANSFER_ENCODING
        {
            continue;
        }
        push_title_case(&mut out, name.as_str());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "Content-Length: {content_length}\r\nDate: {}\r\n",
            http_date()
        )
        .as_bytes(),
    );
    out.extend_from_slice(if keep_alive {
        b"Connection: keep-alive\r\n\r\n"
    } else {
        b"Connection: close\r\n\r\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(input: &'static [u8]) -> Incoming {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        client.write_all(input).await.unwrap();
        drop(client);
        HttpStream::new(server).next_request().await.unwrap()
    }

    #[tokio::test]
    async fn parses_requests_and_bodies() {
        let Incoming::Request { head, body } =
            parse(b"\r\nPOST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc").await
        else {
            panic!("not a request")
        };
        assert_eq!(head.method, Method::POST);
        assert_eq!(&body[..], b"abc");
        let Incoming::Request { body, .. } =
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").await
        else {
            panic!("not a request")
        };
        assert_eq!(&body[..], b"abcde");
    }

    #[tokio::test]
    async fn reports_malformed_input() {
        for input in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
            b"GET / HTT",
        ] {
            let (mut client, server) = tokio::io::duplex(1 << 16);
            client.write_all(input).await.unwrap();
            drop(client);
            let incoming = HttpStream::new(server).next_request().await.unwrap();
            assert!(
                matches!(incoming, Incoming::Malformed { .. }),
                "{input:?} -> {incoming:?}"
            );
        }
    }
}
