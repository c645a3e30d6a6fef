//! One client connection: keep-alive HTTP/1.1 on the plain socket, CONNECT upgraded to a TLS
//! tunnel serving HTTP/1.1 again (its ClientHello fingerprinted first), and the connection-level
//! faults (delay, reset, hang, truncate).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::exchange::SimResponse;
use crate::server::client_hello::{Completeness, TlsFingerprint, completeness, parse_client_hello};
use crate::server::dispatch::{Arrival, Reply, dispatch};
use crate::server::http::{HttpStream, Incoming, encode_head};
use crate::server::state::SimState;

/// How long an idle keep-alive connection waits for its next request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a TLS handshake inside a tunnel may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// How a run of requests on one stream ended.
enum SessionEnd {
    /// Close normally (FIN / close_notify).
    Close,
    /// Close with RST.
    Reset,
    /// CONNECT accepted for this host; the 200 has been sent.
    Tunnel(String),
}

/// A stream that first yields bytes already read from the socket.
struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let count = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..count]);
            self.prefix.advance(count);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves one accepted TCP connection until it ends.
pub async fn serve_connection(state: Arc<SimState>, tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let mut plain = HttpStream::new(tcp);
    let plain_arrival = Arrival {
        tunnel_host: None,
        tls: None,
    };
    let host = match serve_requests(&state, &mut plain, &plain_arrival).await {
        SessionEnd::Close => {
            let _ = plain.stream.shutdown().await;
            return;
        }
        SessionEnd::Reset => {
            let _ = plain.stream.set_zero_linger();
            return;
        }
        SessionEnd::Tunnel(host) => host,
    };
    let mut prefix = plain.take_leftover().to_vec();
    let mut tcp = plain.stream;
    let hello = read_client_hello(&mut tcp, &mut prefix);
    let Ok(Ok(fingerprint)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, hello).await else {
        return;
    };
    let prefix = Bytes::from(prefix);
    let config = match state.certificates.server_config(&host) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%host, %error, "cannot make a certificate");
            return;
        }
    };
    let accept = TlsAcceptor::from(config).accept(Prefixed { prefix, inner: tcp });
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, accept).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            tracing::debug!(%host, %error, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    let mut secure = HttpStream::new(tls);
    match serve_requests(
        &state,
        &mut secure,
        &Arrival {
            tunnel_host: Some(host),
            tls: fingerprint,
        },
    )
    .await
    {
        SessionEnd::Close | SessionEnd::Tunnel(_) => {
            let _ = secure.stream.shutdown().await;
        }
        SessionEnd::Reset => {
            let _ = secure.stream.get_ref().0.inner.set_zero_linger();
        }
    }
}

/// Reads from `tcp` into `buffer` until it holds the whole ClientHello (or cannot), and
/// fingerprints it; the bytes stay in `buffer` for the TLS handshake.
async fn read_client_hello(
    tcp: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<TlsFingerprint>> {
    let mut chunk = [0u8; 4096];
    while completeness(buffer) == Completeness::NeedMore {
        let read = tcp.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Ok(parse_client_hello(buffer))
}

/// A plain-text error answer that closes the connection.
fn error_bytes(status: StatusCode, message: &str) -> Vec<u8> {
    let body = format!("tokworks-sim: {message}\n");
    let response = SimResponse::text(status, body);
    let mut bytes = encode_head(
        response.status,
        &response.headers,
        response.body.len(),
        false,
    );
    bytes.extend_from_slice(&response.body);
    bytes
}

async fn serve_requests<S>(
    state: &SimState,
    http: &mut HttpStream<S>,
    arrival: &Arrival,
) -> SessionEnd
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let Ok(Ok(incoming)) = tokio::time::timeout(IDLE_TIMEOUT, http.next_request()).await else {
            return SessionEnd::Close;
        };
        let (head, body) = match incoming {
            Incoming::Closed => return SessionEnd::Close,
            Incoming::Malformed { status, message } => {
                state
                    .counters
                    .record("malformed", Some(status.as_u16()), None);
                let _ = http
                    .send(&error_bytes(status, &format!("bad request: {message}")))
                    .await;
                return SessionEnd::Close;
            }
            Incoming::Request { head, body } => (head, body),
        };
        let started = Instant::now();
        let keep_alive = head.wants_keep_alive();
        let head_only = head.method == http::Method::HEAD;
        // A refused CONNECT closes the connection: the client would otherwise wait for a tunnel.
        let keep_alive = keep_alive && head.method != http::Method::CONNECT;
        let dispatched = dispatch(state, arrival, head, body);
        let mut entry = dispatched.entry;
        entry.tls.clone_from(&arrival.tls);
        let openai = entry.route == "openai";
        if openai {
            state.counters.openai_started();
        }
        if !dispatched.delay.is_zero() {
            tokio::time::sleep(dispatched.delay).await;
        }
        let mut end = None;
        match dispatched.reply {
            Reply::Respond(response) => {
                // After a 400 the rest of the stream cannot be trusted: close.
                let keep_alive = keep_alive && response.status != StatusCode::BAD_REQUEST;
                let mut bytes = encode_head(
                    response.status,
                    &response.headers,
                    response.body.len(),
                    keep_alive,
                );
                if !head_only {
                    bytes.extend_from_slice(&response.body);
                    entry.bytes = response.body.len() as u64;
                }
                entry.status = Some(response.status.as_u16());
                if http.send(&bytes).await.is_err() || !keep_alive {
                    end = Some(SessionEnd::Close);
                }
            }
            Reply::Tunnel { host } => {
                entry.status = Some(200);
                end = Some(
                    match http
                        .send(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await
                    {
                        Ok(()) => SessionEnd::Tunnel(host),
                        Err(_) => SessionEnd::Close,
                    },
                );
            }
            Reply::Reset => end = Some(SessionEnd::Reset),
            Reply::Hang => {
                if openai {
                    state.counters.openai_finished();
                }
                entry.duration_ms = 0.0;
                record(state, entry, dispatched.count_only, started);
                http.wait_for_peer_close().await;
                return SessionEnd::Close;
            }
            Reply::Truncate(response) => {
                let mut bytes = encode_head(
                    response.status,
                    &response.headers,
                    response.body.len(),
                    false,
                );
                if !head_only {
                    let sent = response.body.len() / 2;
                    bytes.extend_from_slice(&response.body[..sent]);
                    entry.bytes = sent as u64;
                }
                entry.status = Some(response.status.as_u16());
                let _ = http.send(&bytes).await;
                end = Some(SessionEnd::Close);
            }
        }
        if openai {
            state.counters.openai_finished();
        }
        record(state, entry, dispatched.count_only, started);
        if let Some(end) = end {
            return end;
        }
    }
}

fn record(
    state: &SimState,
    mut entry: crate::control::request_log::LogEntry,
    count_only: bool,
    started: Instant,
) {
    entry.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    if count_only {
        state
            .counters
            .record(&entry.route, entry.status, entry.fault.as_deref());
    } else {
        state.record(entry);
    }
}
