//! Child and supervisor specifications: what to run and by which policy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::child::Child;
use crate::clock::SharedClock;
use crate::{Backoff, Intensity, Policy, Restart, Shutdown, Strategy};

/// How to run one child: the child itself and its policies.
///
/// ```
/// use std::time::Duration;
/// use threadbutler_supervisor::{ChildSpec, ExitReason, FnChild, Restart, Shutdown};
///
/// let spec = ChildSpec::new("ticker", FnChild::new(|mut life| {
///     life.started();
///     let _ = life.stop.waker().recv();
///     ExitReason::Shutdown
/// }))
/// .restart(Restart::Transient)
/// .shutdown(Shutdown::Drain(Duration::from_secs(2)))
/// .heartbeat(Duration::from_secs(1));
/// assert_eq!(spec.name(), "ticker");
/// ```
#[derive(Clone)]
#[must_use]
pub struct ChildSpec {
    pub(crate) name: Arc<str>,
    pub(crate) child: Arc<dyn Child>,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) backoff: Backoff,
    pub(crate) stack_size: Option<usize>,
    pub(crate) fresh_thread: bool,
    pub(crate) start_timeout: Duration,
}

impl ChildSpec {
    /// A child named `name` with the defaults: `Permanent`, `Drain(5s)`, no
    /// heartbeat, no backoff, a 5 s start timeout, restarts on the same
    /// thread.
    pub fn new(name: impl Into<String>, child: impl Child) -> Self {
        Self::from_arc(name, Arc::new(child))
    }

    /// Like [`new`](Self::new), for a child already shared.
    pub fn from_arc(name: impl Into<String>, child: Arc<dyn Child>) -> Self {
        ChildSpec {
            name: Arc::from(name.into()),
            child,
            restart: Restart::default(),
            shutdown: Shutdown::default(),
            heartbeat: None,
            backoff: Backoff::default(),
            stack_size: None,
            fresh_thread: false,
            start_timeout: Duration::from_secs(5),
        }
    }

