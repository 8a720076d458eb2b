//! Dead letters in the log, aggregated: a tree that gives up with 50
//! messages queued says so in two lines, not fifty.
//!
//! # Anatomy
//!
//! Each mailbox keeps one window per kind of [`DeadReason`]. The first dead
//! letter of a kind opens a window of [`INTERVAL`] and is logged in full at
//! WARN ("message dead-lettered", with `server`, `message_type`, `reason`
//! and `reason_kind`); the ones that follow inside the window are only
//! counted. The count is logged as one WARN line ("N more dead letters",
//! with `server`, `reason_kind`, `count` and `interval_s`) when the window
//! closes: at the first dead letter of that kind after it (which opens the
//! next window and is logged in full), or when the mailbox finishes or is
//! dropped, so that a shutdown loses no count.
//!
//! # Invariants
//!
//! - No thread of its own, and nothing on the send or handle path: only a
//!   dead letter reads the clock and takes the lock.
//! - Every dead letter is in the log, in full or in a count; the sink
//!   ([`on_dead_letter`](crate::HubBuilder::on_dead_letter)) and the
//!   mailbox's `dead_lettered` counter still see each one.
//! - The decisions ([`Windows`]) are a pure function of the kind and the
//!   instant, tested with instants made up by the tests.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::data::dead_letter::DeadReason;

/// How long a window counts dead letters of one kind after the first.
pub(crate) const INTERVAL: Duration = Duration::from_secs(10);

/// The kind of a [`DeadReason`], as the log's `reason_kind` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    InFlight,
    Stopped,
    DrainDeadline,
    Dropped,
}

impl Kind {
    const COUNT: usize = 4;

    pub(crate) fn of(reason: &DeadReason) -> Kind {
        match reason {
            DeadReason::InFlight(_) => Kind::InFlight,
            DeadReason::Stopped => Kind::Stopped,
            DeadReason::DrainDeadline => Kind::DrainDeadline,
            DeadReason::Dropped => Kind::Dropped,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::InFlight => "in_flight",
            Kind::Stopped => "stopped",
            Kind::DrainDeadline => "drain_deadline",
            Kind::Dropped => "dropped",
        }
    }

    fn all() -> [Kind; Kind::COUNT] {
        [
            Kind::InFlight,
            Kind::Stopped,
            Kind::DrainDeadline,
            Kind::Dropped,
        ]
    }
}

/// An open window: when its first letter came, how many came after it.
#[derive(Debug, Clone, Copy)]
struct Window {
    began: Instant,
    more: u64,
}

/// What to log for one dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The count of the window this letter closed (never 0).
    pub(crate) closed: Option<u64>,
    /// Log this letter in full (it opened a window).
    pub(crate) full: bool,
}

/// One mailbox's windows, one per kind. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Windows {
    open: [Option<Window>; Kind::COUNT],
}

impl Windows {
    /// One dead letter of `kind` at `now`.
    pub(crate) fn record(&mut self, kind: Kind, now: Instant) -> Verdict {
        let slot = &mut self.open[kind as usize];
        if let Some(w) = slot
            && now.saturating_duration_since(w.began) < INTERVAL
        {
            w.more += 1;
            return Verdict {
                closed: None,
                full: false,
            };
        }
        let closed = slot.take().map(|w| w.more).filter(|&n| n > 0);
        *slot = Some(Window {
            began: now,
            more: 0,
        });
        Verdict { closed, full: true }
    }

    /// Closes every window; returns the counts not yet logged.
    pub(crate) fn close_all(&mut self) -> Vec<(Kind, u64)> {
        Kind::all()
            .into_iter()
            .filter_map(|k| {
                let w = self.open[k as usize].take()?;
                (w.more > 0).then_some((k, w.more))
            })
            .collect()
    }
}

/// A mailbox's dead-letter log: the windows, and the lines they call for.
#[derive(Debug, Default)]
pub(crate) struct DeadLetterLog {
    windows: Mutex<Windows>,
}

