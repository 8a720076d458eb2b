//! The connections the intake serves: at most `max_connections` at once,
//! each on a thread of its own; one more is answered `err busy` and closed
//! on the accept loop's thread, without a thread of its own.

use std::io::{BufReader, BufWriter, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::ledger::Ledger;
use crate::line_reader::LineDeadline;
use crate::session::{Desk, serve};

/// At most one log line about refused connections per this long.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// The open connections and their limits.
pub struct Connections {
    max: usize,
    read_timeout: Duration,
    ledger: Arc<Ledger>,
    open: AtomicUsize,
    next: AtomicU64,
    /// Set while the intake is stopped: jobs are refused.
    stopping: AtomicBool,
    /// When `err busy` was last logged, and how many since.
    busy: Mutex<(Option<Instant>, u64)>,
}

impl Connections {
    /// At most `max` connections, each line within `read_timeout`;
    /// refusals are counted in `ledger`.
    pub fn new(max: usize, read_timeout: Duration, ledger: Arc<Ledger>) -> Self {
        Connections {
            max,
            read_timeout,
            ledger,
            open: AtomicUsize::new(0),
            next: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            busy: Mutex::new((None, 0)),
        }
    }

    /// Jobs are refused (`stopping`) or taken again; connections stay open.
    pub fn set_stopping(&self, stopping: bool) {
        self.stopping.store(stopping, Ordering::Release);
    }

    /// How many connections are open.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Serves `stream` on a thread of its own, or answers `err busy` and
    /// closes it when `max` connections are open. Called by the accept
    /// loop only, so the count cannot pass `max`.
    pub fn take(self: &Arc<Self>, stream: UnixStream, desk: &Desk) {
        let open = self.open.load(Ordering::Acquire);
        if open >= self.max {
            self.refuse_busy(stream, open);
            return;
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(Arc::clone(self));
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let desk = desk.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("jobd-conn-{n}"))
            .spawn(move || {
                let conns = &slot.0;
                tracing::debug!(connection = n, open = conns.open(), "connection opened");
                let _ = stream.set_write_timeout(Some(conns.read_timeout));
                let result = serve(
                    BufReader::new(LineDeadline::new(&stream, conns.read_timeout)),
                    BufWriter::new(&stream),
                    &desk,
                    &conns.stopping,
                );
                // Every answer is flushed (serve's last act); the peer reads
                // them, then the end of the stream.
                let _ = stream.shutdown(Shutdown::Write);
                match result {
                    Ok(()) => tracing::debug!(connection = n, "connection closed"),
                    Err(e) => {
                        tracing::debug!(connection = n, error = %e, "connection ended on an error");
                    }
                }
            });
        if let Err(e) = spawned {
            // The closure, with the stream and the slot, is dropped: the
            // connection is closed and its slot freed.
            tracing::warn!(error = %e, "no thread for a connection; closing it");
        }
    }

    fn refuse_busy(&self, mut stream: UnixStream, open: usize) {
        self.ledger.refused();
        let line = format!(
            "err busy: {open} connections open (the limit is {}); try again later\n",
            self.max
        );
        // The accept loop must not wait on this peer: a fresh socket's
        // buffer takes one short line, or the line is lost.
        let _ = stream.set_nonblocking(true);
        let _ = stream.write_all(line.as_bytes());
        let _ = stream.shutdown(Shutdown::Write);
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        busy.1 += 1;
        if busy.0.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
            tracing::warn!(
                refused = busy.1,
                open,
                limit = self.max,
                "connections refused: busy (app.max_connections); at most one such line per {REPORT_EVERY:?}"
            );
            *busy = (Some(Instant::now()), 0);
        } else {
            tracing::debug!(open, limit = self.max, "connection refused: busy");
        }
    }
}

/// One open connection's place in the count, freed when dropped.
struct Slot(Arc<Connections>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}
