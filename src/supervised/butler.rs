//! [`Butler`]: a supervised application. The builder declares servers,
//! nested supervisors and plain threads with their policies; `start`
//! registers every mailbox on a new hub and starts the supervision tree.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use threadbutler_supervisor::{BoxError, Event, StatusNode, SupervisorRef};

use crate::data::address::Address;
use crate::data::hub::Hub;
use crate::error::Error;
use crate::ops::health::Health;
use crate::servers::factory::{Factory, fallible, plain};
use crate::servers::server::Server;
use crate::supervised::app::App;
use crate::supervised::child_options::ChildOptions;
use crate::supervised::report::Report;
use crate::supervised::spawn::add_server;
use crate::supervised::stop_report::{StopReport, stop_child};

/// A running supervised application: its hub, its supervision tree.
///
/// [`Butler::builder`] declares it (see [`ButlerBuilder`](crate::ButlerBuilder)); once started,
/// the program talks to its servers through [`hub`](Butler::hub), watches
/// it through [`status`](Butler::status),
/// [`subscribe`](Butler::subscribe) and [`health`](Butler::health), and ends it with
/// [`shutdown`](Butler::shutdown) and [`wait`](Butler::wait).
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::ChildState;
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
/// let app = Butler::builder("app").server("counter", Counter::default).start()?;
/// let row = app.status().find("app/counter").cloned().expect("a child of app");
/// assert_eq!(row.state, ChildState::Running);
/// app.hub().send(Add(2))?;
/// assert_eq!(app.hub().request(Total)?, 2);
/// let events = app.subscribe();
/// app.shutdown(); // returns at once
/// let report = app.wait()?; // returns once every child stopped
/// assert!(report.is_clean());
/// let stopped = |e: &Event| matches!(e, Event::Stopped { child } if &**child == "app/counter");
/// assert!(events.try_iter().any(|e| stopped(&e)));
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct Butler {
    pub(crate) name: String,
    pub(crate) hub: Hub,
    pub(crate) app: Arc<App>,
}

impl Butler {
    /// The application's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The hub: send to any server from any thread.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The live status tree.
    pub fn status(&self) -> StatusNode {
        self.app.root.status()
    }

    /// Whether the tree is live (the root runs, every watched heartbeat is
    /// fresh) and ready (started, no shutdown begun), and why not: what a
    /// liveness and a readiness probe ask (see [`Health`], and
    /// docs/operations.md, "Health probes"). Cheap: one look at the status
    /// tree.
    pub fn health(&self) -> Health {
        self.app.health()
    }

    /// The address the health endpoint listens on (feature `health-http`;
    /// see [`ButlerBuilder::health_endpoint`](crate::ButlerBuilder::health_endpoint)),
    /// with the port the OS chose when port 0 was asked for; `None` without
    /// an endpoint.
    #[cfg(feature = "health-http")]
    pub fn health_endpoint(&self) -> Option<std::net::SocketAddr> {
        self.app
            .health_endpoint
            .as_ref()
            .map(crate::ops::health_http::HealthEndpoint::local_addr)
    }

    /// Every lifecycle event from now on. To see the start's events too,
    /// subscribe on the builder: [`ButlerBuilder::subscribe`](crate::ButlerBuilder::subscribe).
    pub fn subscribe(&self) -> Receiver<Event> {
        self.app.root.subscribe()
    }

    /// Begins an orderly shutdown (reverse start order, each child by its
    /// shutdown mode); returns at once. [`wait`](Self::wait) for the end.
    pub fn shutdown(&self) {
        self.app.shutdown();
    }

    /// Cuts a shutdown short: remaining drains become immediate stops.
    pub fn force_shutdown(&self) {
        self.app.force_shutdown();
    }

    /// Reloads, as SIGHUP does with [`Signals::graceful()`](crate::Signals::graceful):
    /// re-reads the config file, hands the new config to the
    /// [`on_reload`](crate::ButlerBuilder::on_reload) hook, then applies its
    /// policies to the running tree (runtime-semantics §12.3); a file that
    /// fails to load, or a hook that refuses it, changes nothing (the error
    /// is logged). Without a config file only the hook runs.
    /// Returns once the new policies are in place.
    ///
    #[cfg_attr(feature = "config", doc = "```")]
    #[cfg_attr(not(feature = "config"), doc = "```ignore")]
    /// use std::time::Duration;
    /// use threadbutler::prelude::*;
    /// # pub struct Ping;
    /// # threadbutler::messages! { pub enum WMsg for W { Ping } }
    /// # pub struct W;
    /// # impl Server for W {
    /// #     fn handle(&mut self, _: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    ///
    /// let path = std::env::temp_dir().join(format!("reload-doc-{}.toml", std::process::id()));
    /// std::fs::write(&path, "[servers.w]\nheartbeat = \"2s\"\n")?;
    /// let app = Butler::builder("app").config_file(&path)?.server("w", || W).start()?;
    /// let heartbeat = |app: &Butler| app.status().find("app/w").and_then(|w| w.heartbeat_ms);
    /// assert_eq!(heartbeat(&app), Some(2000));
    ///
    /// std::fs::write(&path, "[servers.w]\nheartbeat = \"500ms\"\n")?;
    /// app.reload();
    /// assert_eq!(heartbeat(&app), Some(500));
    /// app.shutdown();
    /// app.wait()?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// From a server's thread it returns at once and the reload runs on a
    /// thread of its own: waiting there could deadlock with a supervisor
    /// that is stopping that very server.
    pub fn reload(&self) {
        if crate::servers::life::on_server_thread() {
            let ops = Arc::clone(&self.app.ops);
            let spawned = std::thread::Builder::new()
                .name("threadbutler-reload".into())
                .spawn(move || ops.reload());
            if let Err(e) = spawned {
                tracing::error!(error = %e, "no thread for the reload; not reloaded");
            }
            return;
        }
        self.app.ops.reload();
    }

