//! One server instance on its thread: build, start, run, stop, report.
//!
//! # Order of events on the thread
//!
//! 1. factory, then `on_start`; either failing (a factory's `Err` or panic
//!    at `Stage::Init`, `on_start`'s at `Stage::Start`) is a failed start:
//!    the start notice is never given, the reason is returned, `on_stop` is
//!    not called;
//! 2. the start notice is given, then `run`;
//! 3. the exit reason is settled: `Ok` from `run` is `Normal` (the server
//!    stopped itself or its loop ended) or `Shutdown` (it was asked to); an
//!    `Err` or panic is a failure at the stage it happened in. A message in
//!    flight at a failure is dead-lettered with that reason, once;
//! 4. `on_stop(reason)`; a panic there makes a non-failure reason a failure;
//! 5. the reader retires its handled count; with no successor to come
//!    ([`EndPolicy::FinishMailbox`]), the mailbox is finished, which
//!    dead-letters whatever is still queued;
//! 6. the reason is returned (the caller reports it as the thread's last act).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use threadbutler_supervisor::heartbeat::HeartbeatWriter;
use threadbutler_supervisor::{
    BoxError, ExitReason, Stage, StartNotice, StopSignal, panic_message,
};

use crate::Hub;
use crate::ctx::Ctx;
use crate::dead_letter::DeadReason;
use crate::mailbox::MailboxCore;
use crate::server::Server;

/// Builds a server; called on its own thread at every (re)start. An `Err`
/// is a failed start at [`Stage::Init`] with that error. Plain factories
/// (`Fn() -> S`) and fallible ones (`Fn() -> Result<S, E>`) both become one
/// of these, so every kind of server has one way to be built.
pub(crate) type Factory<S> = Arc<dyn Fn() -> Result<S, BoxError> + Send + Sync>;

/// A factory that cannot refuse.
pub(crate) fn plain<S, F>(factory: F) -> Factory<S>
where
    F: Fn() -> S + Send + Sync + 'static,
{
    Arc::new(move || Ok(factory()))
}

/// A factory that may refuse: its error becomes the failed start's.
pub(crate) fn fallible<S, E, F>(factory: F) -> Factory<S>
where
    E: Into<BoxError>,
    F: Fn() -> Result<S, E> + Send + Sync + 'static,
{
    Arc::new(move || factory().map_err(Into::into))
}

/// What happens to the mailbox when the instance ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndPolicy {
    /// No successor will read it: finish it (standalone servers).
    FinishMailbox,
    /// A successor may read it: leave the queue alone (supervised servers).
    KeepMailbox,
}

/// Everything an instance needs, moved onto its thread.
pub(crate) struct Launch<S: Server> {
    pub(crate) name: Arc<str>,
    pub(crate) hub: Hub,
    pub(crate) core: Arc<MailboxCore<S::Msg>>,
    pub(crate) factory: Factory<S>,
    pub(crate) stop: Arc<StopSignal>,
    pub(crate) heartbeat: HeartbeatWriter,
    pub(crate) end: EndPolicy,
    pub(crate) request_timeout: Duration,
    /// The life's id (unique in the process).
    pub(crate) id: u64,
}

thread_local! {
    static ON_SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// True on a thread that is running a server instance.
pub(crate) fn on_server_thread() -> bool {
    ON_SERVER_THREAD.with(Cell::get)
}

fn caught<T>(
    stage: Stage,
    f: impl FnOnce() -> Result<T, threadbutler_supervisor::BoxError>,
) -> Result<T, ExitReason> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ExitReason::failed(stage, e)),
        Err(p) => Err(ExitReason::Panicked {
            stage,
            message: panic_message(p.as_ref()),
        }),
    }
}

/// Runs one instance to its end on the current thread. See the module docs.
pub(crate) fn run<S: Server>(launch: Launch<S>, started: StartNotice) -> ExitReason {
    ON_SERVER_THREAD.with(|c| c.set(true));
    let id = launch.id;
    let name = Arc::clone(&launch.name);
    let end = launch.end;
    let factory = launch.factory;
    let mut ctx = Ctx::<S>::new(
        launch.name,
        id,
        launch.hub,
        launch.core,
        launch.stop,
        launch.heartbeat,
        launch.request_timeout,
    );
    tracing::info!(server = %name, id, "server starting");

    let start = caught(Stage::Init, || factory()).and_then(|mut server| {
        ctx.set_stage(Stage::Start);
        caught(Stage::Start, || {
            server.on_start(&mut ctx)?;
            if let Some(interval) = server.tick_interval() {
                if interval.is_zero() {
                    return Err("tick_interval must be greater than zero".into());
                }
                ctx.start_ticks(interval);
            }
            Ok(())
        })?;
        Ok(server)
    });
    let mut server = match start {
        Ok(s) => s,
        Err(reason) => {
            tracing::error!(server = %name, id, reason = %reason, "server failed to start");
            end_instance(&ctx, end);
            return reason;
        }
    };
    ctx.set_stage(Stage::Run);
    ctx.started(started);
    tracing::info!(server = %name, id, "server started");

    let outcome = catch_unwind(AssertUnwindSafe(|| server.run(&mut ctx)));
    // A life that started reports it before it reports its end.
    ctx.give_start_notice();
    let mut reason = match outcome {
        Ok(Ok(())) => {
            ctx.finish_in_flight();
            if ctx.stopped_itself() || !ctx.should_stop() {
                ExitReason::Normal
            } else {
                ExitReason::Shutdown
            }
        }
        Ok(Err(e)) => ExitReason::failed(ctx.stage(), e),
        Err(p) => ExitReason::Panicked {
            stage: ctx.stage(),
            message: panic_message(p.as_ref()),
        },
    };
    if let Some(message_type) = ctx.take_in_flight() {
        // Only a failure leaves a message in flight; it is never retried.
        ctx.core()
            .dead_letter(message_type, DeadReason::InFlight(reason.clone()), None);
    }

    ctx.set_stage(Stage::Stop);
    let stop_hook = catch_unwind(AssertUnwindSafe(|| {
        server.on_stop(&reason, &mut ctx);
        drop(server);
    }));
    if let Err(p) = stop_hook {
        let message = panic_message(p.as_ref());
        tracing::error!(server = %name, id, panic = %message, "on_stop panicked");
        if !reason.is_failure() {
            reason = ExitReason::Panicked {
                stage: Stage::Stop,
                message,
            };
        }
    }
    end_instance(&ctx, end);
    if reason.is_failure() {
        tracing::error!(server = %name, id, reason = %reason, "server exited");
    } else {
        tracing::info!(server = %name, id, reason = %reason, "server exited");
    }
    reason
}

fn end_instance<S: Server>(ctx: &Ctx<S>, end: EndPolicy) {
    ctx.retire();
    if end == EndPolicy::FinishMailbox {
        ctx.core().finish(DeadReason::Stopped);
    }
}
