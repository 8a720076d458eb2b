//! An async server as a supervised child: each life is run by the life
//! runner (`life.rs`) with a driver that calls the hooks in the life's own
//! current-thread runtime.
//!
//! # A life's runtime
//!
//! Built with the server (at `Stage::Init`, before the factory runs in
//! it), and dropped with the life. A small blocking task (the *bridge*)
//! waits on the stop signal and notifies the runtime at each change, so a
//! stop reaches a loop asleep in the runtime; the life's end requests an
//! immediate stop, which lets the bridge end, and waits for it.
//!
//! Each hook is one `block_on` of the runtime over the `LocalSet`, so the
//! futures a server spawns run during every hook after it, and a drain's
//! wait for them is the loop's (`serve.rs`). A panic in a hook or a handler
//! unwinds through the runtime: the runner catches it, as it catches a sync
//! server's, and the driver calls no more of the server's hooks (§14.4:
//! `on_stop` does not run after such a panic).

use std::future::Future;
use std::sync::Arc;

use threadbutler_supervisor::{BoxError, Child, ExitReason, Life, StopMode, StopSignal};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, LocalSet};

use super::ctx::AsyncCtx;
use super::serve::serve;
use super::server::AsyncServer;
use crate::data::hub::Hub;
use crate::data::mailbox::MailboxCore;
use crate::servers::ctx_base::CtxBase;
use crate::servers::factory::Factory;
use crate::servers::life::{self, Driver, Failure};
use crate::servers::server_child::mailbox_hooks;

/// An async server under a supervisor.
pub(crate) struct AsyncServerChild<S: AsyncServer> {
    pub(crate) name: Arc<str>,
    pub(crate) hub: Hub,
    pub(crate) core: Arc<MailboxCore<S::Msg>>,
    pub(crate) factory: Factory<S>,
    /// Notified by each accepted send (the mailbox's wake callback).
    pub(crate) notify: Arc<Notify>,
}

/// One life's runtime. See the module docs.
struct LifeRuntime {
    // Dropped before the runtime it runs on.
    local: LocalSet,
    runtime: Runtime,
    bridge: Option<JoinHandle<()>>,
    /// A panic escaped the runtime: no more of the server's hooks run.
    unwound: bool,
}

impl LifeRuntime {
    /// A runtime whose loop `stop` wakes through `notify`.
    fn new(stop: &Arc<StopSignal>, notify: &Arc<Notify>) -> Result<Self, BoxError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| format!("could not build a runtime: {e}"))?;
        let (s, n) = (Arc::clone(stop), Arc::clone(notify));
        let bridge = runtime.spawn_blocking(move || {
            while s.waker().recv().is_ok() {
                n.notify_one();
                if s.mode() == Some(StopMode::Immediate) {
                    break;
                }
            }
        });
        Ok(LifeRuntime {
            local: LocalSet::new(),
            runtime,
            bridge: Some(bridge),
            unwound: false,
        })
    }

    /// Drives `f` to its end on this thread, with the server's spawned
    /// futures beside it.
    fn block_on<F: Future>(&mut self, f: F) -> F::Output {
        // Stays set if `f` panics out of the runtime.
        self.unwound = true;
        let out = self.runtime.block_on(self.local.run_until(f));
        self.unwound = false;
        out
    }

    /// Waits for the bridge task, which ends at an immediate stop.
    fn join_bridge(&mut self) {
        if let Some(bridge) = self.bridge.take() {
            // Its only outcome is its end.
            let _ = self.runtime.block_on(bridge);
        }
    }
}

/// The async driver: each hook runs to its end in the life's runtime.
struct InRuntime<S: AsyncServer> {
    ctx: AsyncCtx<S>,
    factory: Factory<S>,
    notify: Arc<Notify>,
    /// Set by `build`, which the runner calls before any other hook.
    rt: Option<LifeRuntime>,
}

impl<S: AsyncServer> InRuntime<S> {
    fn rt(rt: &mut Option<LifeRuntime>) -> &mut LifeRuntime {
        rt.as_mut()
            .expect("the runner calls no hook but `end` before `build` succeeded, which sets it")
    }
}

impl<S: AsyncServer> Driver for InRuntime<S> {
    type Endpoint = S;
    type Server = S;
    const KIND: &'static str = "async server";

    fn base(&mut self) -> &mut CtxBase<S> {
        &mut self.ctx.base
    }

    fn build(&mut self) -> Result<S, BoxError> {
        let rt = self
            .rt
            .insert(LifeRuntime::new(self.ctx.base.stop_signal(), &self.notify)?);
        let factory = &self.factory;
        // In the runtime, so that a factory may spawn or register I/O.
        rt.block_on(async { factory() })
    }

    fn start(&mut self, server: &mut S) -> Result<(), BoxError> {
        Self::rt(&mut self.rt).block_on(server.on_start(&mut self.ctx))
    }

    fn run(&mut self, server: &mut S) -> Result<(), Failure> {
        Self::rt(&mut self.rt).block_on(serve(server, &mut self.ctx, &self.notify))
    }

    fn stop(&mut self, server: &mut S, reason: &ExitReason) {
        let rt = Self::rt(&mut self.rt);
        if !rt.unwound {
            rt.block_on(server.on_stop(reason, &mut self.ctx));
        }
    }

    fn end(&mut self) {
        // Lets the bridge end, and aborts what a drain did not wait for.
        self.ctx.base.stop_signal().request(StopMode::Immediate);
        self.ctx.tasks.abort_all();
        if let Some(rt) = &mut self.rt {
            rt.join_bridge();
        }
    }
}

impl<S: AsyncServer> Child for AsyncServerChild<S> {
    fn run(&self, life: Life) -> ExitReason {
        let base = CtxBase::new(
            Arc::clone(&self.name),
            life.id,
            self.hub.clone(),
            Arc::clone(&self.core),
            life.stop,
            life.heartbeat,
            self.hub.inner().config.request_timeout,
        );
        let driver = InRuntime {
            ctx: AsyncCtx::new(base),
            factory: Arc::clone(&self.factory),
            notify: Arc::clone(&self.notify),
            rt: None,
        };
        life::run(driver, life.started)
    }

    mailbox_hooks!("async server");
}
