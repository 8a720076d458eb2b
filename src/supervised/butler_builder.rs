//! [`ButlerBuilder`]: declares a supervised application (its tree and hub
//! options) and starts it; its settings for running as a service (signals,
//! config file, metrics, health) are in `butler_operations.rs`.

use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
#[cfg(feature = "signals")]
use threadbutler_supervisor::signals::Signals;
use threadbutler_supervisor::{
    BoxError, Event, EventBus, ExitReason, FnChild, Intensity, Life, Strategy,
};

use crate::data::dead_letter::DeadLetter;
use crate::data::hub::{Hub, HubBuilder, Root};
use crate::data::mailbox::Capacity;
use crate::error::Error;
#[cfg(feature = "config")]
use crate::ops::config::Config;
use crate::ops::health::HealthSource;
#[cfg(feature = "health-http")]
use crate::ops::health_http::{HealthAt, HealthEndpoint};
#[cfg(feature = "metrics")]
use crate::ops::metrics::MetricsSetup;
#[cfg(feature = "config")]
use crate::ops::reload::ReloadHook;
use crate::servers::factory::{fallible, plain};
use crate::servers::server::Server;
use crate::supervised::app::{App, Running};
use crate::supervised::app_log;

use crate::supervised::butler::Butler;
use crate::supervised::child_options::ChildOptions;
use crate::supervised::child_scope::ChildScope;
#[cfg(feature = "async")]
use crate::supervised::declaration::async_server_maker;
use crate::supervised::declaration::{
    ChildDeclaration, SupervisorDeclaration, pool_maker, server_maker,
};
use crate::supervised::tree_builder::{SupervisorBuilder, declare_methods, supervision_methods};

/// Declares a supervised application; [`start`](ButlerBuilder::start) runs it.
///
/// ```
/// use std::time::Duration;
/// use threadbutler::prelude::*;
///
/// pub struct Add(pub u64);
/// pub struct Total(pub Reply<u64>);
/// threadbutler::messages! { pub enum CounterMsg for Counter { Add, Total } }
///
/// #[derive(Default)]
/// pub struct Counter { sum: u64 }
/// impl Server for Counter {
///     fn handle(&mut self, msg: CounterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
///         match msg {
///             CounterMsg::Add(Add(n)) => self.sum += n,
///             CounterMsg::Total(Total(r)) => r.send(self.sum),
///         }
///         Ok(())
///     }
/// }
///
/// let app = Butler::builder("counterd")
///     .server("counter", Counter::default)
///         .restart(Restart::Permanent)
///         .heartbeat(Duration::from_secs(1))
///         .shutdown(Shutdown::Drain(Duration::from_secs(5)))
///     .start()?;                                  // returns when every server started
/// app.hub().send(Add(5))?;
/// assert_eq!(app.hub().request(Total)?, 5);
/// app.shutdown();
/// let report = app.wait()?;                       // drained, reverse start order
/// assert_eq!(report.exit_code(), 0);
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[must_use]
pub struct ButlerBuilder {
    pub(super) tree: SupervisorDeclaration,
    pub(super) hub: HubBuilder,
    #[cfg(feature = "config")]
    pub(super) config: Option<Config>,
    #[cfg(feature = "signals")]
    pub(super) signals: Signals,
    #[cfg(feature = "config")]
    pub(super) reload: Option<ReloadHook>,
    pub(super) deadline: Option<Duration>,
    /// The tree's events, from before the start on.
    pub(super) bus: EventBus,
    /// The clock the tree's supervisors read.
    pub(super) clock: Option<threadbutler_supervisor::SharedClock>,
    /// The program's dead-letter sink, given to the hub at the start
    /// (behind the metrics' tally, if metrics are on).
    pub(super) dead_letters: Option<DeadLetterFn>,
    /// Mailbox figures every this often (feature `metrics`).
    #[cfg(feature = "metrics")]
    pub(super) metrics: Option<Duration>,
    /// Where the HTTP health probe listens (feature `health-http`).
    #[cfg(feature = "health-http")]
    pub(super) health_endpoint: Option<HealthAt>,
    /// The health endpoint's time for a client to send its request and to
    /// take the answer (feature `health-http`).
    #[cfg(feature = "health-http")]
    pub(super) health_timeout: Option<Duration>,
}

type DeadLetterFn = Arc<dyn Fn(DeadLetter) + Send + Sync>;

