//! The declaration methods every builder shares (`server`, `pool`,
//! `supervisor`, `thread`), the per-child options that follow a
//! declaration on its [`ChildScope`], a supervisor's own settings, and
//! [`SupervisorBuilder`], the builder of a nested supervisor.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use threadbutler_supervisor::{
    Backoff, BoxError, ExitReason, FnChild, Intensity, Life, Restart, Strategy,
};

use crate::data::mailbox::Capacity;
use crate::servers::factory::{fallible, plain};
use crate::servers::server::Server;
use threadbutler_supervisor::Shutdown;

use crate::supervised::child_options::ChildOptions;
use crate::supervised::child_scope::ChildScope;
#[cfg(feature = "async")]
use crate::supervised::declaration::async_server_maker;
use crate::supervised::declaration::{
    ChildDeclaration, SupervisorDeclaration, pool_maker, server_maker,
};

/// The declarations every builder and child scope shares (`server`,
/// `pool`, `supervisor`, `thread`, ...): each returns the new child's
/// [`ChildScope`], where the child's own options follow.
macro_rules! declare_methods {
    ($b:ty) => {
        /// Declares a server named `name`, built by `factory` on its thread
        /// at every (re)start. The options that follow (`restart`,
        /// `heartbeat`, ...) apply to it, and only to it.
        pub fn server<S, F>(mut self, name: &str, factory: F) -> ChildScope<$b>
        where
            S: Server,
            F: Fn() -> S + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_server(name, server_maker(name, plain(factory)));
            self.scope()
        }

        /// Declares a server like [`server`](Self::server), built by a
        /// factory that may refuse: an `Err` from `factory` is a failed
        /// start whose reason is `Failed { stage: Init, error }` holding
        /// that very error (its text, and its type for `downcast_ref`). At
        /// [`start`](crate::ButlerBuilder::start)
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
        pub fn try_server<S, E, F>(mut self, name: &str, factory: F) -> ChildScope<$b>
        where
            S: Server,
            E: Into<BoxError>,
            F: Fn() -> Result<S, E> + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_server(name, server_maker(name, fallible(factory)));
            self.scope()
        }

        /// Declares a pool named `name`: `size` worker threads sharing one
        /// mailbox (any idle worker takes the next message), each built by
        /// `factory` and supervised on its own. The options that follow
        /// (`restart`, `heartbeat`, `shutdown`, ...) apply to every worker;
        /// `capacity` to the shared mailbox. The config file's `pool_size`
        /// overrides `size`. `size` is from 1 to
        /// [`MAX_POOL_SIZE`](crate::MAX_POOL_SIZE) (1024); outside
        /// that, `start` returns [`Error::Config`](crate::Error::Config).
        pub fn pool<S, F>(mut self, name: &str, size: usize, factory: F) -> ChildScope<$b>
        where
            S: Server,
            F: Fn() -> S + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_pool(name, size, pool_maker(name, plain(factory)));
            self.scope()
        }

        /// Declares a pool like [`pool`](Self::pool), whose workers are
        /// built by a factory that may refuse; see
        /// [`try_server`](Self::try_server). A worker whose factory refuses
        /// is a worker that failed to start: at `start` the pool, and so
        /// the application, does not start; on a worker's restart the
        /// pool's own intensity decides.
        pub fn try_pool<S, E, F>(mut self, name: &str, size: usize, factory: F) -> ChildScope<$b>
        where
            S: Server,
            E: Into<BoxError>,
            F: Fn() -> Result<S, E> + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_pool(name, size, pool_maker(name, fallible(factory)));
            self.scope()
        }

        /// Declares an async server (feature `async`): like
        /// [`server`](Self::server), but its handlers are `async` and it runs
        /// a current-thread tokio runtime on its thread. See
        /// [`crate::async_server`].
        #[cfg(feature = "async")]
        pub fn async_server<S, F>(mut self, name: &str, factory: F) -> ChildScope<$b>
        where
            S: crate::servers::async_server::AsyncServer,
            F: Fn() -> S + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_server(name, async_server_maker(name, plain(factory)));
            self.scope()
        }

        /// Declares an async server (feature `async`) built by a factory
        /// that may refuse; see [`try_server`](Self::try_server) and
        /// [`async_server`](Self::async_server).
        #[cfg(feature = "async")]
        pub fn try_async_server<S, E, F>(mut self, name: &str, factory: F) -> ChildScope<$b>
        where
            S: crate::servers::async_server::AsyncServer,
            E: Into<BoxError>,
            F: Fn() -> Result<S, E> + Send + Sync + 'static,
        {
            self.tree_mut()
                .push_server(name, async_server_maker(name, fallible(factory)));
            self.scope()
        }

        /// Declares a nested supervisor; `build` declares its children and
        /// policies. Its parent treats its giving up as a child failure.
        pub fn supervisor<R: Into<SupervisorBuilder>>(
            mut self,
            name: &str,
            build: impl FnOnce(SupervisorBuilder) -> R,
        ) -> ChildScope<$b> {
            let nested: SupervisorBuilder = build(SupervisorBuilder {
                tree: SupervisorDeclaration::new(name),
            })
            .into();
            self.tree_mut()
                .children
                .push(ChildDeclaration::Supervisor { tree: nested.tree });
            self.scope()
        }

        /// Declares a plain thread as a child: `run` gets each life, must call
        /// `life.started()` once ready, return soon after `life.stop` is set,
        /// and returns the exit reason.
        pub fn thread(
            mut self,
            name: &str,
            run: impl Fn(Life) -> ExitReason + Send + Sync + 'static,
        ) -> ChildScope<$b> {
            self.tree_mut().children.push(ChildDeclaration::Thread {
                name: name.to_owned(),
                opts: ChildOptions::default(),
                child: Arc::new(FnChild::new(run)),
            });
            self.scope()
        }
    };
}
pub(crate) use declare_methods;

