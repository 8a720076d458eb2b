//! Standalone servers: spawned straight on a hub, without a supervisor, as
//! ThreadButler's were. Nothing restarts them; a server that ends stays ended
//! and its mailbox is finished (what is queued is dead-lettered).
//!
//! # The stop protocol
//!
//! Stopping one server ([`Hub::stop`]):
//!
//! 1. its mailbox closes: new sends get `Closed(msg)` back;
//! 2. its stop signal is set to its shutdown mode and wakes it;
//! 3. `Drain(t)`: it handles what is queued; if it has not ended after `t`,
//!    the stop escalates to `Immediate` and the queue is dead-lettered
//!    ([`DeadReason::DrainDeadline`]). `Immediate`: the queue is
//!    dead-lettered ([`DeadReason::Stopped`]) at once;
//! 4. if it has still not ended after the hub's `abandon_after`, it is
//!    reported [`Outcome::Abandoned`] and left behind (threads cannot be
//!    killed); it takes no further message.
//!
//! A shutdown stops every server this way, one at a time, in reverse start
//! order.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::bounded;
use threadbutler_supervisor::heartbeat::{HeartbeatReader, HeartbeatSample, heartbeat};
use threadbutler_supervisor::{
    BoxError, ExitCell, ExitReason, Shutdown, Stage, StartNotice, StopMode, StopSignal,
    next_life_id,
};

use crate::address::Address;
use crate::dead_letter::DeadReason;
use crate::error::{Error, SpawnError};
use crate::hub::Hub;
use crate::instance::{self, EndPolicy, Factory, Launch, fallible, plain};
use crate::mailbox::{Capacity, MailboxControl, MailboxStats, WakeFn};
use crate::server::Server;

/// How a server ended, as seen by whoever stopped or joined it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// It ended, for this reason.
    Exited(ExitReason),
    /// It did not end by its deadline and was left behind. Its thread may
    /// still be running; it takes no further message.
    Abandoned,
}

impl Outcome {
    /// True for an exit that is not a failure.
    pub fn is_clean(&self) -> bool {
        matches!(self, Outcome::Exited(r) if !r.is_failure())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited(r) => write!(f, "exited: {r}"),
            Outcome::Abandoned => f.write_str("abandoned: did not stop by its deadline"),
        }
    }
}

/// How one server ended, with its mailbox's final counters.
#[derive(Debug, Clone)]
pub struct StopReport {
    /// The server's name.
    pub server: Arc<str>,
    /// How it ended.
    pub outcome: Outcome,
    /// Its mailbox's counters after the stop.
    pub mailbox: MailboxStats,
    /// True if a drain did not finish by its deadline, so queued messages
    /// were dead-lettered instead of handled.
    pub drain_deadline_missed: bool,
}

/// How every standalone server ended, in the order they were stopped
/// (reverse start order).
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    /// One report per server.
    pub servers: Vec<StopReport>,
}

impl ShutdownReport {
    /// True when every server exited without failure and nothing was
    /// dead-lettered for a missed drain deadline.
    pub fn is_clean(&self) -> bool {
        self.servers
            .iter()
            .all(|s| s.outcome.is_clean() && !s.drain_deadline_missed)
    }

    /// The report of the server named `name`.
    pub fn server(&self, name: &str) -> Option<&StopReport> {
        self.servers.iter().find(|s| &*s.server == name)
    }
}

/// A running standalone server, as the hub keeps it.
pub(crate) struct ServerSlot {
    name: Arc<str>,
    shutdown: Shutdown,
    stop: Arc<StopSignal>,
    heartbeat: HeartbeatReader,
    mailbox: Arc<dyn MailboxControl>,
    exit: Arc<ExitCell>,
    thread: Mutex<Option<JoinHandle<()>>>,
    outcome: Mutex<Option<Outcome>>,
    drain_deadline_missed: AtomicBool,
}

