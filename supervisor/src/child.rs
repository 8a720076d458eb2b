//! The child abstraction: what a supervisor starts, stops, watches and
//! restarts, without knowing what the child does.
//!
//! # Anatomy
//!
//! A [`Child`] is shared (`Arc<dyn Child>`) between its spec and the threads
//! that run it. The supervisor owns one *worker thread* per child, named after
//! the child. Each life of the child is one call of [`Child::run`] on that
//! thread, handed a fresh [`Life`]: the instance id, the stop signal, the
//! heartbeat writer, and the [`StartNotice`] to give once initialisation
//! succeeded. When `run` returns, the worker reports the exit reason and waits
//! for the next life. So a restart after a caught failure reuses the thread
//! (no spawn; thread-locals persist), and only an abandoned child, or one
//! whose spec asks for it, gets a new thread.
//!
//! The hooks other than `run` are called on the supervisor's thread and must
//! not block: they tell the child what becomes of the work queued for it.

use std::fmt;
use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::heartbeat::HeartbeatWriter;
use crate::{ExitReason, StopMode, StopSignal};

/// Something a supervisor runs: a server, a nested supervisor, a plain
/// closure on a thread.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use threadbutler_supervisor::*;
///
/// /// Waits for its stop, counting its lives.
/// struct Waiter { lives: Arc<AtomicU32> }
///
/// impl Child for Waiter {
///     fn run(&self, mut life: Life) -> ExitReason {
///         self.lives.fetch_add(1, Ordering::SeqCst);
///         life.started(); // initialised: the supervisor goes on
///         life.heartbeat.set_busy(false); // idle, so never taken for hung
///         while !life.stop.is_requested() {
///             let _ = life.stop.waker().recv(); // woken by a stop request
///         }
///         ExitReason::Shutdown
///     }
///
///     fn details(&self) -> ChildDetails {
///         let mut d = ChildDetails::default();
///         d.kind = "waiter";
///         d
///     }
/// }
///
/// let lives = Arc::new(AtomicU32::new(0));
/// let waiter = Waiter { lives: Arc::clone(&lives) };
/// let spec = SupervisorSpec::new("app").child(ChildSpec::new("waiter", waiter));
/// let root = Supervisor::start(spec, EventBus::new()).expect("starts");
/// assert_eq!(root.status().find("app/waiter").map(|n| n.kind), Some("waiter"));
/// root.shutdown();
/// assert!(matches!(root.wait(), ExitReason::Shutdown));
/// assert_eq!(lives.load(Ordering::SeqCst), 1);
/// ```
pub trait Child: Send + Sync + 'static {
    /// Runs one life of the child on the calling thread and returns why it
    /// ended. Call [`Life::started`] (or its notice) once initialisation
    /// succeeded; returning before that is a failed start. Must return soon
    /// after the life's stop signal is set (see [`StopSignal`]). A panic that
    /// escapes is caught by the worker and reported as a failure.
    fn run(&self, life: Life) -> ExitReason;

    /// The child is being stopped for good (a shutdown, a removal), in
    /// `mode`: refuse new work now. A server closes its mailbox, and for
    /// `Immediate` dead-letters the queue. Returns how many queued items
    /// that gave up (reported as `Drained { left }`, an unclean shutdown).
    fn on_final_stop(&self, mode: StopMode) -> u64 {
        let _ = mode;
        0
    }

    /// The child was retired and is started again (`restart_child`):
    /// accept work again.
    fn on_revived(&self) {}

    /// A final drain passed its deadline: what is left will not be handled.
    /// Returns how many queued items were given up.
    fn on_drain_deadline(&self) -> u64 {
        0
    }

    /// The child will never run again (it stopped for good, was removed, or
    /// ended and is not restarted): release what it holds.
    fn on_retired(&self) {}

    /// The child left its supervisor for good (removed, deleted, a
    /// `Temporary` child that ended, a child added at run time that did not
    /// start): forget it wherever it is known by name (a server's mailbox
    /// leaves the hub). A nested supervisor passes it on to its children.
    fn on_removed(&self) {}

    /// How much work waits for this child (its mailbox depth; for a pool
    /// worker, the shared queue's). A drain whose life fails with work left
    /// starts another life to go on draining (runtime-semantics §11.16).
    /// By default its status row's `queued`, or 0.
    fn queued(&self) -> usize {
        self.details().queued.unwrap_or(0)
    }

    /// How much of [`queued`](Self::queued) this child's retirement would
    /// give up: what a drain that ended early leaves behind, reported as
    /// `Drained { left }`. A pool worker shares its queue with the others
    /// and leaves it to its pool: 0. By default, `queued()`.
    fn left_behind(&self) -> usize {
        self.queued()
    }

    /// Checks the child's own configuration (a nested supervisor checks its
    /// tree). Called before anything starts.
    ///
    /// # Errors
    ///
    /// A message naming what is wrong.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// This child as a supervisor, if it is one (to reach nested trees).
    fn as_supervisor(&self) -> Option<&crate::SupervisorChild> {
        None
    }

    /// Live details for the status tree.
    fn details(&self) -> ChildDetails {
        ChildDetails::default()
    }
}