    /// The child itself.
    pub fn child(&self) -> &Arc<dyn Child> {
        &self.child
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When it is restarted.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// How it is stopped.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Watch its heartbeat: busy this long without progress is a failure
    /// (`HeartbeatMissed`).
    pub fn heartbeat(mut self, timeout: Duration) -> Self {
        self.heartbeat = Some(timeout);
        self
    }

    /// The wait between its restarts.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Its thread's stack size in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Give every restart a new thread (fresh thread-locals), at the cost of
    /// a thread spawn per restart. By default a restart after a caught
    /// failure reuses the child's thread.
    pub fn fresh_thread_on_restart(mut self, fresh: bool) -> Self {
        self.fresh_thread = fresh;
        self
    }

    /// How long a life may take to start before it counts as failed.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Lays `policy` over this spec: each child policy it sets (restart,
    /// shutdown, heartbeat, backoff, start timeout, stack size, fresh
    /// thread) replaces the spec's; a supervisor's own (strategy,
    /// intensity, abandon grace) are not a child spec's and are ignored.
    pub fn with_policy(mut self, policy: &Policy) -> Self {
        self.set_policy(policy);
        self
    }

    /// [`with_policy`](Self::with_policy) in place.
    pub(crate) fn set_policy(&mut self, policy: &Policy) {
        if let Some(r) = policy.restart {
            self.restart = r;
        }
        if let Some(s) = policy.shutdown {
            self.shutdown = s;
        }
        if let Some(h) = policy.heartbeat {
            self.heartbeat = Some(h);
        }
        if let Some(b) = policy.backoff {
            self.backoff = b;
        }
        if let Some(t) = policy.start_timeout {
            self.start_timeout = t;
        }
        if let Some(b) = policy.stack_size {
            self.stack_size = Some(b);
        }
        if let Some(f) = policy.fresh_thread_on_restart {
            self.fresh_thread = f;
        }
    }

    /// The restart type.
    pub fn restart_type(&self) -> Restart {
        self.restart
    }

    /// The shutdown mode.
    pub fn shutdown_mode(&self) -> Shutdown {
        self.shutdown
    }

    /// Its policies as one [`Policy`] (every child field set).
    fn policy(&self) -> Policy {
        let mut p = Policy::new()
            .restart(self.restart)
            .shutdown(self.shutdown)
            .backoff(self.backoff)
            .start_timeout(self.start_timeout)
            .fresh_thread_on_restart(self.fresh_thread);
        p.heartbeat = self.heartbeat;
        p.stack_size = self.stack_size;
        p
    }

    /// Checks the policies as [`Policy::validate`] does: a zero heartbeat
    /// or start timeout, an impossible backoff, and a duration, stack size
    /// above its bound are errors.
    ///
    /// # Errors
    ///
    /// A message naming the child and the broken rule.
    pub fn validate(&self) -> Result<(), String> {
        self.policy()
            .validate()
            .map_err(|e| format!("child {}: {e}", self.name))?;
        self.child.validate()
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("heartbeat", &self.heartbeat)
            .field("backoff", &self.backoff)
            .field("fresh_thread", &self.fresh_thread)
            .finish_non_exhaustive()
    }
}

/// A supervisor: its strategy, intensity and children in start order.
///
/// ```
/// use std::time::Duration;
/// use threadbutler_supervisor::*;
///
/// let idle = || FnChild::new(|mut life| {
///     life.started();
///     while !life.stop.is_requested() {
///         let _ = life.stop.waker().recv();
///     }
///     ExitReason::Shutdown
/// });
/// let spec = SupervisorSpec::new("app")
///     .strategy(Strategy::RestForOne) // db fails: web restarts with it
///     .intensity(Intensity { max_restarts: 5, period: Duration::from_secs(10) })
///     .child(ChildSpec::new("db", idle()))
///     .child(ChildSpec::new("web", idle())); // started after db, stopped before it
/// let names: Vec<&str> = spec.children().iter().map(ChildSpec::name).collect();
/// assert_eq!(names, ["db", "web"]);
/// let twice = spec.clone().child(ChildSpec::new("db", idle()));
/// assert!(twice.validate().is_err(), "child names are unique");
/// let root = Supervisor::start(spec, EventBus::new()).expect("starts");
/// assert_eq!(root.status().children.len(), 2);
/// root.shutdown();
/// assert!(matches!(root.wait(), ExitReason::Shutdown));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SupervisorSpec {
    pub(crate) clock: Option<SharedClock>,
    pub(crate) name: Arc<str>,
    pub(crate) strategy: Strategy,
    pub(crate) intensity: Intensity,
    pub(crate) abandon_after: Duration,
    pub(crate) children: Vec<ChildSpec>,
}

impl SupervisorSpec {
    /// A `OneForOne` supervisor with the default intensity (3 in 5 s) and a
    /// 5 s grace before a child that ignores an immediate stop is abandoned.
    pub fn new(name: impl Into<String>) -> Self {
        SupervisorSpec {
            clock: None,
            name: Arc::from(name.into()),
            strategy: Strategy::default(),
            intensity: Intensity::default(),
            abandon_after: Duration::from_secs(5),
            children: Vec::new(),
        }
    }

    /// The supervisor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its restart strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Its restart intensity.
    pub fn intensity(mut self, intensity: Intensity) -> Self {
        self.intensity = intensity;
        self
    }

    /// How long to wait after an immediate stop before abandoning a child.
    pub fn abandon_after(mut self, grace: Duration) -> Self {
        self.abandon_after = grace;
        self
    }

    /// Lays `policy` over this spec: the supervisor's own policies it sets
    /// (strategy, intensity, abandon grace) replace the spec's; a child's
    /// (restart, shutdown, ...) belong to the [`ChildSpec`] that runs this
    /// supervisor and are ignored here.
    pub fn with_policy(mut self, policy: &Policy) -> Self {
        if let Some(s) = policy.strategy {
            self.strategy = s;
        }
        if let Some(i) = policy.intensity {
            self.intensity = i;
        }
        if let Some(g) = policy.abandon_after {
            self.abandon_after = g;
        }
        self
    }

