//! The mailbox: a channel owned by the hub, outliving the threads that read it.
//!
//! # Anatomy
//!
//! A [`MailboxCore`] holds both ends of one crossbeam channel, two flags and
//! the counters. Senders ([`Address`](crate::Address)) and readers (server
//! instances, a [`Client`](crate::Client)) hold an `Arc` of it, so the queue
//! survives any one reader: a restarted server reads the same queue.
//!
//! # States
//!
//! ```text
//!  open ──close()──▶ closed ──finish()──▶ finished
//!   ▲                   │                    │
//!   └──────reopen()─────┴────────────────────┘
//! ```
//!
//! - open: sends are accepted.
//! - closed: sends fail with `Closed(msg)`; readers may still drain the queue.
//!   Senders blocked on a full queue wake up and get `Closed(msg)` too.
//! - finished: no reader will ever read again. `finish` sweeps the queue
//!   into dead letters.
//! - `reopen` (a retired server started again by `restart_child`) accepts
//!   sends again; a blocked sender that saw the close keeps its `Closed`.
//!
//! # Invariants
//!
//! - Senders touch no shared counter (see `counters.rs`): `handled` is
//!   counted by readers, `dead_lettered` by whoever sweeps, and `accepted`
//!   is derived as `handled + dead_lettered + queued`.
//! - Nothing accepted is lost. A send that passes the `closed` check an
//!   instant before the mailbox finishes can land after the final sweep; the
//!   sender then sees `finished` (read after its insert, sequentially
//!   consistent with the sweeper's store before its sweep) and sweeps it
//!   itself. A queue that still holds messages when the last handle is
//!   dropped is swept with [`DeadReason::Dropped`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{
    Receiver, Select, Sender, TrySendError as ChanTrySend, bounded, unbounded,
};

pub(crate) use crate::data::counters::MailboxStats;
use crate::data::counters::{HandledCounter, Tally};
use crate::data::dead_letter::{DeadLetter, DeadLetterSink, DeadReason};
use crate::data::dead_letter_log::DeadLetterLog;
use crate::data::message::Message;
use crate::data::spin::{SPIN_STEPS, pause};

/// How many messages a mailbox holds before `send` blocks.
///
/// Set per hub ([`HubBuilder::default_capacity`](crate::HubBuilder::default_capacity)),
/// per server, or per client:
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::{ClientOptions, TrySendError};
/// # pub struct Note(pub u32);
/// # pub struct Main;
/// # threadbutler::messages! { pub enum MainMsg for Main { Note } }
///
/// assert_eq!(Capacity::default(), Capacity::Bounded(1024));
/// let hub = Hub::new();
/// let small = hub.client_with::<Main>("main", ClientOptions::new().capacity(Capacity::Bounded(2)))?;
/// hub.try_send(Note(1))?;
/// hub.try_send(Note(2))?;
/// assert!(matches!(hub.try_send(Note(3)), Err(TrySendError::Full(Note(3))))); // given back
/// drop(small);
/// let _big = hub.client_with::<Main>("main", ClientOptions::new().capacity(Capacity::Unbounded))?;
/// for n in 0..10_000 {
///     hub.try_send(Note(n))?; // never full
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A bounded mailbox allocates its slots up front, when it is created (a
/// slot holds one message and an 8-byte stamp), so its size has a bound:
/// [`Capacity::MAX_BOUNDED`], 1 Mi messages, and its slots together a
/// bound of bytes, [`Capacity::MAX_BOUNDED_BYTES`] (256 MiB): 1 Mi slots
/// of a 16-byte message take 24 MiB, but 1 Mi slots of a 4 KiB message
/// would take 4 GiB. A larger bound is refused (the count by the config
/// file at load and by the builder at `start`; both, for the message type
/// at hand, when the mailbox is made: by the builder's `start`,
/// [`Hub::client_with`](crate::Hub::client_with) or a server's `spawn`,
/// with [`SpawnError::InvalidCapacity`](crate::SpawnError::InvalidCapacity)).
/// [`Capacity::Unbounded`] allocates as it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// At most this many queued messages (at least 1, at most
    /// [`Capacity::MAX_BOUNDED`]). A full mailbox makes `send` wait, and
    /// `try_send` return `Full(msg)`.
    Bounded(usize),
    /// No limit: `send` never waits. Use it where the senders are known to be
    /// slower than the server, or for a client that must never block servers.
    Unbounded,
}

