//! [`Butler`]: a supervised application. The builder declares servers,
//! nested supervisors and plain threads with their policies; `start`
//! registers every mailbox on a new hub and starts the supervision tree.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::Receiver;
use threadbutler_supervisor::config::{CapacityConfig, Config};
use threadbutler_supervisor::signals::Signals;
use threadbutler_supervisor::{
    Backoff, BoxError, Child, ChildSpec, Event, EventBus, ExitReason, FnChild, Intensity, Life,
    RemoveReport, Restart, StatusNode, Strategy, Supervisor, SupervisorRef, SupervisorSpec,
};

use crate::Shutdown;
use crate::address::Address;
use crate::dead_letter::{DeadLetter, DeadReason};
use crate::error::{Error, SpawnError};
use crate::hub::{Hub, HubBuilder};
use crate::instance::{Factory, fallible, plain};
use crate::mailbox::{Capacity, MailboxStats, WakeFn};
use crate::operations::{Ops, ReloadHook};
use crate::pool::PoolPolicy;
use crate::server::Server;
use crate::server_child::ServerChild;

/// Options of one child, set on the builder right after it is declared.
///
/// As a value, they go with a child added at run time
/// ([`Butler::add_server`]):
///
/// ```
/// use std::time::Duration;
/// use threadbutler::prelude::*;
/// use threadbutler::ChildOptions;
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
/// let app = Butler::builder("app").start()?;
/// let options = ChildOptions::new()
///     .restart(Restart::Transient) // restarted after a failure only
///     .heartbeat(Duration::from_secs(1))
///     .capacity(Capacity::Bounded(64));
/// let counter = app.add_server("app", "counter", Counter::default, options)?;
/// counter.send(Add(2))?;
/// assert_eq!(counter.request(Total)?, 2);
/// let row = app.status().find("app/counter").cloned().expect("a child of app");
/// assert_eq!(row.heartbeat_ms, Some(1000));
/// app.remove_child("app", "counter")?; // stopped for good, never restarted
/// app.shutdown();
/// app.wait()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ChildOptions {
    restart: Option<Restart>,
    shutdown: Option<Shutdown>,
    heartbeat: Option<Duration>,
    backoff: Option<Backoff>,
    capacity: Option<Capacity>,
    stack_size: Option<usize>,
    fresh_thread: Option<bool>,
    start_timeout: Option<Duration>,
    wake: Option<WakeFn>,
    intensity: Option<Intensity>,
}

impl ChildOptions {
    /// No options: every policy at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// When the child is restarted (default `Permanent`).
    #[must_use]
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = Some(restart);
        self
    }

    /// How it stops (default `Drain(5s)` for servers).
    #[must_use]
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// Its heartbeat timeout (default: not watched).
    #[must_use]
    pub fn heartbeat(mut self, timeout: Duration) -> Self {
        self.heartbeat = Some(timeout);
        self
    }

    /// The wait between its restarts (default none).
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// Its mailbox's capacity (servers only; default the hub's).
    #[must_use]
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = Some(capacity);
        self
    }

    fn apply(&self, mut spec: ChildSpec) -> ChildSpec {
        if let Some(r) = self.restart {
            spec = spec.restart(r);
        }
        if let Some(s) = self.shutdown {
            spec = spec.shutdown(s);
        }
        if let Some(h) = self.heartbeat {
            spec = spec.heartbeat(h);
        }
        if let Some(b) = self.backoff {
            spec = spec.backoff(b);
        }
        if let Some(s) = self.stack_size {
            spec = spec.stack_size(s);
        }
        if let Some(f) = self.fresh_thread {
            spec = spec.fresh_thread_on_restart(f);
        }
        if let Some(t) = self.start_timeout {
            spec = spec.start_timeout(t);
        }
        spec
    }
}

impl fmt::Debug for ChildOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildOptions")
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("heartbeat", &self.heartbeat)
            .field("backoff", &self.backoff)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

type MakeServer = Box<dyn FnOnce(&Hub, &ChildOptions) -> Result<Arc<dyn Child>, SpawnError>>;

/// A pool's maker: the hub, the per-worker options, the size, and the
/// pool supervisor's policies.
type MakePool =
    Box<dyn FnOnce(&Hub, &ChildOptions, usize, PoolPolicy) -> Result<Arc<dyn Child>, SpawnError>>;

enum Pending {
    Server {
        name: String,
        opts: ChildOptions,
        make: MakeServer,
    },
    Pool {
        name: String,
        size: usize,
        opts: ChildOptions,
        make: MakePool,
    },
    Supervisor {
        tree: Tree,
        opts: ChildOptions,
    },
    Thread {
        name: String,
        opts: ChildOptions,
        child: Arc<dyn Child>,
    },
}

impl Pending {
    fn opts(&mut self) -> &mut ChildOptions {
        match self {
            Pending::Server { opts, .. }
            | Pending::Pool { opts, .. }
            | Pending::Supervisor { opts, .. }
            | Pending::Thread { opts, .. } => opts,
        }
    }
}