/// The options of the child just declared (`restart`, `heartbeat`, ...):
/// on a [`ChildScope`] only, so that they cannot be read as a
/// supervisor's.
macro_rules! child_option_methods {
    () => {
        /// The child's restart type (default `Permanent`).
        pub fn restart(mut self, restart: Restart) -> Self {
            if let Some(c) = self.tree_mut().last("restart") {
                c.policy().restart = Some(restart);
            }
            self
        }

        /// The child's shutdown mode (default `Drain(5s)`).
        pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
            if let Some(c) = self.tree_mut().last("shutdown") {
                c.policy().shutdown = Some(shutdown);
            }
            self
        }

        /// The child's heartbeat timeout: busy this long
        /// without progress (a finished message or `ctx.beat()`) is a
        /// `HeartbeatMissed` failure.
        pub fn heartbeat(mut self, timeout: Duration) -> Self {
            if let Some(c) = self.tree_mut().last("heartbeat") {
                c.policy().heartbeat = Some(timeout);
            }
            self
        }

        /// The child's backoff between restarts.
        pub fn backoff(mut self, backoff: Backoff) -> Self {
            if let Some(c) = self.tree_mut().last("backoff") {
                c.policy().backoff = Some(backoff);
            }
            self
        }

        /// The server's (or pool's) mailbox capacity: `Bounded(n)` with
        /// `n` from 1 to [`Capacity::MAX_BOUNDED`] (its slots are
        /// allocated at start; outside that, `start` returns
        /// [`Error::Config`](crate::Error::Config)), or `Unbounded`.
        pub fn capacity(mut self, capacity: Capacity) -> Self {
            self.tree_mut().check_capacity("capacity", capacity);
            if let Some(o) = self.tree_mut().last_mailbox("capacity") {
                o.capacity = Some(capacity);
            }
            self
        }

        /// The pool's restart intensity: more worker restarts
        /// than `max_restarts` within `period` make the pool give up, which
        /// its supervisor handles like any child failure (default 3 within
        /// 5 s, as for any supervisor). The config file's `intensity` key in
        /// the pool's table overrides it.
        pub fn pool_intensity(mut self, max_restarts: u32, period: Duration) -> Self {
            let t = self.tree_mut();
            match t.children.last_mut() {
                Some(ChildDeclaration::Pool { opts, .. }) => {
                    opts.policy.intensity = Some(Intensity {
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

        /// A wake callback on the server's (or pool's)
        /// mailbox, run after each accepted send.
        pub fn on_wake(mut self, wake: impl Fn() + Send + Sync + 'static) -> Self {
            if let Some(o) = self.tree_mut().last_mailbox("on_wake") {
                o.wake = Some(Arc::new(wake));
            }
            self
        }

        /// The child's thread stack size in bytes.
        pub fn stack_size(mut self, bytes: usize) -> Self {
            if let Some(c) = self.tree_mut().last("stack_size") {
                c.policy().stack_size = Some(bytes);
            }
            self
        }

        /// Give the child a new thread at every restart (fresh
        /// thread-locals). By default a restart after a caught failure reuses
        /// its thread, and thread-locals persist across that restart.
        pub fn fresh_thread_on_restart(mut self, fresh: bool) -> Self {
            if let Some(c) = self.tree_mut().last("fresh_thread_on_restart") {
                c.policy().fresh_thread_on_restart = Some(fresh);
            }
            self
        }

        /// How long the child may take to start (default 5 s).
        pub fn start_timeout(mut self, timeout: Duration) -> Self {
            if let Some(c) = self.tree_mut().last("start_timeout") {
                c.policy().start_timeout = Some(timeout);
            }
            self
        }
    };
}
pub(crate) use child_option_methods;

/// A supervisor's own settings: on the builders only, never on a
/// [`ChildScope`], so that they cannot be mistaken for a child's.
macro_rules! supervision_methods {
    () => {
        /// This supervisor's restart strategy (default `OneForOne`).
        pub fn strategy(mut self, strategy: Strategy) -> Self {
            self.tree_mut().policy.strategy = Some(strategy);
            self
        }

        /// This supervisor's restart intensity (default 3 within 5 s).
        pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
            self.tree_mut().policy.intensity = Some(Intensity {
                max_restarts,
                period,
            });
            self
        }

        /// How long this supervisor waits, after an immediate stop of a
        /// child, before reporting it abandoned (default 5 s). Its pools
        /// use the same grace for their workers.
        pub fn abandon_after(mut self, grace: Duration) -> Self {
            self.tree_mut().policy.abandon_after = Some(grace);
            self
        }
    };
}
pub(crate) use supervision_methods;

/// Declares a nested supervisor; see [`ButlerBuilder::supervisor`](crate::ButlerBuilder::supervisor).
///
/// It takes the same declarations as [`ButlerBuilder`](crate::ButlerBuilder) (servers, pools,
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
    pub(crate) tree: SupervisorDeclaration,
}

impl SupervisorBuilder {
    pub(crate) fn tree_mut(&mut self) -> &mut SupervisorDeclaration {
        &mut self.tree
    }

    fn scope(self) -> ChildScope<SupervisorBuilder> {
        ChildScope { builder: self }
    }

    declare_methods!(SupervisorBuilder);
    supervision_methods!();
}

impl From<ChildScope<SupervisorBuilder>> for SupervisorBuilder {
    fn from(scope: ChildScope<SupervisorBuilder>) -> Self {
        scope.builder
    }
}

impl fmt::Debug for SupervisorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorBuilder")
            .field("name", &self.tree.name)
            .finish_non_exhaustive()
    }
}

impl ChildScope<SupervisorBuilder> {
    fn tree_mut(&mut self) -> &mut SupervisorDeclaration {
        self.builder.tree_mut()
    }

    fn scope(self) -> Self {
        self
    }

    declare_methods!(SupervisorBuilder);
    child_option_methods!();
}