impl ServerSlot {
    fn settled(&self) -> Option<Outcome> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn settle(&self, outcome: Outcome) -> Outcome {
        if let Outcome::Exited(_) = outcome
            && let Some(t) = self
                .thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        {
            // The thread reported its exit as its last act; this returns promptly.
            let _ = t.join();
        }
        // No successor: whatever slipped in after the end is dead-lettered.
        self.mailbox.finish(DeadReason::Stopped);
        let mut slot = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(outcome).clone()
    }

    fn report(&self, outcome: Outcome) -> StopReport {
        StopReport {
            server: Arc::clone(&self.name),
            outcome,
            mailbox: self.mailbox.stats(),
            drain_deadline_missed: self.drain_deadline_missed.load(Ordering::SeqCst),
        }
    }

    /// Waits for the server to end on its own.
    fn join(&self) -> StopReport {
        if let Some(o) = self.settled() {
            return self.report(o);
        }
        let o = self.settle(Outcome::Exited(self.exit.wait()));
        self.report(o)
    }

    /// Stops the server by the protocol in the module docs.
    fn stop(&self, abandon_after: Duration) -> StopReport {
        if let Some(o) = self.settled() {
            return self.report(o);
        }
        tracing::info!(server = %self.name, shutdown = ?self.shutdown, "stop requested");
        self.mailbox.close();
        self.stop.request(self.shutdown.mode());
        match self.shutdown {
            Shutdown::Drain(timeout) => match self.exit.wait_timeout(timeout) {
                Some(r) => return self.finish_report(Outcome::Exited(r)),
                None => {
                    self.drain_deadline_missed.store(true, Ordering::SeqCst);
                    self.stop.request(StopMode::Immediate);
                    let left = self.mailbox.finish(DeadReason::DrainDeadline);
                    tracing::warn!(server = %self.name, ?timeout, left, "drain deadline passed");
                }
            },
            Shutdown::Immediate => {
                let left = self.mailbox.finish(DeadReason::Stopped);
                tracing::info!(server = %self.name, left, "queue dead-lettered by an immediate stop");
            }
        }
        match self.exit.wait_timeout(abandon_after) {
            Some(r) => self.finish_report(Outcome::Exited(r)),
            None => {
                tracing::error!(server = %self.name, grace = ?abandon_after, "server abandoned: it did not stop by its deadline");
                self.finish_report(Outcome::Abandoned)
            }
        }
    }

    fn finish_report(&self, outcome: Outcome) -> StopReport {
        let o = self.settle(outcome);
        self.report(o)
    }
}

/// Sets the exit cell when the thread ends, even by a panic that escaped
/// `instance::run` (which catches every panic of user code), so that no
/// waiter hangs.
struct ReportOnExit(Arc<ExitCell>);

impl Drop for ReportOnExit {
    fn drop(&mut self) {
        self.0.set(ExitReason::Panicked {
            stage: Stage::Run,
            message: "the server thread ended without reporting its exit".into(),
        });
    }
}

/// Configures a standalone server before [`spawn`](ServerBuilder::spawn).
///
/// [`Hub::server`] makes one ([`Hub::try_server`] for a factory that may
/// refuse); [`Hub::spawn`] is the same with every option at its default.
///
/// ```
/// use std::time::Duration;
/// use threadbutler::prelude::*;
/// # pub struct Job(pub u32);
/// # pub struct Worker;
/// # threadbutler::messages! { pub enum WorkerMsg for Worker { Job } }
/// # impl Server for Worker {
/// #     fn handle(&mut self, _: WorkerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
/// # }
///
/// let hub = Hub::new();
/// let worker = hub
///     .server("worker", || Worker)
///     .capacity(Capacity::Bounded(16)) // rather than the hub's default
///     .shutdown(Shutdown::Drain(Duration::from_secs(2))) // a stop handles the queue first
///     .spawn()?; // returns once `on_start` succeeded
/// for n in 0..10 {
///     worker.send(Job(n))?;
/// }
/// let report = hub.stop("worker")?;
/// assert!(report.outcome.is_clean());
/// assert_eq!(report.mailbox.handled, 10);
/// hub.shutdown()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[must_use]
pub struct ServerBuilder<'h, S: Server> {
    hub: &'h Hub,
    name: Arc<str>,
    factory: Factory<S>,
    capacity: Option<Capacity>,
    shutdown: Shutdown,
    stack_size: Option<usize>,
    wake: Option<WakeFn>,
}