    /// Adds a server under the supervisor at `supervisor` (`"app"` or
    /// `"app/db"`) and waits until it started.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if there is no such supervisor;
    /// [`Error::Spawn`] if the name is taken or the server failed to start.
    pub fn add_server<S, F>(
        &self,
        supervisor: &str,
        name: &str,
        factory: F,
        options: ChildOptions,
    ) -> Result<Address<S>, Error>
    where
        S: Server,
        F: Fn() -> S + Send + Sync + 'static,
    {
        self.add_built_server(supervisor, name, plain(factory), options)
    }

    /// Like [`add_server`](Self::add_server), with a factory that may
    /// refuse (see [`ButlerBuilder::try_server`](crate::ButlerBuilder::try_server)): a refusal is a failed
    /// start, [`SpawnError::StartFailed`](crate::SpawnError::StartFailed) with reason
    /// `Failed { stage: Init, error }`.
    ///
    /// # Errors
    ///
    /// As [`add_server`](Self::add_server).
    pub fn try_add_server<S, E, F>(
        &self,
        supervisor: &str,
        name: &str,
        factory: F,
        options: ChildOptions,
    ) -> Result<Address<S>, Error>
    where
        S: Server,
        E: Into<BoxError>,
        F: Fn() -> Result<S, E> + Send + Sync + 'static,
    {
        self.add_built_server(supervisor, name, fallible(factory), options)
    }

    fn add_built_server<S: Server>(
        &self,
        supervisor: &str,
        name: &str,
        factory: Factory<S>,
        options: ChildOptions,
    ) -> Result<Address<S>, Error> {
        let sup = self.supervisor(supervisor)?;
        let (address, _) = add_server(&self.hub, &sup, name, factory, &options)?;
        Ok(address)
    }

    /// Stops the child `name` of the supervisor at `supervisor` for good and
    /// removes it. The removal itself is no restart and not counted towards
    /// intensity (a life that fails during its drain with work queued is
    /// followed by another, which counts; runtime-semantics §11.5, §11.16).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if there is no such supervisor or child;
    /// [`Error::WouldDeadlock`] when a child asks to remove itself (it should
    /// stop itself with `ctx.stop()` under a `Transient` or `Temporary` restart).
    pub fn remove_child(&self, supervisor: &str, name: &str) -> Result<StopReport, Error> {
        stop_child(&self.hub, &self.supervisor(supervisor)?, name)
    }

    /// The handle of the supervisor at `path` (`"app"`, `"app/db"`, a pool's
    /// path): OTP's child API on its children, typed.
    ///
    /// ```
    /// use threadbutler::prelude::*;
    /// use threadbutler::{ChildKind, ChildState};
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
    /// let app = Butler::builder("app").server("counter", Counter::default).start()?;
    /// let root = app.supervisor("app")?;
    /// root.terminate_child("counter")?; // stopped, spec kept, not restarted
    /// app.hub().send(Add(2))?; // waits in the mailbox
    /// let row = &root.which_children()[0];
    /// assert_eq!((row.kind, row.state), (ChildKind::Worker, ChildState::Stopped));
    /// assert_eq!(root.count_children().active, 0);
    /// root.restart_child("counter")?; // returns once it started
    /// assert_eq!(app.hub().request(Total)?, 2); // the queued message was handled
    /// app.shutdown();
    /// app.wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if there is no supervisor at `path`.
    pub fn supervisor(&self, path: &str) -> Result<SupervisorRef, Error> {
        self.app
            .root
            .supervisor(path)
            .ok_or_else(|| Error::UnknownServer {
                name: path.to_owned(),
            })
    }

    /// Waits until the tree ended and reports how.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when the root gave up (its restart intensity was
    /// exceeded) or otherwise ended in failure: the process should exit
    /// non-zero so that its own supervisor (systemd, Kubernetes) restarts it.
    pub fn wait(&self) -> Result<Report, Error> {
        self.app.wait(&self.hub)
    }

    /// Like [`wait`](Self::wait), for at most `timeout`: `None` if the tree
    /// has not ended by then, and the `Butler` goes on as before (a later
    /// `wait` or `wait_timeout` still works).
    ///
    /// ```
    /// use std::time::Duration;
    /// use threadbutler::prelude::*;
    /// # pub struct Ping;
    /// # threadbutler::messages! { pub enum WMsg for W { Ping } }
    /// # pub struct W;
    /// # impl Server for W {
    /// #     fn handle(&mut self, _: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    ///
    /// let app = Butler::builder("app").server("w", || W).start()?;
    /// assert!(app.wait_timeout(Duration::from_millis(10)).is_none()); // still running
    /// app.shutdown();
    /// let report = app.wait_timeout(Duration::from_secs(10)).expect("ended in time")?;
    /// assert!(report.is_clean());
    /// # Ok::<(), threadbutler::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `Some(Err(_))` as [`wait`](Self::wait) returns `Err`.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<Report, Error>> {
        self.app.wait_timeout(&self.hub, timeout)
    }
}

impl fmt::Debug for Butler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Butler")
            .field("name", &self.name)
            .field("root", &self.app.root)
            .finish_non_exhaustive()
    }
}