/// What a child adds to its row in the status tree.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ChildDetails {
    /// What kind of child this is, e.g. `"server"`, `"supervisor"`, `"thread"`.
    pub kind: &'static str,
    /// How much work waits for it (a server's queued messages), if it has
    /// a queue.
    pub queued: Option<usize>,
    /// A nested supervisor's own tree.
    pub children: Vec<crate::StatusNode>,
}

/// The one-shot "I have started" of a life.
pub struct StartNotice {
    notify: Option<Box<dyn FnOnce() + Send>>,
    may_defer: bool,
}

impl StartNotice {
    /// A notice that runs `f` when given.
    pub fn new(f: impl FnOnce() + Send + 'static) -> Self {
        StartNotice {
            notify: Some(Box::new(f)),
            may_defer: false,
        }
    }

    /// A notice that sends `()` on `tx` when given.
    pub fn channel(tx: Sender<()>) -> Self {
        Self::new(move || {
            let _ = tx.send(());
        })
    }

    /// A notice nobody is blocked on: the child may give it at its first
    /// convenient moment rather than right after initialising. A worker that
    /// restarted its child on its own hands these out (see
    /// [`may_defer`](Self::may_defer)).
    pub fn deferrable(f: impl FnOnce() + Send + 'static) -> Self {
        StartNotice {
            notify: Some(Box::new(f)),
            may_defer: true,
        }
    }

    /// True if no one waits on this notice, so that the child may give it
    /// later: before it first waits for work, after its first unit of work,
    /// or when it ends, whichever comes first. Giving a notice wakes the
    /// supervisor, which costs the giving thread a system call; deferring it
    /// keeps that off the path from a restart to the first message handled.
    pub fn may_defer(&self) -> bool {
        self.may_defer
    }

    /// Also sets `flag` when the notice is given.
    pub(crate) fn also_mark(&mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        if let Some(f) = self.notify.take() {
            self.notify = Some(Box::new(move || {
                flag.store(true, std::sync::atomic::Ordering::Release);
                f();
            }));
        }
    }

    /// Gives the notice (at most once; later calls do nothing).
    pub fn give(&mut self) {
        if let Some(f) = self.notify.take() {
            f();
        }
    }

    /// True once given.
    pub fn is_given(&self) -> bool {
        self.notify.is_none()
    }
}

impl fmt::Debug for StartNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartNotice")
            .field("given", &self.is_given())
            .finish()
    }
}

static NEXT_LIFE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A process-unique id for a new life of any child.
pub fn next_life_id() -> u64 {
    NEXT_LIFE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// One life of a child: what [`Child::run`] gets.
///
/// ```
/// use threadbutler_supervisor::*;
///
/// let (tx, rx) = crossbeam_channel::unbounded();
/// let worker = FnChild::new(move |mut life: Life| {
///     let _ = tx.send((life.name.to_string(), life.path.to_string()));
///     life.started(); // the start notice: the supervisor goes on
///     while !life.stop.is_requested() {
///         life.heartbeat.bump(); // progress, for a heartbeat watchdog
///         let _ = life.stop.waker().recv(); // sleep until asked to stop
///     }
///     ExitReason::Shutdown
/// });
/// let spec = SupervisorSpec::new("app").child(ChildSpec::new("worker", worker));
/// let root = Supervisor::start(spec, EventBus::new()).expect("starts");
/// assert_eq!(rx.recv()?, ("worker".to_string(), "app/worker".to_string()));
/// root.shutdown();
/// root.wait();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Life {
    /// The child's name.
    pub name: Arc<str>,
    /// The child's path in the tree, e.g. `"app/db/writer"`.
    pub path: Arc<str>,
    /// This life's id, unique in the process.
    pub id: u64,
    /// The stop request for this life.
    pub stop: Arc<StopSignal>,
    /// This life's heartbeat.
    pub heartbeat: HeartbeatWriter,
    /// Give it once started.
    pub started: StartNotice,
    /// The tree's event bus (a nested supervisor emits on it).
    pub events: crate::EventBus,
    /// The tree's clock (a nested supervisor reads it).
    pub clock: crate::SharedClock,
}

impl Life {
    /// Gives the start notice.
    pub fn started(&mut self) {
        self.started.give();
    }
}

/// A child that runs a closure on its thread: the closure gets the life and
/// returns the exit reason. For plain threads under supervision.
///
/// ```
/// use threadbutler_supervisor::{ExitReason, FnChild, StopMode};
///
/// let child = FnChild::new(|mut life| {
///     life.started();
///     // Work until asked to stop, beating the heartbeat as we go.
///     while !life.stop.is_requested() {
///         life.heartbeat.bump();
///         let _ = life.stop.waker().recv();
///     }
///     ExitReason::Shutdown
/// });
/// # let _ = child;
/// ```
pub struct FnChild {
    f: Box<dyn Fn(Life) -> ExitReason + Send + Sync>,
}

impl FnChild {
    /// Wraps `f`.
    pub fn new(f: impl Fn(Life) -> ExitReason + Send + Sync + 'static) -> Self {
        FnChild { f: Box::new(f) }
    }
}

impl Child for FnChild {
    fn run(&self, life: Life) -> ExitReason {
        (self.f)(life)
    }

    fn details(&self) -> ChildDetails {
        ChildDetails {
            kind: "thread",
            ..ChildDetails::default()
        }
    }
}

impl fmt::Debug for FnChild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnChild(..)")
    }
}
