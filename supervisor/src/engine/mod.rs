//! The supervision engine: one event loop per supervisor, on the
//! supervisor's own thread, over per-child states with deadlines.
//!
//! # Anatomy
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | the loop: wait for a worker event, a control request, the own stop or the next deadline; then do what is due |
//! | `slot.rs` | a child's slot, its life and its phase (idle, due, starting, running, stopping, abandoned) |
//! | `start.rs` | starting a life, its notice, its failure or timeout; the initial start |
//! | `stopping.rs` | stopping a life: drain, immediate, abandon, the drain's promise |
//! | `restart.rs` | OTP's decisions: restart or retire, which group, intensity, backoff |
//! | `closing.rs` | the end of a life of the supervisor: shutdown, giving up, a failed start |
//! | `control.rs` | requests from handles: add, remove, terminate, restart, delete children |
//! | `reconfigure.rs` | reloaded policies |
//! | `rows.rs` | the status rows shared with handles |
//!
//! # Invariants
//!
//! 1. The loop never waits on one child (DESIGN rule 9). Starting,
//!    stopping, draining, abandoning and backing off are phases with
//!    deadlines; the loop blocks only in one select over worker events,
//!    control requests, its own stop signal and (for a virtual clock) the
//!    clock's jumps, until the earliest deadline. While one child takes its
//!    time, every other child's events, heartbeats, status and requests are
//!    served.
//! 2. Per child, OTP's order holds: a life has ended or been abandoned
//!    before its successor starts.
//! 3. Per group: the initial start and a group restart start their children
//!    in declaration order, each after the one before it started; a group
//!    restart stops the others in reverse order, one after another, before
//!    any starts; a closing (shutdown, giving up) stops in reverse start
//!    order, one after another, except that a child already stopping is not
//!    waited for in turn (its deadline runs already).
//! 4. Only restarts by policy count towards intensity; a stop through the
//!    API or a shutdown never restarts and never counts, except the drain's
//!    own restarts (§11.5, §11.16).
//! 5. Each life has a unique id; an event about a life that is not its
//!    slot's current one (an abandoned life finishing late) is ignored.
//! 6. A stop says why (DESIGN rule 10): lives stopped for a restart, and
//!    every child of a supervisor that gives up or is itself stopped for a
//!    restart, keep their queued work; only a final stop finishes it.
//! 7. Time is read from the tree's clock only (DESIGN rule 12); with no
//!    deadline pending (no backoff, no heartbeat watched, nothing starting
//!    or stopping) the loop blocks with no timeout: an idle tree causes no
//!    wake-up.
//! 8. Every transition is published to the status rows before its event is
//!    emitted: whoever waits on an event sees a status at least as new.
//!
//! # Lock order
//!
//! The fast-restart gate, then nothing: the loop never holds the gate while
//! it takes another lock or emits. The status rows (see `rows.rs`) are
//! taken alone.

mod closing;
mod control;
mod reconfigure;
mod restart;
mod rows;
mod slot;
mod start;
mod stopping;
mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Select, Sender, unbounded};

use crate::child::StartNotice;
use crate::clock::SharedClock;
use crate::event::{Event, EventBus};
use crate::fast_restart::{self, FastChild, Gate, LocalRestart};
use crate::heartbeat::HeartbeatWriter;
use crate::spec::{ChildSpec, SupervisorSpec};
use crate::worker::WorkerEvent;
use crate::{ExitReason, JitterRng, RestartWindow, StopMode, StopSignal, Strategy};

pub(crate) use control::Control;
pub use control::{ChildError, RemoveReport};
pub use reconfigure::{ChildPolicy, Reconfigure};
pub(crate) use rows::Shared;
pub use rows::{ChildCounts, ChildInfo, ChildKind};
use slot::{Lived, Phase, Slot};

static NEXT_LIFE: AtomicU64 = AtomicU64::new(1);

