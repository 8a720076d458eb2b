//! Supervisors as children, and the root of a tree.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use crate::child::{Child, ChildDetails, Life, StartNotice};
use crate::engine::{Control, Engine, EngineSetup, Shared};
use crate::event::{Event, EventBus};
use crate::heartbeat::heartbeat;
use crate::spec::{ChildSpec, SupervisorSpec};
use crate::status::{ChildState, StatusNode};
use crate::supervisor_ref::SupervisorRef;
use crate::worker::{Worker, WorkerSetup};
use crate::{ExitCell, ExitReason, Stage, StopMode, StopSignal};

/// A supervisor that runs as a child of another (or as the root): each of
/// its lives starts its children from its spec, supervises them, and stops
/// them in reverse order when asked or when it gives up.
///
/// Its control channel and status outlive its lives, so a
/// [`SupervisorRef`] stays valid across its restarts.
pub struct SupervisorChild {
    spec: SupervisorSpec,
    control_tx: Sender<Control>,
    control_rx: Receiver<Control>,
    shared: Arc<Shared>,
    path: Mutex<Arc<str>>,
}

impl SupervisorChild {
    /// Wraps a spec.
    pub fn new(spec: SupervisorSpec) -> Self {
        let (control_tx, control_rx) = unbounded();
        SupervisorChild {
            path: Mutex::new(Arc::clone(&spec.name)),
            spec,
            control_tx,
            control_rx,
            shared: Arc::new(Shared::default()),
        }
    }

    /// A handle to add or remove children and read the status.
    pub fn handle(&self) -> SupervisorRef {
        SupervisorRef {
            name: Arc::clone(&self.spec.name),
            control: self.control_tx.clone(),
            shared: Arc::clone(&self.shared),
            path: self.current_path(),
        }
    }

    fn current_path(&self) -> Arc<str> {
        Arc::clone(&self.path.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The spec it runs.
    pub fn spec(&self) -> &SupervisorSpec {
        &self.spec
    }
}

impl Child for SupervisorChild {
    fn run(&self, life: Life) -> ExitReason {
        let Life {
            id,
            path,
            stop,
            heartbeat,
            started,
            events,
            clock,
            ..
        } = life;
        *self.path.lock().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&path);
        let engine = Engine::new(
            &self.spec,
            EngineSetup {
                id,
                path,
                bus: events,
                control: self.control_rx.clone(),
                control_tx: self.control_tx.clone(),
                stop,
                heartbeat,
                shared: Arc::clone(&self.shared),
                clock,
            },
        );
        engine.run(started)
    }

    fn validate(&self) -> Result<(), String> {
        self.spec.validate()
    }

    /// The parent will not run this supervisor again: release every
    /// declared child's work too (their queues are dead-lettered).
    fn on_retired(&self) {
        for c in &self.spec.children {
            c.child.on_retired();
        }
    }

    /// Removed from its parent: so are its children, declared or added.
    fn on_removed(&self) {
        let mut children = self.shared.children();
        if children.is_empty() {
            children = self
                .spec
                .children
                .iter()
                .map(|c| Arc::clone(&c.child))
                .collect();
        }
        for c in children {
            c.on_removed();
        }
    }

    /// Started again after it was retired: so are its declared children.
    fn on_revived(&self) {
        for c in &self.spec.children {
            c.child.on_revived();
        }
    }

    fn as_supervisor(&self) -> Option<&SupervisorChild> {
        Some(self)
    }

    fn queued(&self) -> usize {
        // Its children drain their own; a drain of this supervisor that ends
        // early leaves theirs.
        self.spec.children.iter().map(|c| c.child.queued()).sum()
    }

    /// While a life of it runs, its children's queues are its own to give
    /// up and report; once none runs, what they hold is left to the parent.
    fn left_behind(&self) -> usize {
        if self.shared.is_running() {
            0
        } else {
            self.queued()
        }
    }

    fn details(&self) -> ChildDetails {
        let path = self.current_path();
        let state = if self.shared.is_running() {
            ChildState::Running
        } else {
            ChildState::Stopped
        };
        ChildDetails {
            kind: "supervisor",
            queued: None,
            children: self.shared.status(&self.spec.name, &path, state).children,
        }
    }
}

impl fmt::Debug for SupervisorChild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorChild")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl ChildSpec {
    /// A nested supervisor as a child. Supervisors default to a long drain
    /// (their children have deadlines of their own) and, like OTP's, to
    /// `Permanent`.
    pub fn supervisor(spec: SupervisorSpec) -> ChildSpec {
        let budget: Duration = spec
            .children
            .iter()
            .map(|c| {
                c.shutdown
                    .drain_timeout()
                    .saturating_add(spec.abandon_after)
            })
            .fold(spec.abandon_after, Duration::saturating_add);
        let name = spec.name.to_string();
        ChildSpec::new(name, SupervisorChild::new(spec)).shutdown(crate::Shutdown::Drain(budget))
    }
}

