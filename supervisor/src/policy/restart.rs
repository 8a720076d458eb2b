//! OTP's restart vocabulary: which children restart ([`Strategy`]), when
//! ([`Restart`]), and how often is too often ([`Intensity`], tracked by a
//! [`RestartWindow`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Which children a supervisor restarts when one fails (OTP's strategies).
///
/// With the `serde` feature it reads as `"one_for_one"`, `"one_for_all"` or
/// `"rest_for_one"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Strategy {
    /// Restart only the child that ended.
    #[default]
    OneForOne,
    /// Stop all the other children (reverse start order), then restart all
    /// of them (start order).
    OneForAll,
    /// Stop the children started after the one that ended (reverse order),
    /// then restart it and them (start order). Earlier children keep running.
    RestForOne,
}

/// When a child that ended is restarted (OTP's restart types).
///
/// With the `serde` feature it reads as `"permanent"`, `"transient"` or
/// `"temporary"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Restart {
    /// Always, whatever the reason (but never after a stop asked for
    /// through the API or a shutdown).
    #[default]
    Permanent,
    /// Only after a failure: a panic, an `Err`, a missed heartbeat, or a
    /// nested supervisor giving up or failing to start a child.
    Transient,
    /// Never; when it ends its spec is dropped.
    Temporary,
}

impl Restart {
    /// True if a child of this type that ended with `failure` (see
    /// `ExitReason::is_failure`) is restarted.
    pub fn restarts_after(self, failure: bool) -> bool {
        match self {
            Restart::Permanent => true,
            Restart::Transient => failure,
            Restart::Temporary => false,
        }
    }
}

/// How many restarts a supervisor tolerates: more than `max_restarts` within
/// any `period` makes it give up (stop its children and exit as failed).
///
/// ```
/// use std::time::Duration;
/// use threadbutler_supervisor::*;
///
/// assert_eq!(Intensity::default(), Intensity { max_restarts: 3, period: Duration::from_secs(5) });
///
/// // A child that fails as soon as it started: restarted twice, then too often.
/// let crashy = FnChild::new(|mut life| {
///     life.started();
///     ExitReason::failed(Stage::Run, "always fails".into())
/// });
/// let spec = SupervisorSpec::new("app")
///     .intensity(Intensity { max_restarts: 2, period: Duration::from_secs(60) })
///     .child(ChildSpec::new("crashy", crashy));
/// let root = Supervisor::start(spec, EventBus::new()).expect("starts");
/// // The supervisor gives up; under a parent, that is a failure to handle.
/// assert!(matches!(root.wait(), ExitReason::GaveUp { max_restarts: 2, .. }));
/// ```
///
/// With the `serde` feature it reads as `{ max_restarts = 3, period = "5s" }`
/// (a zero period, and a value above its bound, are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Intensity {
    /// Restarts allowed within one period (at most
    /// [`Policy::MAX_RESTARTS`](crate::Policy::MAX_RESTARTS)).
    #[cfg_attr(feature = "serde", serde(deserialize_with = "super::de::max_restarts"))]
    pub max_restarts: u32,
    /// The sliding window (greater than zero, at most
    /// [`Policy::MAX_DURATION`](crate::Policy::MAX_DURATION)).
    #[cfg_attr(feature = "serde", serde(deserialize_with = "super::de::positive"))]
    pub period: Duration,
}

impl Default for Intensity {
    /// 3 restarts within 5 s.
    fn default() -> Self {
        Intensity {
            max_restarts: 3,
            period: Duration::from_secs(5),
        }
    }
}

/// The sliding window of recent restarts behind an [`Intensity`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use threadbutler_supervisor::{Intensity, RestartWindow};
///
/// let mut w = RestartWindow::new(Intensity { max_restarts: 2, period: Duration::from_secs(10) });
/// let t0 = Instant::now();
/// assert!(w.record(t0));
/// assert!(w.record(t0 + Duration::from_secs(1)));
/// assert!(!w.record(t0 + Duration::from_secs(2)), "a third within 10 s is too many");
/// ```
#[derive(Debug, Clone)]
pub struct RestartWindow {
    intensity: Intensity,
    times: VecDeque<Instant>,
}

impl RestartWindow {
    /// An empty window.
    pub fn new(intensity: Intensity) -> Self {
        RestartWindow {
            intensity,
            times: VecDeque::new(),
        }
    }

    /// Records a restart at `now`. Returns false if that makes more than
    /// `max_restarts` within the period: the supervisor must give up.
    pub fn record(&mut self, now: Instant) -> bool {
        while let Some(&front) = self.times.front() {
            if now.saturating_duration_since(front) >= self.intensity.period {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.push_back(now);
        self.times.len() <= self.intensity.max_restarts as usize
    }

    /// Records a restart at `now` only if it is allowed; false (and
    /// nothing recorded) if it would be one too many.
    pub fn try_record(&mut self, now: Instant) -> bool {
        self.would_allow(now) && self.record(now)
    }

    /// True if a restart recorded at `now` would still be allowed. Records
    /// nothing.
    pub fn would_allow(&self, now: Instant) -> bool {
        let inside = self
            .times
            .iter()
            .filter(|&&t| now.saturating_duration_since(t) < self.intensity.period)
            .count();
        inside < self.intensity.max_restarts as usize
    }

    /// Restarts inside the window as of the last record.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// True if no restart is in the window.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The intensity it enforces.
    pub fn intensity(&self) -> Intensity {
        self.intensity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides() {
        let mut w = RestartWindow::new(Intensity {
            max_restarts: 2,
            period: Duration::from_secs(10),
        });
        let t = Instant::now();
        assert!(w.record(t));
        assert!(w.record(t + Duration::from_secs(6)));
        // The first has left the window by t+10s: two in the window, fine.
        assert!(w.record(t + Duration::from_secs(11)));
        // Three within 10 s (6, 11, 12): too many.
        assert!(!w.record(t + Duration::from_secs(12)));
    }

    #[test]
    fn restart_types() {
        assert!(Restart::Permanent.restarts_after(false));
        assert!(Restart::Permanent.restarts_after(true));
        assert!(!Restart::Transient.restarts_after(false));
        assert!(Restart::Transient.restarts_after(true));
        assert!(!Restart::Temporary.restarts_after(true));
    }
}