impl DeadLetterLog {
    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        // Plain counts: a panic while holding the lock leaves nothing half
        // done that matters, so poisoning is ignored.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Logs one dead letter of `server`, in full or in the count.
    pub(crate) fn letter(&self, server: &str, message_type: &'static str, reason: &DeadReason) {
        let kind = Kind::of(reason);
        let verdict = self.windows().record(kind, Instant::now());
        if let Some(count) = verdict.closed {
            more(server, kind, count);
        }
        if verdict.full {
            tracing::warn!(
                server,
                message_type,
                reason = %reason,
                reason_kind = kind.name(),
                "message dead-lettered"
            );
        }
    }

    /// Logs every count not yet logged (the mailbox finishes or goes).
    pub(crate) fn flush(&self, server: &str) {
        let counts = self.windows().close_all();
        for (kind, count) in counts {
            more(server, kind, count);
        }
    }
}

/// The line for a window's count.
fn more(server: &str, kind: Kind, count: u64) {
    tracing::warn!(
        server,
        reason_kind = kind.name(),
        count,
        interval_s = INTERVAL.as_secs(),
        "{count} more dead letters"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Verdict = Verdict {
        closed: None,
        full: true,
    };
    const COUNTED: Verdict = Verdict {
        closed: None,
        full: false,
    };

    #[test]
    fn the_first_of_a_window_is_full_and_the_rest_are_counted() {
        let t0 = Instant::now();
        let mut w = Windows::default();
        assert_eq!(w.record(Kind::Stopped, t0), FULL);
        for i in 1..50 {
            assert_eq!(
                w.record(Kind::Stopped, t0 + Duration::from_millis(i)),
                COUNTED
            );
        }
        assert_eq!(w.close_all(), [(Kind::Stopped, 49)]);
        assert_eq!(w.close_all(), [], "a count is given once");
    }

    #[test]
    fn a_letter_after_the_interval_closes_the_window_and_opens_the_next() {
        let t0 = Instant::now();
        let mut w = Windows::default();
        w.record(Kind::Dropped, t0);
        w.record(Kind::Dropped, t0 + Duration::from_secs(1));
        w.record(Kind::Dropped, t0 + INTERVAL - Duration::from_nanos(1));
        assert_eq!(
            w.record(Kind::Dropped, t0 + INTERVAL),
            Verdict {
                closed: Some(2),
                full: true
            }
        );
        // A window with nothing counted closes without a line.
        assert_eq!(w.record(Kind::Dropped, t0 + INTERVAL * 3), FULL);
        assert_eq!(w.close_all(), []);
    }

    #[test]
    fn each_kind_has_its_own_window() {
        let t0 = Instant::now();
        let mut w = Windows::default();
        assert_eq!(w.record(Kind::Stopped, t0), FULL);
        assert_eq!(w.record(Kind::DrainDeadline, t0), FULL);
        assert_eq!(w.record(Kind::Stopped, t0), COUNTED);
        assert_eq!(w.record(Kind::DrainDeadline, t0), COUNTED);
        assert_eq!(w.record(Kind::DrainDeadline, t0), COUNTED);
        assert_eq!(
            w.close_all(),
            [(Kind::Stopped, 1), (Kind::DrainDeadline, 2)]
        );
        // Closed windows open again with a full line.
        assert_eq!(w.record(Kind::Stopped, t0), FULL);
    }

    #[test]
    fn every_reason_has_its_kind() {
        use threadbutler_supervisor::ExitReason;
        assert_eq!(
            Kind::of(&DeadReason::InFlight(ExitReason::Shutdown)).name(),
            "in_flight"
        );
        assert_eq!(Kind::of(&DeadReason::Stopped).name(), "stopped");
        assert_eq!(
            Kind::of(&DeadReason::DrainDeadline).name(),
            "drain_deadline"
        );
        assert_eq!(Kind::of(&DeadReason::Dropped).name(), "dropped");
    }
}