impl LoadedConfig {
    fn error(&self, name: &str, key: &str, message: &str) -> Error {
        let line = self
            .config
            .server_line(name, &self.text)
            .map(|l| format!(":{l}"))
            .unwrap_or_default();
        Error::Config {
            detail: format!(
                "{}{line}: servers.{name}{key}: {message}",
                self.path.display()
            ),
        }
    }

    /// Overrides the declared policies with the file's; every server the
    /// file names must be declared.
    fn apply(&self, root: &mut Tree) -> Result<(), Error> {
        let sup = &self.config.supervisor;
        if let Some(s) = sup.strategy {
            root.strategy = s.into();
        }
        if let Some(i) = &sup.intensity {
            root.intensity = (*i.get_ref()).into();
        }
        if let Some(g) = &sup.abandon_after {
            root.abandon_after = Some(g.get_ref().0);
        }
        let mut used = std::collections::HashSet::new();
        self.apply_children(root, &mut used)?;
        for name in self.config.servers.keys() {
            if !used.contains(name.as_str()) {
                return Err(self.error(
                    name,
                    "",
                    "no server, supervisor or thread of that name is declared",
                ));
            }
        }
        Ok(())
    }

    fn apply_children<'a>(
        &'a self,
        tree: &mut Tree,
        used: &mut std::collections::HashSet<&'a str>,
    ) -> Result<(), Error> {
        for child in &mut tree.children {
            let name = match child {
                Pending::Server { name, .. }
                | Pending::Pool { name, .. }
                | Pending::Thread { name, .. } => name.clone(),
                Pending::Supervisor { tree, .. } => tree.name.clone(),
            };
            if let Pending::Supervisor { tree, .. } = child {
                self.apply_children(tree, used)?;
            }
            let Some((key, server)) = self.config.servers.get_key_value(&name) else {
                continue;
            };
            used.insert(key.as_str());
            let c = server.get_ref();
            if let Some(n) = &c.pool_size {
                match child {
                    Pending::Pool { size, .. } => *size = *n.get_ref(),
                    _ => return Err(self.error(&name, ".pool_size", "only pools have a size")),
                }
            }
            if let Some(i) = &c.intensity {
                let intensity: Intensity = (*i.get_ref()).into();
                match child {
                    Pending::Pool { opts, .. } => opts.intensity = Some(intensity),
                    Pending::Supervisor { tree, .. } => tree.intensity = intensity,
                    _ => {
                        return Err(self.error(
                            &name,
                            ".intensity",
                            "only pools and supervisors have a restart intensity",
                        ));
                    }
                }
            }
            if c.capacity.is_some()
                && !matches!(child, Pending::Server { .. } | Pending::Pool { .. })
            {
                return Err(self.error(&name, ".capacity", "only servers have a mailbox"));
            }
            let o = child.opts();
            if let Some(r) = c.restart {
                o.restart = Some(r.into());
            }
            if let Some(sd) = c.shutdown {
                o.shutdown = Some(sd.into());
            }
            if let Some(h) = &c.heartbeat {
                o.heartbeat = Some(h.get_ref().0);
            }
            if let Some(b) = &c.backoff {
                o.backoff = Some((*b.get_ref()).into());
            }
            if let Some(cap) = &c.capacity {
                o.capacity = Some(match *cap.get_ref() {
                    CapacityConfig::Bounded(n) => Capacity::Bounded(n),
                    CapacityConfig::Unbounded => Capacity::Unbounded,
                });
            }
        }
        Ok(())
    }
}

/// A supervisor's declaration: its policies and children.
struct Tree {
    name: String,
    strategy: Strategy,
    intensity: Intensity,
    abandon_after: Option<Duration>,
    children: Vec<Pending>,
    errors: Vec<String>,
}