/// The root of a supervision tree, running on its own thread.
///
/// ```
/// use threadbutler_supervisor::*;
///
/// let spec = SupervisorSpec::new("app").child(ChildSpec::new(
///     "idle",
///     FnChild::new(|mut life| {
///         life.started();
///         while life.stop.waker().recv().is_ok() && !life.stop.is_requested() {}
///         ExitReason::Shutdown
///     }),
/// ));
/// let root = Supervisor::start(spec, EventBus::new()).expect("starts");
/// assert_eq!(root.status().children[0].name, "idle");
/// root.shutdown();
/// assert!(matches!(root.wait(), ExitReason::Shutdown));
/// ```
pub struct Supervisor {
    child: Arc<SupervisorChild>,
    stop: Arc<StopSignal>,
    exit: Arc<ExitCell>,
    bus: EventBus,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Supervisor {
    /// Starts the tree: every child in order, nested supervisors included.
    /// Returns once all started.
    ///
    /// # Errors
    ///
    /// The reason the root did not start: an invalid spec (`Failed` at
    /// stage `Init`, naming the rule), or `ChildStartFailed` naming the
    /// child and its failure, after the ones already started were stopped
    /// in reverse order.
    pub fn start(spec: SupervisorSpec, bus: EventBus) -> Result<Supervisor, ExitReason> {
        spec.validate()
            .map_err(|e| ExitReason::failed(Stage::Init, e.into()))?;
        let name = spec.name.to_string();
        let spec_clock = spec.clock.clone().unwrap_or_else(crate::clock::system);
        let child = Arc::new(SupervisorChild::new(spec));
        let stop = Arc::new(StopSignal::new());
        let exit = Arc::new(ExitCell::new());
        let (started_tx, started_rx) = bounded(1);
        let (writer, _reader) = heartbeat();
        let id = crate::child::next_life_id();
        let life = Life {
            name: Arc::from(name.as_str()),
            path: Arc::from(name.as_str()),
            id,
            stop: Arc::clone(&stop),
            heartbeat: writer,
            started: StartNotice::channel(started_tx),
            events: bus.clone(),
            clock: spec_clock,
        };
        // The root's lives run on a worker like every child's; with no
        // supervisor above it, its exit goes to `exit`.
        let (events, _no_supervisor) = unbounded();
        let gate = crate::fast_restart::new_gate(
            crate::policy::RestartWindow::new(crate::Intensity::default()),
            false,
            Arc::clone(&stop),
        );
        let worker = Worker::spawn(WorkerSetup {
            name: Arc::from(name.as_str()),
            path: Arc::from(name.as_str()),
            key: 0,
            child: Arc::clone(&child) as Arc<dyn Child>,
            stack_size: None,
            events,
            bus: bus.clone(),
            gate,
            clock: Arc::clone(&life.clock),
            orphan: Some(Arc::clone(&exit)),
        })
        .map_err(|e| {
            ExitReason::failed(
                Stage::Init,
                format!("could not spawn the supervisor thread: {e}").into(),
            )
        })?;
        if worker.run(life).is_err() {
            return Err(ExitReason::failed(
                Stage::Init,
                "the supervisor thread ended before its first life".into(),
            ));
        }
        // Dropping the handle lets the thread end after this one life.
        let thread = worker
            .retire()
            .expect("a worker just spawned still has its thread handle");
        if started_rx.recv().is_err() {
            // The run ended before giving the notice: a failed start.
            let _ = thread.join();
            return Err(exit.get().unwrap_or_else(|| {
                ExitReason::failed(Stage::Start, "the supervisor ended before starting".into())
            }));
        }
        bus.emit(Event::Started {
            child: Arc::from(name.as_str()),
            id,
        });
        Ok(Supervisor {
            child,
            stop,
            exit,
            bus,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Begins an orderly shutdown: every child stops for good, in reverse
    /// start order, each by its shutdown mode. Returns at once.
    pub fn shutdown(&self) {
        self.stop.request(StopMode::Drain);
    }

    /// Forces the shutdown: drains still running are cut short and every
    /// remaining child is stopped immediately. Returns at once.
    pub fn force_shutdown(&self) {
        self.stop.request(StopMode::Immediate);
    }

    /// True once a shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        self.stop.is_requested()
    }

    /// Waits until the root ended: `Shutdown` after a requested shutdown,
    /// `GaveUp` when its restart intensity was exceeded.
    pub fn wait(&self) -> ExitReason {
        let r = self.exit.wait();
        self.join_thread();
        r
    }

    /// Like [`wait`](Self::wait), for at most `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ExitReason> {
        let r = self.exit.wait_timeout(timeout)?;
        self.join_thread();
        Some(r)
    }

    fn join_thread(&self) {
        let t = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = t {
            let _ = t.join();
        }
    }

    /// The reason the root ended, if it has.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.exit.get()
    }

    /// The live status tree.
    pub fn status(&self) -> StatusNode {
        self.child.handle().status()
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> Receiver<Event> {
        self.bus.subscribe()
    }

    /// The root's handle, to add and remove children.
    pub fn root(&self) -> SupervisorRef {
        self.child.handle()
    }

    /// The handle of the supervisor at `path` (`"app"`, `"app/db"`), if it
    /// exists and is a supervisor.
    pub fn supervisor(&self, path: &str) -> Option<SupervisorRef> {
        let mut parts = path.split('/');
        if parts.next()? != &*self.child.spec.name {
            return None;
        }
        let mut current: Arc<dyn Child> = Arc::clone(&self.child) as Arc<dyn Child>;
        for part in parts {
            // The children as they run now: added ones too, removed ones not.
            let next = current.as_supervisor()?.handle().shared.child(part)?;
            current = next;
        }
        current.as_supervisor().map(SupervisorChild::handle)
    }
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("name", &self.child.spec.name)
            .field("exit", &self.exit.get())
            .finish_non_exhaustive()
    }
}
