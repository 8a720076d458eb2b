//! The HTTP health probe (feature `health-http`): `GET /livez` and
//! `GET /readyz` answered with 200 or 503 and a one-line reason, for a
//! Kubernetes `httpGet` probe, without the program writing a server.
//!
//! # Anatomy
//!
//! - One thread, `threadbutler-health`, blocks in `accept` on a std
//!   `TcpListener`: no wake-up while nobody asks. It serves one connection
//!   at a time: reads the request head (at most [`MAX_HEAD`] bytes, within
//!   [`IO_TIMEOUT`]), parses it with `httparse` (decision D47), answers
//!   from [`HealthSource::health`] and closes the connection.
//! - The listener is bound before the tree starts, so an address in use is
//!   an error of `start()` with nothing started; until `start()` returns,
//!   `/readyz` answers 503 `starting`.
//! - It ends with the application: when its `wait` has returned (the tree
//!   ended) or when it is dropped. Ending sets the quit flag (a dropped
//!   channel), then connects to the listener once so that `accept` returns
//!   and the thread sees the flag.
//!
//! # Limitations
//!
//! One request per connection (`Connection: close`) and one connection at
//! a time: a probe every few seconds needs no more, and a client that
//! dawdles holds the thread for [`IO_TIMEOUT`] at most. Plain HTTP only:
//! bind it to an address only the cluster reaches.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded};
use threadbutler_supervisor::{ExitReason, Stage};

use crate::error::Error;
use crate::ops::health::{Health, HealthSource};

