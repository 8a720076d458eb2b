//! The HTTP health probe (feature `health-http`): `GET /livez` and
//! `GET /readyz` answered with 200 or 503 and a one-line reason, for a
//! Kubernetes `httpGet` probe, without the program writing a server.
//!
//! # Anatomy
//!
//! - The accept thread, `threadbutler-health` (accept.rs), blocks in
//!   `accept` on a std `TcpListener`: no wake-up while nobody asks. It never
//!   reads from a client: each connection goes to a short-lived thread of
//!   its own, `threadbutler-health-conn`, while fewer than
//!   [`Limits::max_connections`] are open (slots.rs); over the cap it
//!   answers `503 busy` at once and closes, without reading.
//! - A connection's thread (exchange.rs) reads one request head (at most
//!   [`MAX_HEAD`](exchange::MAX_HEAD) bytes, else 431) within
//!   [`Limits::read_timeout`] (else 408), parses it with `httparse`
//!   (decision D47), answers from [`HealthSource::health`] (reply.rs) and
//!   closes. So a silent or slow
//!   client holds one slot for a few hundred milliseconds at most, and a
//!   probe that finds a free slot is answered at once, whatever the others
//!   do.
//! - The listener is bound before the tree starts (or handed over already
//!   bound, [`HealthAt::Listener`]), so an address in use is an error of
//!   `start()` with nothing started; until `start()` returns, `/readyz`
//!   answers 503 `starting`.
//!
//! # Shutdown order
//!
//! It ends with the application: when its `wait` has returned (the tree
//! ended) or when it is dropped. [`HealthEndpoint::stop`] drops the quit
//! channel, then connects to the listener once so that `accept` returns
//! and the accept thread sees it. The accept thread then closes the
//! listener, shuts down every open connection's socket (a thread blocked
//! reading sees the end of the stream at once) and joins every connection
//! thread; `stop` joins the accept thread. So when `wait` returns no thread
//! of the endpoint is left, and it never waits for a client's timeout:
//! each join is bounded by the read and write timeouts, and in practice
//! immediate.
//!
//! # Limitations
//!
//! One request per connection (`Connection: close`); plain HTTP only: bind
//! it to an address only the cluster reaches. Whoever can open connections
//! to the port can keep every slot taken (by reconnecting faster than the
//! read timeout cuts them), and probes then get `503 busy`: the cap bounds
//! the threads and memory such a client costs, not its effect on probes.
//! A client that sent its request before being refused as busy may see the
//! connection reset after the answer (its request was not read).

mod accept;
mod exchange;
mod reply;
mod slots;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};
use threadbutler_supervisor::{ExitReason, Stage};

use crate::error::Error;
use crate::ops::health::HealthSource;

/// How long `accept` rests after it failed (out of file descriptors, ...).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long `stop` tries to connect to the listener to wake `accept`.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// How many connections are served at once and how long each may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Connections answered at once; one more is refused with `503 busy`.
    pub(crate) max_connections: usize,
    /// How long a client has to send its whole request head.
    pub(crate) read_timeout: Duration,
    /// How long a client has to take the answer.
    pub(crate) write_timeout: Duration,
}

impl Limits {
    /// The limits of every endpoint (docs/operations.md, "Health probes"):
    /// far more connections than a kubelet's three probes open, and
    /// timeouts a probe sent from within the cluster never meets, well
    /// below Kubernetes' default probe timeout of 1 s.
    pub(crate) const DEFAULT: Limits = Limits {
        max_connections: 8,
        read_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_millis(300),
    };

    /// The timeouts a program may choose (`ButlerBuilder::health_timeout`):
    /// long enough to read a request at all, short enough that a silent
    /// client cannot hold a slot for long.
    pub(crate) const TIMEOUTS: std::ops::RangeInclusive<Duration> =
        Duration::from_millis(10)..=Duration::from_secs(60);
}

/// Where an endpoint listens: an address to bind, or a listener the
/// program bound itself.
#[derive(Debug)]
pub(crate) enum HealthAt {
    /// What `TcpListener::bind` takes: `"0.0.0.0:8080"`, `"127.0.0.1:0"`.
    Address(String),
    /// Already bound (port 0 chosen before the start, socket activation).
    Listener(TcpListener),
}

