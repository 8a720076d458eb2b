//! Lifecycle events: every transition, as a `tracing` event and as an
//! [`Event`] value that programs and tests can subscribe to.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::ExitReason;

/// One lifecycle transition. `child` and `supervisor` are paths in the
/// tree (`"app/db/writer"`); `id` is the life's id.
///
/// ```
/// use threadbutler_supervisor::*;
///
/// let bus = EventBus::new();
/// let events = bus.subscribe();
/// let idle = FnChild::new(|mut life| {
///     life.started();
///     while !life.stop.is_requested() {
///         let _ = life.stop.waker().recv();
///     }
///     ExitReason::Shutdown
/// });
/// let root = Supervisor::start(SupervisorSpec::new("app").child(ChildSpec::new("idle", idle)), bus)
///     .expect("starts");
/// root.shutdown();
/// root.wait();
/// let exit = events.try_iter().find_map(|e| match e {
///     Event::Exited { child, reason, .. } if &*child == "app/idle" => Some(reason),
///     _ => None,
/// });
/// assert!(matches!(exit, Some(ExitReason::Shutdown)));
/// assert_eq!(Event::Stopped { child: "app/idle".into() }.to_string(), "Stopped app/idle");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A life of the child is being started.
    Starting {
        /// The child.
        child: Arc<str>,
        /// The life.
        id: u64,
    },
    /// The child finished initialising.
    Started {
        /// The child.
        child: Arc<str>,
        /// The life.
        id: u64,
    },
    /// A life of the child ended.
    Exited {
        /// The child.
        child: Arc<str>,
        /// The life.
        id: u64,
        /// Why.
        reason: ExitReason,
    },
    /// The child will be started again after `delay`.
    Restarting {
        /// The child.
        child: Arc<str>,
        /// Consecutive restarts of this child (1 for the first).
        attempt: u32,
        /// The backoff delay.
        delay: Duration,
    },
    /// The child was busy without progress past its heartbeat timeout.
    HeartbeatMissed {
        /// The child.
        child: Arc<str>,
        /// The hung life.
        id: u64,
        /// The timeout it missed.
        timeout: Duration,
    },
    /// The supervisor exceeded its restart intensity and gives up.
    GaveUp {
        /// The supervisor.
        supervisor: Arc<str>,
        /// Restarts allowed per period.
        max_restarts: u32,
        /// The period.
        period: Duration,
    },
    /// The supervisor began stopping all its children for good.
    ShutdownBegan {
        /// The supervisor.
        supervisor: Arc<str>,
    },
    /// A final drain of the child ended; `left` items were given up
    /// (0 when the drain finished in time).
    Drained {
        /// The child.
        child: Arc<str>,
        /// What was left and dead-lettered.
        left: u64,
    },
    /// The child did not stop by its deadline and was left behind.
    Abandoned {
        /// The child.
        child: Arc<str>,
        /// The abandoned life.
        id: u64,
    },
    /// The child stopped for good: it will not be restarted.
    Stopped {
        /// The child.
        child: Arc<str>,
    },
}

impl Event {
    /// The child or supervisor the event is about.
    pub fn subject(&self) -> &str {
        match self {
            Event::Starting { child, .. }
            | Event::Started { child, .. }
            | Event::Exited { child, .. }
            | Event::Restarting { child, .. }
            | Event::HeartbeatMissed { child, .. }
            | Event::Drained { child, .. }
            | Event::Abandoned { child, .. }
            | Event::Stopped { child } => child,
            Event::GaveUp { supervisor, .. } | Event::ShutdownBegan { supervisor } => supervisor,
        }
    }

