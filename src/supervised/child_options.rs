//! [`ChildOptions`]: what one child is declared with: its [`Policy`]
//! (restart, shutdown, heartbeat, backoff, ...) and its mailbox's own
//! options (capacity, wake callback), set on the builder or passed with a
//! child added at run time.

use std::fmt;
use std::time::Duration;

use threadbutler_supervisor::{Backoff, ChildSpec, Policy, Restart};

use crate::data::mailbox::{Capacity, WakeFn};
use threadbutler_supervisor::Shutdown;

/// Options of one child: a [`Policy`] and its mailbox's capacity and wake
/// callback, set on the builder right after it is declared.
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
    pub(crate) policy: Policy,
    pub(crate) capacity: Option<Capacity>,
    pub(crate) wake: Option<WakeFn>,
}

impl ChildOptions {
    /// No options: every policy at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lays `policy` over the policies set so far (the later value wins,
    /// field by field; see [`Policy::merge`]).
    #[must_use]
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy.merge(&policy);
        self
    }

    /// When the child is restarted (default `Permanent`).
    #[must_use]
    pub fn restart(mut self, restart: Restart) -> Self {
        self.policy.restart = Some(restart);
        self
    }

    /// How it stops (default `Drain(5s)` for servers).
    #[must_use]
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.policy.shutdown = Some(shutdown);
        self
    }

    /// Its heartbeat timeout (default: not watched).
    #[must_use]
    pub fn heartbeat(mut self, timeout: Duration) -> Self {
        self.policy.heartbeat = Some(timeout);
        self
    }

    /// The wait between its restarts (default none).
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.policy.backoff = Some(backoff);
        self
    }

    /// Its mailbox's capacity (servers only; default the hub's).
    #[must_use]
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// `spec` with this child's policies laid over it.
    pub(crate) fn apply(&self, spec: ChildSpec) -> ChildSpec {
        spec.with_policy(&self.policy)
    }
}

impl fmt::Debug for ChildOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildOptions")
            .field("policy", &self.policy)
            .field("capacity", &self.capacity)
            .field("wake", &self.wake.is_some())
            .finish()
    }
}
