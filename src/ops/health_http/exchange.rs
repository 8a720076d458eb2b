//! One connection's exchange: read a request head within the read timeout
//! and [`MAX_HEAD`] bytes, parse it with `httparse` (decision D47), write
//! the answer within the write timeout. Runs on the connection's own
//! thread; nothing here waits longer than [`Limits`] allow.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use crate::ops::health::HealthSource;
use crate::ops::health_http::Limits;
use crate::ops::health_http::reply::{Reply, route};

/// The largest request head read; a longer one is answered 431.
pub(crate) const MAX_HEAD: usize = 8 * 1024;

/// Reads one request head from `stream` and answers it. Returns without an
/// answer when the client closed first, or when the endpoint cut the
/// connection because it is closing (both read as the end of the stream).
pub(crate) fn exchange(
    stream: &TcpStream,
    source: &HealthSource,
    limits: Limits,
) -> io::Result<()> {
    let mut stream = stream;
    stream.set_write_timeout(Some(limits.write_timeout))?;
    let deadline = Instant::now() + limits.read_timeout;
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    let reply = loop {
        if len == buf.len() {
            break Reply::plain(431, "request head too large");
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Reply::plain(408, "request head not received in time");
        }
        stream.set_read_timeout(Some(left))?;
        let n = match stream.read(&mut buf[len..]) {
            Ok(0) => return Ok(()), // closed (or cut) before a whole request
            Ok(n) => n,
            // The socket's timeout may end a tick early: the deadline
            // decides, at the top of the loop.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(_)) => {
                let (method, path) = (req.method.unwrap_or(""), req.path.unwrap_or(""));
                let reply = route(method, path, || source.health());
                tracing::trace!(method, path, status = reply.status, "health probe answered");
                break reply;
            }
            Ok(httparse::Status::Partial) => continue,
            Err(e) => break Reply::plain(400, &format!("bad request: {e}")),
        }
    };
    if matches!(reply.status, 400 | 408 | 431) {
        tracing::debug!(status = reply.status, body = %reply.body.trim_end(), "a health probe's request refused");
    }
    stream.write_all(&reply.render())?;
    stream.flush()
}
