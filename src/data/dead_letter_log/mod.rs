//! Dead letters in the log, aggregated: a tree that gives up with 50
//! messages queued says so in two lines, not fifty, and a server that
//! dead-letters a burst says how many within seconds, not at shutdown.
//!
//! # Anatomy
//!
//! Each mailbox keeps one window per kind of [`DeadReason`]
//! (`windows.rs`). The first dead letter of a kind opens a window of
//! `INTERVAL` (10 s) and is logged in full at WARN ("message dead-lettered", with
//! `server`, `message_type`, `reason` and `reason_kind`); the ones that
//! follow inside the window are only counted. The count is logged as one
//! WARN line ("N more dead letters", with `server`, `reason_kind`, `count`
//! and `window_ms`, the time from the window's first letter to its close)
//! when the window closes, whichever comes first:
//!
//! - the window is over: the process's dead-letter thread
//!   (`flusher.rs`, `threadbutler-dead-letters`) wakes at its end and logs
//!   the count, with no further letter needed (`window_ms` is the
//!   interval);
//! - a letter of that kind comes after the window is over (it logs the
//!   count, then opens the next window and is logged in full);
//! - the mailbox finishes or is dropped (`window_ms` is then how long the
//!   window lasted), so that a shutdown loses no count.
//!
//! A count logged by the dead-letter thread goes to the subscriber that was
//! current where the count began (the thread has no subscriber of its own
//! to choose).
//!
//! # Invariants
//!
//! - Nothing on the send, receive or handle path: only a dead letter reads
//!   the clock and takes the log's lock.
//! - The dead-letter thread runs only while some window holds a count not
//!   yet logged; then it sleeps until the earliest window's end. With
//!   nothing to report there is no thread and no wake-up (DESIGN rule 6).
//! - Every dead letter is in the log once, in full or in exactly one count;
//!   the sink ([`on_dead_letter`](crate::HubBuilder::on_dead_letter)) and
//!   the mailbox's `dead_lettered` counter still see each one.
//! - The decisions (`windows.rs`) are pure functions of the kind and the
//!   instant, tested with instants made up by the tests; the thread reads a
//!   [`Clock`](threadbutler_supervisor::Clock), which the tests drive.
//!
//! # Deadlock safety
//!
//! Lock order: a log's state, then the flusher's (see `flusher.rs`). No
//! line is written while either is held.

mod flusher;
#[cfg(test)]
mod tests;
mod windows;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tracing::Dispatch;

use crate::data::dead_letter::DeadReason;
use flusher::Flusher;
pub(crate) use windows::Kind;
use windows::{Closed, Windows};

/// A mailbox's dead-letter log: the windows, and the lines they call for.
#[derive(Debug)]
pub(crate) struct DeadLetterLog {
    shared: Arc<LogShared>,
}

/// What the log shares with the dead-letter thread, which holds it weakly.
#[derive(Debug)]
pub(crate) struct LogShared {
    server: Arc<str>,
    flusher: Arc<Flusher>,
    state: Mutex<LogState>,
}

#[derive(Debug, Default)]
struct LogState {
    windows: Windows,
    /// `Some` while the flusher holds this log (some window holds a count).
    registered: Option<Registration>,
    /// The number of the next registration.
    next_id: u64,
}

/// One stay of a log on the flusher's list, from a count that begins to
/// the last one reported.
#[derive(Debug)]
struct Registration {
    /// Tells a stale entry of the flusher's (the log withdrew and
    /// registered again since) from the current one.
    id: u64,
    /// Where the count's lines go when the flusher logs them: the
    /// subscriber current where the count began.
    dispatch: Dispatch,
}

impl DeadLetterLog {
    /// The log of the mailbox `server`, reported on by the process's
    /// dead-letter thread.
    pub(crate) fn new(server: Arc<str>) -> Self {
        Self::with_flusher(server, Flusher::global())
    }

    /// The log of `server`, reported on by `flusher`.
    fn with_flusher(server: Arc<str>, flusher: Arc<Flusher>) -> Self {
        DeadLetterLog {
            shared: Arc::new(LogShared {
                server,
                flusher,
                state: Mutex::new(LogState::default()),
            }),
        }
    }

    /// Logs one dead letter, in full or in the count of its window; the
    /// first count of the log asks the dead-letter thread to report it.
    pub(crate) fn letter(&self, message_type: &'static str, reason: &DeadReason) {
        let kind = Kind::of(reason);
        let shared = &self.shared;
        let (verdict, registered) = {
            let mut st = shared.state();
            let verdict = st.windows.record(kind, shared.flusher.now());
            let mut registered = Ok(());
            if !verdict.full
                && st.registered.is_none()
                && let Some(due) = st.windows.next_end()
            {
                let id = st.next_id;
                st.next_id += 1;
                st.registered = Some(Registration {
                    id,
                    dispatch: tracing::dispatcher::get_default(Dispatch::clone),
                });
                registered = shared.flusher.register(due, Arc::downgrade(shared), id);
            }
            (verdict, registered)
        };
        if let Err(e) = registered {
            flusher::could_not_start(&e);
        }
        if let Some(closed) = verdict.closed {
            more(&shared.server, closed);
        }
        if verdict.full {
            tracing::warn!(
                server = %shared.server,
                message_type,
                reason = %reason,
                reason_kind = kind.name(),
                "message dead-lettered"
            );
        }
    }

    /// Logs every count not yet logged (the mailbox finishes or goes).
    pub(crate) fn flush(&self) {
        let shared = &self.shared;
        let counts = {
            let mut st = shared.state();
            if st.registered.take().is_some() {
                shared.flusher.withdraw(&Arc::downgrade(shared));
            }
            st.windows.close_all(shared.flusher.now())
        };
        for closed in counts {
            more(&shared.server, closed);
        }
    }
}

impl LogShared {
    fn state(&self) -> MutexGuard<'_, LogState> {
        // Plain counts: a panic while holding the lock leaves nothing half
        // done that matters, so poisoning is ignored.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The dead-letter thread's call for registration `id`, due at `now`:
    /// logs the counts of the windows that are over, and stays registered
    /// while a window still holds a count.
    fn report_over(self: &Arc<Self>, id: u64, now: Instant) {
        let (counts, dispatch, registered) = {
            let mut st = self.state();
            if st.registered.as_ref().is_none_or(|r| r.id != id) {
                return; // stale: the log withdrew since (and may be registered anew)
            }
            let counts = st.windows.close_over(now);
            let (dispatch, registered) = match st.windows.next_end() {
                Some(due) => (
                    st.registered.as_ref().map(|r| r.dispatch.clone()),
                    self.flusher.register(due, Arc::downgrade(self), id),
                ),
                None => (st.registered.take().map(|r| r.dispatch), Ok(())),
            };
            (counts, dispatch, registered)
        };
        // Never an error here (the running thread starts none), said if it were.
        if let Err(e) = registered {
            flusher::could_not_start(&e);
        }
        let lines = || {
            for closed in counts {
                more(&self.server, closed);
            }
        };
        match dispatch {
            Some(dispatch) => tracing::dispatcher::with_default(&dispatch, lines),
            None => lines(),
        }
    }
}

/// The line for a window's count.
fn more(server: &str, closed: Closed) {
    let Closed {
        kind,
        count,
        window,
    } = closed;
    tracing::warn!(
        server,
        reason_kind = kind.name(),
        count,
        // At most the interval: it fits.
        window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
        "{count} more dead letters"
    );
}
