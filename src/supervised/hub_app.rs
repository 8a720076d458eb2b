//! The hub's application: a hub without a declared tree starts an
//! *implicit root supervisor* (named after the hub, `OneForOne`, the
//! default intensity, the hub's `abandon_after`) when it is first needed;
//! inside a [`Butler`](crate::Butler) the hub's root is the Butler's.
//!
//! Stopping one child ([`Hub::stop`]) is the supervisor's removal of it: its
//! mailbox closes; by its shutdown mode it drains what is queued (past the
//! drain deadline the rest is dead-lettered, `DrainDeadline`) or drops it
//! (`Immediate`); a server that ignores its stop past the grace is
//! abandoned. A shutdown ([`Hub::shutdown`]) is the root's: every child,
//! in reverse start order, and one [`Report`], the same whether the hub is
//! a Butler's or stands alone.

use std::sync::{Arc, PoisonError};
use std::thread;

use threadbutler_supervisor::heartbeat::HeartbeatSample;
use threadbutler_supervisor::{EventBus, ExitReason, SupervisorSpec};

use crate::data::hub::{Hub, Root};
use crate::error::{Error, SpawnError};
use crate::servers::life;
use crate::supervised::app::{App, Running};
use crate::supervised::fate::Fate;
use crate::supervised::report::Report;
use crate::supervised::stop_report::{StopReport, stop_child};

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
            Root::Running(app) => {
                return Ok(Arc::clone(app).downcast::<App>().unwrap_or_else(|_| {
                    unreachable!("only an App is ever kept as a hub's running root")
                }));
            }
            Root::Declared => {
                return Err(SpawnError::NotStarted {
                    name: asking.to_owned(),
                });
            }
            Root::Unset => {}
        }
        let config = &self.inner().config;
        let spec = SupervisorSpec::new(self.name()).abandon_after(config.abandon_after);
        tracing::debug!(hub = %self.name(), "starting the hub's implicit root supervisor");
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
        *root = Root::Running(Arc::clone(&app) as Arc<dyn std::any::Any + Send + Sync>);
        Ok(app)
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
                Some(fate) => Ok(StopReport::ended(name, &fate, app.given_up(name))),
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
        if life::on_server_thread() && thread::current().name() == Some(name) {
            return Err(Error::WouldDeadlock);
        }
        Ok(StopReport::ended(name, &fate, app.given_up(name)))
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

    /// The health of the hub's application, for liveness and readiness
    /// probes: see [`Butler::health`](crate::Butler::health). Like
    /// [`status`](Hub::status), on a hub with no tree it starts the implicit
    /// root; while a Butler's tree is still starting it is live and not
    /// ready ([`HealthIssue::Starting`](crate::HealthIssue::Starting)).
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
    /// let health = hub.health();
    /// assert!(health.live && health.ready, "{health:?}");
    /// hub.request_shutdown();
    /// assert!(!hub.health().ready, "a shutdown began");
    /// hub.wait()?;
    /// assert!(!hub.health().live, "the root has ended");
    /// # Ok::<(), threadbutler::Error>(())
    /// ```
    pub fn health(&self) -> crate::ops::health::Health {
        match self.app(self.name()) {
            Ok(app) => app.health(),
            Err(_) => crate::ops::health::assess(crate::ops::health::Phase::Starting, None),
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
        if life::on_server_thread() {
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