impl Tree {
    fn new(name: &str) -> Self {
        Tree {
            name: name.to_owned(),
            strategy: Strategy::default(),
            intensity: Intensity::default(),
            abandon_after: None,
            children: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn push_server(&mut self, name: &str, make: MakeServer) {
        self.children.push(Pending::Server {
            name: name.to_owned(),
            opts: ChildOptions::default(),
            make,
        });
    }

    fn push_pool(&mut self, name: &str, size: usize, make: MakePool) {
        if size == 0 {
            self.errors
                .push(format!("pool {name}: the size must be at least 1"));
        }
        self.children.push(Pending::Pool {
            name: name.to_owned(),
            size,
            opts: ChildOptions::default(),
            make,
        });
    }

    fn last(&mut self, what: &str) -> Option<&mut ChildOptions> {
        if self.children.is_empty() {
            self.errors.push(format!(
                "supervisor {}: {what}() must follow a server, supervisor or thread",
                self.name
            ));
        }
        self.children.last_mut().map(Pending::opts)
    }

    fn errors(&self, out: &mut Vec<String>) {
        out.extend(self.errors.iter().cloned());
        for c in &self.children {
            if let Pending::Supervisor { tree, .. } = c {
                tree.errors(out);
            }
        }
    }

    fn build(self, hub: &Hub) -> Result<SupervisorSpec, SpawnError> {
        let mut spec = SupervisorSpec::new(self.name)
            .strategy(self.strategy)
            .intensity(self.intensity);
        if let Some(g) = self.abandon_after {
            spec = spec.abandon_after(g);
        }
        for c in self.children {
            let child = match c {
                Pending::Server { name, opts, make } => {
                    let child = make(hub, &opts)?;
                    opts.apply(ChildSpec::from_arc(name, child))
                }
                Pending::Supervisor { tree, opts } => {
                    opts.apply(ChildSpec::supervisor(tree.build(hub)?))
                }
                Pending::Pool {
                    name,
                    size,
                    opts,
                    make,
                } => {
                    // The per-worker options went to the workers; the pool
                    // itself drains as long as its workers may need.
                    let policy = PoolPolicy {
                        intensity: opts.intensity.unwrap_or_default(),
                        abandon_after: self.abandon_after,
                    };
                    let child = make(hub, &opts, size, policy)?;
                    let pool = ChildSpec::from_arc(name, child);
                    pool.shutdown(crate::pool::pool_shutdown(
                        size,
                        opts.shutdown.unwrap_or_default(),
                        self.abandon_after,
                    ))
                }
                Pending::Thread { name, opts, child } => {
                    opts.apply(ChildSpec::from_arc(name, child))
                }
            };
            spec = spec.child(child);
        }
        Ok(spec)
    }
}

fn pool_maker<S: Server>(name: &str, factory: Factory<S>) -> MakePool {
    let name: Arc<str> = Arc::from(name);
    Box::new(
        move |hub: &Hub, opts: &ChildOptions, size: usize, policy: PoolPolicy| {
            let core = hub.register::<S>(&name, opts.capacity, opts.wake.clone())?;
            let worker_opts = opts.clone();
            let pool = crate::pool::PoolChild::new::<S>(
                &name,
                size,
                hub,
                core,
                factory,
                policy,
                move |spec| worker_opts.apply(spec),
            );
            Ok(Arc::new(pool) as Arc<dyn Child>)
        },
    )
}

#[cfg(feature = "async")]
fn async_server_maker<S>(name: &str, factory: Factory<S>) -> MakeServer
where
    S: crate::async_server::AsyncServer,
{
    let name: Arc<str> = Arc::from(name);
    Box::new(move |hub: &Hub, opts: &ChildOptions| {
        let notify = Arc::new(tokio::sync::Notify::new());
        let n = Arc::clone(&notify);
        let user = opts.wake.clone();
        // Each accepted send wakes the server's runtime (and the user's
        // callback, if any).
        let wake: WakeFn = Arc::new(move || {
            n.notify_one();
            if let Some(u) = &user {
                u();
            }
        });
        let core = hub.register::<S>(&name, opts.capacity, Some(wake))?;
        Ok(Arc::new(crate::async_server::AsyncServerChild::<S> {
            name: Arc::clone(&name),
            hub: hub.clone(),
            core,
            factory,
            notify,
        }) as Arc<dyn Child>)
    })
}

fn server_maker<S: Server>(name: &str, factory: Factory<S>) -> MakeServer {
    let name: Arc<str> = Arc::from(name);
    Box::new(move |hub: &Hub, opts: &ChildOptions| {
        let core = hub.register::<S>(&name, opts.capacity, opts.wake.clone())?;
        Ok(Arc::new(ServerChild::<S>::new(
            Arc::clone(&name),
            hub.clone(),
            core,
            factory,
        )) as Arc<dyn Child>)
    })
}

macro_rules! tree_methods {
    () => {
        /// Declares a server named `name`, built by `factory` on its thread
        /// at every (re)start. The options that follow (`restart`,
        /// `heartbeat`, ...) apply to it.
        pub fn server<S, F>(mut self, name: &str, factory: F) -> Self
        where
            S: Server,
            F: Fn() -> S + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_server(name, server_maker(name, plain(factory)));
            self
        }

        /// Declares a server like [`server`](Self::server), built by a
        /// factory that may refuse: an `Err` from `factory` is a failed
        /// start whose reason is `Failed { stage: Init, error }` holding
        /// that very error (its text, and its type for `downcast_ref`). At
        /// [`start`](ButlerBuilder::start)
        /// it fails the start like any failed start (runtime-semantics
        /// §11.2); on a restart, it is a failed restart that the
        /// supervisor's policy handles (§11.7).
        ///
        /// ```
        /// use threadbutler::prelude::*;
        /// use threadbutler::Error;
        /// # pub struct Query;
        /// # threadbutler::messages! { pub enum DbMsg for Db { Query } }
        /// pub struct Db;
        ///
        /// impl Db {
        ///     fn connect(url: &str) -> Result<Db, String> {
        ///         Err(format!("{url}: connection refused"))
        ///     }
        /// }
        /// # impl Server for Db {
        /// #     fn handle(&mut self, _: DbMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
        /// # }
        ///
        /// let err = Butler::builder("app")
        ///     .try_server("db", || Db::connect("db.local:5432"))
        ///     .start()
        ///     .expect_err("the factory refused");
        /// let Error::Start { reason: ExitReason::ChildStartFailed { child, reason } } = &err else {
        ///     panic!("not a failed start: {err}");
        /// };
        /// assert_eq!(&**child, "app/db");
        /// assert!(matches!(**reason, ExitReason::Failed { stage: Stage::Init, .. }));
        /// assert_eq!(reason.to_string(), "init failed: db.local:5432: connection refused");
        /// ```
        pub fn try_server<S, E, F>(mut self, name: &str, factory: F) -> Self
        where
            S: Server,
            E: Into<BoxError>,
            F: Fn() -> Result<S, E> + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_server(name, server_maker(name, fallible(factory)));
            self
        }

        /// Declares a pool named `name`: `size` worker threads sharing one
        /// mailbox (any idle worker takes the next message), each built by
        /// `factory` and supervised on its own. The options that follow
        /// (`restart`, `heartbeat`, `shutdown`, ...) apply to every worker;
        /// `capacity` to the shared mailbox. The config file's `pool_size`
        /// overrides `size`.
        pub fn pool<S, F>(mut self, name: &str, size: usize, factory: F) -> Self
        where
            S: Server,
            F: Fn() -> S + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_pool(name, size, pool_maker(name, plain(factory)));
            self
        }