    /// The clock the tree reads (DESIGN rule 12): restart windows, backoff,
    /// heartbeat checks and deadlines. Given to the root, it holds for the
    /// whole tree; by default the real clock. See [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Adds a child (started after those added before it).
    pub fn child(mut self, spec: ChildSpec) -> Self {
        self.children.push(spec);
        self
    }

    /// The children, in start order.
    pub fn children(&self) -> &[ChildSpec] {
        &self.children
    }

    /// Mutable access to the children, for builders.
    pub fn children_mut(&mut self) -> &mut Vec<ChildSpec> {
        &mut self.children
    }

    /// Checks the whole tree: unique child names per supervisor, a usable
    /// intensity and abandon grace (within the bounds of
    /// [`Policy::validate`]), and every child's own rules.
    ///
    /// # Errors
    ///
    /// A message naming the supervisor or child and the broken rule.
    pub fn validate(&self) -> Result<(), String> {
        if self.intensity.period.is_zero() {
            return Err(format!(
                "supervisor {}: intensity period must be greater than zero",
                self.name
            ));
        }
        Policy::new()
            .intensity(self.intensity)
            .abandon_after(self.abandon_after)
            .validate()
            .map_err(|e| format!("supervisor {}: {e}", self.name))?;
        let mut seen = std::collections::HashSet::new();
        for c in &self.children {
            if !seen.insert(&*c.name) {
                return Err(format!(
                    "supervisor {}: two children are named {:?}",
                    self.name, c.name
                ));
            }
            c.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{ExitReason, FnChild};

    fn idle() -> ChildSpec {
        ChildSpec::new(
            "w",
            FnChild::new(|mut life| {
                life.started();
                ExitReason::Shutdown
            }),
        )
    }

    #[test]
    fn a_spec_built_in_code_meets_the_same_bounds_as_a_file() {
        let too_long = Policy::MAX_DURATION + Duration::from_secs(1);
        let cases = [
            (
                idle().heartbeat(Duration::MAX),
                "heartbeat: must be at most",
            ),
            (
                idle().heartbeat(Duration::ZERO),
                "heartbeat: must be greater",
            ),
            (
                idle().start_timeout(too_long),
                "start_timeout: must be at most",
            ),
            (
                idle().shutdown(Shutdown::Drain(Duration::MAX)),
                "shutdown.drain: must be at most",
            ),
            (
                idle().backoff(Backoff::exponential(Duration::ZERO, too_long)),
                "backoff: max: must be at most",
            ),
            (idle().stack_size(usize::MAX), "stack_size: must be at most"),
        ];
        for (spec, says) in cases {
            let e = spec.validate().expect_err(says);
            assert!(e.starts_with("child w: ") && e.contains(says), "{e}");
        }
        assert_eq!(idle().heartbeat(Policy::MAX_DURATION).validate(), Ok(()));

        let sup = |s: SupervisorSpec| s.validate().expect_err("refused");
        let e = sup(SupervisorSpec::new("app").abandon_after(Duration::MAX));
        assert!(
            e.starts_with("supervisor app: abandon_after: must be at most"),
            "{e}"
        );
        let e = sup(SupervisorSpec::new("app").intensity(Intensity {
            max_restarts: u32::MAX,
            period: Duration::from_secs(1),
        }));
        assert!(
            e.contains("intensity.max_restarts: must be at most 100000"),
            "{e}"
        );
        let e = sup(SupervisorSpec::new("app").intensity(Intensity {
            max_restarts: 1,
            period: Duration::ZERO,
        }));
        assert!(
            e.contains("intensity period must be greater than zero"),
            "{e}"
        );
        let e = sup(SupervisorSpec::new("app").child(idle().heartbeat(Duration::MAX)));
        assert!(e.starts_with("child w: heartbeat"), "{e}");
    }
}