/// A process-unique id for a new life of any child.
pub fn next_life_id() -> u64 {
    NEXT_LIFE.fetch_add(1, Ordering::Relaxed)
}

/// Joins a supervisor's path and a child's name.
pub(crate) fn child_path(parent: &str, name: &str) -> Arc<str> {
    if parent.is_empty() {
        Arc::from(name)
    } else {
        Arc::from(format!("{parent}/{name}"))
    }
}

/// One life of a supervisor.
pub(crate) struct Engine {
    path: Arc<str>,
    strategy: Strategy,
    /// How long a life may ignore an immediate stop before it is abandoned.
    grace: std::time::Duration,
    clock: SharedClock,
    jumps: Option<Receiver<()>>,
    gate: Gate,
    slots: Vec<Slot>,
    next_key: u64,
    bus: EventBus,
    ev_tx: Sender<WorkerEvent>,
    ev_rx: Receiver<WorkerEvent>,
    control: Receiver<Control>,
    /// This life's own stop, from the parent.
    stop: Arc<StopSignal>,
    heartbeat: HeartbeatWriter,
    shared: Arc<Shared>,
    rng: JitterRng,
    /// The notice `start` waits for, until every child started.
    starting_up: Option<StartNotice>,
    group: Option<restart::Group>,
    closing: Option<closing::Closing>,
}

/// What woke the loop.
enum Woke {
    Event(WorkerEvent),
    Control(Control),
    Other,
}

/// Everything one life of a supervisor starts with.
pub(crate) struct EngineSetup {
    pub(crate) path: Arc<str>,
    pub(crate) bus: EventBus,
    pub(crate) control: Receiver<Control>,
    pub(crate) stop: Arc<StopSignal>,
    pub(crate) heartbeat: HeartbeatWriter,
    pub(crate) shared: Arc<Shared>,
    pub(crate) clock: SharedClock,
}

impl Engine {
    pub(crate) fn new(spec: &SupervisorSpec, setup: EngineSetup) -> Self {
        let (ev_tx, ev_rx) = unbounded();
        setup.shared.set_clock(Arc::clone(&setup.clock));
        let mut e = Engine {
            path: setup.path,
            strategy: spec.strategy,
            grace: spec.abandon_after,
            jumps: setup.clock.jumps(),
            gate: fast_restart::new_gate(
                RestartWindow::new(spec.intensity),
                spec.strategy == Strategy::OneForOne,
                Arc::clone(&setup.stop),
            ),
            clock: setup.clock,
            slots: Vec::new(),
            next_key: 0,
            bus: setup.bus,
            ev_tx,
            ev_rx,
            control: setup.control,
            stop: setup.stop,
            heartbeat: setup.heartbeat,
            shared: setup.shared,
            rng: JitterRng::new(),
            starting_up: None,
            group: None,
            closing: None,
        };
        for c in &spec.children {
            e.push_slot(c.clone());
        }
        // What reloads changed holds for every life, not just the one that
        // was running then.
        let overrides = e.shared.overrides();
        e.apply_policies(&overrides);
        e
    }

    fn push_slot(&mut self, spec: ChildSpec) -> usize {
        self.next_key += 1;
        let path = child_path(&self.path, &spec.name);
        fast_restart::lock(&self.gate).children.insert(
            self.next_key,
            FastChild {
                restart: spec.restart,
                eligible: false,
                worker: 0,
                running: false,
            },
        );
        self.slots.push(Slot::new(self.next_key, spec, path));
        let i = self.slots.len() - 1;
        self.sync_gate(i);
        i
    }

    /// Drops slot `i` and what the gate knew of it.
    fn remove_slot(&mut self, i: usize) -> Slot {
        let s = self.slots.remove(i);
        fast_restart::lock(&self.gate).children.remove(&s.key);
        s
    }