        /// Declares a pool like [`pool`](Self::pool), whose workers are
        /// built by a factory that may refuse; see
        /// [`try_server`](Self::try_server). A worker whose factory refuses
        /// is a worker that failed to start: at `start` the pool, and so
        /// the application, does not start; on a worker's restart the
        /// pool's own intensity decides.
        pub fn try_pool<S, E, F>(mut self, name: &str, size: usize, factory: F) -> Self
        where
            S: Server,
            E: Into<BoxError>,
            F: Fn() -> Result<S, E> + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_pool(name, size, pool_maker(name, fallible(factory)));
            self
        }

        /// Declares an async server (feature `async`): like
        /// [`server`](Self::server), but its handlers are `async` and it runs
        /// a current-thread tokio runtime on its thread. See
        /// [`crate::async_server`].
        #[cfg(feature = "async")]
        pub fn async_server<S, F>(mut self, name: &str, factory: F) -> Self
        where
            S: crate::async_server::AsyncServer,
            F: Fn() -> S + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_server(name, async_server_maker(name, plain(factory)));
            self
        }

        /// Declares an async server (feature `async`) built by a factory
        /// that may refuse; see [`try_server`](Self::try_server) and
        /// [`async_server`](Self::async_server).
        #[cfg(feature = "async")]
        pub fn try_async_server<S, E, F>(mut self, name: &str, factory: F) -> Self
        where
            S: crate::async_server::AsyncServer,
            E: Into<BoxError>,
            F: Fn() -> Result<S, E> + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_server(name, async_server_maker(name, fallible(factory)));
            self
        }

        /// Declares a nested supervisor; `build` declares its children and
        /// policies. Its parent treats its giving up as a child failure.
        pub fn supervisor(
            mut self,
            name: &str,
            build: impl FnOnce(SupervisorBuilder) -> SupervisorBuilder,
        ) -> Self {
            let nested = build(SupervisorBuilder {
                tree: Tree::new(name),
            });
            self.tree_mut().children.push(Pending::Supervisor {
                tree: nested.tree,
                opts: ChildOptions::default(),
            });
            self
        }

        /// Declares a plain thread as a child: `run` gets each life, must call
        /// `life.started()` once ready, return soon after `life.stop` is set,
        /// and returns the exit reason.
        pub fn thread(
            mut self,
            name: &str,
            run: impl Fn(Life) -> ExitReason + Send + Sync + 'static,
        ) -> Self {
            self.tree_mut().children.push(Pending::Thread {
                name: name.to_owned(),
                opts: ChildOptions::default(),
                child: Arc::new(FnChild::new(run)),
            });
            self
        }

        /// The last declared child's restart type (default `Permanent`).
        pub fn restart(mut self, restart: Restart) -> Self {
            if let Some(o) = self.tree_mut().last("restart") {
                o.restart = Some(restart);
            }
            self
        }

        /// The last declared child's shutdown mode (default `Drain(5s)`).
        pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
            if let Some(o) = self.tree_mut().last("shutdown") {
                o.shutdown = Some(shutdown);
            }
            self
        }

        /// The last declared child's heartbeat timeout: busy this long
        /// without progress (a finished message or `ctx.beat()`) is a
        /// `HeartbeatMissed` failure.
        pub fn heartbeat(mut self, timeout: Duration) -> Self {
            if let Some(o) = self.tree_mut().last("heartbeat") {
                o.heartbeat = Some(timeout);
            }
            self
        }

        /// The last declared child's backoff between restarts.
        pub fn backoff(mut self, backoff: Backoff) -> Self {
            if let Some(o) = self.tree_mut().last("backoff") {
                o.backoff = Some(backoff);
            }
            self
        }

        /// The last declared server's mailbox capacity.
        pub fn capacity(mut self, capacity: Capacity) -> Self {
            let t = self.tree_mut();
            if !matches!(
                t.children.last(),
                Some(Pending::Server { .. } | Pending::Pool { .. }) | None
            ) {
                t.errors.push(format!(
                    "supervisor {}: capacity() applies to servers only",
                    t.name
                ));
            }
            if let Some(o) = t.last("capacity") {
                o.capacity = Some(capacity);
            }
            self
        }

        /// The last declared pool's restart intensity: more worker restarts
        /// than `max_restarts` within `period` make the pool give up, which
        /// its supervisor handles like any child failure (default 3 within
        /// 5 s, as for any supervisor). The config file's `intensity` key in
        /// the pool's table overrides it.
        pub fn pool_intensity(mut self, max_restarts: u32, period: Duration) -> Self {
            let t = self.tree_mut();
            match t.children.last_mut() {
                Some(Pending::Pool { opts, .. }) => {
                    opts.intensity = Some(Intensity {
                        max_restarts,
                        period,
                    })
                }
                _ => t.errors.push(format!(
                    "supervisor {}: pool_intensity() must follow a pool",
                    t.name
                )),
            }
            self
        }

        /// A wake callback on the last declared server's mailbox, run after
        /// each accepted send.
        pub fn on_wake(mut self, wake: impl Fn() + Send + Sync + 'static) -> Self {
            if let Some(o) = self.tree_mut().last("on_wake") {
                o.wake = Some(Arc::new(wake));
            }
            self
        }

        /// The last declared child's thread stack size in bytes.
        pub fn stack_size(mut self, bytes: usize) -> Self {
            if let Some(o) = self.tree_mut().last("stack_size") {
                o.stack_size = Some(bytes);
            }
            self
        }

        /// Give the last declared child a new thread at every restart (fresh
        /// thread-locals). By default a restart after a caught failure reuses
        /// its thread, and thread-locals persist across that restart.
        pub fn fresh_thread_on_restart(mut self, fresh: bool) -> Self {
            if let Some(o) = self.tree_mut().last("fresh_thread_on_restart") {
                o.fresh_thread = Some(fresh);
            }
            self
        }

        /// How long the last declared child may take to start (default 5 s).
        pub fn start_timeout(mut self, timeout: Duration) -> Self {
            if let Some(o) = self.tree_mut().last("start_timeout") {
                o.start_timeout = Some(timeout);
            }
            self
        }

        /// This supervisor's restart strategy (default `OneForOne`).
        pub fn strategy(mut self, strategy: Strategy) -> Self {
            self.tree_mut().strategy = strategy;
            self
        }

        /// This supervisor's restart intensity (default 3 within 5 s).
        pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
            self.tree_mut().intensity = Intensity {
                max_restarts,
                period,
            };
            self
        }

        /// How long this supervisor waits, after an immediate stop of a
        /// child, before reporting it abandoned (default 5 s). Its pools
        /// use the same grace for their workers.
        pub fn abandon_after(mut self, grace: Duration) -> Self {
            self.tree_mut().abandon_after = Some(grace);
            self
        }
    };
}

