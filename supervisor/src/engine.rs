//! The supervision loop: one per supervisor, on the supervisor's own thread.
//!
//! # Invariants
//!
//! - Children start one at a time in declaration order; each start waits for
//!   the child's start notice (or its exit, or the start timeout) before the
//!   next begins. They stop one at a time in reverse order.
//! - Only restarts by policy are counted towards intensity; a stop through
//!   the API or a shutdown never restarts and never counts, except for the
//!   drain's own restarts (§11.5, §11.16).
//! - Each life has a unique id; an event about a life that is not the slot's
//!   current one (an abandoned life finishing late) is ignored.
//! - A child in its backoff wait is not running: a shutdown retires it at
//!   once, without starting it.
//! - The loop blocks in one select (worker events, control requests, its own
//!   stop signal) with a deadline only when a backoff is pending or a
//!   heartbeat is watched: an idle tree without heartbeats causes no wake-up.
//!
//! # Synchronous steps
//!
//! Starting and stopping a child are synchronous, as in OTP: the loop waits
//! for that child's events and sets others aside (`pending`), handling them
//! right after. A stop escalated by the supervisor's own stop signal (a
//! forced shutdown) cuts a drain short.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, Sender, unbounded};

use crate::child::{Child, ChildDetails, Life, StartNotice};
use crate::event::{Event, EventBus};
use crate::fast_restart::{self, FastChild, Gate, LocalRestart};
use crate::heartbeat::{HeartbeatReader, HeartbeatWriter, heartbeat};
use crate::spec::{ChildSpec, SupervisorSpec};
use crate::status::{ChildState, StatusNode};
use crate::worker::{Worker, WorkerEvent, WorkerSetup};
use crate::{
    ExitReason, JitterRng, Restart, RestartWindow, Shutdown, Stage, StopMode, StopSignal, Strategy,
};

static NEXT_LIFE: AtomicU64 = AtomicU64::new(1);

/// `t + d`, or about a century after `t` when that overflows: a deadline
/// that never comes, never a panic (a `Duration::MAX` timeout is legal).
pub(crate) fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(t)
}

/// A process-unique id for a new life of any child.
pub fn next_life_id() -> u64 {
    NEXT_LIFE.fetch_add(1, Ordering::Relaxed)
}

/// A request to a running supervisor.
pub(crate) enum Control {
    Add {
        spec: ChildSpec,
        reply: Sender<Result<(), ExitReason>>,
    },
    Remove {
        name: String,
        reply: Sender<Option<RemoveReport>>,
    },
    Reconfigure {
        change: Reconfigure,
        reply: Sender<Vec<String>>,
    },
}

/// New policies for a running supervisor and some of its children (a
/// reload). What is not given stays as it is. They apply from the next
/// decision on: a running life keeps running.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Reconfigure {
    /// The supervisor's new strategy.
    pub strategy: Option<Strategy>,
    /// Its new intensity (the restarts recorded so far are forgotten).
    pub intensity: Option<crate::Intensity>,
    /// New policies by child name.
    pub children: Vec<(String, ChildPolicy)>,
}

/// New policies for one child; `None` keeps the current one.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct ChildPolicy {
    /// Its restart type.
    pub restart: Option<Restart>,
    /// Its shutdown mode.
    pub shutdown: Option<Shutdown>,
    /// Its heartbeat timeout.
    pub heartbeat: Option<Duration>,
    /// Its backoff.
    pub backoff: Option<crate::Backoff>,
}

/// How a removed child ended.
#[derive(Debug, Clone)]
pub struct RemoveReport {
    /// Its exit reason, or `None` if it was abandoned or not running.
    pub reason: Option<ExitReason>,
    /// True if it was abandoned.
    pub abandoned: bool,
}

/// What a stop of one life came to.
enum Stopped {
    Exited(ExitReason),
    Abandoned,
    NotRunning,
}

struct Inst {
    id: u64,
    stop: Arc<StopSignal>,
    hb: HeartbeatReader,
    started_at: Instant,
    /// True once its start notice arrived.
    started: bool,
    /// Progress as last sampled, and when it last moved (or the child last
    /// became busy).
    watch: (u64, Option<Instant>),
}

impl Inst {
    /// Samples the heartbeat at `now`: true if the life has been busy
    /// without progress for `timeout` (the two-sample rule of §9.2).
    fn hung(&mut self, now: Instant, timeout: Duration) -> bool {
        let sample = self.hb.sample();
        if !sample.busy {
            self.watch = (sample.progress, None);
            return false;
        }
        match self.watch {
            (progress, Some(since)) if progress == sample.progress => {
                now.saturating_duration_since(since) >= timeout
            }
            _ => {
                self.watch = (sample.progress, Some(now));
                false
            }
        }
    }
}