impl ButlerBuilder {
    pub(crate) fn tree_mut(&mut self) -> &mut SupervisorDeclaration {
        &mut self.tree
    }

    pub(crate) fn scope(self) -> ChildScope<ButlerBuilder> {
        ChildScope { builder: self }
    }

    declare_methods!(ButlerBuilder);
    supervision_methods!();

    /// The clock every supervisor of the tree reads for restart windows,
    /// backoffs, heartbeat checks and stop deadlines (DESIGN rule 12); by
    /// default the real one. Give a [`ManualClock`](crate::ManualClock) to
    /// test a tree's policies in virtual time: a minute of backoff passes
    /// when the test says so.
    pub fn clock(mut self, clock: std::sync::Arc<dyn threadbutler_supervisor::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// An overall deadline for a shutdown, from when it begins: past it the
    /// shutdown is forced (every drain becomes immediate; children that
    /// still do not stop are abandoned), so the process gets to exit.
    /// At most [`Policy::MAX_DURATION`](crate::Policy::MAX_DURATION), or
    /// `start` returns [`Error::Config`].
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.check_duration("shutdown_deadline", deadline);
        self.deadline = Some(deadline);
        self
    }

    /// The default capacity of the servers' mailboxes (default 1024; a
    /// bounded one at most [`Capacity::MAX_BOUNDED`], or `start` returns
    /// [`Error::Config`]).
    pub fn default_capacity(mut self, capacity: Capacity) -> Self {
        self.tree.check_capacity("default_capacity", capacity);
        self.hub = self.hub.default_capacity(capacity);
        self
    }

