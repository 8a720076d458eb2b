//! The time the control plane reads: restart windows, backoff, heartbeat
//! checks and every stop or start deadline (DESIGN rule 12). The data path
//! reads no clock at all.
//!
//! # Anatomy
//!
//! A [`Clock`] tells the time and, if it is virtual, says when it jumps. The
//! engine asks it for `now()` and, when it has a deadline to wait for,
//! either blocks until that instant in real time ([`SystemClock`]) or blocks
//! until the clock jumps and looks again ([`ManualClock`]). So a test that
//! drives a [`ManualClock`] sees minutes of restart windows, backoffs and
//! drain deadlines pass without waiting for any of them.
//!
//! ```
//! use std::time::Duration;
//! use threadbutler_supervisor::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let t0 = clock.now();
//! let jumps = clock.jumps().expect("a manual clock says when it jumps");
//! clock.advance(Duration::from_secs(90));
//! assert_eq!(clock.now() - t0, Duration::from_secs(90));
//! assert!(jumps.try_recv().is_ok(), "a waiter was woken to look again");
//! ```
//!
//! # Limitations
//!
//! Only the supervision engine and the restart bookkeeping of its worker
//! threads read the injected clock. What user code does with time (a
//! server's tick interval, a request timeout) is real time.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

/// A source of time for the control plane.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> Instant;

    /// For a virtual clock, a channel that receives a token whenever the
    /// clock jumps, so that a waiter can look at [`now`](Self::now) again;
    /// `None` for a clock that moves by itself, whose deadlines are waited
    /// for in real time.
    fn jumps(&self) -> Option<Receiver<()>> {
        None
    }
}

/// A shared clock, as the engine holds it.
pub type SharedClock = Arc<dyn Clock>;

/// The real, monotonic clock: `Instant::now()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The clock a tree uses unless told otherwise.
pub(crate) fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A virtual clock that moves only when told to: for tests of restart
/// windows, backoffs, heartbeats and deadlines that should take no real
/// time.
///
/// Give it to a tree with [`SupervisorSpec::clock`](crate::SupervisorSpec::clock)
/// (or `ButlerBuilder::clock` in `threadbutler`);
/// every supervisor of the tree then reads it, and waits for it to be
/// [`advance`](Self::advance)d instead of waiting for real time to pass.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use threadbutler_supervisor::*;
///
/// let clock = Arc::new(ManualClock::new());
/// // A child that fails as soon as it started, restarted after a minute.
/// let flaky = FnChild::new(|mut life| {
///     life.started();
///     ExitReason::failed(Stage::Run, "no disk".into())
/// });
/// let backoff = Backoff::exponential(Duration::from_secs(60), Duration::from_secs(600));
/// let spec = SupervisorSpec::new("app")
///     .clock(clock.clone())
///     .child(ChildSpec::new("flaky", flaky).backoff(backoff));
/// let bus = EventBus::new();
/// let events = bus.subscribe();
/// let root = Supervisor::start(spec, bus).expect("starts");
/// let planned = events.iter().find(|e| e.kind() == "Restarting").expect("a restart");
/// assert!(matches!(planned, Event::Restarting { delay, .. } if delay == Duration::from_secs(60)));
/// clock.advance(Duration::from_secs(60)); // a minute passes, at once
/// let again = events.iter().find(|e| e.kind() == "Starting").expect("started again");
/// assert_eq!(again.subject(), "app/flaky");
/// root.shutdown();
/// root.wait();
/// ```
pub struct ManualClock {
    base: Instant,
    inner: Mutex<ManualInner>,
}

struct ManualInner {
    offset: Duration,
    waiters: Vec<Sender<()>>,
}

impl ManualClock {
    /// A clock standing at the real instant of its creation.
    pub fn new() -> Self {
        ManualClock {
            base: Instant::now(),
            inner: Mutex::new(ManualInner {
                offset: Duration::ZERO,
                waiters: Vec::new(),
            }),
        }
    }

    /// Moves the clock forward by `by` and wakes every waiter.
    pub fn advance(&self, by: Duration) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.offset = inner.offset.saturating_add(by);
        inner.waiters.retain(|w| match w.try_send(()) {
            // Full: a wake-up is already waiting, which is all it needs.
            Ok(()) | Err(TrySendError::Full(())) => true,
            Err(TrySendError::Disconnected(())) => false,
        });
    }

    /// How far the clock has been moved since it was created.
    pub fn elapsed(&self) -> Duration {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .offset
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let offset = self.elapsed();
        self.base.checked_add(offset).unwrap_or(self.base)
    }

    fn jumps(&self) -> Option<Receiver<()>> {
        let (tx, rx) = bounded(1);
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiters
            .push(tx);
        Some(rx)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

/// `t + d`, or about a century after `t` when that overflows: a deadline
/// that never comes, never a panic (a `Duration::MAX` timeout is legal).
pub(crate) fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = ManualClock::new();
        let t = c.now();
        assert_eq!(c.now(), t);
        c.advance(Duration::from_secs(3600));
        assert_eq!(c.now().duration_since(t), Duration::from_secs(3600));
    }

    #[test]
    fn every_waiter_hears_a_jump_and_dropped_ones_are_forgotten() {
        let c = ManualClock::new();
        let a = c.jumps().expect("virtual");
        let b = c.jumps().expect("virtual");
        drop(b);
        c.advance(Duration::from_millis(1));
        c.advance(Duration::from_millis(1)); // a second jump while one is pending
        assert!(a.try_recv().is_ok());
        assert!(a.try_recv().is_err(), "one token is enough to look again");
        assert_eq!(c.inner.lock().map(|i| i.waiters.len()).unwrap_or(0), 1);
    }

    #[test]
    fn the_system_clock_waits_in_real_time() {
        assert!(SystemClock.jumps().is_none());
    }

    #[test]
    fn after_never_overflows() {
        let t = Instant::now();
        assert!(after(t, Duration::MAX) > t);
    }
}