impl Capacity {
    /// The largest bounded capacity: 1 Mi (1 048 576) messages, whose
    /// slots are allocated when the mailbox is created.
    pub const MAX_BOUNDED: usize = 1 << 20;

    /// The most a bounded mailbox's slots may take together: 256 MiB,
    /// allocated when the mailbox is made. Box a large message (or make
    /// the mailbox unbounded) to queue more of them.
    pub const MAX_BOUNDED_BYTES: usize = 256 << 20;

    /// Checks a bounded capacity: at least 1 and at most
    /// [`MAX_BOUNDED`](Self::MAX_BOUNDED). The one check of that bound:
    /// the config file, the builder and the hub all ask it.
    ///
    /// # Errors
    ///
    /// What was expected, and the value found.
    pub(crate) fn check(self) -> Result<Capacity, String> {
        match self {
            Capacity::Bounded(0) => Err("a bounded capacity must be at least 1".into()),
            Capacity::Bounded(n) if n > Self::MAX_BOUNDED => Err(format!(
                "a bounded capacity must be at most {} messages (their slots are allocated at once; \"unbounded\" allocates as it fills), found {n}",
                Self::MAX_BOUNDED
            )),
            c => Ok(c),
        }
    }

    /// [`check`](Self::check), and that the slots of a mailbox of `M` (the
    /// message and a stamp each, padded to the message's alignment) take at
    /// most
    /// [`MAX_BOUNDED_BYTES`](Self::MAX_BOUNDED_BYTES).
    ///
    /// # Errors
    ///
    /// What was expected, and the value found.
    pub(crate) fn check_slots<M>(self) -> Result<Capacity, String> {
        let c = self.check()?;
        if let Capacity::Bounded(n) = c {
            // crossbeam's slot: a stamp and the message, with the padding
            // the message's alignment asks for.
            let slot = std::mem::size_of::<(std::sync::atomic::AtomicUsize, M)>();
            let bytes = n.saturating_mul(slot);
            if bytes > Self::MAX_BOUNDED_BYTES {
                return Err(format!(
                    "a bounded capacity of {n} messages of {slot} bytes each (with its stamp) would allocate {} MiB at once, more than {} MiB: lower the capacity, box the large message, or make the mailbox \"unbounded\"",
                    bytes >> 20,
                    Self::MAX_BOUNDED_BYTES >> 20
                ));
            }
        }
        Ok(c)
    }
}

impl Default for Capacity {
    /// `Bounded(1024)`.
    fn default() -> Self {
        Capacity::Bounded(1024)
    }
}

/// A callback run after each accepted send, to wake an event loop that is
/// not blocked on the mailbox itself (a GUI loop, an `epoll` loop).
///
/// It runs on the sender's thread: keep it short and non-blocking.
pub type WakeFn = Arc<dyn Fn() + Send + Sync>;

/// The shared heart of a mailbox. See the module docs.
pub(crate) struct MailboxCore<M: Message> {
    name: Arc<str>,
    tx: Sender<M>,
    rx: Receiver<M>,
    closed: AtomicBool,
    finished: AtomicBool,
    /// Dropped on close, which disconnects `close_watch`: blocked senders
    /// select on it to learn of the close. A reopen makes a new pair.
    close_notify: Mutex<Option<Sender<()>>>,
    close_watch: Mutex<Receiver<()>>,
    wake: Option<WakeFn>,
    sink: DeadLetterSink,
    dead_lettered: AtomicU64,
    /// The log of this mailbox's dead letters, aggregated per reason.
    dead_log: DeadLetterLog,
    tally: Mutex<Tally>,
}