    /// The hub's default request timeout (default 5 s; at most
    /// [`Policy::MAX_DURATION`](crate::Policy::MAX_DURATION), or `start`
    /// returns [`Error::Config`]).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.check_duration("request_timeout", timeout);
        self.hub = self.hub.request_timeout(timeout);
        self
    }

    /// A builder error if the duration given to `what` is above its bound.
    pub(super) fn check_duration(&mut self, what: &str, d: Duration) {
        if let Err(e) = threadbutler_supervisor::Policy::check_duration(what, d) {
            self.tree.errors.push(format!("{e} ({what}())"));
        }
    }

    /// Where dead letters go, besides the counters and the log.
    pub fn on_dead_letter(mut self, sink: impl Fn(DeadLetter) + Send + Sync + 'static) -> Self {
        self.dead_letters = Some(Arc::new(sink));
        self
    }

    /// Every lifecycle event of the tree, from its start on: the receiver
    /// gets the events of the start itself (each child's `Starting`,
    /// `Started`, and for a failed start the failing child's `Exited` with
    /// the reason, then the rollback's `Exited` and `Stopped`), so that a
    /// start that fails can be read in order, then every later event as
    /// [`Butler::subscribe`] would give it. Call it before
    /// [`start`](Self::start); each call is a receiver of its own. By the
    /// time `start` returns, every event of the start has been delivered.
    ///
    /// ```
    /// use threadbutler::prelude::*;
    /// # pub struct Ping;
    /// # threadbutler::messages! { pub enum WebMsg for Web { Ping } }
    /// # threadbutler::messages! { pub enum DbMsg for Db { Ping2 } }
    /// # pub struct Ping2;
    /// pub struct Web;
    /// pub struct Db;
    /// # impl Server for Web {
    /// #     fn handle(&mut self, _: WebMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # impl Server for Db {
    /// #     fn handle(&mut self, _: DbMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    ///
    /// let builder = Butler::builder("app")
    ///     .server("web", || Web)
    ///     .try_server("db", || Err::<Db, _>("no database"));
    /// let events = builder.subscribe();
    /// assert!(builder.start().is_err());
    /// let events: Vec<Event> = events.try_iter().collect();
    /// let seen: Vec<String> = events.iter().map(|e| format!("{} {}", e.kind(), e.subject())).collect();
    /// assert_eq!(
    ///     seen,
    ///     [
    ///         "Starting app/web",
    ///         "Started app/web",
    ///         "Starting app/db",
    ///         "Exited app/db", // its reason: init failed: no database
    ///         "Exited app/web", // the rollback, in reverse order
    ///         "Stopped app/web",
    ///     ]
    /// );
    /// let Event::Exited { reason, .. } = &events[3] else { unreachable!("checked above") };
    /// assert_eq!(reason.to_string(), "init failed: no database");
    /// ```
    pub fn subscribe(&self) -> Receiver<Event> {
        self.bus.subscribe()
    }

    /// Registers every server's mailbox on a new hub and starts the tree:
    /// every child in declaration order, each waited for. Returns once all
    /// started.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a misused builder or an invalid policy (before
    /// anything starts); [`Error::Start`] naming the child that failed and
    /// why, after the ones already started were stopped in reverse order.
    pub fn start(mut self) -> Result<Butler, Error> {
        let began = Instant::now();
        #[cfg(feature = "config")]
        let reloader = match self.config.take() {
            Some(config) => Some(self.tree.configure(&config)?),
            None => None,
        };
        let mut errors = Vec::new();
        self.tree.errors(&mut errors);
        if !errors.is_empty() {
            return Err(Error::Config {
                detail: errors.join("; "),
            });
        }
        #[cfg(feature = "metrics")]
        let metrics = self.metrics.map(MetricsSetup::new);
        // With metrics, the hub keeps the last counters of the mailboxes
        // that leave it, for the exporter's next reading.
        #[cfg(feature = "metrics")]
        if let Some(m) = &metrics {
            self.hub = m.hub(self.hub);
        }
        let sink = self.dead_letters.take();
        // With metrics, dead letters are counted by reason on their way to
        // the program's sink: on the dead-letter path, never per message.
        #[cfg(feature = "metrics")]
        let sink = match metrics.as_ref().map(MetricsSetup::tally) {
            Some(tally) => Some(Arc::new(move |d: DeadLetter| {
                tally.count(&d);
                if let Some(user) = &sink {
                    user(d);
                }
            }) as DeadLetterFn),
            None => sink,
        };
        let hub = match sink {
            Some(sink) => self.hub.on_dead_letter(move |d| sink(d)),
            None => self.hub,
        }
        .build();
        let name = self.tree.name.clone();
        let mut spec = self.tree.build(&hub)?;
        if let Some(clock) = self.clock.take() {
            spec = spec.clock(clock);
        }
        spec.validate().map_err(|detail| Error::Config { detail })?;
        // The hub's root is this tree: nothing spawned on the hub while it
        // starts makes an implicit one.
        *hub.inner()
            .root
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Root::Declared;
        let health = HealthSource::new(&name);
        // Listening before the tree starts: an address in use fails the
        // start with nothing started.
        #[cfg(feature = "health-http")]
        let health_endpoint = match self.health_endpoint {
            Some(at) => Some(HealthEndpoint::open(
                at,
                Arc::clone(&health),
                self.health_timeout,
            )?),
            None => None,
        };
        let running = Running {
            notify: true,
            #[cfg(feature = "signals")]
            signals: self.signals,
            #[cfg(feature = "config")]
            reloader,
            #[cfg(feature = "config")]
            reload: self.reload,
            deadline: self.deadline,
            health: Some(health),
            #[cfg(feature = "health-http")]
            health_endpoint,
            #[cfg(feature = "metrics")]
            metrics,
        };
        let app = App::start(spec, self.bus, &hub, running)?;
        *hub.inner()
            .root
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Root::Running(Arc::clone(&app) as Arc<dyn std::any::Any + Send + Sync>);
        app_log::started(&name, &app.root.status(), began.elapsed());
        Ok(Butler { name, hub, app })
    }
}

impl fmt::Debug for ButlerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ButlerBuilder")
            .field("name", &self.tree.name)
            .finish_non_exhaustive()
    }
}

impl Butler {
    /// Declares an application named `name` (the root supervisor's name).
    pub fn builder(name: &str) -> ButlerBuilder {
        ButlerBuilder {
            tree: SupervisorDeclaration::new(name),
            hub: Hub::builder(name),
            #[cfg(feature = "config")]
            config: None,
            #[cfg(feature = "signals")]
            signals: Signals::none(),
            #[cfg(feature = "config")]
            reload: None,
            deadline: None,
            clock: None,
            bus: EventBus::new(),
            dead_letters: None,
            #[cfg(feature = "metrics")]
            metrics: None,
            #[cfg(feature = "health-http")]
            health_endpoint: None,
            #[cfg(feature = "health-http")]
            health_timeout: None,
        }
    }
}
