//! Heartbeat plumbing: what a child publishes and a supervisor samples.
//!
//! A child thread owns the one [`HeartbeatWriter`]; any number of
//! [`HeartbeatReader`]s sample it. The writer bumps a progress counter after
//! each message and on each explicit beat, and flips a busy flag only around
//! blocking waits. Both are plain stores to a cache line only the child
//! writes: no lock, no read-modify-write, no clock, no syscall.
//!
//! A supervisor decides "hung" from two samples taken a heartbeat timeout
//! apart: busy in both, and the same progress. An idle child (blocked waiting
//! for work) is never busy, so it is never hung and needs no wake-ups.
//!
//! ```
//! use threadbutler_supervisor::heartbeat::heartbeat;
//!
//! let (mut writer, reader) = heartbeat();
//! let before = reader.sample();
//! writer.set_busy(true);
//! writer.bump();
//! let after = reader.sample();
//! assert!(after.busy);
//! assert!(after.progressed_since(&before));
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug)]
struct Shared {
    progress: AtomicU64,
    busy: AtomicBool,
}

/// Creates a heartbeat: the writer for the child, a reader for supervisors.
/// It starts busy (a starting child is working) at progress 0.
pub fn heartbeat() -> (HeartbeatWriter, HeartbeatReader) {
    let shared = Arc::new(Shared {
        progress: AtomicU64::new(0),
        busy: AtomicBool::new(true),
    });
    (
        HeartbeatWriter {
            shared: Arc::clone(&shared),
            progress: 0,
            busy: true,
        },
        HeartbeatReader { shared },
    )
}

/// The child's side. Not `Clone`: one thread writes, so plain stores suffice.
///
/// ```
/// use threadbutler_supervisor::heartbeat::heartbeat;
///
/// let (mut writer, reader) = heartbeat();
/// let before = reader.sample();
/// let child = std::thread::spawn(move || {
///     for _step in 0..3 {
///         writer.bump(); // one step of a long job done
///     }
///     writer.set_busy(false); // about to wait for work
/// });
/// child.join().expect("no panic");
/// let after = reader.sample();
/// assert_eq!(after.progress, 3);
/// assert!(!after.busy);
/// assert!(!after.is_hung_since(&before)); // idle is never hung
/// ```
#[derive(Debug)]
pub struct HeartbeatWriter {
    shared: Arc<Shared>,
    progress: u64,
    busy: bool,
}

impl HeartbeatWriter {
    /// Records progress: one finished message or one explicit beat.
    #[inline]
    pub fn bump(&mut self) {
        self.progress = self.progress.wrapping_add(1);
        self.shared.progress.store(self.progress, Ordering::Relaxed);
    }

    /// Marks the child busy (working) or idle (blocked waiting for work).
    #[inline]
    pub fn set_busy(&mut self, busy: bool) {
        if self.busy != busy {
            self.busy = busy;
            self.shared.busy.store(busy, Ordering::Release);
        }
    }

    /// A reader of this heartbeat.
    pub fn reader(&self) -> HeartbeatReader {
        HeartbeatReader {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// A supervisor's side: samples without disturbing the child.
#[derive(Debug, Clone)]
pub struct HeartbeatReader {
    shared: Arc<Shared>,
}

impl HeartbeatReader {
    /// The current progress count and busy flag.
    pub fn sample(&self) -> HeartbeatSample {
        HeartbeatSample {
            busy: self.shared.busy.load(Ordering::Acquire),
            progress: self.shared.progress.load(Ordering::Relaxed),
        }
    }
}

/// One reading of a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatSample {
    /// Messages finished plus explicit beats, since the child started.
    pub progress: u64,
    /// True while the child works; false while it waits for work.
    pub busy: bool,
}

impl HeartbeatSample {
    /// True if progress moved between `earlier` and this sample.
    pub fn progressed_since(&self, earlier: &HeartbeatSample) -> bool {
        self.progress != earlier.progress
    }

    /// True if a child sampled `earlier` and then `self` one heartbeat
    /// timeout apart counts as hung: busy both times with no progress.
    pub fn is_hung_since(&self, earlier: &HeartbeatSample) -> bool {
        self.busy && earlier.busy && !self.progressed_since(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_is_never_hung() {
        let (mut w, r) = heartbeat();
        w.set_busy(false);
        let a = r.sample();
        let b = r.sample();
        assert!(!b.is_hung_since(&a));
    }

    #[test]
    fn busy_without_progress_is_hung_and_a_beat_clears_it() {
        let (mut w, r) = heartbeat();
        let a = r.sample();
        assert!(r.sample().is_hung_since(&a));
        w.bump();
        assert!(!r.sample().is_hung_since(&a));
    }
}