    /// The variant's name, e.g. `"Started"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Starting { .. } => "Starting",
            Event::Started { .. } => "Started",
            Event::Exited { .. } => "Exited",
            Event::Restarting { .. } => "Restarting",
            Event::HeartbeatMissed { .. } => "HeartbeatMissed",
            Event::GaveUp { .. } => "GaveUp",
            Event::ShutdownBegan { .. } => "ShutdownBegan",
            Event::Drained { .. } => "Drained",
            Event::Abandoned { .. } => "Abandoned",
            Event::Stopped { .. } => "Stopped",
        }
    }

    /// The event as a `tracing` event. A child's own lifecycle (starting,
    /// started, exited normally, drained with nothing left, stopped) and a
    /// nested supervisor's shutdown are DEBUG: a healthy tree of hundreds
    /// of children starts and stops without a line per child (the
    /// application logs one line for its start and one for its stop).
    /// Failures stay WARN or ERROR: a failed exit, a restart, a missed
    /// heartbeat, a give-up, an abandoned child, a drain that left work. The
    /// root's shutdown is INFO: it says when a drain began.
    fn log(&self) {
        use tracing::{debug, error, info, warn};
        match self {
            Event::Starting { child, id } => debug!(child = %child, id, "child starting"),
            Event::Started { child, id } => debug!(child = %child, id, "child started"),
            Event::Exited { child, id, reason } if reason.is_failure() => {
                error!(child = %child, id, reason = %reason, kind = reason.kind(), "child exited")
            }
            Event::Exited { child, id, reason } => {
                debug!(child = %child, id, reason = %reason, kind = reason.kind(), "child exited")
            }
            Event::Restarting {
                child,
                attempt,
                delay,
            } => {
                warn!(child = %child, attempt, delay_ms = delay.as_millis() as u64, "child restarting")
            }
            Event::HeartbeatMissed { child, id, timeout } => {
                error!(child = %child, id, timeout_ms = timeout.as_millis() as u64, "heartbeat missed")
            }
            Event::GaveUp {
                supervisor,
                max_restarts,
                period,
            } => error!(
                supervisor = %supervisor,
                max_restarts,
                period_ms = period.as_millis() as u64,
                "supervisor gave up: restart intensity exceeded"
            ),
            // A root's path has no `/`: its shutdown is the application's.
            Event::ShutdownBegan { supervisor } if !supervisor.contains('/') => {
                info!(supervisor = %supervisor, "shutdown began")
            }
            Event::ShutdownBegan { supervisor } => {
                debug!(supervisor = %supervisor, "shutdown began")
            }
            Event::Drained { child, left } if *left > 0 => {
                warn!(child = %child, left, "drain ended with work left; the rest was dead-lettered")
            }
            Event::Drained { child, left } => debug!(child = %child, left, "child drained"),
            Event::Abandoned { child, id } => {
                error!(child = %child, id, "child abandoned: it did not stop by its deadline")
            }
            Event::Stopped { child } => debug!(child = %child, "child stopped"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.subject())?;
        match self {
            Event::Exited { reason, .. } => write!(f, ": {reason}"),
            Event::Restarting { attempt, delay, .. } => {
                write!(f, " (attempt {attempt}, in {delay:?})")
            }
            Event::Drained { left, .. } => write!(f, " ({left} left)"),
            _ => Ok(()),
        }
    }
}

/// Fans events out to subscribers, and to `tracing`. Cheap to clone; one
/// per tree.
///
/// Give it to [`Supervisor::start`](crate::Supervisor::start) and read the
/// tree's events from a subscription, or count them in a tap:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use threadbutler_supervisor::{Event, EventBus};
///
/// let bus = EventBus::new();
/// let events = bus.subscribe(); // every event from now on, queued
/// let count = Arc::new(AtomicUsize::new(0));
/// let c = Arc::clone(&count);
/// bus.tap(move |_| { c.fetch_add(1, Ordering::Relaxed); }); // on the emitting thread
/// bus.emit(Event::Stopped { child: "app/worker".into() });
/// assert_eq!(count.load(Ordering::Relaxed), 1);
/// assert_eq!(events.try_recv()?.subject(), "app/worker");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct EventBus {
    subscribers: Arc<Mutex<Vec<Sender<Event>>>>,
    taps: Arc<Mutex<Vec<Tap>>>,
}

type Tap = Arc<dyn Fn(&Event) + Send + Sync>;

impl EventBus {
    /// A bus with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A receiver of every event from now on. Unbounded: a subscriber that
    /// stops reading should drop its receiver.
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = unbounded();
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tx);
        rx
    }

    /// Calls `f` with every event from now on, on the emitting thread
    /// (a supervisor's): keep it short and non-blocking. For tallies that
    /// must not grow a queue.
    pub fn tap(&self, f: impl Fn(&Event) + Send + Sync + 'static) {
        self.taps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(f));
    }

    /// Logs `event`, runs the taps, and hands it to every live subscriber.
    pub fn emit(&self, event: Event) {
        event.log();
        let taps: Vec<Tap> = self
            .taps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for t in taps {
            t(&event);
        }
        let mut subs = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subs.retain(|s| s.send(event.clone()).is_ok());
    }
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("EventBus").field("subscribers", &n).finish()
    }
}
