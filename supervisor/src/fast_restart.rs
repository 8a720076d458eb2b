//! Restarting a failed child on its own thread without a round trip to the
//! supervisor.
//!
//! # Why
//!
//! The plain path is: the worker reports the exit, the supervisor wakes,
//! decides, and hands the worker its next life. That is two wake-ups of
//! parked threads, which cost tens of microseconds each on a virtual machine,
//! more than spawning a thread. When the decision is certain to be "restart
//! now, this child only", the worker can take it itself.
//!
//! # When
//!
//! The worker restarts locally only if, under the gate's lock:
//! - the gate is open: the supervisor's strategy is `OneForOne` and it is not
//!   ending;
//! - the supervisor sees the child running and plans nothing else for it
//!   (it takes the child out of the gate before it stops it);
//! - the life that ended had started: a failed start goes to the
//!   supervisor, which reports it and applies the backoff;
//! - the child is eligible: its restart type restarts after this reason, its
//!   backoff is zero, it does not ask for a fresh thread;
//! - the worker is still the child's current worker (not abandoned);
//! - the restart fits the supervisor's intensity window, where it is
//!   recorded at once.
//!
//! Otherwise the worker reports the exit as usual and the supervisor
//! decides, exactly as without this module.
//!
//! # Invariants
//!
//! - The worker records its restart in the gate (`made`) under the gate's
//!   lock. So when the supervisor takes the lock (to take a child out of
//!   the gate, or whenever it wakes), it sees every local restart made
//!   before and books it before acting on the child.
//! - The worker does not wake the supervisor for it: the new life's start
//!   notice is deferrable, and giving it (after the life's first message, or
//!   when it first waits for work, or when it ends) wakes the supervisor,
//!   which books the restart first. A watched heartbeat, a start timeout, a
//!   shutdown or any other event wakes it too. This keeps the wake-up, a
//!   system call on the worker's thread, off the path from the failure to
//!   the replacement's first message.
//! - One window: local and supervised restarts record in the same
//!   `RestartWindow`, behind this lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::heartbeat::HeartbeatReader;
use crate::{ExitReason, Restart, RestartWindow, StopSignal};

/// What the gate knows of one child.
#[derive(Debug, Clone)]
pub(crate) struct FastChild {
    pub(crate) restart: Restart,
    /// Zero backoff and no fresh thread asked for.
    pub(crate) eligible: bool,
    /// The id of the child's current worker; 0 when it has none.
    pub(crate) worker: u64,
    /// The supervisor sees it running and plans nothing else for it: not
    /// starting, stopping, or part of a group restart.
    pub(crate) running: bool,
}

/// A restart a worker made on its own, waiting for the supervisor to book it.
#[derive(Debug)]
pub(crate) struct LocalRestart {
    pub(crate) key: u64,
    pub(crate) old: u64,
    pub(crate) reason: ExitReason,
    pub(crate) new: u64,
    pub(crate) stop: Arc<StopSignal>,
    pub(crate) heartbeat: HeartbeatReader,
    pub(crate) at: Instant,
}

/// The shared decision state. See the module docs.
#[derive(Debug)]
pub(crate) struct FastGate {
    pub(crate) open: bool,
    pub(crate) window: RestartWindow,
    pub(crate) children: HashMap<u64, FastChild>,
    /// Local restarts not yet booked by the supervisor, in order.
    pub(crate) made: Vec<LocalRestart>,
    /// The supervisor life's own stop: once asked, nothing restarts.
    pub(crate) stop: Arc<StopSignal>,
}

pub(crate) type Gate = Arc<Mutex<FastGate>>;

pub(crate) fn new_gate(window: RestartWindow, open: bool, stop: Arc<StopSignal>) -> Gate {
    Arc::new(Mutex::new(FastGate {
        open,
        window,
        children: HashMap::new(),
        made: Vec::new(),
        stop,
    }))
}

pub(crate) fn lock(gate: &Gate) -> MutexGuard<'_, FastGate> {
    // Plain data; a panic while holding it cannot leave it half-written in a
    // way that matters more than the restart it was deciding.
    gate.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FastGate {
    /// True if worker `worker` of child `key` may restart it now after
    /// `reason` (`started`: the life that ended had started); records the
    /// restart in the window if so. A life that failed to start is left to
    /// the supervisor, so that a loop of failed starts is seen and backed
    /// off.
    pub(crate) fn admit(
        &mut self,
        key: u64,
        worker: u64,
        reason: &ExitReason,
        started: bool,
        now: Instant,
    ) -> bool {
        if !self.open || !started || self.stop.is_requested() {
            return false;
        }
        let Some(c) = self.children.get(&key) else {
            return false;
        };
        if !c.eligible
            || !c.running
            || c.worker != worker
            || !c.restart.restarts_after(reason.is_failure())
        {
            return false;
        }
        // If not, the supervisor records it and gives up.
        self.window.try_record(now)
    }
}
