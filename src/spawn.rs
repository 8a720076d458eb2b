//! Servers spawned on a hub ([`Hub::spawn`], ThreadButler's short way in)
//! and servers added to a running tree ([`Butler::add_server`](crate::Butler::add_server)):
//! both are children of a supervisor, started, stopped, drained and
//! reported by the one engine.
//!
//! A hub without a declared tree starts an *implicit root supervisor* (named
//! after the hub, `OneForOne`, the default intensity, the hub's
//! `abandon_after`) when its first server is spawned; inside a
//! [`Butler`](crate::Butler) the hub's root is the Butler's. A server
//! spawned on the hub is that root's child, `Temporary` by default (as in
//! ThreadButler, nothing restarts it: a server that ends stays ended and its
//! mailbox is finished); [`ServerBuilder::restart`] asks for more.
//!
//! Stopping one ([`Hub::stop`]) is the supervisor's removal of a child: its
//! mailbox closes; by its shutdown mode it drains what is queued (past the
//! drain deadline the rest is dead-lettered, `DrainDeadline`) or drops it
//! (`Immediate`); a server that ignores its stop past the grace is
//! abandoned. A shutdown ([`Hub::shutdown`]) is the root's: every child,
//! in reverse start order, and one [`Report`].

use std::fmt;
use std::sync::{Arc, PoisonError};
use std::thread;

use threadbutler_supervisor::heartbeat::HeartbeatSample;
use threadbutler_supervisor::{
    BoxError, Child, ChildSpec, EventBus, ExitReason, Restart, Shutdown, SupervisorRef,
    SupervisorSpec,
};

use crate::address::Address;
use crate::app::{App, Running};
use crate::child_options::ChildOptions;
use crate::dead_letter::DeadReason;
use crate::error::{Error, SpawnError};
use crate::fate::{Ended, Fate, Watched};
use crate::hub::{Hub, Root};
use crate::instance::{self, Factory, fallible, plain};
use crate::mailbox::{Capacity, MailboxStats};
use crate::report::Report;
use crate::server::Server;
use crate::server_child::ServerChild;

/// How one child ended when it was stopped or joined.
#[derive(Debug, Clone)]
pub struct StopReport {
    /// The child's name.
    pub server: Arc<str>,
    /// Its last life's exit reason; `None` if it was abandoned (its thread
    /// may still run; it takes no further message) or was not running.
    pub reason: Option<ExitReason>,
    /// True if it ignored its stop past the grace and was left behind.
    pub abandoned: bool,
    /// How many queued messages the stop gave up (dead-lettered rather than
    /// handled): a drain past its deadline, an `Immediate` stop with work
    /// queued. 0 after a clean drain.
    pub given_up: u64,
    /// Its mailbox's counters after the stop; `None` for a child without a
    /// mailbox (a thread, a nested supervisor).
    pub mailbox: Option<MailboxStats>,
}

impl StopReport {
    /// True if it ended without failure, was not abandoned, and gave up no
    /// queued work: the same rule as [`Report::is_clean`].
    pub fn is_clean(&self) -> bool {
        !self.abandoned
            && self.given_up == 0
            && self.reason.as_ref().is_some_and(|r| !r.is_failure())
    }

    fn ended(server: &str, ended: Ended, hub: &Hub) -> StopReport {
        StopReport {
            server: Arc::from(server),
            abandoned: ended.reason.is_none(),
            reason: ended.reason,
            given_up: 0,
            mailbox: hub.stats(server),
        }
    }
}

/// Configures a server spawned on the hub; [`spawn`](ServerBuilder::spawn)
/// starts it.
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
///     .restart(Restart::Transient) // restarted after a failure (default: never)
///     .spawn()?; // returns once `on_start` succeeded
/// for n in 0..10 {
///     worker.send(Job(n))?;
/// }
/// let report = hub.stop("worker")?;
/// assert!(report.is_clean());
/// assert_eq!(report.mailbox.map(|m| m.handled), Some(10));
/// hub.shutdown()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[must_use]
pub struct ServerBuilder<'h, S: Server> {
    hub: &'h Hub,
    name: Arc<str>,
    factory: Factory<S>,
    options: ChildOptions,
}

