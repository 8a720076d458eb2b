//! The decisions of the dead-letter log, as pure functions of a kind and an
//! instant: which letter is logged in full, which is only counted, and which
//! windows are over. No clock, no lock, no thread: the tests make up the
//! instants.

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

impl Window {
    /// Over at `now`: a letter now would open the next window.
    fn is_over(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.began) >= INTERVAL
    }

    /// The instant it is over; `None` past the clock's range, where it
    /// never is (its count waits for a later letter or the mailbox's end).
    fn end(&self) -> Option<Instant> {
        self.began.checked_add(INTERVAL)
    }

    /// Its count, closed at `now`: `None` when nothing was counted.
    fn closed(self, kind: Kind, now: Instant) -> Option<Closed> {
        (self.more > 0).then(|| Closed {
            kind,
            count: self.more,
            window: now.saturating_duration_since(self.began).min(INTERVAL),
        })
    }
}

/// What to log for one dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The count of the window this letter closed (never 0).
    pub(crate) closed: Option<Closed>,
    /// Log this letter in full (it opened a window).
    pub(crate) full: bool,
}

/// A closed window's count: the line "N more dead letters".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed {
    pub(crate) kind: Kind,
    /// The letters after the window's first (never 0).
    pub(crate) count: u64,
    /// From the window's first letter to its close: [`INTERVAL`], or less
    /// when the mailbox ended first.
    pub(crate) window: Duration,
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
            && !w.is_over(now)
        {
            w.more += 1;
            return Verdict {
                closed: None,
                full: false,
            };
        }
        let closed = slot.take().and_then(|w| w.closed(kind, now));
        *slot = Some(Window {
            began: now,
            more: 0,
        });
        Verdict { closed, full: true }
    }

    /// Closes the windows that are over at `now`; returns the counts they
    /// held. The others stay open.
    pub(crate) fn close_over(&mut self, now: Instant) -> Vec<Closed> {
        self.close(now, |w| w.is_over(now))
    }

    /// Closes every window at `now`; returns the counts not yet logged.
    pub(crate) fn close_all(&mut self, now: Instant) -> Vec<Closed> {
        self.close(now, |_| true)
    }

    /// When the first window that holds a count is over: `None` when no
    /// window holds one (nothing to report, now or later).
    pub(crate) fn next_end(&self) -> Option<Instant> {
        self.open
            .iter()
            .flatten()
            .filter(|w| w.more > 0)
            .filter_map(Window::end)
            .min()
    }

    fn close(&mut self, now: Instant, which: impl Fn(&Window) -> bool) -> Vec<Closed> {
        Kind::all()
            .into_iter()
            .filter_map(|k| {
                let slot = &mut self.open[k as usize];
                let w = slot.take_if(|w| which(w))?;
                w.closed(k, now)
            })
            .collect()
    }
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

    fn closed(kind: Kind, count: u64, window: Duration) -> Closed {
        Closed {
            kind,
            count,
            window,
        }
    }

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
        let end = t0 + Duration::from_millis(60);
        assert_eq!(
            w.close_all(end),
            [closed(Kind::Stopped, 49, Duration::from_millis(60))],
            "a mailbox that ends early says how long its window was"
        );
        assert_eq!(w.close_all(end), [], "a count is given once");
    }

    #[test]
    fn a_letter_after_the_interval_closes_the_window_and_opens_the_next() {
        let t0 = Instant::now();
        let mut w = Windows::default();
        w.record(Kind::Dropped, t0);
        w.record(Kind::Dropped, t0 + Duration::from_secs(1));
        w.record(Kind::Dropped, t0 + INTERVAL - Duration::from_nanos(1));
        assert_eq!(
            w.record(Kind::Dropped, t0 + INTERVAL * 5),
            Verdict {
                closed: Some(closed(Kind::Dropped, 2, INTERVAL)),
                full: true
            },
            "the count covers one interval, however late it is logged"
        );
        // A window with nothing counted closes without a line.
        assert_eq!(w.record(Kind::Dropped, t0 + INTERVAL * 7), FULL);
        assert_eq!(w.close_all(t0 + INTERVAL * 7), []);
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
            w.close_all(t0),
            [
                closed(Kind::Stopped, 1, Duration::ZERO),
                closed(Kind::DrainDeadline, 2, Duration::ZERO)
            ]
        );
        // Closed windows open again with a full line.
        assert_eq!(w.record(Kind::Stopped, t0), FULL);
    }

    #[test]
    fn a_window_is_over_at_its_end_and_not_a_moment_before() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(3);
        let mut w = Windows::default();
        assert_eq!(w.next_end(), None, "no window");
        w.record(Kind::Stopped, t0);
        assert_eq!(w.next_end(), None, "a window with nothing to report");
        w.record(Kind::Dropped, t1);
        w.record(Kind::Dropped, t1);
        w.record(Kind::Stopped, t1);
        assert_eq!(w.next_end(), Some(t0 + INTERVAL), "the earliest first");
        assert_eq!(w.close_over(t0 + INTERVAL - Duration::from_nanos(1)), []);
        assert_eq!(
            w.close_over(t0 + INTERVAL),
            [closed(Kind::Stopped, 1, INTERVAL)]
        );
        assert_eq!(w.next_end(), Some(t1 + INTERVAL), "the other kind's");
        // A late look reports a full interval, not the time it looked.
        assert_eq!(
            w.close_over(t1 + INTERVAL * 3),
            [closed(Kind::Dropped, 1, INTERVAL)]
        );
        assert_eq!(w.next_end(), None);
        assert_eq!(w.close_all(t1 + INTERVAL * 3), [], "each count once");
        // A window closed on time opens again with a full line.
        assert_eq!(w.record(Kind::Dropped, t1 + INTERVAL * 3), FULL);
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
