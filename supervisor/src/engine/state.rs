//! The state of one life of a supervisor, and the bookkeeping every step
//! shares: slots, the fast-restart gate, the status rows and events.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::child::StartNotice;
use crate::clock::SharedClock;
use crate::event::{Event, EventBus};
use crate::fast_restart::{self, FastChild, Gate, LocalRestart};
use crate::heartbeat::HeartbeatWriter;
use crate::spec::{ChildSpec, SupervisorSpec};
use crate::worker::WorkerEvent;
use crate::{JitterRng, RestartWindow, StopMode, StopSignal, Strategy};

use super::plans::{Closing, Group};
use super::requests::Control;
use super::rows::Shared;
use super::slot::{Lived, Phase, Slot};

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
    pub(super) path: Arc<str>,
    pub(super) strategy: Strategy,
    /// How long a life may ignore an immediate stop before it is abandoned.
    pub(super) grace: std::time::Duration,
    pub(super) clock: SharedClock,
    pub(super) jumps: Option<Receiver<()>>,
    pub(super) gate: Gate,
    pub(super) slots: Vec<Slot>,
    pub(super) next_key: u64,
    pub(super) bus: EventBus,
    pub(super) ev_tx: Sender<WorkerEvent>,
    pub(super) ev_rx: Receiver<WorkerEvent>,
    pub(super) control: Receiver<Control>,
    /// This life's own stop, from the parent.
    pub(super) stop: Arc<StopSignal>,
    pub(super) heartbeat: HeartbeatWriter,
    pub(super) shared: Arc<Shared>,
    pub(super) rng: JitterRng,
    /// The notice `start` waits for, until every child started.
    pub(super) starting_up: Option<StartNotice>,
    pub(super) group: Option<Group>,
    pub(super) closing: Option<Closing>,
    /// This life's id: a later life of the same supervisor (after this one
    /// was abandoned) takes the shared rows and requests over.
    pub(super) id: u64,
    pub(super) control_tx: Sender<Control>,
    /// Threads of retired workers, joined when this life ends.
    pub(super) retired_threads: Vec<std::thread::JoinHandle<()>>,
}

/// Everything one life of a supervisor starts with.
pub(crate) struct EngineSetup {
    /// This life's id.
    pub(crate) id: u64,
    pub(crate) path: Arc<str>,
    pub(crate) bus: EventBus,
    pub(crate) control: Receiver<Control>,
    /// The same channel's sender: a request taken by a superseded life is
    /// put back for the current one.
    pub(crate) control_tx: Sender<Control>,
    pub(crate) stop: Arc<StopSignal>,
    pub(crate) heartbeat: HeartbeatWriter,
    pub(crate) shared: Arc<Shared>,
    pub(crate) clock: SharedClock,
}

impl Engine {
    pub(crate) fn new(spec: &SupervisorSpec, setup: EngineSetup) -> Self {
        let (ev_tx, ev_rx) = unbounded();
        setup.shared.set_clock(Arc::clone(&setup.clock));
        setup.shared.take_over(setup.id);
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
            retired_threads: Vec::new(),
            id: setup.id,
            control_tx: setup.control_tx,
        };
        for c in &spec.children {
            e.push_slot(c.clone());
        }
        // What reloads changed holds for every life, not just the one that
        // was running then.
        let (own, children) = e.shared.overrides();
        e.apply_policies(&own, &children);
        e
    }

    pub(super) fn push_slot(&mut self, spec: ChildSpec) -> usize {
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
    /// Takes slot `i` out of the supervisor for good; the child hears of
    /// it (`on_removed`) here, on every path that removes one.
    pub(super) fn remove_slot(&mut self, i: usize) -> Slot {
        let s = self.slots.remove(i);
        fast_restart::lock(&self.gate).children.remove(&s.key);
        s.spec.child.on_removed();
        s
    }

    pub(super) fn slot_of(&self, key: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.key == key)
    }

    pub(super) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Tells the gate what it needs to know of slot `i`: whether its worker
    /// may restart it on its own right now.
    pub(super) fn sync_gate(&self, i: usize) {
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
    pub(super) fn hold(&mut self, i: usize) {
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
    pub(super) fn book_local_restarts(&mut self) {
        let made = std::mem::take(&mut fast_restart::lock(&self.gate).made);
        for r in made {
            self.absorb_restart(r);
        }
    }

    /// Books a restart a worker made on its own (see `fast_restart`): the
    /// same bookkeeping and events as a supervised restart with no backoff.
    pub(super) fn absorb_restart(&mut self, r: LocalRestart) {
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

    /// Keeps a retired worker's thread to join at the end of this life
    /// (those that ended already are let go now).
    pub(super) fn retired_thread(&mut self, t: Option<std::thread::JoinHandle<()>>) {
        self.retired_threads.retain(|t| !t.is_finished());
        self.retired_threads.extend(t);
    }

    /// Publishes the status of the event's subject, then the event.
    /// Slot `i`'s queued work was given up (`left` items, perhaps none):
    /// said as `Drained { left }`, and tallied for a removal's report.
    pub(super) fn gave_up(&mut self, i: usize, left: u64) {
        self.slots[i].given_up += left;
        self.emit(Event::Drained {
            child: Arc::clone(&self.slots[i].path),
            left,
        });
    }

    pub(super) fn emit(&self, event: Event) {
        // Events name a slot by its own `Arc<str>`: pointers first (cheap),
        // text only if none matches.
        let subject = event.subject();
        let at = self
            .slots
            .iter()
            .position(|s| std::ptr::eq(s.path.as_ptr(), subject.as_ptr()))
            .or_else(|| self.slots.iter().position(|s| *s.path == *subject));
        match at {
            Some(i) => self.touch(i),
            None => self.publish(),
        }
        self.bus.emit(event);
    }

    /// Rebuilds every status row.
    pub(super) fn publish(&self) {
        if !self.superseded() {
            self.shared.publish(&self.slots);
        }
    }

    /// Refreshes slot `i`'s row (a change with no event of its own).
    pub(super) fn touch(&self, i: usize) {
        if !self.superseded() {
            self.shared.touch(&self.slots, i);
        }
    }

    /// True once a later life of this supervisor started (this one was
    /// abandoned by its parent and ends late): the shared rows, the running
    /// flag and the requests are that life's.
    pub(super) fn superseded(&self) -> bool {
        self.shared.current_life() != self.id
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
