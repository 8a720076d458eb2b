//! Async servers (cargo feature `async`): handlers are `async`, each server
//! runs a current-thread tokio runtime on its own thread.
//!
//! # Anatomy
//!
//! A life of an async server builds a current-thread runtime and a
//! `LocalSet` on the child's worker thread and runs its loop there. The
//! mailbox is the same hub mailbox as a sync server's; its wake callback
//! notifies the runtime (a `tokio::sync::Notify`), so an idle server sleeps
//! in the runtime without polling or spinning. A stop request reaches it
//! through a small blocking task that waits on the stop signal and notifies
//! the runtime too.
//!
//! Messages are handled one at a time, in order, like a sync server's;
//! [`AsyncCtx::spawn`] runs futures concurrently beside the loop. A drain
//! handles the queue, then waits for the spawned futures (ThreadButler
//! dropped them); past the drain deadline the stop turns immediate and the
//! rest are aborted. A panic or `Err` in a handler or in a spawned future is
//! a server failure, handled by the supervisor's policy like any other;
//! after a panic `on_stop` does not run (the server value was inside the
//! panicking future).
//!
//! ```
//! use threadbutler::prelude::*;
//! use threadbutler::async_server::{AsyncCtx, AsyncServer};
//!
//! pub struct Double(pub u64, pub Reply<u64>);
//! pub struct Doubler;
//! threadbutler::messages! { pub enum DoublerMsg for Doubler { Double } }
//!
//! impl AsyncServer for Doubler {
//!     async fn handle(&mut self, msg: DoublerMsg, _ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
//!         let DoublerMsg::Double(Double(n, reply)) = msg;
//!         reply.send(n * 2);
//!         Ok(())
//!     }
//! }
//!
//! let app = Butler::builder("app").async_server("doubler", || Doubler).start()?;
//! assert_eq!(app.hub().request(|r| Double(21, r))?, 42);
//! app.shutdown();
//! app.wait()?;
//! # Ok::<(), threadbutler::Error>(())
//! ```

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use threadbutler_supervisor::heartbeat::HeartbeatWriter;
use threadbutler_supervisor::{
    BoxError, Child, ChildDetails, ExitReason, Life, Stage, StopMode, StopSignal, panic_message,
};
use tokio::sync::Notify;
use tokio::task::{JoinError, JoinSet, LocalSet};

use crate::address::Address;
use crate::counters::HandledCounter;
use crate::dead_letter::DeadReason;
use crate::hub::Hub;
use crate::mailbox::MailboxCore;
use crate::message::{Endpoint, Message};
use crate::spin::{SPIN_STEPS, pause};