/// A listening health endpoint and its accept thread.
#[derive(Debug)]
pub(crate) struct HealthEndpoint {
    addr: SocketAddr,
    quit: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<usize>>>,
}

fn start_error(what: String) -> Error {
    Error::Start {
        reason: ExitReason::failed(Stage::Init, what.into()),
    }
}

impl HealthEndpoint {
    /// Listens `at` and answers from `source`, within [`Limits::DEFAULT`]
    /// but for `timeout` (read and write), if given.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an address that does not resolve or a timeout
    /// outside [`Limits::TIMEOUTS`];
    /// [`Error::Start`] when it cannot be bound (in use, not ours), a given
    /// listener cannot be used, or the thread cannot be spawned.
    pub(crate) fn open(
        at: HealthAt,
        source: Arc<HealthSource>,
        timeout: Option<Duration>,
    ) -> Result<HealthEndpoint, Error> {
        let mut limits = Limits::DEFAULT;
        if let Some(t) = timeout {
            if !Limits::TIMEOUTS.contains(&t) {
                return Err(Error::Config {
                    detail: format!(
                        "health_timeout: must be from {:?} to {:?}, found {t:?}",
                        Limits::TIMEOUTS.start(),
                        Limits::TIMEOUTS.end()
                    ),
                });
            }
            limits.read_timeout = t;
            limits.write_timeout = t;
        }
        let listener = match at {
            HealthAt::Address(addr) => bind(&addr)?,
            HealthAt::Listener(listener) => listener,
        };
        HealthEndpoint::listen(listener, source, limits)
    }

    /// Answers from `source` on `listener`, within `limits`.
    ///
    /// # Errors
    ///
    /// [`Error::Start`] when the listener cannot be made blocking or its
    /// address read, or the thread cannot be spawned.
    pub(crate) fn listen(
        listener: TcpListener,
        source: Arc<HealthSource>,
        limits: Limits,
    ) -> Result<HealthEndpoint, Error> {
        let bound = listener
            .local_addr()
            .map_err(|e| start_error(format!("the health endpoint's listener: {e}")))?;
        // A listener handed over may be non-blocking; `accept` must block.
        listener
            .set_nonblocking(false)
            .map_err(|e| start_error(format!("the health endpoint on {bound}: {e}")))?;
        let (quit_tx, quit_rx) = bounded::<()>(0);
        let thread = thread::Builder::new()
            .name("threadbutler-health".into())
            .spawn(move || accept::serve(listener, &source, limits, &quit_rx))
            .map_err(|e| start_error(format!("no thread for the health endpoint: {e}")))?;
        tracing::info!(
            addr = %bound,
            max_connections = limits.max_connections,
            read_timeout_ms = limits.read_timeout.as_millis() as u64,
            "health endpoint listening: GET /livez, /readyz"
        );
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

    /// Stops answering and ends its threads: the accept thread and, cut
    /// short, every connection's (see the module docs). Idempotent.
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
        // quit before serving it.
        let woken = TcpStream::connect_timeout(&reachable(self.addr), WAKE_TIMEOUT).is_ok();
        if woken || thread.is_finished() {
            match thread.join() {
                Ok(cut) => tracing::debug!(addr = %self.addr, cut, "health endpoint closed"),
                Err(_) => {
                    tracing::warn!(addr = %self.addr, "the health endpoint's thread panicked")
                }
            }
        } else {
            tracing::warn!(
                addr = %self.addr,
                "could not wake the health endpoint's thread; it ends at its next connection or with the process"
            );
        }
    }
}

impl Drop for HealthEndpoint {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Resolves `addr` and binds a listener there.
fn bind(addr: &str) -> Result<TcpListener, Error> {
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
    TcpListener::bind(&addrs[..])
        .map_err(|e| start_error(format!("the health endpoint cannot listen on {addr}: {e}")))
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

#[cfg(test)]
mod tests;