/// What a send that could not complete at once ran into.
pub(crate) enum Refused<M> {
    Full(M),
    Closed(M),
    Timeout(M),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data is plain counters and an Option; a panic while holding
    // the lock cannot leave it inconsistent, so poisoning is ignored.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<M: Message> MailboxCore<M> {
    pub(crate) fn new(
        name: Arc<str>,
        capacity: Capacity,
        wake: Option<WakeFn>,
        sink: DeadLetterSink,
    ) -> Self {
        let (tx, rx) = match capacity {
            Capacity::Bounded(n) => bounded(n),
            Capacity::Unbounded => unbounded(),
        };
        let (notify, watch) = bounded(0);
        MailboxCore {
            dead_log: DeadLetterLog::new(Arc::clone(&name)),
            name,
            tx,
            rx,
            closed: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            close_notify: Mutex::new(Some(notify)),
            close_watch: Mutex::new(watch),
            wake,
            sink,
            dead_lettered: AtomicU64::new(0),
            tally: Mutex::new(Tally::default()),
        }
    }

    pub(crate) fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// A receiver for a reader instance.
    pub(crate) fn receiver(&self) -> Receiver<M> {
        self.rx.clone()
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The fast path: never blocks.
    #[inline]
    pub(crate) fn try_send(&self, msg: M) -> Result<(), Refused<M>> {
        if self.is_closed() {
            return Err(Refused::Closed(msg));
        }
        match self.tx.try_send(msg) {
            Ok(()) => {
                self.accepted();
                Ok(())
            }
            Err(ChanTrySend::Full(m)) => Err(Refused::Full(m)),
            // Unreachable while `self.rx` lives, which it does as long as self.
            Err(ChanTrySend::Disconnected(m)) => Err(Refused::Closed(m)),
        }
    }

    /// Blocks while the mailbox is full, until there is room, it closes, or
    /// the deadline passes.
    pub(crate) fn send_until(&self, msg: M, deadline: Option<Instant>) -> Result<(), Refused<M>> {
        let mut msg = match self.try_send(msg) {
            Err(Refused::Full(m)) => m,
            other => return other,
        };
        // Before parking, try again for a little while, as crossbeam's own
        // `send` does: the reader usually frees a slot within microseconds,
        // and parking (a select, a futex wait, a wake-up) costs more.
        for step in 0..SPIN_STEPS {
            pause(step);
            msg = match self.try_send(msg) {
                Err(Refused::Full(m)) => m,
                other => return other,
            };
        }
        // Slow path: wait for room or for the close, whichever comes first.
        let close_watch = lock(&self.close_watch).clone();
        let mut sel = Select::new();
        let send_op = sel.send(&self.tx);
        let close_op = sel.recv(&close_watch);
        let ready = match deadline {
            None => sel.select(),
            Some(d) => match sel.select_deadline(d) {
                Ok(op) => op,
                Err(_) => return Err(Refused::Timeout(msg)),
            },
        };
        let index = ready.index();
        if index == send_op {
            // A close that raced with this wake-up still lets the message in:
            // the drain handles it or the final sweep dead-letters it, and
            // either way it is counted.
            match ready.send(&self.tx, msg) {
                Ok(()) => {
                    self.accepted();
                    Ok(())
                }
                Err(e) => Err(Refused::Closed(e.into_inner())),
            }
        } else {
            debug_assert_eq!(index, close_op);
            let _ = ready.recv(&close_watch);
            Err(Refused::Closed(msg))
        }
    }

    /// After an insert: catch the race with `finish`, then wake the reader's
    /// event loop if it asked to be woken.
    #[inline]
    fn accepted(&self) {
        if self.finished.load(Ordering::SeqCst) {
            self.sweep(DeadReason::Stopped);
        }
        if let Some(wake) = &self.wake {
            wake();
        }
    }

    /// Refuses new sends. Readers may still drain what is queued.
    pub(crate) fn close(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            lock(&self.close_notify).take();
            tracing::debug!(server = %self.name, "mailbox closed");
        }
    }