/// A server whose handlers are async. See the module docs.
///
/// Declared with [`ButlerBuilder::async_server`](crate::ButlerBuilder::async_server)
/// (feature `async`); its hooks are `async fn`s:
///
/// ```
/// use std::collections::HashMap;
/// use threadbutler::prelude::*;
/// use threadbutler::async_server::{AsyncCtx, AsyncServer};
///
/// pub struct Lookup(pub &'static str, pub Reply<Option<u32>>);
/// threadbutler::messages! { pub enum DirectoryMsg for Directory { Lookup } }
///
/// #[derive(Default)]
/// pub struct Directory { ids: HashMap<&'static str, u32> }
///
/// impl AsyncServer for Directory {
///     async fn on_start(&mut self, _ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
///         self.ids.insert("ada", 1); // a real one would await its database here
///         Ok(())
///     }
///
///     async fn handle(&mut self, msg: DirectoryMsg, _ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
///         let DirectoryMsg::Lookup(Lookup(name, reply)) = msg;
///         reply.send(self.ids.get(name).copied());
///         Ok(())
///     }
/// }
///
/// let app = Butler::builder("app").async_server("directory", Directory::default).start()?;
/// assert_eq!(app.hub().request(|r| Lookup("ada", r))?, Some(1));
/// assert_eq!(app.hub().request(|r| Lookup("bob", r))?, None);
/// app.shutdown();
/// app.wait()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub trait AsyncServer: Endpoint + Sized + 'static {
    /// Handles one message; the next is taken when this future completes.
    ///
    /// # Errors
    ///
    /// An `Err` ends the server (`ExitReason::Failed`); the message is
    /// dead-lettered.
    fn handle(
        &mut self,
        msg: Self::Msg,
        ctx: &mut AsyncCtx<Self>,
    ) -> impl Future<Output = Result<(), BoxError>>;

    /// Runs once before the first message.
    ///
    /// # Errors
    ///
    /// An `Err` is a failed start.
    fn on_start(&mut self, ctx: &mut AsyncCtx<Self>) -> impl Future<Output = Result<(), BoxError>> {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs once when the server ends after a successful start (but not
    /// after a panic).
    fn on_stop(
        &mut self,
        reason: &ExitReason,
        ctx: &mut AsyncCtx<Self>,
    ) -> impl Future<Output = ()> {
        let _ = (reason, ctx);
        async {}
    }
}

/// An async server's handle on itself, the hub and its spawned futures.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::async_server::{AsyncCtx, AsyncServer};
/// # pub struct Fetch(pub u32);
/// # pub struct Fetched(pub String);
/// # pub struct Fetcher;
/// # pub struct Main;
/// # threadbutler::messages! { pub enum FetcherMsg for Fetcher { Fetch } }
/// # threadbutler::messages! { pub enum MainMsg for Main { Fetched } }
///
/// impl AsyncServer for Fetcher {
///     async fn handle(&mut self, msg: FetcherMsg, ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
///         let FetcherMsg::Fetch(Fetch(n)) = msg;
///         let (hub, name) = (ctx.hub().clone(), ctx.name().to_owned());
///         // Runs beside the loop: the next message does not wait for it.
///         ctx.spawn(async move {
///             hub.send(Fetched(format!("{name} fetched {n}")))?;
///             Ok(())
///         });
///         Ok(())
///     }
/// }
///
/// let app = Butler::builder("app").async_server("fetcher", || Fetcher).start()?;
/// let mut main = app.hub().client::<Main>("main")?;
/// app.hub().send(Fetch(4))?;
/// let MainMsg::Fetched(Fetched(text)) = main.recv();
/// assert_eq!(text, "fetcher fetched 4");
/// app.shutdown(); // a drain also waits for the spawned futures
/// app.wait()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct AsyncCtx<S: AsyncServer> {
    name: Arc<str>,
    id: u64,
    hub: Hub,
    core: Arc<MailboxCore<S::Msg>>,
    stop: Arc<StopSignal>,
    tasks: JoinSet<Result<(), BoxError>>,
    stopped_itself: bool,
    request_timeout: Duration,
}

impl<S: AsyncServer> AsyncCtx<S> {
    /// The server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This life's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The hub.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// This server's own address.
    pub fn address(&self) -> Address<S> {
        Address::new(Arc::clone(&self.core), self.request_timeout)
    }

    /// Runs `fut` concurrently on this server's runtime. A drain waits for
    /// it; an `Err` or a panic in it ends the server as a failure.
    pub fn spawn(&mut self, fut: impl Future<Output = Result<(), BoxError>> + 'static) {
        self.tasks.spawn_local(fut);
    }

    /// Futures spawned and not finished yet.
    pub fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    /// Stops this server after the current handler (a normal exit).
    pub fn stop(&mut self) {
        self.stopped_itself = true;
        self.stop.request(StopMode::Immediate);
    }

    /// True once this server was asked to stop.
    pub fn should_stop(&self) -> bool {
        self.stop.is_requested()
    }
}

impl<S: AsyncServer> fmt::Debug for AsyncCtx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncCtx")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("in_flight", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

/// An async server as a supervised child.
pub(crate) struct AsyncServerChild<S: AsyncServer> {
    pub(crate) name: Arc<str>,
    pub(crate) hub: Hub,
    pub(crate) core: Arc<MailboxCore<S::Msg>>,
    pub(crate) factory: crate::instance::Factory<S>,
    pub(crate) notify: Arc<Notify>,
}

