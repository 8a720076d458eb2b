//! Starting lives: handing a life to the child's worker, its start notice,
//! a start that fails or times out, and the supervisor's initial start.

use std::sync::Arc;
use std::time::Instant;

use crate::child::{Life, StartNotice, next_life_id};
use crate::clock::after;
use crate::event::Event;
use crate::heartbeat::heartbeat;
use crate::worker::{Worker, WorkerEvent, WorkerSetup};
use crate::{ExitReason, Stage, StopIntent, StopMode, StopSignal};

use super::slot::{Ended, Lived, Phase, Stopping, Then, Waiter};
use super::state::Engine;

impl Engine {
    /// Every child is due now, each after the one before it: the initial
    /// start in declaration order. `started` is given once all started.
    pub(super) fn begin_initial_start(&mut self, started: StartNotice) {
        let now = self.now();
        let mut before = None;
        for s in &mut self.slots {
            s.phase = Phase::Due {
                at: Some(now),
                after: before,
            };
            before = Some(s.key);
        }
        self.starting_up = Some(started);
    }

    /// Gives the start notice once every child started (or was retired).
    pub(super) fn advance_startup(&mut self) {
        if self.starting_up.is_none() || self.closing.is_some() {
            return;
        }
        let pending = self.slots.iter().any(|s| match &s.phase {
            Phase::Due { .. } | Phase::Starting { .. } => true,
            // A start that timed out is a failed start once it stopped.
            Phase::Stopping(st) => matches!(st.then, Then::StartFailed(_)),
            _ => false,
        });
        if pending {
            return;
        }
        self.publish();
        if !self.superseded() {
            self.go_live();
        }
        if let Some(mut n) = self.starting_up.take() {
            n.give();
        }
    }

    /// Starts every child whose time has come and whose predecessor in its
    /// group is no longer starting.
    pub(super) fn start_due(&mut self, now: Instant) {
        if self.closing.is_some() {
            return; // nothing new starts but the drain's own
        }
        let mut i = 0;
        while i < self.slots.len() && self.closing.is_none() {
            let key = self.slots[i].key;
            if let Phase::Due {
                at: Some(at),
                after,
            } = self.slots[i].phase
                && at <= now
                && self.may_follow(i, after)
            {
                self.begin_start(i);
            }
            // A start that failed at once may have dropped the slot.
            if self.slots.get(i).is_some_and(|s| s.key == key) {
                i += 1;
            }
        }
    }

    /// True if the child `after` (if any) no longer holds back slot `i`,
    /// declared after it: it started, or will not start. (`after` is
    /// usually the slot just before `i`: looked at first, so that a start
    /// of many children stays linear.)
    pub(super) fn may_follow(&self, i: usize, after: Option<u64>) -> bool {
        let Some(k) = after else { return true };
        let near = i.checked_sub(1).filter(|&j| self.slots[j].key == k);
        let Some(j) = near.or_else(|| self.slot_of(k)) else {
            return true;
        };
        !matches!(
            self.slots[j].phase,
            Phase::Due { .. } | Phase::Starting { .. } | Phase::Stopping(_)
        )
    }

