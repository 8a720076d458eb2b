//! [`Policy`]: every policy of a child or a supervisor as one value, each
//! field optional, and the one rule by which a policy given later wins.

use std::time::Duration;

use super::backoff::Backoff;
use super::bounds;
use super::restart::{Intensity, Restart, Strategy};
use crate::shutdown::Shutdown;

/// Policies of one child or supervisor, each optional: what a policy leaves
/// out (`None`) keeps the value already in force.
///
/// It is the one shape in which policies travel: the code's declaration, a
/// config file's table and a reload each give one, [`merge`](Self::merge)
/// lays a later one over an earlier one, and
/// [`ChildSpec::with_policy`](crate::ChildSpec::with_policy) and
/// [`SupervisorSpec::with_policy`](crate::SupervisorSpec::with_policy) lay
/// one over a spec.
///
/// The fields fall in two groups. `restart` to `fresh_thread_on_restart`
/// are a child's, as its supervisor sees it; `strategy`, `intensity` and
/// `abandon_after` are a supervisor's own (a nested supervisor, or a pool,
/// takes both groups). A spec takes the fields of its group and ignores the
/// others.
///
/// ```
/// use std::time::Duration;
/// use threadbutler_supervisor::{ChildSpec, ExitReason, FnChild, Policy, Restart};
///
/// let code = Policy::new().restart(Restart::Permanent).heartbeat(Duration::from_secs(1));
/// let file = Policy::new().restart(Restart::Transient);
/// let mut effective = code;
/// effective.merge(&file); // the later one wins, field by field
/// assert_eq!(effective.restart, Some(Restart::Transient));
/// assert_eq!(effective.heartbeat, Some(Duration::from_secs(1))); // the file left it out
///
/// let child = FnChild::new(|mut life| {
///     life.started();
///     ExitReason::Shutdown
/// });
/// let spec = ChildSpec::new("ticker", child).with_policy(&effective);
/// assert_eq!(spec.restart_type(), Restart::Transient);
/// ```
///
/// With the `serde` feature it deserializes from a table whose keys are the
/// field names, with human durations and every key optional; unknown keys
/// and impossible values (see [`validate`](Self::validate)) are refused:
///
/// ```toml
/// restart = "transient"              # permanent | transient | temporary
/// shutdown = { drain = "5s" }        # or "immediate"
/// heartbeat = "1s"
/// backoff = { min = "10ms", max = "1s", jitter = 0.1, reset_after = "30s" }
/// start_timeout = "5s"
/// stack_size = 262144
/// fresh_thread_on_restart = false
/// strategy = "one_for_one"           # one_for_one | one_for_all | rest_for_one
/// intensity = { max_restarts = 3, period = "5s" }
/// abandon_after = "5s"
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
#[non_exhaustive]
pub struct Policy {
    /// When the child is restarted.
    pub restart: Option<Restart>,
    /// How it stops.
    pub shutdown: Option<Shutdown>,
    /// Its heartbeat timeout: busy this long without progress is a failure.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "super::de::some_positive")
    )]
    pub heartbeat: Option<Duration>,
    /// The wait between its restarts.
    pub backoff: Option<Backoff>,
    /// How long a life may take to start before it counts as failed.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "super::de::some_positive")
    )]
    pub start_timeout: Option<Duration>,
    /// Its thread's stack size in bytes.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "super::de::some_stack_size")
    )]
    pub stack_size: Option<usize>,
    /// Whether every restart gets a new thread.
    pub fresh_thread_on_restart: Option<bool>,
    /// A supervisor's strategy.
    pub strategy: Option<Strategy>,
    /// A supervisor's restart intensity.
    pub intensity: Option<Intensity>,
    /// How long a supervisor waits after an immediate stop before it
    /// reports a child abandoned.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "super::de::some_duration")
    )]
    pub abandon_after: Option<Duration>,
}