/// Declares a nested supervisor; see [`ButlerBuilder::supervisor`].
///
/// It takes the same declarations as [`ButlerBuilder`] (servers, pools,
/// threads, nested supervisors and their options) and its own strategy
/// and intensity:
///
/// ```
/// use std::time::Duration;
/// use threadbutler::prelude::*;
/// # pub struct Reader;
/// # pub struct Writer;
/// # threadbutler::messages! { pub enum ReaderMsg for Reader {} }
/// # threadbutler::messages! { pub enum WriterMsg for Writer {} }
/// # impl Server for Reader {
/// #     fn handle(&mut self, msg: ReaderMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { match msg {} }
/// # }
/// # impl Server for Writer {
/// #     fn handle(&mut self, msg: WriterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { match msg {} }
/// # }
///
/// let app = Butler::builder("app")
///     .supervisor("db", |db| {
///         db.strategy(Strategy::OneForAll) // one fails: both restart
///             .intensity(5, Duration::from_secs(10))
///             .server("reader", || Reader)
///             .server("writer", || Writer)
///     })
///     .start()?;
/// let status = app.status();
/// assert_eq!(status.find("app/db").map(|n| n.kind), Some("supervisor"));
/// assert_eq!(status.find("app/db/writer").map(|n| n.kind), Some("server"));
/// app.shutdown(); // writer, then reader, then db: reverse start order
/// app.wait()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[must_use]
pub struct SupervisorBuilder {
    tree: Tree,
}

impl SupervisorBuilder {
    fn tree_mut(&mut self) -> &mut Tree {
        &mut self.tree
    }

    tree_methods!();
}

impl fmt::Debug for SupervisorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorBuilder")
            .field("name", &self.tree.name)
            .finish_non_exhaustive()
    }
}

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
    tree: Tree,
    hub: HubBuilder,
    config: Option<LoadedConfig>,
    signals: Signals,
    reload: Option<ReloadHook>,
    deadline: Option<Duration>,
    /// The tree's events, from before the start on.
    bus: EventBus,
    /// The clock the tree's supervisors read.
    clock: Option<threadbutler_supervisor::SharedClock>,
}