    /// Closes for good: no reader will read again; what is queued becomes
    /// dead letters with `reason`. Returns how many were swept. The dead
    /// letters counted but not yet logged are logged now.
    pub(crate) fn finish(&self, reason: DeadReason) -> u64 {
        self.close();
        self.finished.store(true, Ordering::SeqCst);
        let swept = self.sweep(reason);
        self.dead_log.flush();
        swept
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }

    /// Opens a closed or finished mailbox again, for a reader that will run
    /// again (`restart_child` of a retired server). What was swept stays
    /// swept; sends are accepted from now on.
    pub(crate) fn reopen(&self) {
        let mut notify = lock(&self.close_notify);
        if notify.is_some() {
            return; // open
        }
        let (n, w) = bounded(0);
        *lock(&self.close_watch) = w;
        *notify = Some(n);
        self.finished.store(false, Ordering::SeqCst);
        self.closed.store(false, Ordering::SeqCst);
        tracing::debug!(server = %self.name, "mailbox reopened");
    }

    /// The reader is stopped for good in `mode`: a drain closes the mailbox
    /// (the reader handles what is queued); an immediate stop finishes it
    /// (what is queued is dead-lettered). Returns how many were swept.
    pub(crate) fn final_stop(&self, mode: threadbutler_supervisor::StopMode) -> u64 {
        match mode {
            threadbutler_supervisor::StopMode::Drain => {
                self.close();
                0
            }
            threadbutler_supervisor::StopMode::Immediate => self.finish(DeadReason::Stopped),
        }
    }

    /// Dead-letters everything queued now.
    pub(crate) fn sweep(&self, reason: DeadReason) -> u64 {
        let mut n = 0;
        while let Ok(msg) = self.rx.try_recv() {
            let ty = msg.type_name();
            self.dead_letter(ty, reason.clone(), Some(Box::new(msg)));
            n += 1;
        }
        n
    }

    /// Counts one dead letter, logs it (in full, or in the count of its
    /// interval: see `dead_letter_log/`) and hands it to the sink.
    pub(crate) fn dead_letter(
        &self,
        message_type: &'static str,
        reason: DeadReason,
        payload: Option<Box<dyn std::any::Any + Send>>,
    ) {
        self.dead_lettered.fetch_add(1, Ordering::Relaxed);
        self.dead_log.letter(message_type, &reason);
        if let Some(sink) = &self.sink {
            let letter = DeadLetter {
                server: Arc::clone(&self.name),
                message_type,
                reason,
                payload,
            };
            let sink = Arc::clone(sink);
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || sink(letter))).is_err()
            {
                tracing::error!(server = %self.name, message_type, "the dead-letter sink panicked");
            }
        }
    }

    /// Registers a reader's handled counter.
    pub(crate) fn register_reader(&self) -> Arc<HandledCounter> {
        lock(&self.tally).register()
    }

    /// Folds a finished reader's count into the mailbox's.
    pub(crate) fn retire_reader(&self, counter: &Arc<HandledCounter>) {
        lock(&self.tally).retire(counter);
    }

    pub(crate) fn stats(&self) -> MailboxStats {
        let handled = lock(&self.tally).handled();
        let dead_lettered = self.dead_lettered.load(Ordering::Relaxed);
        let queued = self.rx.len() as u64;
        MailboxStats {
            accepted: handled + dead_lettered + queued,
            handled,
            dead_lettered,
            queued,
        }
    }

    pub(crate) fn depth(&self) -> usize {
        self.rx.len()
    }
}

impl<M: Message> Drop for MailboxCore<M> {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::SeqCst);
        self.sweep(DeadReason::Dropped);
        self.dead_log.flush();
    }
}

/// A mailbox seen without its message type, for the hub's bookkeeping.
pub(crate) trait MailboxControl: Send + Sync {
    fn stats(&self) -> MailboxStats;
    fn is_finished(&self) -> bool;
}

impl<M: Message> MailboxControl for MailboxCore<M> {
    fn stats(&self) -> MailboxStats {
        MailboxCore::stats(self)
    }
    fn is_finished(&self) -> bool {
        MailboxCore::is_finished(self)
    }
}

/// A deadline `timeout` from now, or `None` if that overflows (wait forever).
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