    fn slot_of(&self, key: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.key == key)
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Runs this life of the supervisor: start the children, give the
    /// notice once all started, supervise until stopped or giving up.
    pub(crate) fn run(mut self, started: StartNotice) -> ExitReason {
        self.begin_initial_start(started);
        let reason = loop {
            if let Some(r) = self.step() {
                break r;
            }
            let deadline = self.next_deadline();
            self.heartbeat.set_busy(false);
            let woke = self.wait(deadline);
            self.heartbeat.set_busy(true);
            self.heartbeat.bump();
            match woke {
                Woke::Event(ev) => self.on_worker_event(ev),
                Woke::Control(c) => self.on_control(c),
                Woke::Other => {}
            }
        };
        self.end_life();
        reason
    }

    /// Does everything that is due now; the reason once this life is over.
    fn step(&mut self) -> Option<ExitReason> {
        self.book_local_restarts();
        self.check_own_stop();
        let now = self.now();
        self.expire(now);
        self.check_heartbeats(now);
        self.advance_group(now);
        self.start_due(now);
        self.advance_startup();
        self.advance_closing()
    }

    /// The earliest instant at which something is due: a start or stop
    /// deadline, a backoff's end, a heartbeat sample.
    fn next_deadline(&self) -> Option<Instant> {
        let now = self.now();
        let mut d: Option<Instant> = None;
        let mut take = |t: Instant| d = Some(d.map_or(t, |x| x.min(t)));
        for s in &self.slots {
            match &s.phase {
                // Due and free to start (past its time: at once).
                Phase::Due {
                    at: Some(at),
                    after,
                } if self.closing.is_none() && self.may_follow(*after) => take(*at),
                Phase::Starting { deadline } => take(*deadline),
                Phase::Stopping(st) => take(st.deadline),
                _ => {}
            }
            let watched = matches!(s.phase, Phase::Running)
                || matches!(&s.phase, Phase::Stopping(st) if st.mode == StopMode::Drain);
            if watched && let (Some(timeout), Some(life)) = (s.spec.heartbeat, &s.life) {
                take(life.next_sample(now, timeout));
            }
        }
        d
    }

    fn wait(&self, deadline: Option<Instant>) -> Woke {
        if deadline.is_some_and(|d| d <= self.now()) {
            return Woke::Other;
        }
        let mut sel = Select::new();
        let ev = sel.recv(&self.ev_rx);
        let ctl = sel.recv(&self.control);
        let stop = sel.recv(self.stop.waker());
        let jump = self.jumps.as_ref().map(|j| sel.recv(j));
        let op = match (deadline, &self.jumps) {
            // A virtual clock: its jumps wake us to look again.
            (_, Some(_)) | (None, None) => sel.select(),
            (Some(d), None) => match sel.select_deadline(d) {
                Ok(op) => op,
                Err(_) => return Woke::Other,
            },
        };
        let i = op.index();
        if i == ev {
            // We hold a sender: the channel cannot be disconnected.
            op.recv(&self.ev_rx).map_or(Woke::Other, Woke::Event)
        } else if i == ctl {
            // The `SupervisorChild` holds the sender while the engine runs.
            op.recv(&self.control).map_or(Woke::Other, Woke::Control)
        } else if i == stop {
            let _ = op.recv(self.stop.waker());
            Woke::Other
        } else {
            debug_assert_eq!(Some(i), jump);
            if let Some(j) = &self.jumps {
                let _ = op.recv(j);
            }
            Woke::Other
        }
    }

    /// A worker reports a start or an exit.
    fn on_worker_event(&mut self, ev: WorkerEvent) {
        // Local restarts come before anything their new lives report.
        self.book_local_restarts();
        match ev {
            WorkerEvent::Started { key, id } => {
                if let Some(i) = self.slot_of(key) {
                    self.on_started(i, id);
                }
            }
            WorkerEvent::Exited { key, id, reason } => {
                let Some(i) = self.slot_of(key) else { return };
                if self.slots[i].life_id() != Some(id) {
                    return; // an abandoned life ending late
                }
                let now = self.now();
                self.slots[i].end_life(now);
                match self.slots[i].phase {
                    Phase::Starting { .. } => self.start_failed(i, reason, true),
                    Phase::Stopping(_) => self.stop_ended(i, stopping::Ended::Exited(reason)),
                    _ => {
                        self.emit(Event::Exited {
                            child: Arc::clone(&self.slots[i].path),
                            id,
                            reason: reason.clone(),
                        });
                        self.ended(i, reason);
                    }
                }
            }
        }
    }

