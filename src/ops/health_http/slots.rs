//! The open connections of a health endpoint: at most a fixed number at
//! once, each one's socket reachable from the accept thread so that closing
//! the endpoint can cut them all.
//!
//! # Invariants
//!
//! - At most `cap` connections hold a [`Slot`]; the accept thread admits a
//!   connection (takes a slot) before it spawns the connection's thread, so
//!   a thread that has not run yet counts too.
//! - A slot is given back before its socket closes: the registry holds one
//!   of the two `Arc`s of the stream, the connection's thread the other,
//!   and the thread drops its [`Slot`] (which drops the registry's `Arc`)
//!   before its own. A client that has seen the connection close can
//!   therefore count on its slot being free again: the tests rely on it.
//! - [`Slots::close_all`] shuts down every registered socket: a thread
//!   blocked reading sees the end of the stream at once, one writing gets an
//!   error, and each ends without waiting for its timeouts.
//!
//! # Deadlock safety
//!
//! One lock, never held across a read or a write: only `shutdown` (which
//! does not block) is called under it.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

/// The registry of open connections.
#[derive(Debug)]
pub(crate) struct Slots {
    cap: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    next: u64,
    streams: HashMap<u64, Arc<TcpStream>>,
}

/// A connection's place in [`Slots`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    slots: Arc<Slots>,
}

impl Slots {
    /// A registry for at most `cap` connections at once.
    pub(crate) fn new(cap: usize) -> Arc<Slots> {
        Arc::new(Slots {
            cap,
            open: Mutex::default(),
        })
    }

    /// Takes a slot for `stream`, or `None` when `cap` connections are open.
    pub(crate) fn admit(self: &Arc<Self>, stream: &Arc<TcpStream>) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.streams.len() >= self.cap {
            return None;
        }
        let id = open.next;
        open.next += 1;
        open.streams.insert(id, Arc::clone(stream));
        Some(Slot {
            id,
            slots: Arc::clone(self),
        })
    }

    /// Cuts every open connection (see the module docs); returns how many.
    pub(crate) fn close_all(&self) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        for stream in open.streams.values() {
            // Already closed by the peer: nothing left to cut.
            let _ = stream.shutdown(Shutdown::Both);
        }
        open.streams.len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let stream = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .streams
            .remove(&self.id);
        // The registry's handle goes after the lock: closing a socket is a
        // system call, kept out of the critical section.
        drop(stream);
    }
}