impl<S: Server> ServerBuilder<'_, S> {
    /// The mailbox's capacity (default: the hub's).
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.options = self.options.capacity(capacity);
        self
    }

    /// How the server stops (default `Drain(5s)`).
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.options = self.options.shutdown(shutdown);
        self
    }

    /// When it is restarted (default `Temporary`: never).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.options = self.options.restart(restart);
        self
    }

    /// Its heartbeat timeout: busy this long without progress is a
    /// `HeartbeatMissed` failure (default: not watched).
    pub fn heartbeat(mut self, timeout: std::time::Duration) -> Self {
        self.options = self.options.heartbeat(timeout);
        self
    }

    /// The wait between its restarts (default none).
    pub fn backoff(mut self, backoff: threadbutler_supervisor::Backoff) -> Self {
        self.options = self.options.backoff(backoff);
        self
    }

    /// The thread's stack size in bytes (default: std's).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.options.stack_size = Some(bytes);
        self
    }

    /// A callback run after each accepted send; see
    /// [`WakeFn`](crate::WakeFn).
    pub fn on_wake(mut self, wake: impl Fn() + Send + Sync + 'static) -> Self {
        self.options.wake = Some(Arc::new(wake));
        self
    }

    /// Registers the mailbox, starts the server as a child of the hub's
    /// root supervisor, and returns once its `on_start` succeeded.
    ///
    /// # Errors
    ///
    /// [`SpawnError`]: the name is taken, the capacity is 0, the hub is
    /// shutting down, the thread could not be spawned, or the factory or
    /// `on_start` failed (with the [`ExitReason`]). On error nothing is left
    /// registered, and anything sent meanwhile is dead-lettered.
    pub fn spawn(self) -> Result<Address<S>, SpawnError> {
        let hub = self.hub;
        let app = hub.app(&self.name)?;
        let mut options = self.options;
        if options.restart.is_none() {
            options.restart = Some(Restart::Temporary);
        }
        let (address, fate) =
            add_server(hub, &app.root.root(), &self.name, self.factory, &options)?;
        app.spawned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Arc::clone(&self.name), fate);
        Ok(address)
    }
}