impl<S: Server> ServerBuilder<'_, S> {
    /// The mailbox's capacity (default: the hub's).
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// How the server stops (default `Drain(5s)`).
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// The thread's stack size in bytes (default: std's).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// A callback run after each accepted send; see [`WakeFn`].
    pub fn on_wake(mut self, wake: impl Fn() + Send + Sync + 'static) -> Self {
        self.wake = Some(Arc::new(wake));
        self
    }

    /// Registers the mailbox, starts the thread, and returns once the
    /// server's `on_start` has succeeded.
    ///
    /// # Errors
    ///
    /// [`SpawnError`]: the name is taken, the capacity is 0, the hub is
    /// shutting down, the thread could not be spawned, or the factory or
    /// `on_start` failed (with the [`ExitReason`]). On error nothing is left
    /// registered, and anything sent meanwhile is dead-lettered.
    pub fn spawn(self) -> Result<Address<S>, SpawnError> {
        let hub = self.hub;
        let inner = hub.inner();
        if inner.shutdown_begun.load(Ordering::SeqCst) {
            return Err(SpawnError::ShuttingDown {
                name: self.name.to_string(),
            });
        }
        let core = hub.register::<S>(&self.name, self.capacity, self.wake)?;
        let stop = Arc::new(StopSignal::new());
        let (writer, reader) = heartbeat();
        let exit = Arc::new(ExitCell::new());
        let report = ReportOnExit(Arc::clone(&exit));
        let (started_tx, started_rx) = bounded(1);
        let started = StartNotice::channel(started_tx);
        let launch = Launch::<S> {
            name: Arc::clone(&self.name),
            hub: hub.clone(),
            core: Arc::clone(&core),
            factory: self.factory,
            stop: Arc::clone(&stop),
            heartbeat: writer,
            end: EndPolicy::FinishMailbox,
            request_timeout: inner.config.request_timeout,
            id: next_life_id(),
        };
        let mut builder = thread::Builder::new().name(self.name.to_string());
        if let Some(bytes) = self.stack_size {
            builder = builder.stack_size(bytes);
        }
        let spawned = builder.spawn(move || {
            let reason = instance::run(launch, started);
            report.0.set(reason);
        });
        let thread = match spawned {
            Ok(t) => t,
            Err(source) => {
                core.finish(DeadReason::Stopped);
                hub.unregister_if(&self.name, &core);
                return Err(SpawnError::Thread {
                    name: self.name.to_string(),
                    source,
                });
            }
        };
        if started_rx.recv().is_err() {
            // The notice was dropped ungiven: the start failed.
            let _ = thread.join();
            hub.unregister_if(&self.name, &core);
            let reason = exit.get().unwrap_or_else(|| ExitReason::Panicked {
                stage: Stage::Init,
                message: "the server thread ended before reporting its start".into(),
            });
            return Err(SpawnError::StartFailed {
                name: self.name.to_string(),
                reason,
            });
        }
        let slot = Arc::new(ServerSlot {
            name: Arc::clone(&self.name),
            shutdown: self.shutdown,
            stop,
            heartbeat: reader,
            mailbox: core.clone(),
            exit,
            thread: Mutex::new(Some(thread)),
            outcome: Mutex::new(None),
            drain_deadline_missed: AtomicBool::new(false),
        });
        {
            let mut servers = inner.servers.lock().unwrap_or_else(PoisonError::into_inner);
            if !inner.shutdown_begun.load(Ordering::SeqCst) {
                servers.retain(|s| s.name != self.name);
                servers.push(slot);
                return Ok(Address::new(core, inner.config.request_timeout));
            }
        }
        // A shutdown began while we started: it did not see us, so stop now.
        slot.stop(inner.config.abandon_after);
        Err(SpawnError::ShuttingDown {
            name: self.name.to_string(),
        })
    }
}