    /// Hands a new life of slot `i` to its worker (spawning one if needed);
    /// the slot is `Starting` until the life's notice, its exit or its
    /// start timeout.
    pub(super) fn begin_start(&mut self, i: usize) {
        let key = self.slots[i].key;
        let path = Arc::clone(&self.slots[i].path);
        if self.slots[i].spec.fresh_thread
            && let Some(w) = self.slots[i].worker.take()
        {
            self.retired_thread(w.retire());
        }
        if self.slots[i].worker.is_none() {
            match self.spawn_worker(i) {
                Ok(w) => self.slots[i].worker = Some(w),
                Err(reason) => return self.start_failed(i, reason, false),
            }
        }
        self.slots[i].left_reported = false;
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
            clock: Arc::clone(&self.clock),
            started: StartNotice::new(move || {
                let _ = ev.send(WorkerEvent::Started { key, id });
            }),
        };
        let now = self.now();
        self.slots[i].life = Some(Lived::new(id, stop, reader, now));
        self.slots[i].phase = Phase::Starting {
            deadline: after(now, self.slots[i].spec.start_timeout),
        };
        self.sync_gate(i);
        self.emit(Event::Starting {
            child: Arc::clone(&path),
            id,
        });
        let sent = match self.slots[i].worker.as_ref() {
            Some(w) => w.run(life),
            None => Err(Box::new(life)),
        };
        if let Err(life) = sent {
            // The thread died under us (cannot happen short of an abort):
            // one new thread, then give up.
            let retry = self.spawn_worker(i).and_then(|w| {
                w.run(*life).map_err(|_| {
                    ExitReason::failed(Stage::Init, "the child's thread ended at once".into())
                })?;
                Ok(w)
            });
            match retry {
                Ok(w) => {
                    self.slots[i].worker = Some(w);
                    self.sync_gate(i);
                }
                Err(reason) => {
                    self.slots[i].life = None;
                    self.start_failed(i, reason, false);
                }
            }
        }
    }

    fn spawn_worker(&self, i: usize) -> Result<Worker, ExitReason> {
        let s = &self.slots[i];
        Worker::spawn(WorkerSetup {
            name: Arc::clone(&s.spec.name),
            path: Arc::clone(&s.path),
            key: s.key,
            child: Arc::clone(&s.spec.child),
            stack_size: s.spec.stack_size,
            events: self.ev_tx.clone(),
            bus: self.bus.clone(),
            gate: Arc::clone(&self.gate),
            clock: Arc::clone(&self.clock),
            orphan: None,
        })
        .map_err(|e| {
            ExitReason::failed(Stage::Init, format!("could not spawn a thread: {e}").into())
        })
    }

    /// Life `id` of slot `i` gave its start notice.
    pub(super) fn on_started(&mut self, i: usize, id: u64) {
        let Some(life) = self.slots[i].life.as_mut().filter(|l| l.id == id) else {
            return;
        };
        if life.started {
            return;
        }
        life.started = true;
        if matches!(&self.slots[i].phase, Phase::Stopping(st) if matches!(st.then, Then::StartFailed(_)))
        {
            return; // too late: its start already counts as failed
        }
        let starting = matches!(self.slots[i].phase, Phase::Starting { .. });
        if starting {
            self.slots[i].phase = Phase::Running;
            self.sync_gate(i);
        }
        self.emit(Event::Started {
            child: Arc::clone(&self.slots[i].path),
            id,
        });
        if !starting {
            return; // a life its worker restarted, or one being stopped
        }
        if let Some(w) = self.slots[i].waiter.take() {
            w.answer(&self.slots[i].spec.name, Ok(()));
        }
        // Started to go on with a final drain: drain again.
        if let Some(resume) = self.slots[i].resume.take() {
            self.resume_drain(i, resume);
        }
    }

    /// Starting timed out: the life is stopped and its start counts as
    /// failed once it ended or was abandoned.
    pub(super) fn start_timed_out(&mut self, i: usize, now: Instant) {
        let t = self.slots[i].spec.start_timeout;
        let reason = ExitReason::failed(Stage::Start, format!("did not start within {t:?}").into());
        if let Some(life) = &self.slots[i].life {
            life.stop.request_restart();
        }
        self.slots[i].phase = Phase::Stopping(Stopping {
            intent: StopIntent::Restart,
            mode: StopMode::Immediate,
            deadline: after(now, self.grace),
            promise: None,
            report_as: Some(reason.clone()),
            owed: false,
            then: Then::StartFailed(reason),
        });
        self.touch(i);
    }

    /// A start of slot `i` failed with `reason` (`reported`: its `Exited`
    /// is still to be emitted).
    pub(super) fn start_failed(&mut self, i: usize, reason: ExitReason, reported: bool) {
        let now = self.now();
        self.slots[i].end_life(now);
        let id = self.slots[i].ended_id;
        self.slots[i].phase = Phase::Idle;
        self.slots[i].last_exit = Some(reason.clone());
        self.slots[i].last_ran = std::time::Duration::ZERO;
        self.sync_gate(i);
        if reported && let Some(id) = id {
            self.emit(Event::Exited {
                child: Arc::clone(&self.slots[i].path),
                id,
                reason: reason.clone(),
            });
        }
        // A child added at run time that did not start is not kept.
        match self.slots[i].waiter.take() {
            Some(Waiter::Add(reply)) => {
                let s = self.remove_slot(i);
                s.spec.child.on_retired();
                if let Some(wk) = s.worker {
                    self.retired_thread(wk.retire());
                }
                self.publish();
                let _ = reply.send(Err(reason));
                return;
            }
            Some(w @ Waiter::Restart(_)) => {
                // `restart_child` failed: the child stays stopped.
                w.answer(&self.slots[i].spec.name.clone(), Err(reason));
                self.slots[i].held = true;
                self.touch(i);
                return;
            }
            None => {}
        }
        if let Some(resume) = self.slots[i].resume.take() {
            // A life started to go on draining did not start: the rest is
            // left behind, and what the drain was to lead to happens now.
            let child = Arc::clone(&self.slots[i].spec.child);
            let left = child.left_behind() as u64;
            self.slots[i].left_reported = left > 0;
            self.gave_up(i, left);
            self.complete(i, resume.then, Ended::Exited(reason));
            return;
        }
        if self.closing.is_some() {
            return;
        }
        // A failed start during the initial start fails it; a restart that
        // fails to start (even then) counts like a failure (§11.7).
        if self.starting_up.is_some() && self.slots[i].restarts == 0 {
            let child = Arc::clone(&self.slots[i].path);
            self.begin_closing(
                false,
                ExitReason::ChildStartFailed {
                    child,
                    reason: Box::new(reason),
                },
            );
            return;
        }
        // A restart whose start fails counts like a failure and escalates.
        self.ended(i, reason);
    }
}
