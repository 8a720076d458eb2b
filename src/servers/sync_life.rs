//! A sync server's life: its hooks called directly, on the thread the life
//! runs on, under the life runner (`life.rs`, which holds the order of
//! events).

use std::sync::Arc;
use std::time::Duration;

use threadbutler_supervisor::heartbeat::HeartbeatWriter;
use threadbutler_supervisor::{BoxError, ExitReason, StartNotice, StopSignal};

use crate::data::hub::Hub;
use crate::data::mailbox::MailboxCore;
use crate::servers::ctx::Ctx;
use crate::servers::ctx_base::CtxBase;
use crate::servers::factory::Factory;
use crate::servers::life::{self, Driver, Failure};
use crate::servers::server::Server;

/// Everything a sync server's life needs, moved onto its thread.
pub(crate) struct Launch<S: Server> {
    pub(crate) name: Arc<str>,
    pub(crate) hub: Hub,
    pub(crate) core: Arc<MailboxCore<S::Msg>>,
    pub(crate) factory: Factory<S>,
    pub(crate) stop: Arc<StopSignal>,
    pub(crate) heartbeat: HeartbeatWriter,
    pub(crate) request_timeout: Duration,
    /// The life's id (unique in the process).
    pub(crate) id: u64,
}

/// The sync driver: each hook is a plain call with the server's [`Ctx`].
struct Direct<S: Server> {
    ctx: Ctx<S>,
    factory: Factory<S>,
}

impl<S: Server> Driver for Direct<S> {
    type Endpoint = S;
    type Server = S;
    const KIND: &'static str = "server";

    fn base(&mut self) -> &mut CtxBase<S> {
        self.ctx.base()
    }

    fn build(&mut self) -> Result<S, BoxError> {
        (self.factory)()
    }

    fn start(&mut self, server: &mut S) -> Result<(), BoxError> {
        server.on_start(&mut self.ctx)?;
        if let Some(interval) = server.tick_interval() {
            if interval.is_zero() {
                return Err("tick_interval must be greater than zero".into());
            }
            self.ctx.start_ticks(interval);
        }
        Ok(())
    }

    fn run(&mut self, server: &mut S) -> Result<(), Failure> {
        server.run(&mut self.ctx).map_err(Failure::Error)
    }

    fn stop(&mut self, server: &mut S, reason: &ExitReason) {
        server.on_stop(reason, &mut self.ctx);
    }
}

/// Runs one life of a sync server (spawned on the hub, declared, or a
/// pool's worker) to its end on the current thread; see `life.rs` for the
/// order of events.
pub(crate) fn run<S: Server>(launch: Launch<S>, started: StartNotice) -> ExitReason {
    let base = CtxBase::new(
        launch.name,
        launch.id,
        launch.hub,
        launch.core,
        launch.stop,
        launch.heartbeat,
        launch.request_timeout,
    );
    let driver = Direct {
        ctx: Ctx::new(base),
        factory: launch.factory,
    };
    life::run(driver, started)
}