impl<S: Server> fmt::Debug for ServerBuilder<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .field("shutdown", &self.shutdown)
            .field("stack_size", &self.stack_size)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Spawns a standalone server named `name`, built by `factory` on its
    /// own thread, with default options. Returns once it started.
    ///
    /// # Errors
    ///
    /// See [`ServerBuilder::spawn`].
    pub fn spawn<S, F>(&self, name: &str, factory: F) -> Result<Address<S>, SpawnError>
    where
        S: Server,
        F: Fn() -> S + Send + Sync + 'static,
    {
        self.server(name, factory).spawn()
    }

    /// Configures a standalone server; finish with
    /// [`spawn`](ServerBuilder::spawn).
    pub fn server<S, F>(&self, name: &str, factory: F) -> ServerBuilder<'_, S>
    where
        S: Server,
        F: Fn() -> S + Send + Sync + 'static,
    {
        self.server_built(name, plain(factory))
    }

    /// Spawns a standalone server like [`spawn`](Hub::spawn), built by a
    /// factory that may refuse: an `Err` from `factory` is a failed start,
    /// [`SpawnError::StartFailed`] whose reason is
    /// `Failed { stage: Init, error }` with that error, and nothing is left
    /// registered (runtime-semantics §5.2).
    ///
    /// ```
    /// use threadbutler::prelude::*;
    /// use threadbutler::SpawnError;
    /// # pub struct Line(pub String);
    /// # threadbutler::messages! { pub enum LogMsg for Log { Line } }
    /// pub struct Log { file: std::fs::File }
    /// # impl Server for Log {
    /// #     fn handle(&mut self, _: LogMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    ///
    /// let hub = Hub::new();
    /// let path = "/nonexistent/dir/app.log";
    /// let err = hub
    ///     .try_spawn("log", move || std::fs::File::create(path).map(|file| Log { file }))
    ///     .expect_err("no such directory");
    /// let SpawnError::StartFailed { name, reason } = &err else { panic!("{err}") };
    /// assert_eq!(name, "log");
    /// assert!(matches!(reason, ExitReason::Failed { stage: Stage::Init, .. }));
    /// assert!(reason.to_string().starts_with("init failed: "), "{reason}"); // then the io::Error
    /// assert!(hub.names().is_empty()); // the name is free again
    /// # Ok::<(), threadbutler::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// See [`ServerBuilder::spawn`].
    pub fn try_spawn<S, E, F>(&self, name: &str, factory: F) -> Result<Address<S>, SpawnError>
    where
        S: Server,
        E: Into<BoxError>,
        F: Fn() -> Result<S, E> + Send + Sync + 'static,
    {
        self.try_server(name, factory).spawn()
    }

    /// Configures a standalone server built by a factory that may refuse
    /// (see [`try_spawn`](Hub::try_spawn)); finish with
    /// [`spawn`](ServerBuilder::spawn).
    pub fn try_server<S, E, F>(&self, name: &str, factory: F) -> ServerBuilder<'_, S>
    where
        S: Server,
        E: Into<BoxError>,
        F: Fn() -> Result<S, E> + Send + Sync + 'static,
    {
        self.server_built(name, fallible(factory))
    }

    fn server_built<S: Server>(&self, name: &str, factory: Factory<S>) -> ServerBuilder<'_, S> {
        ServerBuilder {
            hub: self,
            name: Arc::from(name),
            factory,
            capacity: None,
            shutdown: Shutdown::default(),
            stack_size: None,
            wake: None,
        }
    }

    fn slot(&self, name: &str) -> Result<Arc<ServerSlot>, Error> {
        self.inner()
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|s| &*s.name == name)
            .cloned()
            .ok_or_else(|| Error::UnknownServer {
                name: name.to_owned(),
            })
    }

    /// Stops the standalone server `name` by its shutdown mode and waits
    /// until it ended or was abandoned (see the module docs of the stop
    /// protocol). Stopping a server that already ended returns its report.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if no standalone server has that name;
    /// [`Error::WouldDeadlock`] when a server calls it on itself.
    pub fn stop(&self, name: &str) -> Result<StopReport, Error> {
        let slot = self.slot(name)?;
        if instance::on_server_thread() && thread::current().name() == Some(name) {
            return Err(Error::WouldDeadlock);
        }
        Ok(slot.stop(self.inner().config.abandon_after))
    }

    /// Asks the standalone server `name` to stop by its shutdown mode,
    /// without waiting. [`join`](Hub::join) collects the outcome.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if no standalone server has that name.
    pub fn request_stop(&self, name: &str) -> Result<(), Error> {
        let slot = self.slot(name)?;
        slot.mailbox.close();
        slot.stop.request(slot.shutdown.mode());
        Ok(())
    }

    /// Waits until the standalone server `name` has ended (by itself, by a
    /// failure, or after a stop request), without asking it to.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if no standalone server has that name;
    /// [`Error::WouldDeadlock`] when a server calls it on itself.
    pub fn join(&self, name: &str) -> Result<StopReport, Error> {
        let slot = self.slot(name)?;
        if instance::on_server_thread() && thread::current().name() == Some(name) {
            return Err(Error::WouldDeadlock);
        }
        Ok(slot.join())
    }

    /// The heartbeat of the standalone server `name`: its progress count and
    /// busy flag. Sampling it costs the server nothing.
    pub fn heartbeat(&self, name: &str) -> Option<HeartbeatSample> {
        self.slot(name).ok().map(|s| s.heartbeat.sample())
    }

    /// Begins stopping every standalone server, one at a time in reverse
    /// start order, on a thread of its own; returns at once. Safe to call
    /// from a handler (ThreadButler's kill-all) and more than once.
    /// [`wait`](Hub::wait) returns the report.
    pub fn request_shutdown(&self) {
        let inner = self.inner();
        {
            // Taking the lock orders us against a concurrent spawn's check.
            let _servers = inner.servers.lock().unwrap_or_else(PoisonError::into_inner);
            if inner.shutdown_begun.swap(true, Ordering::SeqCst) {
                return;
            }
        }
        let hub = self.clone();
        let run = move || hub.run_shutdown();
        if let Err(e) = thread::Builder::new()
            .name("threadbutler-shutdown".into())
            .spawn(run)
        {
            tracing::error!(error = %e, "could not spawn the shutdown thread; shutting down on this one");
            self.run_shutdown();
        }
    }

    /// Stops every standalone server in reverse start order and returns how
    /// each ended.
    ///
    /// # Errors
    ///
    /// [`Error::WouldDeadlock`] when called from a server's thread: use
    /// [`request_shutdown`](Hub::request_shutdown) there.
    pub fn shutdown(&self) -> Result<ShutdownReport, Error> {
        if instance::on_server_thread() {
            return Err(Error::WouldDeadlock);
        }
        self.request_shutdown();
        Ok(self.wait())
    }

    /// Blocks until a shutdown, requested from anywhere, has finished, and
    /// returns its report.
    pub fn wait(&self) -> ShutdownReport {
        let inner = self.inner();
        let mut report = inner
            .shutdown_report
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(r) = report.as_ref() {
                return r.clone();
            }
            report = inner
                .shutdown_done
                .wait(report)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn run_shutdown(&self) {
        let inner = self.inner();
        let slots: Vec<Arc<ServerSlot>> = inner
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        tracing::info!(hub = %inner.name, servers = slots.len(), "shutdown began");
        let mut report = ShutdownReport::default();
        for slot in slots.iter().rev() {
            report.servers.push(slot.stop(inner.config.abandon_after));
        }
        tracing::info!(hub = %inner.name, clean = report.is_clean(), "shutdown finished");
        *inner
            .shutdown_report
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(report);
        inner.shutdown_done.notify_all();
    }
}
