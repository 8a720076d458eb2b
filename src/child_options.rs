//! [`ChildOptions`]: the policies of one declared child (restart,
//! shutdown, heartbeat, backoff, capacity, ...), set on the builder or
//! passed with a child added at run time.

use std::fmt;
use std::time::Duration;

use threadbutler_supervisor::{Backoff, ChildSpec, Intensity, Restart};

use crate::Shutdown;
use crate::mailbox::{Capacity, WakeFn};

/// Options of one child, set on the builder right after it is declared.
///
/// As a value, they go with a child added at run time
/// ([`Butler::add_server`](crate::Butler::add_server)):
///
/// ```
/// use std::time::Duration;
/// use threadbutler::prelude::*;
/// use threadbutler::ChildOptions;
/// # pub struct Add(pub u64);
/// # pub struct Total(pub Reply<u64>);
/// # threadbutler::messages! { pub enum CounterMsg for Counter { Add, Total } }
/// # #[derive(Default)]
/// # pub struct Counter { sum: u64 }
/// # impl Server for Counter {
/// #     fn handle(&mut self, msg: CounterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
/// #         match msg {
/// #             CounterMsg::Add(Add(n)) => self.sum += n,
/// #             CounterMsg::Total(Total(reply)) => reply.send(self.sum),
/// #         }
/// #         Ok(())
/// #     }
/// # }
///
/// let app = Butler::builder("app").start()?;
/// let options = ChildOptions::new()
///     .restart(Restart::Transient) // restarted after a failure only
///     .heartbeat(Duration::from_secs(1))
///     .capacity(Capacity::Bounded(64));
/// let counter = app.add_server("app", "counter", Counter::default, options)?;
/// counter.send(Add(2))?;
/// assert_eq!(counter.request(Total)?, 2);
/// let row = app.status().find("app/counter").cloned().expect("a child of app");
/// assert_eq!(row.heartbeat_ms, Some(1000));
/// app.remove_child("app", "counter")?; // stopped for good, never restarted
/// app.shutdown();
/// app.wait()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ChildOptions {
    pub(crate) restart: Option<Restart>,
    pub(crate) shutdown: Option<Shutdown>,
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) backoff: Option<Backoff>,
    pub(crate) capacity: Option<Capacity>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) fresh_thread: Option<bool>,
    pub(crate) start_timeout: Option<Duration>,
    pub(crate) wake: Option<WakeFn>,
    pub(crate) intensity: Option<Intensity>,
}

impl ChildOptions {
    /// No options: every policy at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// When the child is restarted (default `Permanent`).
    #[must_use]
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = Some(restart);
        self
    }

    /// How it stops (default `Drain(5s)` for servers).
    #[must_use]
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// Its heartbeat timeout (default: not watched).
    #[must_use]
    pub fn heartbeat(mut self, timeout: Duration) -> Self {
        self.heartbeat = Some(timeout);
        self
    }

    /// The wait between its restarts (default none).
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// Its mailbox's capacity (servers only; default the hub's).
    #[must_use]
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = Some(capacity);
        self
    }

    pub(crate) fn apply(&self, mut spec: ChildSpec) -> ChildSpec {
        if let Some(r) = self.restart {
            spec = spec.restart(r);
        }
        if let Some(s) = self.shutdown {
            spec = spec.shutdown(s);
        }
        if let Some(h) = self.heartbeat {
            spec = spec.heartbeat(h);
        }
        if let Some(b) = self.backoff {
            spec = spec.backoff(b);
        }
        if let Some(s) = self.stack_size {
            spec = spec.stack_size(s);
        }
        if let Some(f) = self.fresh_thread {
            spec = spec.fresh_thread_on_restart(f);
        }
        if let Some(t) = self.start_timeout {
            spec = spec.start_timeout(t);
        }
        spec
    }
}

impl fmt::Debug for ChildOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildOptions")
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("heartbeat", &self.heartbeat)
            .field("backoff", &self.backoff)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
