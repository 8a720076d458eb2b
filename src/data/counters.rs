//! A mailbox's counters: what its readers handled, and the snapshot
//! [`MailboxStats`].
//!
//! # Invariants
//!
//! - Senders touch no shared counter. `handled` is counted by readers, one
//!   single-writer [`HandledCounter`] per reader (a server life, a client),
//!   published with a plain store; `dead_lettered` is counted by whoever
//!   sweeps; `accepted` is derived as `handled + dead_lettered + queued`.
//! - A reader that ends folds its count into the [`Tally`]'s `retired`, so
//!   a mailbox's `handled` never goes back when a life ends and the next
//!   one starts from zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a mailbox's counters.
///
/// `accepted == handled + dead_lettered + queued` holds by construction;
/// once a mailbox is drained (queued is 0) every accepted message was either
/// handled or dead-lettered. Taken while readers run, the parts may be a
/// message apart from each other.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::MailboxStats;
/// # pub struct Note(pub u32);
/// # pub struct Main;
/// # threadbutler::messages! { pub enum MainMsg for Main { Note } }
///
/// let hub = Hub::new();
/// let mut main = hub.client::<Main>("main")?;
/// for n in 0..3 {
///     hub.send(Note(n))?;
/// }
/// let _first = main.recv();
/// let s = hub.stats("main").expect("registered");
/// assert_eq!(s, MailboxStats { accepted: 3, handled: 1, dead_lettered: 0, queued: 2 });
/// let address = main.address();
/// drop(main); // the two unread become dead letters
/// let s = address.stats();
/// assert_eq!(s, MailboxStats { accepted: 3, handled: 1, dead_lettered: 2, queued: 0 });
/// assert_eq!(s.accepted, s.handled + s.dead_lettered); // nothing lost
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MailboxStats {
    /// Messages the mailbox took in.
    pub accepted: u64,
    /// Messages a handler finished without failing, or a client read.
    pub handled: u64,
    /// Messages handed to the dead-letter sink.
    pub dead_lettered: u64,
    /// Messages waiting now.
    pub queued: u64,
}

/// A reader instance's handled counter. One thread writes it.
#[derive(Debug, Default)]
pub(crate) struct HandledCounter {
    handled: AtomicU64,
}

impl HandledCounter {
    /// Publishes the writer's running total (single writer: a plain store).
    #[inline]
    pub(crate) fn publish(&self, total: u64) {
        self.handled.store(total, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }
}

/// The handled counts of a mailbox's readers: the live ones, and the sum
/// of those that ended.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    retired: u64,
    live: Vec<Arc<HandledCounter>>,
}

impl Tally {
    /// A counter for a new reader.
    pub(crate) fn register(&mut self) -> Arc<HandledCounter> {
        let c = Arc::new(HandledCounter::default());
        self.live.push(Arc::clone(&c));
        c
    }

    /// Folds an ended reader's count into the retired sum.
    pub(crate) fn retire(&mut self, counter: &Arc<HandledCounter>) {
        if let Some(i) = self.live.iter().position(|c| Arc::ptr_eq(c, counter)) {
            let c = self.live.swap_remove(i);
            self.retired += c.get();
        }
    }

    /// Messages handled by every reader, live or ended.
    pub(crate) fn handled(&self) -> u64 {
        self.retired + self.live.iter().map(|c| c.get()).sum::<u64>()
    }
}