/// A config file as loaded: its policies, its path and its text (for line
/// numbers in errors found when the policies are applied).
struct LoadedConfig {
    config: Config,
    path: PathBuf,
    text: String,
}

impl ButlerBuilder {
    fn tree_mut(&mut self) -> &mut Tree {
        &mut self.tree
    }

    tree_methods!();

    /// Handles OS signals by `signals` (none by default):
    /// `Signals::graceful()` drains on SIGTERM and SIGINT (a second one
    /// forces), reloads on SIGHUP, logs the status tree on SIGUSR1 and stops
    /// immediately on SIGQUIT. See [`crate::operations`].
    pub fn signals(mut self, signals: Signals) -> Self {
        self.signals = signals;
        self
    }

    /// A hook called on reload (SIGHUP with `Signals::graceful()`), on the
    /// signal thread, before the config file's policies are re-read.
    pub fn on_reload(mut self, hook: impl Fn(&Hub) + Send + Sync + 'static) -> Self {
        self.reload = Some(Arc::new(hook));
        self
    }

    /// The clock every supervisor of the tree reads for restart windows,
    /// backoffs, heartbeat checks and stop deadlines (DESIGN rule 12); by
    /// default the real one. Give a [`ManualClock`](crate::ManualClock) to
    /// test a tree's policies in virtual time: a minute of backoff passes
    /// when the test says so.
    pub fn clock(mut self, clock: std::sync::Arc<dyn crate::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// An overall deadline for a shutdown, from when it begins: past it the
    /// shutdown is forced (every drain becomes immediate; children that
    /// still do not stop are abandoned), so the process gets to exit.
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The default capacity of the servers' mailboxes (default 1024).
    pub fn default_capacity(mut self, capacity: Capacity) -> Self {
        self.hub = self.hub.default_capacity(capacity);
        self
    }

    /// The hub's default request timeout (default 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.hub = self.hub.request_timeout(timeout);
        self
    }

    /// Where dead letters go, besides the counters and the log.
    pub fn on_dead_letter(mut self, sink: impl Fn(DeadLetter) + Send + Sync + 'static) -> Self {
        self.hub = self.hub.on_dead_letter(sink);
        self
    }

    /// Reads policies from a TOML file (see
    /// [`threadbutler_supervisor::config`]): the root supervisor's, and each
    /// child's by name, overriding what the code declares. They are applied
    /// at [`start`](Self::start), whatever the order of the calls.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with the file, line, key and what was expected, for
    /// an unreadable file, an unknown key, a bad duration or an impossible
    /// policy. Nothing is started.
    pub fn config_file(mut self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_owned();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Config {
            detail: format!("{}: cannot read the file: {e}", path.display()),
        })?;
        let config = Config::parse(&text, &path).map_err(|e| Error::Config {
            detail: e.to_string(),
        })?;
        self.config = Some(LoadedConfig { config, path, text });
        Ok(self)
    }

    /// The config file loaded by [`config_file`](Self::config_file), if
    /// any: its `[log]` table is what [`crate::logging::init`] takes.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref().map(|c| &c.config)
    }

    /// The program's own settings: the config file's `[app]` table
    /// deserialized into `T` (see
    /// [`Config::app_section`](threadbutler_supervisor::config::Config::app_section));
    /// `None` without a file or without the table.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use threadbutler::Butler;
    ///
    /// #[derive(Deserialize)]
    /// #[serde(deny_unknown_fields)]
    /// struct Settings {
    ///     socket: String,
    /// }
    ///
    /// let path = std::env::temp_dir().join(format!("app-config-doc-{}.toml", std::process::id()));
    /// std::fs::write(&path, "[app]\nsocket = \"/run/app.sock\"\n")?;
    /// let builder = Butler::builder("app").config_file(&path)?;
    /// let settings: Option<Settings> = builder.app_config()?;
    /// assert_eq!(settings.map(|s| s.socket).as_deref(), Some("/run/app.sock"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with the file and line when the table does not fit
    /// `T`.
    pub fn app_config<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        let Some(loaded) = &self.config else {
            return Ok(None);
        };
        Config::app_section(&loaded.text, &loaded.path).map_err(|e| Error::Config {
            detail: e.to_string(),
        })
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
        let config_path = self.config.as_ref().map(|c| c.path.clone());
        if let Some(loaded) = self.config.take() {
            loaded.apply(&mut self.tree)?;
        }
        let mut errors = Vec::new();
        self.tree.errors(&mut errors);
        if !errors.is_empty() {
            return Err(Error::Config {
                detail: errors.join("; "),
            });
        }
        let hub = self.hub.build();
        let name = self.tree.name.clone();
        let mut spec = self.tree.build(&hub)?;
        if let Some(clock) = self.clock.take() {
            spec = spec.clock(clock);
        }
        spec.validate().map_err(|detail| Error::Config { detail })?;
        let bus = self.bus;
        let tally = Arc::new(Mutex::new(Tally::default()));
        let t = Arc::clone(&tally);
        let root_path = name.clone();
        bus.tap(move |e| {
            let mut t = t.lock().unwrap_or_else(PoisonError::into_inner);
            match e {
                // The report is about the shutdown: a hung life replaced long
                // before it is supervision doing its job, not an unclean end.
                Event::ShutdownBegan { supervisor } if **supervisor == *root_path => {
                    t.shutting_down = true
                }
                Event::Abandoned { child, .. } if t.shutting_down => {
                    t.abandoned.push(child.to_string())
                }
                Event::Drained { child, left } if t.shutting_down && *left > 0 => {
                    t.missed.push((child.to_string(), *left))
                }
                _ => {}
            }
        });
        let notifier = crate::operations::notifier_from_env();
        if let Some(n) = &notifier {
            let n = Arc::clone(n);
            bus.tap(move |e| {
                if let Some(status) = crate::operations::status_line(e) {
                    let _ = n.send(&status);
                }
            });
        }
        let root =
            Arc::new(Supervisor::start(spec, bus).map_err(|reason| Error::Start { reason })?);
        let ops = Ops::new(
            Arc::clone(&root),
            hub.clone(),
            notifier,
            config_path,
            self.reload,
            self.deadline,
        );
        if let Err(e) = ops.started(&self.signals) {
            root.force_shutdown();
            root.wait();
            ops.finish();
            return Err(Error::Start {
                reason: ExitReason::failed(
                    threadbutler_supervisor::Stage::Init,
                    format!("could not set up signal handling: {e}").into(),
                ),
            });
        }
        Ok(Butler {
            name,
            hub,
            root,
            tally,
            ops,
        })
    }
}