    /// Tells the gate what it needs to know of slot `i`: whether its worker
    /// may restart it on its own right now.
    fn sync_gate(&self, i: usize) {
        let s = &self.slots[i];
        let mut g = fast_restart::lock(&self.gate);
        if let Some(c) = g.children.get_mut(&s.key) {
            c.restart = s.spec.restart;
            c.eligible = s.spec.backoff.min.is_zero() && !s.spec.fresh_thread;
            c.worker = s.worker.as_ref().map_or(0, |w| w.id);
            c.running = matches!(s.phase, Phase::Running) && s.life.is_some();
        }
    }

    /// Takes slot `i` out of the gate (its worker may no longer restart it
    /// on its own) and books what it did before: afterwards the slot's
    /// life is the one the worker runs.
    fn hold(&mut self, i: usize) {
        let key = self.slots[i].key;
        let made = {
            let mut g = fast_restart::lock(&self.gate);
            if let Some(c) = g.children.get_mut(&key) {
                c.running = false;
            }
            std::mem::take(&mut g.made)
        };
        for r in made {
            self.absorb_restart(r);
        }
    }

    /// Books the restarts workers made on their own since the last look.
    fn book_local_restarts(&mut self) {
        let made = std::mem::take(&mut fast_restart::lock(&self.gate).made);
        for r in made {
            self.absorb_restart(r);
        }
    }

    /// Books a restart a worker made on its own (see `fast_restart`): the
    /// same bookkeeping and events as a supervised restart with no backoff.
    fn absorb_restart(&mut self, r: LocalRestart) {
        let LocalRestart {
            key,
            old,
            reason,
            new,
            stop,
            heartbeat: hb,
            at,
        } = r;
        let Some(i) = self.slot_of(key) else { return };
        let s = &mut self.slots[i];
        if s.life_id() != Some(old) {
            return; // cannot happen: the gate admits only the current life
        }
        s.end_life(at);
        s.last_exit = Some(reason.clone());
        let attempt = s.count_restart();
        s.life = Some(Lived::new(new, stop, hb, at));
        let path = Arc::clone(&s.path);
        self.emit(Event::Exited {
            child: Arc::clone(&path),
            id: old,
            reason,
        });
        self.emit(Event::Restarting {
            child: Arc::clone(&path),
            attempt,
            delay: std::time::Duration::ZERO,
        });
        self.emit(Event::Starting {
            child: path,
            id: new,
        });
    }

    /// Publishes the status of the event's subject, then the event.
    fn emit(&self, event: Event) {
        match self.slots.iter().position(|s| *s.path == *event.subject()) {
            Some(i) => self.shared.touch(&self.slots, i),
            None => self.publish(),
        }
        self.bus.emit(event);
    }

    /// Rebuilds every status row.
    fn publish(&self) {
        self.shared.publish(&self.slots);
    }

    /// Refreshes slot `i`'s row (a change with no event of its own).
    fn touch(&self, i: usize) {
        self.shared.touch(&self.slots, i);
    }
}

impl Drop for Engine {
    /// A panic on the supervisor's thread (a user callback, a bug) must not
    /// leave its children running unsupervised: ask every life to stop,
    /// release every child's work, and answer pending requests.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        self.end_life();
        for s in &self.slots {
            if let Some(life) = &s.life {
                life.stop.request(StopMode::Immediate);
            }
            let child = Arc::clone(&s.spec.child);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child.on_retired()));
        }
    }
}