/// How often a heartbeat with `timeout` is sampled: at half of it, so that
/// a hang is seen within 1.5x.
fn sample_step(timeout: Duration) -> Duration {
    (timeout / 2).max(Duration::from_millis(1))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum SlotState {
    Running,
    Backoff(Instant),
    Stopped,
    Abandoned,
}

struct Slot {
    key: u64,
    spec: ChildSpec,
    path: Arc<str>,
    worker: Option<Worker>,
    inst: Option<Inst>,
    state: SlotState,
    attempts: u32,
    restarts: u64,
    last_exit: Option<ExitReason>,
    last_ran: Duration,
    /// Added at run time, not part of the spec.
    dynamic: bool,
}

/// A row of the shared status, refreshed by the loop after each step.
pub(crate) struct Row {
    key: u64,
    heartbeat: Option<Duration>,
    name: Arc<str>,
    path: Arc<str>,
    child: Arc<dyn Child>,
    state: ChildState,
    restarts: u64,
    last_exit: Option<String>,
    hb: Option<(u64, HeartbeatReader)>,
    seen: Mutex<(u64, u64, Instant)>,
}

/// What a supervisor shares with its handles: the status rows.
#[derive(Default)]
pub(crate) struct Shared {
    rows: Mutex<Vec<Row>>,
    pub(crate) running: Mutex<bool>,
    /// Every reload's changes, merged: a later life of this supervisor
    /// (after it gave up and was restarted) starts with them too.
    overrides: Mutex<Reconfigure>,
}

impl Shared {
    /// Merges a reload's changes into those remembered for later lives.
    fn remember(&self, change: Reconfigure) {
        let mut o = self
            .overrides
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        o.strategy = change.strategy.or(o.strategy);
        o.intensity = change.intensity.or(o.intensity);
        for (name, p) in change.children {
            match o.children.iter_mut().find(|(n, _)| *n == name) {
                Some((_, q)) => {
                    q.restart = p.restart.or(q.restart);
                    q.shutdown = p.shutdown.or(q.shutdown);
                    q.heartbeat = p.heartbeat.or(q.heartbeat);
                    q.backoff = p.backoff.or(q.backoff);
                }
                None => o.children.push((name, p)),
            }
        }
    }

    fn overrides(&self) -> Reconfigure {
        self.overrides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn status(&self, name: &str, path: &str, own_state: ChildState) -> StatusNode {
        let mut node = StatusNode::new(name, path, "supervisor", own_state);
        let mut children: Vec<Arc<dyn Child>> = Vec::new();
        {
            let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            for r in rows.iter() {
                let mut n = StatusNode::new(&r.name, &r.path, "child", r.state);
                n.restarts = r.restarts;
                n.last_exit = r.last_exit.clone();
                if let Some((id, hb)) = &r.hb {
                    let s = hb.sample();
                    let mut seen = r.seen.lock().unwrap_or_else(PoisonError::into_inner);
                    // Staleness counts from the first busy sample without
                    // progress: an idle spell is not lack of progress.
                    if seen.0 != *id || seen.1 != s.progress || !s.busy {
                        *seen = (*id, s.progress, now);
                    }
                    n.busy = s.busy;
                    n.heartbeat_ms = r.heartbeat.map(|t| t.as_millis() as u64);
                    n.since_progress_ms =
                        Some(now.saturating_duration_since(seen.2).as_millis() as u64);
                }
                node.children.push(n);
                children.push(Arc::clone(&r.child));
            }
        }
        // The children's own details (user code for a custom `Child`) are
        // asked for after the rows' lock is released.
        for (n, child) in node.children.iter_mut().zip(children) {
            let details: ChildDetails = child.details();
            if !details.kind.is_empty() {
                n.kind = details.kind;
            }
            n.mailbox_depth = details.mailbox_depth;
            n.children = details.children;
        }
        node
    }

    pub(crate) fn set_running(&self, running: bool) {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = running;
    }

    pub(crate) fn is_running(&self) -> bool {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Everything one life of a supervisor needs.
pub(crate) struct Engine {
    path: Arc<str>,
    strategy: Strategy,
    gate: Gate,
    /// Set once this life of the supervisor is ending: the gate stays shut.
    closing: bool,
    /// Set while it stops its children because it gave up or failed to
    /// start: no drain starts new lives then.
    giving_up: bool,
    grace: Duration,
    slots: Vec<Slot>,
    next_key: u64,
    bus: EventBus,
    ev_tx: Sender<WorkerEvent>,
    ev_rx: Receiver<WorkerEvent>,
    pending: VecDeque<WorkerEvent>,
    control: Receiver<Control>,
    stop: Arc<StopSignal>,
    heartbeat: HeartbeatWriter,
    shared: Arc<Shared>,
    rng: JitterRng,
}

/// Joins a supervisor's path and a child's name.
pub(crate) fn child_path(parent: &str, name: &str) -> Arc<str> {
    if parent.is_empty() {
        Arc::from(name)
    } else {
        Arc::from(format!("{parent}/{name}"))
    }
}

impl Engine {
    pub(crate) fn new(
        spec: &SupervisorSpec,
        path: Arc<str>,
        bus: EventBus,
        control: Receiver<Control>,
        life_stop: Arc<StopSignal>,
        heartbeat: HeartbeatWriter,
        shared: Arc<Shared>,
    ) -> Self {
        let (ev_tx, ev_rx) = unbounded();
        let mut e = Engine {
            path,
            strategy: spec.strategy,
            gate: fast_restart::new_gate(
                RestartWindow::new(spec.intensity),
                spec.strategy == Strategy::OneForOne,
                Arc::clone(&life_stop),
            ),
            closing: false,
            giving_up: false,
            grace: spec.abandon_after,
            slots: Vec::new(),
            next_key: 0,
            bus,
            ev_tx,
            ev_rx,
            pending: VecDeque::new(),
            control,
            stop: life_stop,
            heartbeat,
            shared,
            rng: JitterRng::new(),
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
                eligible: spec.backoff.min.is_zero() && !spec.fresh_thread,
                worker: 0,
            },
        );
        self.slots.push(Slot {
            key: self.next_key,
            spec,
            path,
            worker: None,
            inst: None,
            state: SlotState::Stopped,
            attempts: 0,
            restarts: 0,
            last_exit: None,
            last_ran: Duration::ZERO,
            dynamic: false,
        });
        self.slots.len() - 1
    }

    /// Runs the supervisor's life: start the children, give the notice,
    /// supervise until stopped or giving up.
    pub(crate) fn run(mut self, started: &mut StartNotice) -> ExitReason {
        let reason = self.run_life(started);
        self.end_life();
        reason
    }

    /// This life of the supervisor is over: no more requests are taken, and
    /// those queued are answered (`Shutdown`, `None`) rather than left
    /// hanging.
    fn end_life(&mut self) {
        self.closing = true;
        fast_restart::lock(&self.gate).open = false;
        let queued: Vec<Control> = {
            let mut running = self
                .shared
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *running = false;
            self.control.try_iter().collect()
        };
        for c in queued {
            match c {
                Control::Add { spec, reply } => {
                    spec.child.on_retired();
                    let _ = reply.send(Err(ExitReason::Shutdown));
                }
                Control::Remove { reply, .. } => {
                    let _ = reply.send(None);
                }
                Control::Reconfigure { change, reply } => {
                    let _ = reply.send(change.children.into_iter().map(|(n, _)| n).collect());
                }
            }
        }
    }

    fn run_life(&mut self, started: &mut StartNotice) -> ExitReason {
        for i in 0..self.slots.len() {
            if let Err(reason) = self.start_slot(i) {
                let child = Arc::clone(&self.slots[i].path);
                self.slots[i].last_exit = Some(reason.clone());
                self.publish();
                self.stop_all(false);
                return ExitReason::ChildStartFailed {
                    child,
                    reason: Box::new(reason),
                };
            }
        }
        self.publish();
        self.shared.set_running(true);
        started.give();
        self.supervise()
    }

    fn supervise(&mut self) -> ExitReason {
        loop {
            self.book_local_restarts();
            if self.stop.is_requested() {
                self.stop_all(true);
                return ExitReason::Shutdown;
            }
            while let Some(ev) = self.pending.pop_front() {
                if let Some(r) = self.on_event(ev) {
                    return r;
                }
            }
            if let Some(r) = self.start_due() {
                return r;
            }
            if let Some(r) = self.check_heartbeats() {
                return r;
            }
            if self.stop.is_requested() || !self.pending.is_empty() {
                continue;
            }
            self.publish();
            let deadline = self.next_deadline();
            self.heartbeat.set_busy(false);
            let woke = self.wait(deadline);
            self.heartbeat.set_busy(true);
            self.heartbeat.bump();
            match woke {
                Woke::Event(ev) => {
                    if let Some(r) = self.on_event(ev) {
                        return r;
                    }
                }
                Woke::Control(c) => {
                    if let Some(r) = self.on_control(c) {
                        return r;
                    }
                }
                Woke::Stop | Woke::Timeout => {}
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut take = |t: Instant| d = Some(d.map_or(t, |x| x.min(t)));
        for s in &self.slots {
            if let SlotState::Backoff(until) = s.state {
                take(until);
            }
            if let (Some(timeout), Some(inst)) = (s.spec.heartbeat, &s.inst) {
                let next = after(Instant::now(), sample_step(timeout));
                take(
                    inst.watch
                        .1
                        .map_or(next, |since| after(since, timeout).min(next)),
                );
            }
        }
        d
    }

    fn wait(&self, deadline: Option<Instant>) -> Woke {
        let mut sel = Select::new();
        let ev = sel.recv(&self.ev_rx);
        let ctl = sel.recv(&self.control);
        let stop = sel.recv(self.stop.waker());
        let op = match deadline {
            None => sel.select(),
            Some(d) => match sel.select_deadline(d) {
                Ok(op) => op,
                Err(_) => return Woke::Timeout,
            },
        };
        let i = op.index();
        if i == ev {
            match op.recv(&self.ev_rx) {
                Ok(e) => Woke::Event(e),
                Err(_) => Woke::Timeout, // we hold a sender: cannot happen
            }
        } else if i == ctl {
            match op.recv(&self.control) {
                Ok(c) => Woke::Control(c),
                // Cannot happen while the engine runs: its `SupervisorChild`
                // holds the sender.
                Err(_) => Woke::Timeout,
            }
        } else {
            debug_assert_eq!(i, stop);
            let _ = op.recv(self.stop.waker());
            Woke::Stop
        }
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

    /// A worker event outside a synchronous step.
    fn on_event(&mut self, ev: WorkerEvent) -> Option<ExitReason> {
        // Local restarts come before anything their new lives report.
        self.book_local_restarts();
        match ev {
            WorkerEvent::Started { key, id } => {
                // A life the worker restarted on its own reports in.
                let i = self.slot_of(key)?;
                let inst = self.slots[i]
                    .inst
                    .as_mut()
                    .filter(|x| x.id == id && !x.started)?;
                inst.started = true;
                let child = Arc::clone(&self.slots[i].path);
                self.emit(Event::Started { child, id });
                None
            }
            WorkerEvent::Exited { key, id, reason } => {
                let i = self.slot_of(key)?;
                if self.slots[i].inst.as_ref().map(|x| x.id) != Some(id) {
                    return None; // an abandoned life ending late
                }
                let inst = self.slots[i].inst.take()?;
                self.slots[i].last_ran = inst.started_at.elapsed();
                self.emit(Event::Exited {
                    child: Arc::clone(&self.slots[i].path),
                    id,
                    reason: reason.clone(),
                });
                self.ended(i, reason)
            }
        }
    }

    /// Books a restart the worker made on its own (see `fast_restart`): the
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
        if s.inst.as_ref().map(|x| x.id) != Some(old) {
            return; // cannot happen: the gate admits only the current worker
        }
        if let Some(inst) = s.inst.take() {
            s.last_ran = at.saturating_duration_since(inst.started_at);
        }
        s.last_exit = Some(reason.clone());
        if s.last_ran >= s.spec.backoff.reset_after {
            s.attempts = 0;
        }
        s.attempts = s.attempts.saturating_add(1);
        s.restarts += 1;
        let attempt = s.attempts;
        s.inst = Some(Inst {
            id: new,
            stop,
            hb,
            started_at: at,
            started: false,
            watch: (0, None),
        });
        s.state = SlotState::Running;
        let path = Arc::clone(&s.path);
        self.emit(Event::Exited {
            child: Arc::clone(&path),
            id: old,
            reason,
        });
        self.emit(Event::Restarting {
            child: Arc::clone(&path),
            attempt,
            delay: Duration::ZERO,
        });
        self.emit(Event::Starting {
            child: path,
            id: new,
        });
    }

    /// Applies new policies; returns the names of children it does not have.
    fn reconfigure(&mut self, change: Reconfigure) -> Vec<String> {
        let unknown = self.apply_policies(&change);
        for (name, _) in &change.children {
            if !unknown.contains(name) {
                tracing::info!(supervisor = %self.path, child = %name, "child policies reloaded");
            }
        }
        self.shared.remember(change);
        self.publish();
        unknown
    }

    /// Applies new policies; returns the names of children not found.
    fn apply_policies(&mut self, change: &Reconfigure) -> Vec<String> {
        if let Some(st) = change.strategy {
            self.strategy = st;
            let mut g = fast_restart::lock(&self.gate);
            g.open = !self.closing && st == Strategy::OneForOne;
        }
        if let Some(i) = change.intensity {
            fast_restart::lock(&self.gate).window = RestartWindow::new(i);
        }
        let mut unknown = Vec::new();
        for (name, p) in &change.children {
            let Some(i) = self.slots.iter().position(|s| *s.spec.name == **name) else {
                unknown.push(name.clone());
                continue;
            };
            let key = self.slots[i].key;
            let spec = &mut self.slots[i].spec;
            if let Some(r) = p.restart {
                spec.restart = r;
            }
            if let Some(sd) = p.shutdown {
                spec.shutdown = sd;
            }
            if let Some(h) = p.heartbeat {
                spec.heartbeat = Some(h);
            }
            if let Some(b) = p.backoff {
                spec.backoff = b;
            }
            let (restart, eligible) = (
                spec.restart,
                spec.backoff.min.is_zero() && !spec.fresh_thread,
            );
            if let Some(c) = fast_restart::lock(&self.gate).children.get_mut(&key) {
                c.restart = restart;
                c.eligible = eligible;
            }
        }
        unknown
    }

    /// Books the restarts workers made on their own since the last look.
    fn book_local_restarts(&mut self) {
        let made = std::mem::take(&mut fast_restart::lock(&self.gate).made);
        for r in made {
            self.absorb_restart(r);
        }
    }

    /// Shuts the gate so that no worker restarts on its own, then books the
    /// local restarts made before.
    fn close_gate(&mut self) {
        fast_restart::lock(&self.gate).open = false;
        self.book_local_restarts();
    }

    /// Opens the gate again after a synchronous step, unless this life of
    /// the supervisor is ending or its strategy restarts groups.
    fn reopen_gate(&self) {
        if !self.closing && self.strategy == Strategy::OneForOne {
            fast_restart::lock(&self.gate).open = true;
        }
    }

    fn close_gate_for_good(&mut self) {
        self.closing = true;
        self.close_gate();
    }

    /// A child's life ended on its own (or was ended for a missed heartbeat):
    /// restart it by policy, or retire it.
    fn ended(&mut self, i: usize, reason: ExitReason) -> Option<ExitReason> {
        self.slots[i].last_exit = Some(reason.clone());
        let failure = reason.is_failure();
        if !self.slots[i].spec.restart.restarts_after(failure) {
            self.retire(i);
            return None;
        }
        self.restart_from(i)
    }

    /// Retires slot `i`: it will not run again. Temporary specs are dropped.
    fn retire(&mut self, i: usize) {
        let s = &mut self.slots[i];
        s.state = SlotState::Stopped;
        s.spec.child.on_retired();
        if let Some(w) = s.worker.take() {
            w.retire();
        }
        let path = Arc::clone(&s.path);
        if s.spec.restart == Restart::Temporary {
            self.remove_slot(i);
        }
        self.emit(Event::Stopped { child: path });
    }

    /// Counts one restart in the intensity window if it allows one more;
    /// false (and nothing counted) if not.
    fn admit_restart(&self) -> bool {
        fast_restart::lock(&self.gate)
            .window
            .try_record(Instant::now())
    }

    /// Applies the strategy after slot `i` failed or ended with a restart
    /// due: counts the restart, stops the siblings the strategy names, and
    /// schedules their starts after the backoff.
    fn restart_from(&mut self, i: usize) -> Option<ExitReason> {
        let now = Instant::now();
        let (admitted, intensity) = {
            let mut g = fast_restart::lock(&self.gate);
            (g.window.record(now), g.window.intensity())
        };
        if !admitted {
            self.close_gate_for_good();
            self.emit(Event::GaveUp {
                supervisor: Arc::clone(&self.path),
                max_restarts: intensity.max_restarts,
                period: intensity.period,
            });
            self.stop_all(false);
            return Some(ExitReason::GaveUp {
                max_restarts: intensity.max_restarts,
                period: intensity.period,
            });
        }
        let s = &mut self.slots[i];
        if s.last_ran >= s.spec.backoff.reset_after {
            s.attempts = 0;
        }
        s.attempts = s.attempts.saturating_add(1);
        let attempt = s.attempts;
        let delay = s.spec.backoff.delay(attempt, self.rng.next_unit());
        let key = s.key;

        let group: Vec<u64> = match self.strategy {
            Strategy::OneForOne => vec![key],
            Strategy::OneForAll => self
                .slots
                .iter()
                .filter(|s| s.key == key || s.is_live())
                .map(|s| s.key)
                .collect(),
            Strategy::RestForOne => self.slots[i..]
                .iter()
                .filter(|s| s.key == key || s.is_live())
                .map(|s| s.key)
                .collect(),
        };
        // Stop the others, in reverse start order; their queues are kept
        // for their next lives.
        for &k in group.iter().rev() {
            if k == key {
                continue;
            }
            let Some(j) = self.slot_of(k) else { continue };
            if self.slots[j].inst.is_some() {
                match self.stop_slot(j, false, None) {
                    Stopped::Exited(r) => self.slots[j].last_exit = Some(r),
                    Stopped::Abandoned | Stopped::NotRunning => {}
                }
            }
        }
        let until = after(now, delay);
        let mut retired = Vec::new();
        for &k in &group {
            let Some(j) = self.slot_of(k) else { continue };
            let s = &mut self.slots[j];
            if k != key && s.spec.restart == Restart::Temporary {
                retired.push(k);
                continue;
            }
            s.state = SlotState::Backoff(match s.state {
                SlotState::Backoff(t) => t.max(until),
                _ => until,
            });
            s.restarts += 1;
            let attempt = if k == key { attempt } else { s.attempts.max(1) };
            let child = Arc::clone(&s.path);
            self.emit(Event::Restarting {
                child,
                attempt,
                delay,
            });
        }
        for k in retired {
            if let Some(j) = self.slot_of(k) {
                self.retire(j);
            }
        }
        None
    }

    /// Starts, in declaration order, every child whose backoff is over.
    fn start_due(&mut self) -> Option<ExitReason> {
        let now = Instant::now();
        let mut i = 0;
        while i < self.slots.len() {
            if let SlotState::Backoff(until) = self.slots[i].state
                && until <= now
            {
                if self.stop.is_requested() {
                    return None; // the loop shuts down; nothing new starts
                }
                if let Err(reason) = self.start_slot(i) {
                    // A failed restart counts like a failure and escalates.
                    self.slots[i].last_ran = Duration::ZERO;
                    if let Some(r) = self.ended(i, reason) {
                        return Some(r);
                    }
                    continue; // re-examine from the same index
                }
            }
            i += 1;
        }
        None
    }

    /// Samples watched heartbeats; a hung child is stopped and handled as a
    /// `HeartbeatMissed` failure.
    fn check_heartbeats(&mut self) -> Option<ExitReason> {
        let now = Instant::now();
        let mut hung = Vec::new();
        for s in self.slots.iter_mut() {
            let (Some(timeout), Some(inst)) = (s.spec.heartbeat, s.inst.as_mut()) else {
                continue;
            };
            if inst.hung(now, timeout) {
                hung.push((s.key, inst.id, timeout));
            }
        }
        for (key, id, timeout) in hung {
            // Book local restarts first: the hung life may have ended and
            // been replaced since it was sampled; then it is not hung.
            self.close_gate();
            let current = self
                .slot_of(key)
                .and_then(|i| self.slots[i].inst.as_ref().map(|x| x.id));
            if current != Some(id) {
                self.reopen_gate();
                continue;
            }
            let Some(i) = self.slot_of(key) else { continue };
            self.emit(Event::HeartbeatMissed {
                child: Arc::clone(&self.slots[i].path),
                id,
                timeout,
            });
            let reason = ExitReason::HeartbeatMissed { timeout };
            // The gate stays shut from the check to the stop: the life that
            // is stopped is the one found hung.
            self.stop_slot_closed(i, false, Some(reason.clone()));
            self.reopen_gate();
            if let Some(r) = self.ended(i, reason) {
                return Some(r);
            }
        }
        None
    }

    fn on_control(&mut self, c: Control) -> Option<ExitReason> {
        match c {
            Control::Add { spec, reply } => {
                let dup = self.slots.iter().any(|s| s.spec.name == spec.name);
                let result = if dup {
                    Err(ExitReason::failed(
                        Stage::Init,
                        format!("a child named {:?} already exists", spec.name).into(),
                    ))
                } else if let Err(e) = spec.validate() {
                    Err(ExitReason::failed(Stage::Init, e.into()))
                } else {
                    let i = self.push_slot(spec);
                    self.slots[i].dynamic = true;
                    let r = self.start_slot(i);
                    if r.is_err() {
                        self.slots[i].spec.child.on_retired();
                        self.remove_slot(i);
                    }
                    r
                };
                let _ = reply.send(result);
            }
            Control::Reconfigure { change, reply } => {
                let _ = reply.send(self.reconfigure(change));
            }
            Control::Remove { name, reply } => {
                let report = self
                    .slots
                    .iter()
                    .position(|s| *s.spec.name == *name)
                    .map(|i| {
                        let r = match self.stop_slot(i, true, None) {
                            Stopped::Exited(r) => RemoveReport {
                                reason: Some(r),
                                abandoned: false,
                            },
                            Stopped::Abandoned => RemoveReport {
                                reason: None,
                                abandoned: true,
                            },
                            Stopped::NotRunning => RemoveReport {
                                reason: None,
                                abandoned: false,
                            },
                        };
                        let s = self.remove_slot(i);
                        s.spec.child.on_retired();
                        if let Some(w) = s.worker {
                            w.retire();
                        }
                        self.emit(Event::Stopped { child: s.path });
                        r
                    });
                let _ = reply.send(report);
            }
        }
        self.publish();
        None
    }

    /// Starts a new life of slot `i` and waits until it started, ended, or
    /// ran out of time.
    fn start_slot(&mut self, i: usize) -> Result<(), ExitReason> {
        self.close_gate();
        let r = self.start_slot_closed(i);
        self.reopen_gate();
        r
    }

    fn start_slot_closed(&mut self, i: usize) -> Result<(), ExitReason> {
        let key = self.slots[i].key;
        let path = Arc::clone(&self.slots[i].path);
        if self.slots[i].spec.fresh_thread
            && let Some(w) = self.slots[i].worker.take()
        {
            w.retire();
        }
        if self.slots[i].worker.is_none() {
            self.slots[i].worker = Some(self.spawn_worker(i)?);
        }
        let id = next_life_id();
        let stop = Arc::new(StopSignal::new());
        let (writer, reader) = heartbeat();
        let ev = self.ev_tx.clone();
        let life = Life {
            name: Arc::clone(&self.slots[i].spec.name),
            path: Arc::clone(&path),
            id,
            stop: Arc::clone(&stop),
            heartbeat: writer,
            events: self.bus.clone(),
            started: StartNotice::new(move || {
                let _ = ev.send(WorkerEvent::Started { key, id });
            }),
        };
        self.emit(Event::Starting {
            child: Arc::clone(&path),
            id,
        });
        let sent = match self.slots[i].worker.as_ref() {
            Some(w) => w.run(life),
            None => Err(Box::new(life)),
        };
        if let Err(life) = sent {
            // The thread died under us (cannot happen short of an abort);
            // one new thread, then give up.
            let w = self.spawn_worker(i)?;
            w.run(*life).map_err(|_| {
                ExitReason::failed(Stage::Init, "the child's thread ended at once".into())
            })?;
            self.slots[i].worker = Some(w);
        }
        let now = Instant::now();
        self.slots[i].inst = Some(Inst {
            id,
            stop,
            hb: reader,
            started_at: now,
            started: false,
            watch: (0, None),
        });
        let deadline = after(now, self.slots[i].spec.start_timeout);
        match self.wait_for(key, id, Some(deadline)) {
            Some(WorkerEvent::Started { .. }) => {
                self.slots[i].state = SlotState::Running;
                if let Some(inst) = self.slots[i].inst.as_mut() {
                    inst.started = true;
                }
                self.emit(Event::Started { child: path, id });
                Ok(())
            }
            Some(WorkerEvent::Exited { reason, .. }) => {
                self.slots[i].inst = None;
                self.slots[i].state = SlotState::Stopped;
                self.emit(Event::Exited {
                    child: path,
                    id,
                    reason: reason.clone(),
                });
                Err(reason)
            }
            None => {
                let t = self.slots[i].spec.start_timeout;
                let reason =
                    ExitReason::failed(Stage::Start, format!("did not start within {t:?}").into());
                let abandoned = matches!(
                    self.stop_slot(i, false, Some(reason.clone())),
                    Stopped::Abandoned
                );
                if !abandoned {
                    self.slots[i].state = SlotState::Stopped;
                }
                Err(reason)
            }
        }
    }

    fn spawn_worker(&self, i: usize) -> Result<Worker, ExitReason> {
        let s = &self.slots[i];
        let w = Worker::spawn(WorkerSetup {
            name: Arc::clone(&s.spec.name),
            path: Arc::clone(&s.path),
            key: s.key,
            child: Arc::clone(&s.spec.child),
            stack_size: s.spec.stack_size,
            events: self.ev_tx.clone(),
            bus: self.bus.clone(),
            gate: Arc::clone(&self.gate),
        })
        .map_err(|e| {
            ExitReason::failed(Stage::Init, format!("could not spawn a thread: {e}").into())
        })?;
        if let Some(c) = fast_restart::lock(&self.gate).children.get_mut(&s.key) {
            c.worker = w.id;
        }
        Ok(w)
    }

    /// Waits for an event of life `id` of slot `key`, setting others aside.
    /// `None` at the deadline.
    fn wait_for(&mut self, key: u64, id: u64, deadline: Option<Instant>) -> Option<WorkerEvent> {
        if let Some(pos) = self.pending.iter().position(|e| matches_life(e, key, id)) {
            return self.pending.remove(pos);
        }
        loop {
            let got = match deadline {
                Some(d) => self.ev_rx.recv_deadline(d).ok()?,
                None => self.ev_rx.recv().ok()?,
            };
            if matches_life(&got, key, id) {
                return Some(got);
            }
            self.pending.push_back(got);
        }
    }

    /// Waits for life `id` of slot `key` to exit, until `deadline` or (if
    /// `cut_short`) until this supervisor's own stop becomes immediate.
    fn wait_exit(
        &mut self,
        key: u64,
        id: u64,
        deadline: Instant,
        cut_short: bool,
    ) -> Option<ExitReason> {
        if let Some(pos) = self.pending.iter().position(
            |e| matches!(e, WorkerEvent::Exited { key: k, id: i, .. } if *k == key && *i == id),
        ) {
            if let Some(WorkerEvent::Exited { reason, .. }) = self.pending.remove(pos) {
                return Some(reason);
            }
        }
        loop {
            if cut_short && self.stop.mode() == Some(StopMode::Immediate) {
                return None;
            }
            let mut sel = Select::new();
            let ev = sel.recv(&self.ev_rx);
            let stop = if cut_short {
                Some(sel.recv(self.stop.waker()))
            } else {
                None
            };
            let op = sel.select_deadline(deadline).ok()?;
            if op.index() == ev {
                let got = op.recv(&self.ev_rx).ok()?;
                match got {
                    WorkerEvent::Exited {
                        key: k,
                        id: i,
                        reason,
                    } if k == key && i == id => return Some(reason),
                    other => self.pending.push_back(other),
                }
            } else {
                debug_assert_eq!(Some(op.index()), stop);
                let _ = op.recv(self.stop.waker());
            }
        }
    }

    /// Waits for the draining life `id` of slot `i` to end, until `until`
    /// or a forced shutdown, watching its heartbeat meanwhile (§11.16): a
    /// life busy without progress for its heartbeat timeout is hung
    /// (`HeartbeatMissed`), stopped at once, and abandoned if it does not
    /// end within the grace. Returns how it ended (`None`: cut short by the
    /// deadline or the forced shutdown) and whether it was abandoned.
    fn wait_drain(
        &mut self,
        i: usize,
        key: u64,
        id: u64,
        until: Instant,
    ) -> (Option<ExitReason>, bool) {
        let Some(timeout) = self.slots[i].spec.heartbeat else {
            return (self.wait_exit(key, id, until, true), false);
        };
        let step = sample_step(timeout);
        loop {
            let slice = until.min(after(Instant::now(), step));
            if let Some(r) = self.wait_exit(key, id, slice, true) {
                return (Some(r), false);
            }
            let now = Instant::now();
            if now >= until || self.stop.mode() == Some(StopMode::Immediate) {
                return (None, false);
            }
            let Some(inst) = self.slots[i].inst.as_mut() else {
                return (None, false);
            };
            if !inst.hung(now, timeout) {
                continue;
            }
            let stop = Arc::clone(&inst.stop);
            let path = Arc::clone(&self.slots[i].path);
            self.emit(Event::HeartbeatMissed {
                child: Arc::clone(&path),
                id,
                timeout,
            });
            stop.request(StopMode::Immediate);
            let reason = ExitReason::HeartbeatMissed { timeout };
            if self
                .wait_exit(key, id, after(Instant::now(), self.grace), false)
                .is_some()
            {
                return (Some(reason), false);
            }
            self.slots[i].last_exit = Some(reason.clone());
            self.abandon(i, id);
            return (Some(reason), true);
        }
    }

    /// Stops the current life of slot `i`. A final stop uses the child's
    /// shutdown mode and tells the child its work will not be handled by a
    /// successor; a stop for a restart is immediate and leaves the queue.
    /// The `Exited` event reports `report_as` instead of the life's own
    /// reason when given (a missed heartbeat, a start timeout).
    fn stop_slot(&mut self, i: usize, final_: bool, report_as: Option<ExitReason>) -> Stopped {
        // No worker may restart on its own while we stop one: its life would
        // slip past the stop.
        self.close_gate();
        let stopped = self.stop_slot_closed(i, final_, report_as);
        self.reopen_gate();
        stopped
    }

    fn stop_slot_closed(
        &mut self,
        i: usize,
        final_: bool,
        report_as: Option<ExitReason>,
    ) -> Stopped {
        let key = self.slots[i].key;
        let path = Arc::clone(&self.slots[i].path);
        let shutdown = self.slots[i].spec.shutdown;
        let child = Arc::clone(&self.slots[i].spec.child);
        // A forced shutdown (our own stop escalated) makes every drain immediate.
        let forced = self.stop.mode() == Some(StopMode::Immediate);
        let mode = if final_ && !forced {
            shutdown.mode()
        } else {
            StopMode::Immediate
        };
        let drain = final_ && mode == StopMode::Drain;
        // The drain is a promise to handle the queue (§11.16), kept by new
        // lives; not when this supervisor is giving up.
        let keep_promise = drain && !self.giving_up;
        // A child waiting out a backoff with work queued is started now to
        // drain it.
        if keep_promise
            && self.slots[i].inst.is_none()
            && matches!(self.slots[i].state, SlotState::Backoff(_))
            && child.queued() > 0
            && self.start_slot_closed(i).is_err()
        {
            if self.slots[i].state != SlotState::Abandoned {
                self.slots[i].state = SlotState::Stopped;
            }
            child.on_final_stop(mode);
            self.emit(Event::Drained {
                child: Arc::clone(&path),
                left: child.left_behind() as u64,
            });
            return Stopped::NotRunning;
        }
        let Some((mut id, mut stop)) = self.slots[i]
            .inst
            .as_ref()
            .map(|x| (x.id, Arc::clone(&x.stop)))
        else {
            if final_ {
                child.on_final_stop(shutdown.mode());
            }
            return Stopped::NotRunning;
        };
        if final_ {
            child.on_final_stop(mode);
        }
        stop.request(mode);
        // A drain gets its own timeout; an immediate stop (a restart, a hung
        // child, a forced or immediate shutdown) gets the abandon grace.
        let first = match shutdown {
            Shutdown::Drain(t) if mode == StopMode::Drain => t,
            _ => self.grace,
        };
        let until = after(Instant::now(), first);
        // While it drains, its heartbeat is watched: a hung life is stopped
        // at once, abandoned if it does not end, and (below) replaced.
        let (mut ended, mut abandoned) = if keep_promise {
            self.wait_drain(i, key, id, until)
        } else {
            (self.wait_exit(key, id, until, drain), false)
        };
        // A life that fails during a drain, with work left and a restart due
        // by its policy and the intensity, is followed by another that goes
        // on draining, within the same deadline.
        while keep_promise
            && let Some(r) = ended.clone()
            && r.is_failure()
            && child.queued() > 0
            && self.slots[i].spec.restart.restarts_after(true)
            && self.stop.mode() != Some(StopMode::Immediate)
            && Instant::now() < until
            && self.admit_restart()
        {
            let s = &mut self.slots[i];
            if let Some(inst) = s.inst.take() {
                s.last_ran = inst.started_at.elapsed();
            }
            s.last_exit = Some(r.clone());
            if !abandoned {
                // (An abandoned life was reported as such.)
                self.emit(Event::Exited {
                    child: Arc::clone(&path),
                    id,
                    reason: r,
                });
            }
            let s = &mut self.slots[i];
            if s.last_ran >= s.spec.backoff.reset_after {
                s.attempts = 0;
            }
            s.restarts += 1;
            s.attempts = s.attempts.saturating_add(1);
            let attempt = s.attempts;
            self.emit(Event::Restarting {
                child: Arc::clone(&path),
                attempt,
                delay: Duration::ZERO,
            });
            if let Err(reason) = self.start_slot_closed(i) {
                // Its failed start was reported; the rest is left behind.
                self.emit(Event::Drained {
                    child: Arc::clone(&path),
                    left: child.left_behind() as u64,
                });
                return Stopped::Exited(reason);
            }
            let Some(inst) = self.slots[i].inst.as_ref() else {
                break;
            };
            (id, stop) = (inst.id, Arc::clone(&inst.stop));
            stop.request(StopMode::Drain);
            (ended, abandoned) = self.wait_drain(i, key, id, until);
        }
        let ended = match ended {
            Some(r) => {
                if drain {
                    // Ended early (a failure not restarted, or it stopped
                    // itself): what is still queued is left behind.
                    self.emit(Event::Drained {
                        child: Arc::clone(&path),
                        left: child.left_behind() as u64,
                    });
                }
                Some(r)
            }
            None if drain => {
                // Cut short: by the deadline, or by a forced shutdown (a
                // second signal), which is no deadline.
                let left = if self.stop.mode() == Some(StopMode::Immediate) {
                    let left = child.left_behind() as u64;
                    tracing::warn!(child = %path, left, "drain cut short by a forced shutdown");
                    child.on_final_stop(StopMode::Immediate);
                    left
                } else {
                    tracing::warn!(child = %path, deadline = ?first, "drain deadline passed");
                    child.on_drain_deadline()
                };
                self.emit(Event::Drained {
                    child: Arc::clone(&path),
                    left,
                });
                stop.request(StopMode::Immediate);
                self.wait_exit(key, id, after(Instant::now(), self.grace), false)
            }
            None => None,
        };
        if abandoned {
            return Stopped::Abandoned;
        }
        let s = &mut self.slots[i];
        let inst = s.inst.take();
        if let Some(inst) = inst {
            s.last_ran = inst.started_at.elapsed();
        }
        match ended {
            Some(r) => {
                let reported = report_as.unwrap_or_else(|| r.clone());
                self.emit(Event::Exited {
                    child: path,
                    id,
                    reason: reported,
                });
                Stopped::Exited(r)
            }
            None => {
                self.abandon(i, id);
                Stopped::Abandoned
            }
        }
    }

    /// Leaves life `id` of slot `i` behind: threads cannot be killed. Its
    /// stop stays set, so it takes nothing more; its late exit is ignored,
    /// and its thread is not reused (nor may it restart the child itself).
    fn abandon(&mut self, i: usize, id: u64) {
        let s = &mut self.slots[i];
        if let Some(inst) = s.inst.take() {
            s.last_ran = inst.started_at.elapsed();
        }
        s.worker = None;
        s.state = SlotState::Abandoned;
        if let Some(c) = fast_restart::lock(&self.gate).children.get_mut(&s.key) {
            c.worker = 0;
        }
        let child = Arc::clone(&s.path);
        self.emit(Event::Abandoned { child, id });
    }

    /// Stops every child in reverse start order, ending this life of the
    /// supervisor.
    ///
    /// `requested` (a shutdown asked for): each child stops for good by its
    /// shutdown mode, its work is refused and then released
    /// (`on_final_stop`, `on_retired`). Otherwise (giving up, a failed
    /// start) the stops are immediate and keep each child's queued work for
    /// the next life of this supervisor; whether there is one is the
    /// parent's decision, which retires the whole subtree if not. Children
    /// added at run time are not part of the spec, so they are retired
    /// either way.
    fn stop_all(&mut self, requested: bool) {
        self.close_gate_for_good();
        self.giving_up = !requested;
        if requested {
            self.emit(Event::ShutdownBegan {
                supervisor: Arc::clone(&self.path),
            });
        }
        for i in (0..self.slots.len()).rev() {
            if self.slots[i].state == SlotState::Stopped && self.slots[i].inst.is_none() {
                continue;
            }
            let dynamic = self.slots[i].dynamic;
            if let Stopped::Exited(r) = self.stop_slot(i, requested || dynamic, None) {
                self.slots[i].last_exit = Some(r);
            }
            let s = &mut self.slots[i];
            if requested || dynamic {
                s.spec.child.on_retired();
            }
            if s.state != SlotState::Abandoned {
                s.state = SlotState::Stopped;
                if let Some(w) = s.worker.take() {
                    w.retire();
                }
            }
            let child = Arc::clone(&s.path);
            self.emit(Event::Stopped { child });
        }
        self.publish();
    }

    /// Publishes the status of the event's subject, then the event: whoever
    /// waits on an event sees a status at least as new.
    fn emit(&self, event: Event) {
        match self.slots.iter().position(|s| *s.path == *event.subject()) {
            Some(i) => self.touch(i),
            None => self.publish(),
        }
        self.bus.emit(event);
    }

    /// Refreshes slot `i`'s status row in place (or everything, if the rows
    /// no longer line up with the slots).
    fn touch(&self, i: usize) {
        let mut rows = self
            .shared
            .rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let s = &self.slots[i];
        let lined_up = rows.len() == self.slots.len();
        match rows.get_mut(i) {
            Some(row) if lined_up && row.key == s.key => {
                let seen = *row.seen.lock().unwrap_or_else(PoisonError::into_inner);
                *row = Row::of(s, seen);
            }
            _ => {
                drop(rows);
                self.publish();
            }
        }
    }

    /// Rebuilds every status row, keeping what each row had sampled.
    fn publish(&self) {
        let mut rows = self
            .shared
            .rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old: Vec<Row> = std::mem::take(&mut *rows);
        let mut by_key: Option<HashMap<u64, usize>> = None;
        for (i, s) in self.slots.iter().enumerate() {
            // Rows are in slot order, so the same position usually matches.
            let at = match old.get(i) {
                Some(r) if r.key == s.key => Some(i),
                _ => by_key
                    .get_or_insert_with(|| {
                        old.iter().enumerate().map(|(j, r)| (r.key, j)).collect()
                    })
                    .get(&s.key)
                    .copied(),
            };
            let seen = at
                .map(|j| *old[j].seen.lock().unwrap_or_else(PoisonError::into_inner))
                .unwrap_or((0, 0, Instant::now()));
            rows.push(Row::of(s, seen));
        }
    }
}

impl Row {
    fn of(s: &Slot, seen: (u64, u64, Instant)) -> Row {
        let state = match s.state {
            SlotState::Running if s.inst.is_some() => ChildState::Running,
            SlotState::Running => ChildState::Stopping,
            SlotState::Backoff(_) => ChildState::Restarting,
            SlotState::Stopped => ChildState::Stopped,
            SlotState::Abandoned => ChildState::Abandoned,
        };
        Row {
            key: s.key,
            heartbeat: s.spec.heartbeat,
            name: Arc::clone(&s.spec.name),
            path: Arc::clone(&s.path),
            child: Arc::clone(&s.spec.child),
            state,
            restarts: s.restarts,
            last_exit: s.last_exit.as_ref().map(ToString::to_string),
            hb: s.inst.as_ref().map(|x| (x.id, x.hb.clone())),
            seen: Mutex::new(seen),
        }
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
            if let Some(inst) = &s.inst {
                inst.stop.request(StopMode::Immediate);
            }
            let child = Arc::clone(&s.spec.child);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child.on_retired()));
        }
    }
}

impl Slot {
    /// Running or waiting to restart: part of a group restart.
    fn is_live(&self) -> bool {
        self.inst.is_some() || matches!(self.state, SlotState::Backoff(_))
    }
}

fn matches_life(e: &WorkerEvent, key: u64, id: u64) -> bool {
    match e {
        WorkerEvent::Started { key: k, id: i } | WorkerEvent::Exited { key: k, id: i, .. } => {
            *k == key && *i == id
        }
    }
}

enum Woke {
    Event(WorkerEvent),
    Control(Control),
    Stop,
    Timeout,
}
