//! The stop request a supervisor (or anyone holding the signal) sends a child.
//!
//! # Anatomy
//!
//! A [`StopSignal`] is an atomic state plus a one-slot wake channel. The child
//! reads the state with one relaxed load per message (no clock, no syscall)
//! and, only when its mailbox is empty and it is about to block, also waits on
//! the wake channel. A request therefore reaches a child that is blocked
//! waiting for a message (the wake) and one whose mailbox is full (the state is
//! read before every message; the request never goes through the mailbox).
//!
//! # Invariants
//!
//! - The state only moves forward: running → drain → immediate. A request for
//!   a weaker mode than the current one changes nothing.
//! - Every request that changes the state leaves a token in the wake channel
//!   (or finds one there), so a child that checks the state after waking never
//!   misses it.

use std::sync::atomic::{AtomicU8, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

const RUNNING: u8 = 0;
const DRAIN: u8 = 1;
const IMMEDIATE: u8 = 2;

/// What a stop request asks of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StopMode {
    /// Handle what is queued, then stop.
    Drain,
    /// Stop after the message in hand; leave the queue.
    Immediate,
}

/// A stop request that reaches a child whatever it is doing between messages.
///
/// ```
/// use threadbutler_supervisor::{StopMode, StopSignal};
///
/// let stop = StopSignal::new();
/// stop.request(StopMode::Immediate);
/// stop.request(StopMode::Drain); // weaker: ignored
/// assert_eq!(stop.mode(), Some(StopMode::Immediate));
/// assert!(stop.waker().try_recv().is_ok()); // a blocked child would have woken
/// ```
#[derive(Debug)]
pub struct StopSignal {
    state: AtomicU8,
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
}

impl StopSignal {
    /// A signal in the running state.
    pub fn new() -> Self {
        let (wake_tx, wake_rx) = bounded(1);
        StopSignal {
            state: AtomicU8::new(RUNNING),
            wake_tx,
            wake_rx,
        }
    }

    /// Asks the child to stop in `mode`, or in a stronger mode it was
    /// already asked for. Returns true if this call changed the state.
    pub fn request(&self, mode: StopMode) -> bool {
        let want = match mode {
            StopMode::Drain => DRAIN,
            StopMode::Immediate => IMMEDIATE,
        };
        let before = self.state.fetch_max(want, Ordering::AcqRel);
        let changed = before < want;
        if changed {
            match self.wake_tx.try_send(()) {
                // Full: a wake token is already waiting, which is all we need.
                Ok(()) | Err(TrySendError::Full(())) => {}
                // We hold a receiver ourselves, so the channel cannot be closed.
                Err(TrySendError::Disconnected(())) => {}
            }
        }
        changed
    }

    /// The mode asked for so far, `None` while running. One load.
    #[inline]
    pub fn mode(&self) -> Option<StopMode> {
        match self.state.load(Ordering::Acquire) {
            RUNNING => None,
            DRAIN => Some(StopMode::Drain),
            _ => Some(StopMode::Immediate),
        }
    }

    /// True once any stop was requested.
    #[inline]
    pub fn is_requested(&self) -> bool {
        self.state.load(Ordering::Relaxed) != RUNNING
    }

    /// The channel a blocked child also waits on; it receives a token when
    /// the state changes. Take the token, then re-read [`mode`](Self::mode).
    pub fn waker(&self) -> &Receiver<()> {
        &self.wake_rx
    }
}

impl Default for StopSignal {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn a_blocked_waiter_wakes_on_request() {
        let stop = Arc::new(StopSignal::new());
        let s2 = Arc::clone(&stop);
        let waiter = thread::spawn(move || {
            s2.waker().recv().expect("the signal holds a sender");
            s2.mode()
        });
        assert!(stop.request(StopMode::Drain));
        assert_eq!(waiter.join().expect("waiter"), Some(StopMode::Drain));
    }

    #[test]
    fn escalation_wakes_again_but_downgrade_does_not() {
        let stop = StopSignal::new();
        assert!(stop.request(StopMode::Drain));
        assert!(stop.waker().try_recv().is_ok());
        assert!(!stop.request(StopMode::Drain));
        assert!(stop.waker().try_recv().is_err());
        assert!(stop.request(StopMode::Immediate));
        assert!(stop.waker().try_recv().is_ok());
        assert_eq!(stop.mode(), Some(StopMode::Immediate));
    }
}
