//! Tasks: closures run on a pool, whose results come back as messages.
//!
//! The task pool is a [pool](crate::ButlerBuilder::pool) of [`TaskPool`]
//! servers whose message is the task ([`Task`]): a closure given the hub,
//! which sends its result wherever it belongs, typically to the server that
//! asked (ThreadButler's tasks on a thread pool). Declare it with
//! `.pool("tasks", n, TaskPool::default)` and submit with [`Hub::spawn_task`].
//!
//! A task that panics is caught: it is logged, and it becomes a dead letter
//! (type `Task`, reason `InFlight(Panicked)`) so the counters and the
//! dead-letter sink see it; the worker and the pool keep running. A drain
//! runs the queued tasks until the pool's deadline, then dead-letters the
//! rest.
//!
//! ```
//! use threadbutler::prelude::*;
//! use threadbutler::task::TaskPool;
//!
//! pub struct Square(pub u64);
//! pub struct Main;
//! threadbutler::messages! { pub enum MainMsg for Main { Square } }
//!
//! let app = Butler::builder("app").pool("tasks", 2, TaskPool::default).start()?;
//! let mut main = app.hub().client::<Main>("main")?;
//! for n in 1..=3u64 {
//!     app.hub().spawn_task(move |hub| {
//!         hub.send(Square(n * n))?;
//!         Ok(())
//!     })?;
//! }
//! let mut got: Vec<u64> = (0..3).map(|_| { let MainMsg::Square(Square(s)) = main.recv(); s }).collect();
//! got.sort();
//! assert_eq!(got, [1, 4, 9]);
//! app.shutdown();
//! app.wait()?;
//! # Ok::<(), threadbutler::Error>(())
//! ```

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use threadbutler_supervisor::{BoxError, ExitReason, Stage, panic_message};

use crate::data::dead_letter::DeadReason;
use crate::data::hub::Hub;
use crate::data::send_error::SendError;
use crate::servers::ctx::Ctx;
use crate::servers::server::Server;

type TaskFn = Box<dyn FnOnce(&Hub) -> Result<(), BoxError> + Send>;

/// A closure to run on the task pool.
///
/// [`Hub::spawn_task`] wraps and sends one; as a message of its own, a
/// task can also go through `try_send` or `send_timeout`, which give it
/// back unrun when it is not accepted.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::TrySendError;
/// use threadbutler::task::{Task, TaskPool};
/// # pub struct Done(pub u32);
/// # pub struct Main;
/// # threadbutler::messages! { pub enum MainMsg for Main { Done } }
///
/// let hub = Hub::new();
/// let task = Task::new(|hub| Ok(hub.send(Done(1))?));
/// // No task pool yet: the task comes back, unrun.
/// let Err(TrySendError::NoRoute(task, _)) = hub.try_send(task) else {
///     panic!("nothing takes tasks yet")
/// };
/// let mut main = hub.client::<Main>("main")?;
/// hub.spawn("tasks", TaskPool::default)?; // a pool of one, on the hub
/// hub.send(task)?;
/// let MainMsg::Done(Done(n)) = main.recv();
/// assert_eq!(n, 1);
/// hub.shutdown()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct Task(TaskFn);

impl Task {
    /// Wraps `f`.
    pub fn new(f: impl FnOnce(&Hub) -> Result<(), BoxError> + Send + 'static) -> Task {
        Task(Box::new(f))
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Task(..)")
    }
}

crate::messages! {
    /// What a [`TaskPool`] accepts.
    #[derive(Debug)]
    pub enum TaskMsg for TaskPool { Task }
}

/// The server that runs [`Task`]s. Run several as a pool.
///
/// A task that panics is caught and counted as a dead letter; the pool
/// goes on with the next.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::task::TaskPool;
/// # pub struct Done(pub u32);
/// # pub struct Main;
/// # threadbutler::messages! { pub enum MainMsg for Main { Done } }
///
/// let app = Butler::builder("app").pool("tasks", 2, TaskPool::default).start()?;
/// let mut main = app.hub().client::<Main>("main")?;
/// app.hub().spawn_task(|_| panic!("a bad task"))?;
/// app.hub().spawn_task(|hub| Ok(hub.send(Done(7))?))?;
/// let MainMsg::Done(Done(n)) = main.recv();
/// assert_eq!(n, 7);
/// app.shutdown();
/// let report = app.wait()?;
/// let (_, tasks) = report.mailboxes.iter().find(|(name, _)| name == "tasks").expect("listed");
/// assert_eq!((tasks.handled, tasks.dead_lettered), (1, 1));
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct TaskPool;

impl Server for TaskPool {
    fn handle(&mut self, msg: TaskMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let TaskMsg::Task(Task(f)) = msg;
        let hub = ctx.hub().clone();
        match catch_unwind(AssertUnwindSafe(move || f(&hub))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(server = %ctx.name(), error = %e, "task failed"),
            Err(p) => {
                let reason = ExitReason::Panicked {
                    stage: Stage::Handle,
                    message: panic_message(p.as_ref()),
                };
                tracing::error!(server = %ctx.name(), reason = %reason, "task panicked; the pool goes on");
                // Counted as a dead letter rather than as handled.
                if let Some(ty) = ctx.take_in_flight() {
                    ctx.core()
                        .dead_letter(ty, DeadReason::InFlight(reason), None);
                }
            }
        }
        Ok(())
    }
}

impl Hub {
    /// Submits `f` to the task pool (the one mailbox of [`TaskPool`]s),
    /// waiting while its queue is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the task when the pool is closed or there is no
    /// single task pool.
    pub fn spawn_task(
        &self,
        f: impl FnOnce(&Hub) -> Result<(), BoxError> + Send + 'static,
    ) -> Result<(), SendError<Task>> {
        self.send(Task::new(f))
    }
}