/// A failure of the loop: where, and the error or panic text.
enum Failure {
    Err(Stage, BoxError),
    Panic(Stage, String),
}

fn joined(r: Result<Result<(), BoxError>, JoinError>) -> Result<(), Failure> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure::Err(Stage::Run, e)),
        Err(e) if e.is_panic() => Err(Failure::Panic(
            Stage::Run,
            panic_message(e.into_panic().as_ref()),
        )),
        Err(_) => Ok(()), // aborted by an immediate stop
    }
}

struct Books<'a> {
    counter: &'a HandledCounter,
    handled: u64,
    heartbeat: HeartbeatWriter,
    in_flight: &'a Cell<Option<&'static str>>,
}

async fn serve<S: AsyncServer>(
    server: &mut S,
    ctx: &mut AsyncCtx<S>,
    rx: &Receiver<S::Msg>,
    notify: &Notify,
    books: &mut Books<'_>,
) -> Result<(), Failure> {
    loop {
        let msg = match ctx.stop.mode() {
            Some(StopMode::Immediate) => break,
            Some(StopMode::Drain) => match rx.try_recv() {
                Ok(m) => Some(m),
                Err(_) => break,
            },
            None => rx.try_recv().ok(),
        };
        if let Some(m) = msg {
            books.in_flight.set(Some(m.type_name()));
            server
                .handle(m, ctx)
                .await
                .map_err(|e| Failure::Err(Stage::Handle, e))?;
            books.in_flight.set(None);
            books.handled += 1;
            books.counter.publish(books.handled);
            books.heartbeat.bump();
            continue;
        }
        // Nothing queued. With no future of ours waiting to run, look again
        // for a few microseconds first, as the sync loop does: parking and
        // being woken costs far more here.
        if ctx.tasks.is_empty() {
            for step in 0..SPIN_STEPS {
                pause(step);
                if !rx.is_empty() || ctx.stop.is_requested() {
                    break;
                }
            }
            if !rx.is_empty() || ctx.stop.is_requested() {
                continue;
            }
        }
        // Idle: sleep in the runtime until mail, a stop, or a spawned future
        // finishing (to surface its failure).
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !rx.is_empty() || ctx.stop.is_requested() {
            continue;
        }
        books.heartbeat.set_busy(false);
        tokio::select! {
            _ = &mut notified => {}
            Some(r) = ctx.tasks.join_next(), if !ctx.tasks.is_empty() => joined(r)?,
        }
        books.heartbeat.set_busy(true);
    }
    // The queue is done with: wait for the spawned futures, unless the stop
    // turns immediate.
    while !ctx.tasks.is_empty() {
        if ctx.stop.mode() == Some(StopMode::Immediate) {
            ctx.tasks.abort_all();
            break;
        }
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        tokio::select! {
            _ = &mut notified => {}
            Some(r) = ctx.tasks.join_next() => joined(r)?,
        }
    }
    Ok(())
}