impl<S: Server> fmt::Debug for ServerBuilder<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("name", &self.name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Adds server `S` named `name` under `sup` and waits until it started.
/// The one way a server joins a running tree.
pub(crate) fn add_server<S: Server>(
    hub: &Hub,
    sup: &SupervisorRef,
    name: &str,
    factory: Factory<S>,
    options: &ChildOptions,
) -> Result<(Address<S>, Arc<Fate>), SpawnError> {
    // A child of that name (even a stopped one, whose mailbox the hub keeps
    // for `restart_child`) keeps its name and its mailbox.
    if !hub.is_live(name) && sup.which_children().iter().any(|c| c.name == name) {
        return Err(SpawnError::NameTaken {
            name: name.to_owned(),
        });
    }
    let name_arc: Arc<str> = Arc::from(name);
    let core = hub.register::<S>(&name_arc, options.capacity, options.wake.clone())?;
    let server = ServerChild::<S>::new(
        Arc::clone(&name_arc),
        hub.clone(),
        Arc::clone(&core),
        factory,
    );
    let (child, fate) = Watched::new(Arc::new(server));
    let spec = options.apply(ChildSpec::from_arc(name, Arc::new(child) as Arc<dyn Child>));
    match sup.add_child(spec) {
        Ok(()) => Ok((Address::new(core, hub.inner().config.request_timeout), fate)),
        Err(reason) => {
            // Whatever was sent meanwhile is dead-lettered; the name is free.
            core.finish(DeadReason::Stopped);
            hub.unregister_if(name, &core);
            Err(match reason {
                ExitReason::Shutdown => SpawnError::ShuttingDown {
                    name: name.to_owned(),
                },
                reason => SpawnError::StartFailed {
                    name: name.to_owned(),
                    reason,
                },
            })
        }
    }
}

/// Stops the child `name` of `sup` for good, removes it, and reports how it
/// ended. The one way a child is stopped on request.
pub(crate) fn stop_child(hub: &Hub, sup: &SupervisorRef, name: &str) -> Result<StopReport, Error> {
    // A child's thread is named after it: stopping yourself would wait for
    // yourself to stop.
    if thread::current().name() == Some(name) {
        return Err(Error::WouldDeadlock);
    }
    // Every name in its subtree (a nested supervisor's or a pool's children
    // too), to take their finished mailboxes off the hub afterwards.
    let mut names = Vec::new();
    if let Some(node) = sup.status().children.iter().find(|c| c.name == name) {
        collect_names(node, &mut names);
    }
    let removed = sup.remove_child(name).ok_or_else(|| Error::UnknownServer {
        name: name.to_owned(),
    })?;
    let report = StopReport {
        server: Arc::from(name),
        reason: removed.reason,
        abandoned: removed.abandoned,
        given_up: removed.given_up,
        mailbox: hub.stats(name),
    };
    // A removed child is gone: its finished mailbox leaves the hub (a send
    // by type gets `NoRoute`, one through a kept address `Closed`, both
    // with the message back), so a daemon that adds and removes children
    // does not collect names. A child without a mailbox leaves a server of
    // the same name alone.
    hub.unregister_finished(name);
    for n in names {
        hub.unregister_finished(&n);
    }
    Ok(report)
}

fn collect_names(node: &threadbutler_supervisor::StatusNode, out: &mut Vec<String>) {
    for c in &node.children {
        out.push(c.name.clone());
        collect_names(c, out);
    }
}

impl Hub {
    /// The application this hub's servers run in; a hub without a declared
    /// tree starts its implicit root supervisor now.
    pub(crate) fn app(&self, asking: &str) -> Result<Arc<App>, SpawnError> {
        let mut root = self
            .inner()
            .root
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*root {
            Root::Running(app) => return Ok(Arc::clone(app)),
            Root::Declared => {
                return Err(SpawnError::NotStarted {
                    name: asking.to_owned(),
                });
            }
            Root::Unset => {}
        }
        let config = &self.inner().config;
        let spec = SupervisorSpec::new(self.name()).abandon_after(config.abandon_after);
        tracing::info!(hub = %self.name(), "starting the hub's implicit root supervisor");
        let app = App::start(spec, EventBus::new(), self, Running::default()).map_err(|e| {
            SpawnError::StartFailed {
                name: asking.to_owned(),
                reason: match e {
                    Error::Start { reason } => reason,
                    other => ExitReason::failed(
                        threadbutler_supervisor::Stage::Init,
                        other.to_string().into(),
                    ),
                },
            }
        })?;
        *root = Root::Running(Arc::clone(&app));
        Ok(app)
    }

    /// Spawns a server named `name`, built by `factory` on its own thread,
    /// with default options, as a child of the hub's root supervisor.
    /// Returns once it started.
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

    /// Configures a server to spawn; finish with
    /// [`spawn`](ServerBuilder::spawn).
    pub fn server<S, F>(&self, name: &str, factory: F) -> ServerBuilder<'_, S>
    where
        S: Server,
        F: Fn() -> S + Send + Sync + 'static,
    {
        self.server_built(name, plain(factory))
    }

    /// Spawns a server like [`spawn`](Hub::spawn), built by a factory that
    /// may refuse: an `Err` from `factory` is a failed start,
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

    /// Configures a server built by a factory that may refuse (see
    /// [`try_spawn`](Hub::try_spawn)); finish with
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
            options: ChildOptions::default(),
        }
    }

    fn fate(&self, app: &App, name: &str) -> Option<Arc<Fate>> {
        let _ = self;
        app.spawned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Stops the child `name` of the hub's root supervisor for good, by its
    /// shutdown mode, and waits until it ended or was abandoned (see the
    /// module docs). Stopping a spawned server that already ended returns
    /// its report.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if the root has no child of that name;
    /// [`Error::WouldDeadlock`] when a server calls it on itself.
    pub fn stop(&self, name: &str) -> Result<StopReport, Error> {
        let app = self.app(name)?;
        match stop_child(self, &app.root.root(), name) {
            // Ended already, or ending in a shutdown under way: its end
            // is the report.
            Err(Error::UnknownServer { name: unknown }) => match self.fate(&app, name) {
                Some(fate) => Ok(StopReport::ended(name, fate.wait(), self)),
                None => Err(Error::UnknownServer { name: unknown }),
            },
            other => other,
        }
    }

    /// Asks the child `name` of the hub's root supervisor to stop for good,
    /// without waiting. [`join`](Hub::join) collects the outcome.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if the root has no child of that name.
    pub fn request_stop(&self, name: &str) -> Result<(), Error> {
        let app = self.app(name)?;
        let root = app.root.root();
        if !root.which_children().iter().any(|c| c.name == name) {
            return Err(Error::UnknownServer {
                name: name.to_owned(),
            });
        }
        root.begin_remove(name);
        Ok(())
    }

    /// Waits until the server `name`, spawned on this hub, has ended for
    /// good (by itself, by a failure not restarted, or after a stop),
    /// without asking it to.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if no server of that name was spawned on
    /// the hub; [`Error::WouldDeadlock`] when a server calls it on itself.
    pub fn join(&self, name: &str) -> Result<StopReport, Error> {
        let app = self.app(name)?;
        let fate = self.fate(&app, name).ok_or_else(|| Error::UnknownServer {
            name: name.to_owned(),
        })?;
        if instance::on_server_thread() && thread::current().name() == Some(name) {
            return Err(Error::WouldDeadlock);
        }
        Ok(StopReport::ended(name, fate.wait(), self))
    }

    /// The live status tree of the hub's application: its root supervisor
    /// (a Butler's, or the implicit one) and every child, the servers
    /// spawned on the hub among them.
    ///
    /// ```
    /// use threadbutler::prelude::*;
    /// # pub struct Ping;
    /// # threadbutler::messages! { pub enum WMsg for W { Ping } }
    /// # pub struct W;
    /// # impl Server for W {
    /// #     fn handle(&mut self, _: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// let hub = Hub::builder("svc").build();
    /// hub.spawn("w", || W)?;
    /// let row = hub.status().find("svc/w").cloned().expect("a child of the implicit root");
    /// assert_eq!(row.state, threadbutler::ChildState::Running);
    /// hub.shutdown()?;
    /// # Ok::<(), threadbutler::Error>(())
    /// ```
    pub fn status(&self) -> threadbutler_supervisor::StatusNode {
        match self.app(self.name()) {
            Ok(app) => app.root.status(),
            Err(_) => threadbutler_supervisor::StatusNode::new(
                self.name(),
                self.name(),
                "supervisor",
                threadbutler_supervisor::ChildState::Stopped,
            ),
        }
    }

    /// Every lifecycle event of the hub's application from now on (a
    /// Butler's tree, or the implicit root and its children).
    pub fn subscribe(&self) -> crossbeam_channel::Receiver<threadbutler_supervisor::Event> {
        match self.app(self.name()) {
            Ok(app) => app.root.subscribe(),
            // No application, no events: a receiver that is already closed.
            Err(_) => crossbeam_channel::never(),
        }
    }

    /// The heartbeat of the running child `name` of the hub's root: its
    /// progress count and busy flag. Sampling it costs the server nothing.
    pub fn heartbeat(&self, name: &str) -> Option<HeartbeatSample> {
        self.app(name).ok()?.root.root().heartbeat(name)
    }

    /// Begins the shutdown of the hub's application (every child of its
    /// root, in reverse start order, each by its shutdown mode); returns at
    /// once. Safe to call from a handler (ThreadButler's kill-all) and more
    /// than once. [`wait`](Hub::wait) returns the report.
    pub fn request_shutdown(&self) {
        match self.app(self.name()) {
            Ok(app) => app.shutdown(),
            Err(e) => tracing::warn!(hub = %self.name(), error = %e, "nothing to shut down"),
        }
    }

    /// Shuts the hub's application down and returns its report: the same
    /// as [`Butler::shutdown`](crate::Butler::shutdown) then
    /// [`Butler::wait`](crate::Butler::wait), whether the hub is a
    /// Butler's or stands alone.
    ///
    /// # Errors
    ///
    /// [`Error::WouldDeadlock`] when called from a server's thread (use
    /// [`request_shutdown`](Hub::request_shutdown) there); as
    /// [`Butler::wait`](crate::Butler::wait) otherwise.
    pub fn shutdown(&self) -> Result<Report, Error> {
        if instance::on_server_thread() {
            return Err(Error::WouldDeadlock);
        }
        self.request_shutdown();
        self.wait()
    }

    /// Blocks until the hub's application has ended (after a shutdown
    /// requested from anywhere, or its root gave up) and returns its
    /// report.
    ///
    /// # Errors
    ///
    /// As [`Butler::wait`](crate::Butler::wait).
    pub fn wait(&self) -> Result<Report, Error> {
        self.app(self.name())?.wait(self)
    }
}
