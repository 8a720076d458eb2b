//! The accept thread of a health endpoint: takes each connection, hands it
//! to a short-lived thread of its own while a slot is free, answers `503
//! busy` at once otherwise, and on quitting cuts the open connections and
//! joins their threads.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, TryRecvError};

use crate::ops::health::HealthSource;
use crate::ops::health_http::exchange::exchange;
use crate::ops::health_http::reply::Reply;
use crate::ops::health_http::slots::{Slot, Slots};
use crate::ops::health_http::{ACCEPT_BACKOFF, Limits};

/// The name of every connection's thread.
pub(crate) const CONNECTION_THREAD: &str = "threadbutler-health-conn";

/// Whether the endpoint was told to quit (its quit channel was dropped).
fn quitting(quit: &Receiver<()>) -> bool {
    matches!(quit.try_recv(), Err(TryRecvError::Disconnected))
}

/// The accept thread: accepts and dispatches until told to quit, then
/// closes the listener, cuts the open connections and joins their threads.
/// Returns how many connections it cut.
pub(crate) fn serve(
    listener: TcpListener,
    source: &Arc<HealthSource>,
    limits: Limits,
    quit: &Receiver<()>,
) -> usize {
    let slots = Slots::new(limits.max_connections);
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    for conn in listener.incoming() {
        if quitting(quit) {
            break;
        }
        reap(&mut threads);
        match conn {
            Ok(stream) => {
                let stream = Arc::new(stream);
                match slots.admit(&stream) {
                    Some(slot) => {
                        if let Some(t) = spawn(stream, slot, source, limits) {
                            threads.push(t);
                        }
                    }
                    None => refuse(&stream),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the health endpoint could not accept a connection");
                // Out of descriptors and the like: rest instead of spinning,
                // and quit at once if told to.
                if quit.recv_timeout(ACCEPT_BACKOFF).is_err() && quitting(quit) {
                    break;
                }
            }
        }
    }
    // No connection queues up any more; the open ones end now.
    drop(listener);
    let cut = slots.close_all();
    for t in threads {
        if t.join().is_err() {
            tracing::warn!("a health probe's connection thread panicked");
        }
    }
    cut
}

/// Answers `stream` on a thread of its own, which gives `slot` back when it
/// ends. `None` when no thread could be made (the connection is closed).
fn spawn(
    stream: Arc<TcpStream>,
    slot: Slot,
    source: &Arc<HealthSource>,
    limits: Limits,
) -> Option<JoinHandle<()>> {
    let source = Arc::clone(source);
    let spawned = thread::Builder::new()
        .name(CONNECTION_THREAD.into())
        .spawn(move || {
            if let Err(e) = exchange(&stream, &source, limits) {
                tracing::debug!(error = %e, "a health probe's connection failed");
            }
            // The slot is free before the client sees the close (slots.rs).
            drop(slot);
            drop(stream);
        });
    match spawned {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(error = %e, "no thread for a health probe's connection; closed it");
            None
        }
    }
}

/// Joins the connection threads that have ended.
fn reap(threads: &mut Vec<JoinHandle<()>>) {
    let mut i = 0;
    while i < threads.len() {
        if threads[i].is_finished() {
            if threads.swap_remove(i).join().is_err() {
                tracing::warn!("a health probe's connection thread panicked");
            }
        } else {
            i += 1;
        }
    }
}

/// Every slot is taken: `503 busy`, then close, without reading the request
/// and without ever blocking the accept thread (the answer goes into the
/// new socket's empty send buffer, written without blocking).
fn refuse(stream: &TcpStream) {
    let peer = stream.peer_addr().ok();
    let mut out = stream;
    let written = stream.set_nonblocking(true).is_ok()
        && out.write_all(&Reply::plain(503, "busy").render()).is_ok();
    let _ = stream.shutdown(Shutdown::Write);
    tracing::debug!(
        peer = ?peer,
        written,
        "health endpoint busy: every connection slot taken, a connection refused with 503"
    );
}
