//! Where a child's thread leaves its exit reason for any number of waiters.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::ExitReason;

/// A write-once cell for a child's [`ExitReason`] that threads can wait on.
///
/// The child's thread [`set`](ExitCell::set)s it as its last act; a stopper
/// waits with a deadline, a joiner without one, and both see the same reason.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use threadbutler_supervisor::{ExitCell, ExitReason};
///
/// let cell = Arc::new(ExitCell::new());
/// assert!(cell.wait_timeout(Duration::from_millis(1)).is_none());
/// let c = Arc::clone(&cell);
/// std::thread::spawn(move || c.set(ExitReason::Normal));
/// assert!(matches!(cell.wait(), ExitReason::Normal));
/// assert!(matches!(cell.get(), Some(ExitReason::Normal)));
/// ```
#[derive(Debug, Default)]
pub struct ExitCell {
    reason: Mutex<Option<ExitReason>>,
    set: Condvar,
}

impl ExitCell {
    /// An empty cell.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Option<ExitReason>> {
        // An Option written once; a panic elsewhere cannot leave it torn.
        self.reason.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the reason and wakes every waiter. Only the first call counts;
    /// it returns false for later ones.
    pub fn set(&self, reason: ExitReason) -> bool {
        let mut slot = self.lock();
        if slot.is_some() {
            return false;
        }
        *slot = Some(reason);
        self.set.notify_all();
        true
    }

    /// The reason, if the child has ended.
    pub fn get(&self) -> Option<ExitReason> {
        self.lock().clone()
    }

    /// Waits until the child has ended.
    pub fn wait(&self) -> ExitReason {
        let mut slot = self.lock();
        loop {
            if let Some(r) = slot.as_ref() {
                return r.clone();
            }
            slot = self.set.wait(slot).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Waits at most `timeout`; `None` if the child has not ended by then.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ExitReason> {
        let deadline = Instant::now().checked_add(timeout);
        let mut slot = self.lock();
        loop {
            if let Some(r) = slot.as_ref() {
                return Some(r.clone());
            }
            let left = match deadline {
                None => Duration::MAX,
                Some(d) => d.checked_duration_since(Instant::now())?,
            };
            slot = self
                .set
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