impl Policy {
    /// A policy that sets nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lays `later` over this policy: each field `later` sets wins; each it
    /// leaves out keeps this one's value.
    pub fn merge(&mut self, later: &Policy) {
        // Destructured, so a new field cannot be left out of the rule.
        let Policy {
            restart,
            shutdown,
            heartbeat,
            backoff,
            start_timeout,
            stack_size,
            fresh_thread_on_restart,
            strategy,
            intensity,
            abandon_after,
        } = *later;
        self.restart = restart.or(self.restart);
        self.shutdown = shutdown.or(self.shutdown);
        self.heartbeat = heartbeat.or(self.heartbeat);
        self.backoff = backoff.or(self.backoff);
        self.start_timeout = start_timeout.or(self.start_timeout);
        self.stack_size = stack_size.or(self.stack_size);
        self.fresh_thread_on_restart = fresh_thread_on_restart.or(self.fresh_thread_on_restart);
        self.strategy = strategy.or(self.strategy);
        self.intensity = intensity.or(self.intensity);
        self.abandon_after = abandon_after.or(self.abandon_after);
    }

    /// True if it sets nothing.
    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }

    /// Checks the values it sets: a zero heartbeat, start timeout, stack
    /// size or intensity period and an impossible backoff are errors, and
    /// so is a value above its bound:
    ///
    /// | value | bound | why |
    /// |---|---|---|
    /// | every duration (`heartbeat`, `start_timeout`, `shutdown` drain, `backoff` `min`/`max`/`reset_after`, `intensity.period`, `abandon_after`) | [`MAX_DURATION`](Self::MAX_DURATION), 365 days | `Instant + d` must not overflow, and a deadline a year away already means "never" |
    /// | `intensity.max_restarts` | [`MAX_RESTARTS`](Self::MAX_RESTARTS), 100 000 | the restart window keeps one `Instant` per restart within its period (1.6 MB at most) |
    /// | `stack_size` | [`MAX_STACK_SIZE`](Self::MAX_STACK_SIZE), 1 GiB | a thread's stack is reserved whole when it is spawned |
    ///
    /// The same checks refuse a config file's value at load (feature
    /// `serde`), and [`ChildSpec::validate`](crate::ChildSpec::validate)
    /// and [`SupervisorSpec::validate`](crate::SupervisorSpec::validate)
    /// make them for a spec built in code.
    ///
    /// ```
    /// use std::time::Duration;
    /// use threadbutler_supervisor::{Intensity, Policy};
    ///
    /// let forever = Policy::new().heartbeat(Duration::from_secs(u64::MAX));
    /// assert!(forever.validate().unwrap_err().starts_with("heartbeat: must be at most 365days"));
    /// let many = Policy::new().intensity(Intensity { max_restarts: u32::MAX, period: Duration::from_secs(1) });
    /// assert!(many.validate().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// A message naming the field and what was expected.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |key: &str, d: Option<Duration>| match d {
            Some(d) if d.is_zero() => Err(format!("{key}: must be greater than zero")),
            Some(d) => Self::check_duration(key, d),
            None => Ok(()),
        };
        positive("heartbeat", self.heartbeat)?;
        positive("start_timeout", self.start_timeout)?;
        if let Some(bytes) = self.stack_size {
            bounds::stack_size_bound(bytes).map_err(|m| format!("stack_size: {m}"))?;
        }
        if let Some(i) = self.intensity {
            positive("intensity.period", Some(i.period))?;
            bounds::max_restarts_bound(i.max_restarts)
                .map_err(|m| format!("intensity.max_restarts: {m}"))?;
        }
        if let Some(s) = self.shutdown {
            Self::check_duration("shutdown.drain", s.drain_timeout())?;
        }
        if let Some(grace) = self.abandon_after {
            Self::check_duration("abandon_after", grace)?;
        }
        match self.backoff.map(|b| b.validate()) {
            Some(Err(e)) => Err(format!("backoff: {e}")),
            _ => Ok(()),
        }
    }

    /// The same policy with `restart` set.
    #[must_use]
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = Some(restart);
        self
    }

    /// The same policy with `shutdown` set.
    #[must_use]
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// The same policy with `heartbeat` set.
    #[must_use]
    pub fn heartbeat(mut self, timeout: Duration) -> Self {
        self.heartbeat = Some(timeout);
        self
    }

    /// The same policy with `backoff` set.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// The same policy with `start_timeout` set.
    #[must_use]
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// The same policy with `stack_size` set.
    #[must_use]
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The same policy with `fresh_thread_on_restart` set.
    #[must_use]
    pub fn fresh_thread_on_restart(mut self, fresh: bool) -> Self {
        self.fresh_thread_on_restart = Some(fresh);
        self
    }

    /// The same policy with `strategy` set.
    #[must_use]
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// The same policy with `intensity` set.
    #[must_use]
    pub fn intensity(mut self, intensity: Intensity) -> Self {
        self.intensity = Some(intensity);
        self
    }

    /// The same policy with `abandon_after` set.
    #[must_use]
    pub fn abandon_after(mut self, grace: Duration) -> Self {
        self.abandon_after = Some(grace);
        self
    }
}