impl<S: AsyncServer> AsyncServerChild<S> {
    fn life(&self, life: Life) -> ExitReason {
        let Life {
            id,
            stop,
            heartbeat,
            mut started,
            ..
        } = life;
        let runtime = match tokio::runtime::Builder::new_current_thread().build() {
            Ok(r) => r,
            Err(e) => {
                return ExitReason::failed(
                    Stage::Init,
                    format!("could not build a runtime: {e}").into(),
                );
            }
        };
        // A stop request wakes the runtime through a blocking task; the
        // final immediate request below lets that task end.
        let (s, n) = (Arc::clone(&stop), Arc::clone(&self.notify));
        let bridge = runtime.spawn_blocking(move || {
            while s.waker().recv().is_ok() {
                n.notify_one();
                if s.mode() == Some(StopMode::Immediate) {
                    break;
                }
            }
        });
        let counter = self.core.register_reader();
        let in_flight = Cell::new(None);
        let mut books = Books {
            counter: &counter,
            handled: 0,
            heartbeat,
            in_flight: &in_flight,
        };
        let mut ctx = AsyncCtx::<S> {
            name: Arc::clone(&self.name),
            id,
            hub: self.hub.clone(),
            core: Arc::clone(&self.core),
            stop: Arc::clone(&stop),
            tasks: JoinSet::new(),
            stopped_itself: false,
            request_timeout: self.hub.inner().config.request_timeout,
        };
        let rx = self.core.receiver();
        let factory = Arc::clone(&self.factory);
        let notify = Arc::clone(&self.notify);
        let local = LocalSet::new();
        // Where the life is, and its reason once settled, for a panic that
        // escapes the runtime (in `on_start` or `on_stop`, §5).
        let stage = Cell::new(Stage::Init);
        let settled: Cell<Option<ExitReason>> = Cell::new(None);
        tracing::info!(server = %self.name, id, "async server starting");
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(local.run_until(async {
                let mut server = match catch_unwind(AssertUnwindSafe(|| factory())) {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return ExitReason::failed(Stage::Init, e),
                    Err(p) => {
                        return ExitReason::Panicked {
                            stage: Stage::Init,
                            message: panic_message(p.as_ref()),
                        };
                    }
                };
                stage.set(Stage::Start);
                if let Err(e) = server.on_start(&mut ctx).await {
                    return ExitReason::failed(Stage::Start, e);
                }
                stage.set(Stage::Run);
                started.give();
                let reason = match serve(&mut server, &mut ctx, &rx, &notify, &mut books).await {
                    Ok(()) if ctx.stopped_itself || !ctx.should_stop() => ExitReason::Normal,
                    Ok(()) => ExitReason::Shutdown,
                    Err(Failure::Err(stage, e)) => ExitReason::failed(stage, e),
                    Err(Failure::Panic(stage, message)) => ExitReason::Panicked { stage, message },
                };
                settled.set(Some(reason.clone()));
                stage.set(Stage::Stop);
                server.on_stop(&reason, &mut ctx).await;
                reason
            }))
        }));
        stop.request(StopMode::Immediate);
        ctx.tasks.abort_all();
        drop(ctx);
        let _ = runtime.block_on(bridge);
        let reason = match (outcome, settled.take()) {
            (Ok(reason), _) => reason,
            // A panic in `on_stop` keeps a failure it follows (§5.4).
            (Err(_), Some(failed)) if failed.is_failure() => failed,
            (Err(p), _) => ExitReason::Panicked {
                stage: if in_flight.get().is_some() {
                    Stage::Handle
                } else {
                    stage.get()
                },
                message: panic_message(p.as_ref()),
            },
        };
        if reason.is_failure()
            && let Some(ty) = in_flight.take()
        {
            self.core
                .dead_letter(ty, DeadReason::InFlight(reason.clone()), None);
        }
        self.core.retire_reader(&counter);
        if reason.is_failure() {
            tracing::error!(server = %self.name, id, reason = %reason, "async server exited");
        } else {
            tracing::info!(server = %self.name, id, reason = %reason, "async server exited");
        }
        reason
    }
}

impl<S: AsyncServer> Child for AsyncServerChild<S> {
    fn run(&self, life: Life) -> ExitReason {
        self.life(life)
    }

    fn on_final_stop(&self, mode: StopMode) -> u64 {
        self.core.final_stop(mode)
    }

    fn on_drain_deadline(&self) -> u64 {
        self.core.finish(DeadReason::DrainDeadline)
    }

    fn on_retired(&self) {
        self.core.finish(DeadReason::Stopped);
    }

    fn on_revived(&self) {
        self.core.reopen();
    }

    fn details(&self) -> ChildDetails {
        let mut d = ChildDetails::default();
        d.kind = "async server";
        d.mailbox_depth = Some(self.core.depth());
        d
    }
}