impl fmt::Debug for ButlerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ButlerBuilder")
            .field("name", &self.tree.name)
            .finish_non_exhaustive()
    }
}

/// A running supervised application: its hub, its supervision tree.
///
/// [`Butler::builder`] declares it (see [`ButlerBuilder`]); once started,
/// the program talks to its servers through [`hub`](Butler::hub), watches
/// it through [`status`](Butler::status) and
/// [`subscribe`](Butler::subscribe), and ends it with
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
    name: String,
    hub: Hub,
    root: Arc<Supervisor>,
    tally: Arc<Mutex<Tally>>,
    ops: Arc<Ops>,
}

/// What the report needs from the events, tallied as they happen.
#[derive(Debug, Default)]
struct Tally {
    shutting_down: bool,
    abandoned: Vec<String>,
    missed: Vec<(String, u64)>,
}

impl Butler {
    /// Declares an application named `name` (the root supervisor's name).
    pub fn builder(name: &str) -> ButlerBuilder {
        ButlerBuilder {
            tree: Tree::new(name),
            hub: Hub::builder(name),
            config: None,
            signals: Signals::none(),
            reload: None,
            deadline: None,
            clock: None,
            bus: EventBus::new(),
        }
    }

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
        self.root.status()
    }

    /// Every lifecycle event from now on. To see the start's events too,
    /// subscribe on the builder: [`ButlerBuilder::subscribe`].
    pub fn subscribe(&self) -> Receiver<Event> {
        self.root.subscribe()
    }

    /// Begins an orderly shutdown (reverse start order, each child by its
    /// shutdown mode); returns at once. [`wait`](Self::wait) for the end.
    pub fn shutdown(&self) {
        self.ops.begin_shutdown();
        self.root.shutdown();
    }

    /// Cuts a shutdown short: remaining drains become immediate stops.
    pub fn force_shutdown(&self) {
        self.ops.begin_shutdown();
        self.root.force_shutdown();
    }

    /// Reloads, as SIGHUP does with [`Signals::graceful()`]: calls the
    /// [`on_reload`](ButlerBuilder::on_reload) hook, then re-reads the
    /// config file's policies and applies them to the running tree
    /// (runtime-semantics §12.3); a file that fails to load changes nothing
    /// (the error is logged). Without a config file only the hook runs.
    /// Returns once the new policies are in place.
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
        if crate::instance::on_server_thread() {
            let ops = Arc::clone(&self.ops);
            let spawned = std::thread::Builder::new()
                .name("threadbutler-reload".into())
                .spawn(move || ops.reload());
            if let Err(e) = spawned {
                tracing::error!(error = %e, "no thread for the reload; not reloaded");
            }
            return;
        }
        self.ops.reload();
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
    /// refuse (see [`ButlerBuilder::try_server`]): a refusal is a failed
    /// start, [`SpawnError::StartFailed`] with reason
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
        // A child of that name (even a stopped one, whose mailbox the hub
        // keeps for `restart_child`) keeps its name and its mailbox.
        if !self.hub.is_live(name) && sup.which_children().iter().any(|c| c.name == name) {
            return Err(SpawnError::StartFailed {
                name: name.to_owned(),
                reason: ExitReason::failed(
                    threadbutler_supervisor::Stage::Init,
                    format!("a child named {name:?} already exists").into(),
                ),
            }
            .into());
        }
        let name_arc: Arc<str> = Arc::from(name);
        let core = self
            .hub
            .register::<S>(&name_arc, options.capacity, options.wake.clone())?;
        let child = Arc::new(ServerChild::<S>::new(
            Arc::clone(&name_arc),
            self.hub.clone(),
            Arc::clone(&core),
            factory,
        ));
        let spec = options.apply(ChildSpec::from_arc(name, child as Arc<dyn Child>));
        match sup.add_child(spec) {
            Ok(()) => Ok(Address::new(core, self.hub.inner().config.request_timeout)),
            Err(reason) => {
                // Whatever was sent meanwhile is dead-lettered; the name is free.
                core.finish(DeadReason::Stopped);
                self.hub.unregister_if(name, &core);
                Err(SpawnError::StartFailed {
                    name: name.to_owned(),
                    reason,
                }
                .into())
            }
        }
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
    pub fn remove_child(&self, supervisor: &str, name: &str) -> Result<RemoveReport, Error> {
        // A child's thread is named after it: removing yourself would wait
        // for yourself to stop.
        if std::thread::current().name() == Some(name) {
            return Err(Error::WouldDeadlock);
        }
        let sup = self.supervisor(supervisor)?;
        let report = sup.remove_child(name).ok_or_else(|| Error::UnknownServer {
            name: name.to_owned(),
        })?;
        // Only a removed server's own (now finished) mailbox frees its name;
        // a child without a mailbox leaves a server of the same name alone.
        self.hub.unregister_finished(name);
        Ok(report)
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
        self.root
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
        let reason = self.root.wait();
        self.report(reason)
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
        let reason = self.root.wait_timeout(timeout)?;
        Some(self.report(reason))
    }

    /// The report of a tree that ended for `reason`.
    fn report(&self, reason: ExitReason) -> Result<Report, Error> {
        self.ops.finish();
        let tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        let report = Report {
            reason,
            tree: self.root.status(),
            abandoned: tally.abandoned.clone(),
            drain_deadline_missed: tally.missed.clone(),
            mailboxes: self
                .hub
                .names()
                .into_iter()
                .filter_map(|n| self.hub.stats(&n).map(|s| (n.to_string(), s)))
                .collect(),
        };
        if report.reason.is_failure() {
            Err(Error::Failed {
                reason: report.reason,
            })
        } else {
            Ok(report)
        }
    }
}

