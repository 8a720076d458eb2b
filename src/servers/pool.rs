//! Pools: N worker threads sharing one mailbox, each supervised on its own.
//!
//! # Anatomy
//!
//! A pool is a small `OneForOne` supervisor (named after the pool) whose
//! children are the workers `name-0` … `name-(N-1)`. Every worker runs a
//! server instance built by the pool's factory, reading the same mailbox:
//! whichever worker is idle takes the next message. A failing worker is
//! replaced on its own (its message in flight is dead-lettered); the others
//! keep working. The mailbox belongs to the pool as a whole: the workers
//! close it when their drain begins, a worker whose drain deadline passes
//! dead-letters what is queued (`DrainDeadline`), and otherwise the pool
//! sweeps what is left when it stops for good, so it drains as one unit.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use threadbutler_supervisor::{
    Child, ChildDetails, ChildSpec, ExitReason, Life, Policy, StopMode, SupervisorChild,
    SupervisorSpec,
};

use crate::data::dead_letter::DeadReason;
use crate::data::hub::Hub;
use crate::data::mailbox::MailboxCore;
use crate::servers::factory::Factory;
use crate::servers::server::Server;
use crate::servers::server_child::ServerChild;

/// The largest pool: 1024 workers, each a thread with its own stack. One
/// check holds it: the config file's `pool_size` is refused above it at
/// load, the builder's `pool(name, size, ..)` at `start`.
pub const MAX_POOL_SIZE: usize = 1024;

/// Checks a pool's size: at least 1, at most [`MAX_POOL_SIZE`].
///
/// # Errors
///
/// What was expected, and the size found.
pub(crate) fn check_pool_size(size: usize) -> Result<usize, String> {
    match size {
        0 => Err("must be at least 1".into()),
        n if n > MAX_POOL_SIZE => Err(format!(
            "must be at most {MAX_POOL_SIZE} (each worker is a thread), found {n}"
        )),
        n => Ok(n),
    }
}

/// One worker of a pool: a server instance on the shared mailbox. It runs
/// like any supervised server, but leaves the queue to the pool.
struct PoolWorker<S: Server> {
    server: ServerChild<S>,
}

impl<S: Server> Child for PoolWorker<S> {
    fn run(&self, life: Life) -> ExitReason {
        self.server.run(life)
    }

    fn on_final_stop(&self, mode: StopMode) -> u64 {
        // A drain closes the shared mailbox (idempotent); the queue itself
        // is the pool's to sweep and report.
        if mode == StopMode::Drain {
            self.server.core().close();
        }
        0
    }

    fn on_drain_deadline(&self) -> u64 {
        self.server.core().finish(DeadReason::DrainDeadline)
    }

    fn details(&self) -> ChildDetails {
        let mut d = ChildDetails::default();
        d.kind = "worker";
        d
    }

    fn queued(&self) -> usize {
        self.server.core().depth()
    }

    fn left_behind(&self) -> usize {
        // The other workers may still drain it; what none of them handles
        // is swept and reported by the pool.
        0
    }
}

/// The pool as a child of its parent supervisor.
pub(crate) struct PoolChild<M: crate::data::message::Message> {
    inner: SupervisorChild,
    name: Arc<str>,
    hub: Hub,
    core: Arc<MailboxCore<M>>,
}

/// A pool's own shutdown, as a child of its parent: long enough for each
/// worker's drain and abandon grace in turn (its supervisor stops them one
/// after another), like a nested supervisor's; at most
/// `Policy::MAX_DURATION`, the bound every drain meets.
pub(crate) fn pool_shutdown(
    size: usize,
    worker: threadbutler_supervisor::Shutdown,
    abandon_after: Option<Duration>,
) -> threadbutler_supervisor::Shutdown {
    let grace = abandon_after.unwrap_or(Duration::from_secs(5));
    let each = worker.drain_timeout().saturating_add(grace);
    let size = u32::try_from(size).unwrap_or(u32::MAX);
    let all = each.saturating_mul(size).saturating_add(grace);
    threadbutler_supervisor::Shutdown::Drain(all.min(Policy::MAX_DURATION))
}

impl<M: crate::data::message::Message> PoolChild<M> {
    /// A pool of `size` workers of server `S` named `name`, on `core`;
    /// `worker` applies the per-worker options (restart, heartbeat, ...).
    pub(crate) fn new<S: Server<Msg = M>>(
        name: &str,
        size: usize,
        hub: &Hub,
        core: Arc<MailboxCore<M>>,
        factory: Factory<S>,
        policy: &Policy,
        worker: impl Fn(ChildSpec) -> ChildSpec,
    ) -> Self {
        // The pool's own supervisor's policy: its intensity and grace.
        let mut spec = SupervisorSpec::new(name).with_policy(policy);
        for i in 0..size {
            let w = PoolWorker::<S> {
                server: ServerChild::new(
                    Arc::from(name),
                    hub.clone(),
                    Arc::clone(&core),
                    Arc::clone(&factory),
                ),
            };
            spec = spec.child(worker(ChildSpec::new(format!("{name}-{i}"), w)));
        }
        PoolChild {
            inner: SupervisorChild::new(spec),
            name: Arc::from(name),
            hub: hub.clone(),
            core,
        }
    }
}

impl<M: crate::data::message::Message> Child for PoolChild<M> {
    fn run(&self, life: Life) -> ExitReason {
        self.inner.run(life)
    }

    fn on_final_stop(&self, mode: StopMode) -> u64 {
        self.core.final_stop(mode)
    }

    fn on_drain_deadline(&self) -> u64 {
        self.core.finish(DeadReason::DrainDeadline)
    }

    fn on_retired(&self) {
        self.inner.on_retired();
        self.core.finish(DeadReason::Stopped);
    }

    fn on_removed(&self) {
        // The workers read the pool's mailbox: it leaves the hub with the pool.
        self.hub.unregister_if(&self.name, &self.core);
    }

    fn on_revived(&self) {
        self.inner.on_revived();
        self.core.reopen();
    }

    fn validate(&self) -> Result<(), String> {
        self.inner.validate()
    }

    fn as_supervisor(&self) -> Option<&SupervisorChild> {
        Some(&self.inner)
    }

    fn queued(&self) -> usize {
        self.core.depth()
    }

    fn details(&self) -> ChildDetails {
        let mut d = self.inner.details();
        d.kind = "pool";
        d.queued = Some(self.core.depth());
        d
    }
}

impl<M: crate::data::message::Message> fmt::Debug for PoolChild<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolChild")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
