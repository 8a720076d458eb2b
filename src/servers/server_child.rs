//! A server as a supervised child: each of the child's lives runs the
//! server on the child's worker thread, against the mailbox the hub keeps
//! across lives.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use threadbutler_supervisor::{Child, ExitReason, Life};

use crate::data::hub::Hub;
use crate::data::mailbox::MailboxCore;
use crate::servers::factory::Factory;
use crate::servers::server::Server;
use crate::servers::sync_life::{self, Launch};

/// The hooks by which a supervisor tells a server child (sync or async)
/// what becomes of its mailbox, written once for every kind: a final stop
/// closes it (and an immediate one sweeps it), a drain's deadline and the
/// child's retirement finish it, a revival reopens it, the removal takes it
/// off the hub; the status row shows its depth. For a type with `name`,
/// `hub` and `core` fields.
macro_rules! mailbox_hooks {
    ($kind:literal) => {
        fn on_final_stop(&self, mode: threadbutler_supervisor::StopMode) -> u64 {
            self.core.final_stop(mode)
        }

        fn on_drain_deadline(&self) -> u64 {
            self.core
                .finish(crate::data::dead_letter::DeadReason::DrainDeadline)
        }

        fn on_retired(&self) {
            self.core
                .finish(crate::data::dead_letter::DeadReason::Stopped);
        }

        fn on_removed(&self) {
            self.hub.unregister_if(&self.name, &self.core);
        }

        fn on_revived(&self) {
            self.core.reopen();
        }

        fn details(&self) -> threadbutler_supervisor::ChildDetails {
            let mut d = threadbutler_supervisor::ChildDetails::default();
            d.kind = $kind;
            d.queued = Some(self.core.depth());
            d
        }
    };
}
// Used by the async server child too, which the `async` feature brings.
#[cfg_attr(not(feature = "async"), allow(unused_imports))]
pub(crate) use mailbox_hooks;

/// A server under a supervisor.
///
/// # Mailbox across lives
///
/// The mailbox is the hub's and outlives every life: a restart leaves the
/// queue to the next life (DESIGN rule 1). Only when the supervisor stops the
/// child for good does the mailbox close: on a final drain it refuses new
/// sends and the life handles what is queued; on a final immediate stop, a
/// drain's deadline, or retirement, what is left is dead-lettered.
pub(crate) struct ServerChild<S: Server> {
    name: Arc<str>,
    hub: Hub,
    core: Arc<MailboxCore<S::Msg>>,
    factory: Factory<S>,
    request_timeout: Duration,
}

impl<S: Server> ServerChild<S> {
    pub(crate) fn new(
        name: Arc<str>,
        hub: Hub,
        core: Arc<MailboxCore<S::Msg>>,
        factory: Factory<S>,
    ) -> Self {
        let request_timeout = hub.inner().config.request_timeout;
        ServerChild {
            name,
            hub,
            core,
            factory,
            request_timeout,
        }
    }
}

impl<S: Server> ServerChild<S> {
    /// The mailbox this server reads.
    pub(crate) fn core(&self) -> &Arc<MailboxCore<S::Msg>> {
        &self.core
    }
}

impl<S: Server> Child for ServerChild<S> {
    fn run(&self, life: Life) -> ExitReason {
        let launch = Launch::<S> {
            name: Arc::clone(&self.name),
            hub: self.hub.clone(),
            core: Arc::clone(&self.core),
            factory: Arc::clone(&self.factory),
            stop: life.stop,
            heartbeat: life.heartbeat,
            request_timeout: self.request_timeout,
            id: life.id,
        };
        sync_life::run(launch, life.started)
    }

    mailbox_hooks!("server");
}

impl<S: Server> fmt::Debug for ServerChild<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerChild")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
