//! The accept loop: takes connections off the listening socket and hands
//! them on. When accepting fails (out of file descriptors, memory or
//! buffers) it backs off, 10 ms doubling to 1 s, instead of spinning, and
//! says so in at most one log line per 10 s, with the count of failures
//! since the last line.

use std::io::ErrorKind;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

/// The first wait after a failed accept.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest wait between two tries.
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line about failed accepts per this long.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Accepts connections on `listener`, handing each to `take`, until `wake`
/// disconnects (the intake is gone). A message on `wake` cuts a backoff
/// short.
pub fn accept_loop(listener: &UnixListener, wake: &Receiver<()>, mut take: impl FnMut(UnixStream)) {
    let mut backoff = BACKOFF_MIN;
    let mut report = Report::default();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                backoff = BACKOFF_MIN;
                report.recovered();
                take(stream);
                if let Err(TryRecvError::Disconnected) = wake.try_recv() {
                    return;
                }
            }
            // One connection's trouble, not the listener's: try again.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) =>
            {
                report.failed(&e, Duration::ZERO);
            }
            Err(e) => {
                report.failed(&e, backoff);
                if let Err(RecvTimeoutError::Disconnected) = wake.recv_timeout(backoff) {
                    return;
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// The rate-limited log of failed accepts.
#[derive(Default)]
struct Report {
    /// When the last line was written.
    last: Option<Instant>,
    /// Failures not yet counted in a line.
    unreported: u64,
    /// Failures since the last successful accept.
    streak: u64,
}

impl Report {
    fn due(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= REPORT_EVERY)
    }

    fn failed(&mut self, e: &std::io::Error, backoff: Duration) {
        self.unreported += 1;
        self.streak += 1;
        if !self.due() {
            return;
        }
        let why = match e.raw_os_error() {
            Some(libc::EMFILE) => "out of file descriptors (the process's limit)",
            Some(libc::ENFILE) => "out of file descriptors (the system's limit)",
            Some(libc::ENOBUFS | libc::ENOMEM) => "out of memory",
            _ => "an error",
        };
        tracing::warn!(
            errors = self.unreported,
            error = %e,
            backoff = ?backoff,
            "accept failed: {why}; backing off (at most one such line per {REPORT_EVERY:?})"
        );
        self.unreported = 0;
        self.last = Some(Instant::now());
    }

    fn recovered(&mut self) {
        if self.streak == 0 {
            return;
        }
        if self.due() {
            tracing::info!(
                errors = self.unreported,
                streak = self.streak,
                "accepting connections again"
            );
            self.unreported = 0;
            self.last = Some(Instant::now());
        }
        self.streak = 0;
    }
}
