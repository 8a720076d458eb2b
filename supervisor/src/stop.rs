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
//! - So does the intent (DESIGN rule 10): a stop for a restart may become a
//!   final stop, never the other way round. [`request`](StopSignal::request)
//!   is final; [`request_restart`](StopSignal::request_restart) asks for an
//!   immediate stop whose child will run again, so a nested supervisor keeps
//!   its children's queued work for its next life.
//! - Every request that changes the state leaves a token in the wake channel
//!   (or finds one there), so a child that checks the state after waking never
//!   misses it.

use std::sync::atomic::{AtomicU8, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

const RUNNING: u8 = 0;
const DRAIN: u8 = 1;
const IMMEDIATE: u8 = 2;
/// The bit that marks the stop as final (see [`StopIntent`]).
const FINAL: u8 = 4;
const MODE: u8 = 3;

/// What a stop request asks of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StopMode {
    /// Handle what is queued, then stop.
    Drain,
    /// Stop after the message in hand; leave the queue.
    Immediate,
}

/// Why a child is asked to stop (DESIGN rule 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StopIntent {
    /// It will run again (a restart by policy, its supervisor giving up or
    /// being restarted): the work queued for it is kept for the next life.
    Restart,
    /// It stops for good (a shutdown, a removal): its work is finished.
    Final,
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

    /// Asks the child to stop for good in `mode`, or in a stronger mode it
    /// was already asked for. Returns true if this call changed the state.
    pub fn request(&self, mode: StopMode) -> bool {
        self.raise(mode, StopIntent::Final)
    }

    /// Asks the child to stop at once so that it can run again: the intent
    /// is [`StopIntent::Restart`] unless a final stop was asked for before.
    /// Returns true if this call changed the state.
    pub fn request_restart(&self) -> bool {
        self.raise(StopMode::Immediate, StopIntent::Restart)
    }

    fn raise(&self, mode: StopMode, intent: StopIntent) -> bool {
        let want = match mode {
            StopMode::Drain => DRAIN,
            StopMode::Immediate => IMMEDIATE,
        } | if intent == StopIntent::Final {
            FINAL
        } else {
            0
        };
        let merge = |s: u8| (s & MODE).max(want & MODE) | ((s | want) & FINAL);
        let before = match self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| Some(merge(s)))
        {
            Ok(s) | Err(s) => s,
        };
        let changed = merge(before) != before;
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

    /// Why the stop was asked for, if it was.
    pub fn intent(&self) -> Option<StopIntent> {
        let s = self.state.load(Ordering::Acquire);
        if s & MODE == RUNNING {
            None
        } else if s & FINAL != 0 {
            Some(StopIntent::Final)
        } else {
            Some(StopIntent::Restart)
        }
    }

    /// The mode asked for so far, `None` while running. One load.
    #[inline]
    pub fn mode(&self) -> Option<StopMode> {
        match self.state.load(Ordering::Acquire) & MODE {
            RUNNING => None,
            DRAIN => Some(StopMode::Drain),
            _ => Some(StopMode::Immediate),
        }
    }

    /// True once any stop was requested.
    #[inline]
    pub fn is_requested(&self) -> bool {
        self.state.load(Ordering::Relaxed) & MODE != RUNNING
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

    #[test]
    fn a_restart_stop_may_become_final_but_never_back() {
        let stop = StopSignal::new();
        assert_eq!(stop.intent(), None);
        assert!(stop.request_restart());
        assert_eq!(stop.intent(), Some(StopIntent::Restart));
        assert_eq!(stop.mode(), Some(StopMode::Immediate));
        assert!(stop.request(StopMode::Drain), "the intent changed");
        assert_eq!(stop.intent(), Some(StopIntent::Final));
        assert_eq!(stop.mode(), Some(StopMode::Immediate), "the mode stays");
        assert!(!stop.request_restart());
        assert_eq!(stop.intent(), Some(StopIntent::Final));
    }
}
