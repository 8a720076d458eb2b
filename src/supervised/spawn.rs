//! Servers spawned on a hub ([`Hub::spawn`], ThreadButler's short way in)
//! and servers added to a running tree ([`Butler::add_server`](crate::Butler::add_server)):
//! both are children of a supervisor, started, stopped, drained and
//! reported by the one engine. A server spawned on the hub is a child of
//! the hub's root supervisor (see `hub_app.rs`), `Temporary` by default (as
//! in ThreadButler, nothing restarts it: a server that ends stays ended and
//! its mailbox is finished); [`ServerBuilder::restart`] asks for more.

use std::fmt;
use std::sync::{Arc, PoisonError};

use threadbutler_supervisor::{
    BoxError, Child, ChildSpec, ExitReason, Restart, Shutdown, SupervisorRef,
};

use crate::data::address::Address;
use crate::data::dead_letter::DeadReason;
use crate::data::hub::Hub;
use crate::data::mailbox::Capacity;
use crate::error::SpawnError;
use crate::servers::factory::{Factory, fallible, plain};
use crate::servers::server::Server;
use crate::servers::server_child::ServerChild;
use crate::supervised::child_options::ChildOptions;
use crate::supervised::fate::{Fate, Watched};

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
        self.options.policy.stack_size = Some(bytes);
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
        if options.policy.restart.is_none() {
            options.policy.restart = Some(Restart::Temporary);
        }
        app.forget_given_up(&self.name);
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
    let (child, fate) = Watched::new(Arc::new(server), Arc::clone(&core) as Arc<_>);
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

impl Hub {
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
}
