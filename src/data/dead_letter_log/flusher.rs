//! The thread that reports a window's count when the window is over, even
//! when no further letter comes: `threadbutler-dead-letters`, one per
//! process, there only while some window holds a count not yet reported.
//!
//! # Anatomy
//!
//! A [`Flusher`] keeps the logs that hold a count, each with the instant
//! its first such window is over. The first log to register starts the
//! thread; the thread sleeps until the earliest of those instants (a
//! `recv_deadline` on its wake-up channel, or, on a virtual clock, a wait
//! for the clock's next jump), asks each log that is due to report its
//! windows that are over, and ends as soon as no log is registered. A log
//! that ends (its mailbox finished or dropped) reports its counts itself
//! and withdraws; the last one to withdraw wakes the thread so that it ends
//! at once rather than at a deadline with nothing left to report.
//!
//! # Invariants
//!
//! - The thread runs only while a log is registered: nothing pending, no
//!   thread, no wake-up (DESIGN rule 6).
//! - A log is registered at most once at a time (its `pending` state says
//!   whether it is), so the list is no longer than the number of mailboxes
//!   with a count to report.
//! - The thread holds logs weakly: a dropped mailbox reported its counts
//!   when it ended; its entry is forgotten.
//!
//! # Deadlock safety
//!
//! Lock order: a log's state, then the flusher's. The thread takes the
//! flusher's lock only to pick the logs that are due and releases it before
//! it takes any log's; no line is written under either lock.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded, select};
use threadbutler_supervisor::{SharedClock, SystemClock};

use super::LogShared;

/// The name of the flusher's thread.
pub(crate) const THREAD_NAME: &str = "threadbutler-dead-letters";

/// Reports windows that are over. See the module docs.
#[derive(Debug)]
pub(crate) struct Flusher {
    clock: SharedClock,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The registered logs, each with the instant it is due.
    pending: Vec<Pending>,
    /// Wakes the running thread to look again: `Some` while it runs.
    wake: Option<Sender<()>>,
    /// The last thread started, for the tests to join.
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Pending {
    due: Instant,
    log: Weak<LogShared>,
    /// The log's registration this entry is for.
    id: u64,
}

impl Flusher {
    /// A flusher reading `clock`, with no thread yet.
    pub(crate) fn new(clock: SharedClock) -> Arc<Flusher> {
        Arc::new(Flusher {
            clock,
            state: Mutex::new(State::default()),
        })
    }

    /// The process's flusher, on the real clock.
    pub(crate) fn global() -> Arc<Flusher> {
        static GLOBAL: OnceLock<Arc<Flusher>> = OnceLock::new();
        Arc::clone(GLOBAL.get_or_init(|| Flusher::new(Arc::new(SystemClock))))
    }

    /// The instant by this flusher's clock.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A list and a sender: a panic while holding the lock leaves
        // nothing half done, so poisoning is ignored.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `log` (its registration `id`) holds a count whose window is over
    /// at `due`: report it then. Starts the thread if none runs. Called
    /// with the log's lock held.
    ///
    /// # Errors
    ///
    /// The thread could not be started: the log stays on the list (the
    /// next thread that starts reports it), and until then its count is
    /// logged at the next letter or at the mailbox's end. The caller logs
    /// the error once its lock is released.
    pub(crate) fn register(
        self: &Arc<Self>,
        due: Instant,
        log: Weak<LogShared>,
        id: u64,
    ) -> std::io::Result<()> {
        let mut st = self.state();
        let earliest = st.pending.iter().all(|p| due < p.due);
        st.pending.push(Pending { due, log, id });
        match &st.wake {
            Some(wake) => {
                if earliest {
                    // Full: a wake-up is already waiting, which is all it needs.
                    let _ = wake.try_send(());
                }
            }
            None => {
                let (wake, thread) = self.start()?;
                st.wake = Some(wake);
                st.thread = Some(thread);
            }
        }
        Ok(())
    }

    /// `log` has no count left to report: forget it. Called with the
    /// log's lock held.
    pub(crate) fn withdraw(&self, log: &Weak<LogShared>) {
        let mut st = self.state();
        st.pending.retain(|p| !p.log.ptr_eq(log));
        if st.pending.is_empty()
            && let Some(wake) = &st.wake
        {
            // Nothing left: the thread ends now, not at a stale deadline.
            let _ = wake.try_send(());
        }
    }

    /// Starts the thread (under the lock, which it takes first thing: it
    /// sees the registration that started it).
    fn start(self: &Arc<Self>) -> std::io::Result<(Sender<()>, JoinHandle<()>)> {
        let (wake, woken) = bounded(1);
        // Asked before the thread's first look at the clock: no jump is missed.
        let jumps = self.clock.jumps();
        let me = Arc::clone(self);
        let thread = thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || me.run(&woken, jumps.as_ref()))?;
        Ok((wake, thread))
    }

    fn run(&self, woken: &Receiver<()>, jumps: Option<&Receiver<()>>) {
        tracing::debug!(thread = THREAD_NAME, "dead-letter thread started");
        loop {
            let now = self.clock.now();
            let (due, next) = {
                let mut st = self.state();
                if st.pending.is_empty() {
                    st.wake = None;
                    break;
                }
                let (due, later) = std::mem::take(&mut st.pending)
                    .into_iter()
                    .partition::<Vec<_>, _>(|p| p.due <= now);
                st.pending = later;
                (due, st.pending.iter().map(|p| p.due).min())
            };
            if due.is_empty() {
                if let Some(next) = next {
                    wait(next, woken, jumps);
                }
                continue;
            }
            for p in due {
                if let Some(log) = p.log.upgrade() {
                    log.report_over(p.id, now);
                }
            }
        }
        tracing::debug!(thread = THREAD_NAME, "dead-letter thread ended");
    }

    /// The last thread started, to join it (tests: "no thread is left").
    #[cfg(test)]
    pub(crate) fn take_thread(&self) -> Option<JoinHandle<()>> {
        self.state().thread.take()
    }

    /// True when no log is registered and no thread runs.
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        let st = self.state();
        st.pending.is_empty() && st.wake.is_none()
    }
}

/// The line for a thread that [`Flusher::register`] could not start.
pub(crate) fn could_not_start(error: &std::io::Error) {
    tracing::warn!(
        %error,
        "could not start the dead-letter thread: counts are logged at the next dead letter or when the mailbox ends"
    );
}

/// Sleeps until `until`, a wake-up, or (on a virtual clock) its next jump.
fn wait(until: Instant, woken: &Receiver<()>, jumps: Option<&Receiver<()>>) {
    match jumps {
        Some(jumps) => select! {
            recv(woken) -> _ => {}
            recv(jumps) -> _ => {}
        },
        // The real clock: `until` is an instant of `Instant::now()`'s.
        None => {
            let _ = woken.recv_deadline(until);
        }
    }
}