/// The largest request head read; a longer one is answered 431.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its request head, and to take the answer.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `accept` rests after it failed (out of file descriptors, ...).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A listening health endpoint and its thread.
#[derive(Debug)]
pub(crate) struct HealthEndpoint {
    addr: SocketAddr,
    quit: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl HealthEndpoint {
    /// Listens on `addr` (`"0.0.0.0:8080"`, `"127.0.0.1:0"`,
    /// `"localhost:9000"`) and answers from `source` on a thread of its own.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an address that does not resolve;
    /// [`Error::Start`] when it cannot be bound (in use, not ours) or the
    /// thread cannot be spawned.
    pub(crate) fn bind(addr: &str, source: Arc<HealthSource>) -> Result<HealthEndpoint, Error> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| Error::Config {
                detail: format!("health endpoint {addr:?}: {e}"),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(Error::Config {
                detail: format!("health endpoint {addr:?}: resolves to no address"),
            });
        }
        let start_error = |what: String| Error::Start {
            reason: ExitReason::failed(Stage::Init, what.into()),
        };
        let listener = TcpListener::bind(&addrs[..]).map_err(|e| {
            start_error(format!("the health endpoint cannot listen on {addr}: {e}"))
        })?;
        let bound = listener
            .local_addr()
            .map_err(|e| start_error(format!("the health endpoint on {addr}: {e}")))?;
        let (quit_tx, quit_rx) = bounded::<()>(0);
        let thread = thread::Builder::new()
            .name("threadbutler-health".into())
            .spawn(move || serve(&listener, &source, &quit_rx))
            .map_err(|e| start_error(format!("no thread for the health endpoint: {e}")))?;
        tracing::info!(addr = %bound, "health endpoint listening: GET /livez, /readyz");
        Ok(HealthEndpoint {
            addr: bound,
            quit: Mutex::new(Some(quit_tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The address it listens on (the port the OS chose for port 0).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops answering and ends the thread (waiting for a request being
    /// answered, [`IO_TIMEOUT`] at most). Idempotent.
    pub(crate) fn stop(&self) {
        let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        self.quit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Wake `accept`: it returns this connection, and the loop sees the
        // flag before serving it.
        let woken = TcpStream::connect_timeout(&reachable(self.addr), IO_TIMEOUT).is_ok();
        if woken || thread.is_finished() {
            let _ = thread.join();
            tracing::debug!(addr = %self.addr, "health endpoint closed");
        } else {
            tracing::warn!(addr = %self.addr, "could not wake the health endpoint's thread; it ends with the process");
        }
    }
}

impl Drop for HealthEndpoint {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address to connect to in order to reach a listener bound to `addr`
/// (a wildcard address is reached on the loopback of its family).
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn quitting(quit: &Receiver<()>) -> bool {
    matches!(quit.try_recv(), Err(TryRecvError::Disconnected))
}

/// The thread: accept, answer, until told to quit.
fn serve(listener: &TcpListener, source: &HealthSource, quit: &Receiver<()>) {
    for conn in listener.incoming() {
        if quitting(quit) {
            return;
        }
        match conn {
            Ok(stream) => {
                if let Err(e) = answer(stream, source) {
                    tracing::debug!(error = %e, "a health probe's connection failed");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the health endpoint could not accept a connection");
                // Out of descriptors and the like: rest instead of spinning,
                // and quit at once if told to.
                if quit.recv_timeout(ACCEPT_BACKOFF).is_err() && quitting(quit) {
                    return;
                }
            }
        }
    }
}

/// Reads one request head from `stream` and answers it.
fn answer(mut stream: TcpStream, source: &HealthSource) -> io::Result<()> {
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let deadline = Instant::now() + IO_TIMEOUT;
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
            Ok(0) => return Ok(()), // closed before a whole request
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break Reply::plain(408, "request head not received in time");
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
    stream.write_all(&reply.render())?;
    stream.flush()
}

/// An answer: status, one line of text, and whether to send it (not for
/// `HEAD`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    head_only: bool,
}

impl Reply {
    fn plain(status: u16, line: &str) -> Reply {
        Reply {
            status,
            body: format!("{line}\n"),
            head_only: false,
        }
    }

    fn reason(&self) -> &'static str {
        match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            431 => "Request Header Fields Too Large",
            _ => "Service Unavailable",
        }
    }

    /// The bytes on the wire.
    pub(crate) fn render(&self) -> Vec<u8> {
        let allow = if self.status == 405 {
            "Allow: GET, HEAD\r\n"
        } else {
            ""
        };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\n{allow}Connection: close\r\n\r\n",
            self.status,
            self.reason(),
            self.body.len()
        )
        .into_bytes();
        if !self.head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

/// The answer to `method path`, asking `health` only for a probe's path.
pub(crate) fn route(method: &str, path: &str, health: impl FnOnce() -> Health) -> Reply {
    let path = path.split('?').next().unwrap_or_default();
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return Reply::plain(405, "only GET and HEAD are answered");
    }
    let verdict = match path {
        "/livez" => {
            let h = health();
            h.not_live.map(|issue| issue.to_string())
        }
        "/readyz" => {
            let h = health();
            h.not_ready.map(|issue| issue.to_string())
        }
        _ => return Reply::plain(404, "not found: ask /livez or /readyz"),
    };
    let mut reply = match verdict {
        None => Reply::plain(200, "ok"),
        Some(why) => Reply::plain(503, &why),
    };
    reply.head_only = head_only;
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::health::{Phase, assess};

    fn running() -> Health {
        assess(Phase::Running, None)
    }

    fn draining() -> Health {
        assess(Phase::ShuttingDown, None)
    }

    #[test]
    fn probes_answer_200_or_503_with_one_line() {
        assert_eq!(route("GET", "/livez", running), Reply::plain(200, "ok"));
        assert_eq!(route("GET", "/readyz", running), Reply::plain(200, "ok"));
        assert_eq!(route("GET", "/livez", draining), Reply::plain(200, "ok"));
        assert_eq!(
            route("GET", "/readyz?verbose", draining),
            Reply::plain(503, "shutting down")
        );
    }

    #[test]
    fn other_paths_and_methods_are_refused_without_asking_the_tree() {
        let never = || -> Health { unreachable!("health is not asked for this request") };
        assert_eq!(route("GET", "/", never).status, 404);
        assert_eq!(route("POST", "/livez", never).status, 405);
        let text = String::from_utf8(route("PUT", "/readyz", never).render()).expect("utf-8");
        assert!(text.contains("\r\nAllow: GET, HEAD\r\n"), "{text}");
    }

    #[test]
    fn a_head_request_gets_the_status_and_length_without_the_body() {
        let text = String::from_utf8(route("HEAD", "/readyz", draining).render()).expect("utf-8");
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nContent-Length: 14\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "no body: {text}");
    }

    #[test]
    fn wildcard_addresses_are_reached_on_the_loopback() {
        let v4: SocketAddr = "0.0.0.0:8080".parse().expect("an address");
        assert_eq!(reachable(v4), "127.0.0.1:8080".parse().expect("an address"));
        let v6: SocketAddr = "[::]:8080".parse().expect("an address");
        assert_eq!(reachable(v6), "[::1]:8080".parse().expect("an address"));
        let own: SocketAddr = "10.0.0.7:8080".parse().expect("an address");
        assert_eq!(reachable(own), own);
    }
}