impl fmt::Debug for Butler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Butler")
            .field("name", &self.name)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// The exit code of a shutdown that gave up queued work (a drain's
/// deadline, a forced or immediate stop) or left a thread behind: 75,
/// `EX_TEMPFAIL` from `sysexits.h`.
pub const UNCLEAN_EXIT: i32 = 75;

/// How a supervised application ended.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::{ChildState, Report};
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
/// app.hub().send(Add(1))?;
/// app.shutdown();
/// let report: Report = app.wait()?;
/// assert!(report.is_clean());
/// assert_eq!(report.exit_code(), 0); // what `report.exit()` would exit with
/// let (_, counter) = report.mailboxes.iter().find(|(name, _)| name == "counter").expect("listed");
/// assert_eq!((counter.handled, counter.dead_lettered), (1, 0)); // drained: nothing lost
/// let row = report.tree.find("app/counter").expect("in the final tree");
/// assert_eq!(row.state, ChildState::Stopped);
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    /// Why the root ended.
    pub reason: ExitReason,
    /// The tree as it was at the end.
    pub tree: StatusNode,
    /// Children left behind during the shutdown because they ignored their
    /// stop (hung lives replaced earlier are not counted).
    pub abandoned: Vec<String>,
    /// Children whose queued work the shutdown gave up, with how many items
    /// were dead-lettered: a drain that missed its deadline or ended early,
    /// a forced shutdown, an `Immediate` stop with work queued, a child not
    /// running when its turn came (every `Drained { left > 0 }`).
    pub drain_deadline_missed: Vec<(String, u64)>,
    /// Every mailbox's final counters, by name: what each server handled
    /// and how many messages became dead letters.
    pub mailboxes: Vec<(String, MailboxStats)>,
}

impl Report {
    /// True after a requested shutdown that gave up no queued work and
    /// abandoned no child.
    pub fn is_clean(&self) -> bool {
        !self.reason.is_failure()
            && self.abandoned.is_empty()
            && self.drain_deadline_missed.is_empty()
    }

    /// The process exit code: 0 after a clean shutdown; 75 (`EX_TEMPFAIL`)
    /// when the shutdown gave up queued work or abandoned a child (work was
    /// lost or left behind; a retry may do better); 1 if
    /// the tree failed. (`Error::exit_code` gives 78 for a bad config and 1
    /// for a tree that gave up.)
    pub fn exit_code(&self) -> i32 {
        if self.reason.is_failure() {
            1
        } else if self.is_clean() {
            0
        } else {
            UNCLEAN_EXIT
        }
    }

    /// Exits the process with [`exit_code`](Self::exit_code).
    pub fn exit(self) -> ! {
        std::process::exit(self.exit_code())
    }

    /// Flushes the log writer, then exits with
    /// [`exit_code`](Self::exit_code): `process::exit` runs no destructors,
    /// so lines still buffered would be lost otherwise.
    pub fn exit_flushing(self, logs: crate::logging::LogGuard) -> ! {
        logs.flush();
        self.exit()
    }
}