impl Policy {
    /// The longest duration any policy takes: 365 days (see
    /// [`Policy::validate`]).
    pub const MAX_DURATION: Duration = bounds::MAX_DURATION;
    /// The largest `intensity.max_restarts`: 100 000.
    pub const MAX_RESTARTS: u32 = bounds::MAX_RESTARTS;
    /// The largest `stack_size`: 1 GiB.
    pub const MAX_STACK_SIZE: usize = bounds::MAX_STACK_SIZE;

    /// Checks a duration named `key` against [`MAX_DURATION`](Self::MAX_DURATION).
    ///
    /// ```
    /// use std::time::Duration;
    /// use threadbutler_supervisor::Policy;
    ///
    /// assert!(Policy::check_duration("heartbeat", Duration::from_secs(60)).is_ok());
    /// let err = Policy::check_duration("heartbeat", Duration::MAX).unwrap_err();
    /// assert!(err.starts_with("heartbeat: must be at most 365days"), "{err}");
    /// ```
    ///
    /// # Errors
    ///
    /// A message naming `key`, the bound and the value.
    pub fn check_duration(key: &str, d: Duration) -> Result<(), String> {
        bounds::duration_bound(d).map_err(|m| format!("{key}: {m}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_later_policy_wins_field_by_field() {
        let mut p = Policy::new()
            .restart(Restart::Transient)
            .heartbeat(S)
            .intensity(Intensity {
                max_restarts: 1,
                period: S,
            });
        p.merge(
            &Policy::new()
                .heartbeat(2 * S)
                .strategy(Strategy::OneForAll)
                .fresh_thread_on_restart(false),
        );
        assert_eq!(p.restart, Some(Restart::Transient), "left out: kept");
        assert_eq!(p.heartbeat, Some(2 * S), "given again: the later wins");
        assert_eq!(p.strategy, Some(Strategy::OneForAll), "new: taken");
        assert_eq!(p.fresh_thread_on_restart, Some(false), "false is a value");
        assert_eq!(p.intensity.map(|i| i.max_restarts), Some(1));
        assert_eq!(p.shutdown, None);
    }

    #[test]
    fn merging_nothing_changes_nothing_and_merging_into_nothing_copies() {
        let full = Policy::new()
            .restart(Restart::Temporary)
            .shutdown(Shutdown::Immediate)
            .heartbeat(S)
            .backoff(Backoff::exponential(S, 2 * S))
            .start_timeout(S)
            .stack_size(1 << 16)
            .fresh_thread_on_restart(true)
            .strategy(Strategy::RestForOne)
            .intensity(Intensity::default())
            .abandon_after(S);
        let mut p = full;
        p.merge(&Policy::new());
        assert_eq!(p, full);
        let mut empty = Policy::new();
        assert!(empty.is_empty());
        empty.merge(&full);
        assert_eq!(empty, full);
        assert!(!empty.is_empty());
    }

    #[test]
    fn impossible_values_are_named() {
        let bad = |p: Policy| p.validate().expect_err("refused");
        assert!(bad(Policy::new().heartbeat(Duration::ZERO)).starts_with("heartbeat"));
        assert!(bad(Policy::new().start_timeout(Duration::ZERO)).starts_with("start_timeout"));
        assert!(bad(Policy::new().stack_size(0)).starts_with("stack_size"));
        let zero = Intensity {
            max_restarts: 1,
            period: Duration::ZERO,
        };
        assert!(bad(Policy::new().intensity(zero)).starts_with("intensity.period"));
        let backwards = Backoff::exponential(2 * S, S);
        assert!(bad(Policy::new().backoff(backwards)).contains("below min"));
        assert_eq!(Policy::new().heartbeat(S).validate(), Ok(()));
    }
}
