//! Stopping lives: the stop protocol, as phases with deadlines.
//!
//! # The protocol
//!
//! 1. The worker may no longer restart the child on its own (`hold`), and
//!    what it did before is booked: the life stopped is the current one.
//! 2. A final stop tells the child first (`on_final_stop`: a server closes
//!    its mailbox, and an immediate stop sweeps the queue, reported as
//!    `Drained { left }`), then asks the life by its shutdown mode. A stop
//!    for a restart asks for an immediate stop with the restart intent: the
//!    queue is kept.
//! 3. A drain has its own deadline; when it passes, what is queued is given
//!    up (`on_drain_deadline`, `Drained { left }`) and the stop becomes
//!    immediate. An immediate stop has the supervisor's grace; when that
//!    passes, the life is abandoned (threads cannot be killed).
//! 4. A final drain is a promise (§11.16): a life that fails during it with
//!    work queued is followed by another that goes on draining, within the
//!    same deadline, if its restart type and the intensity allow.
//! 5. A forced shutdown (the supervisor's own stop turned immediate) cuts
//!    every drain short as a stop, not a deadline.

use std::sync::Arc;
use std::time::Instant;

use crate::clock::after;
use crate::event::Event;
use crate::{ExitReason, Shutdown, StopIntent, StopMode};

use super::requests::RemoveReport;
use super::slot::{Ended, Phase, Stopping, Then};
use super::state::Engine;

impl Engine {
    /// True once this supervisor was told to stop at once.
    pub(super) fn forced(&self) -> bool {
        self.stop.mode() == Some(StopMode::Immediate)
    }

    /// Begins stopping slot `i` (see the module docs). A slot with no life
    /// is done at once.
    pub(super) fn begin_stop(
        &mut self,
        i: usize,
        intent: StopIntent,
        then: Then,
        report_as: Option<ExitReason>,
    ) {
        self.hold(i);
        // A life started to go on draining is stopped instead: what the
        // drain was to lead to (an answer to a removal) still stands.
        let then = match self.slots[i].resume.take() {
            Some(r) => keep_answer(r.then, then),
            None => then,
        };
        let now = self.now();
        if self.slots[i].life.is_none() {
            self.slots[i].phase = Phase::Stopping(Stopping {
                intent,
                mode: StopMode::Immediate,
                deadline: now,
                promise: None,
                report_as,
                owed: false,
                then,
            });
            return self.stop_ended(i, Ended::NotRunning);
        }
        let shutdown = self.slots[i].spec.shutdown;
        let child = Arc::clone(&self.slots[i].spec.child);
        let mode = if intent == StopIntent::Final && !self.forced() {
            shutdown.mode()
        } else {
            StopMode::Immediate
        };
        if intent == StopIntent::Final && !self.slots[i].finalized {
            self.slots[i].finalized = true;
            let swept = child.on_final_stop(mode);
            if swept > 0 {
                self.gave_up(i, swept);
            }
        }
        let deadline = match shutdown {
            Shutdown::Drain(t) if mode == StopMode::Drain => after(now, t),
            _ => after(now, self.grace),
        };
        // The drain is a promise to handle the queue, kept by new lives;
        // not when this supervisor is giving up.
        let promise = (mode == StopMode::Drain && !self.giving_up()).then_some(deadline);
        if let Some(life) = &self.slots[i].life {
            match intent {
                StopIntent::Final => life.stop.request(mode),
                StopIntent::Restart => life.stop.request_restart(),
            };
        }
        self.slots[i].phase = Phase::Stopping(Stopping {
            intent,
            mode,
            deadline,
            promise,
            report_as,
            owed: false,
            then,
        });
        self.touch(i);
    }

    /// A life started to go on with a final drain has started: drain again.
    pub(super) fn resume_drain(&mut self, i: usize, st: Stopping) {
        if self.forced() {
            // Forced meanwhile: the queue is swept at once.
            return self.begin_stop(i, StopIntent::Final, st.then, None);
        }
        if let Some(life) = &self.slots[i].life {
            life.stop.request(StopMode::Drain);
        }
        self.slots[i].phase = Phase::Stopping(st);
        self.sync_gate(i);
        self.touch(i);
    }

    /// Stop and drain deadlines that passed by `now`.
    pub(super) fn expire(&mut self, now: Instant) {
        let keys: Vec<u64> = self
            .slots
            .iter()
            .filter(|s| match &s.phase {
                Phase::Starting { deadline } => *deadline <= now,
                Phase::Stopping(st) => st.deadline <= now,
                _ => false,
            })
            .map(|s| s.key)
            .collect();
        for k in keys {
            let Some(i) = self.slot_of(k) else { continue };
            match &self.slots[i].phase {
                Phase::Starting { .. } => self.start_timed_out(i, now),
                Phase::Stopping(st) if st.mode == StopMode::Drain => self.drain_expired(i, now),
                Phase::Stopping(_) => self.abandon(i),
                _ => {}
            }
        }
    }

    /// A final drain passed its deadline: what is queued is given up and
    /// the stop becomes immediate.
    fn drain_expired(&mut self, i: usize, now: Instant) {
        let path = Arc::clone(&self.slots[i].path);
        let child = Arc::clone(&self.slots[i].spec.child);
        tracing::warn!(child = %path, deadline = ?self.slots[i].spec.shutdown.drain_timeout(), "drain deadline passed");
        // Immediate first: a life let go mid-sweep takes nothing more.
        self.escalate(i, now);
        let left = child.on_drain_deadline();
        self.gave_up(i, left);
    }

    /// The stop of slot `i` turns immediate, with the grace as its deadline;
    /// no new life will go on draining.
    fn escalate(&mut self, i: usize, now: Instant) {
        let grace = self.grace;
        if let Phase::Stopping(st) = &mut self.slots[i].phase {
            st.mode = StopMode::Immediate;
            st.deadline = after(now, grace);
            st.promise = None;
        }
        if let Some(life) = &self.slots[i].life {
            life.stop.request(StopMode::Immediate);
        }
        self.touch(i);
    }

    /// A forced shutdown: every drain still running is cut short, its queue
    /// swept (`Stopped`) and reported.
    pub(super) fn cut_drains_short(&mut self) {
        let now = self.now();
        for i in 0..self.slots.len() {
            let draining = matches!(
                &self.slots[i].phase,
                Phase::Stopping(st) if st.mode == StopMode::Drain
            );
            if !draining {
                continue;
            }
            let path = Arc::clone(&self.slots[i].path);
            let child = Arc::clone(&self.slots[i].spec.child);
            let left = child.left_behind() as u64;
            tracing::warn!(child = %path, left, "drain cut short by a forced shutdown");
            self.escalate(i, now);
            child.on_final_stop(StopMode::Immediate);
            self.gave_up(i, left);
        }
    }

    /// Leaves the life of slot `i` behind: threads cannot be killed. Its
    /// stop stays set, so it takes nothing more; its late exit is ignored,
    /// and its thread is not reused (nor may it restart the child itself).
    pub(super) fn abandon(&mut self, i: usize) {
        let now = self.now();
        let Some(life) = self.slots[i].end_life(now) else {
            return;
        };
        self.slots[i].worker = None;
        self.sync_gate(i);
        self.emit(Event::Abandoned {
            child: Arc::clone(&self.slots[i].path),
            id: life.id,
        });
        self.stop_ended(i, Ended::Abandoned);
    }

    /// The stop of slot `i` came to `how`.
    pub(super) fn stop_ended(&mut self, i: usize, how: Ended) {
        let Phase::Stopping(st) = std::mem::replace(&mut self.slots[i].phase, Phase::Idle) else {
            return;
        };
        let effective = match &how {
            Ended::Exited(r) => Some(st.report_as.clone().unwrap_or_else(|| r.clone())),
            Ended::Abandoned => st.report_as.clone(),
            Ended::NotRunning => None,
        };
        // An abandoned life whose restart a final stop cancelled still owes
        // its queue a successor.
        let promised = effective.clone().or_else(|| {
            (st.owed && matches!(how, Ended::Abandoned)).then_some(ExitReason::Shutdown)
        });
        if let Some(r) = &promised
            && self.keeps_promise(i, &st, r)
        {
            let report = matches!(how, Ended::Exited(_));
            return self.drain_again(i, st, r.clone(), report);
        }
        let path = Arc::clone(&self.slots[i].path);
        if let Ended::Exited(r) = &how {
            if st.intent == StopIntent::Final && st.mode == StopMode::Drain {
                // Ended before its deadline (drained, a failure not
                // restarted, or it stopped itself): what is queued is left.
                let left = self.slots[i].spec.child.left_behind() as u64;
                self.slots[i].left_reported = left > 0;
                self.gave_up(i, left);
            }
            if let Some(id) = self.slots[i].ended_id {
                self.emit(Event::Exited {
                    child: Arc::clone(&path),
                    id,
                    reason: st.report_as.clone().unwrap_or_else(|| r.clone()),
                });
            }
        }
        if let Some(r) = effective {
            self.slots[i].last_exit = Some(r);
        }
        self.slots[i].phase = match how {
            Ended::Abandoned => Phase::Abandoned,
            _ => Phase::Idle,
        };
        self.sync_gate(i);
        self.touch(i);
        self.complete(i, st.then, how);
    }

    /// Carries out what a stop of slot `i` was to lead to, now that it came
    /// to `how`.
    pub(super) fn complete(&mut self, i: usize, then: Then, how: Ended) {
        match then {
            Then::Decide(r) => self.ended(i, r),
            Then::StartFailed(r) => self.start_failed(i, r, false),
            Then::Rest => {}
            Then::Remove(reply) => {
                let given_up = self.slots[i].given_up;
                let (reason, abandoned) = match how {
                    Ended::Exited(r) => (Some(r), false),
                    Ended::Abandoned => (None, true),
                    Ended::NotRunning => (None, false),
                };
                let report = RemoveReport {
                    reason,
                    abandoned,
                    given_up,
                };
                self.finish_removal(i, reply, report);
            }
            Then::Terminate(reply) => {
                self.slots[i].held = true;
                self.emit(Event::Stopped {
                    child: Arc::clone(&self.slots[i].path),
                });
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// True if a life that ended with `r` during the final drain `st`
    /// should be followed by another that goes on draining.
    fn keeps_promise(&self, i: usize, st: &Stopping, r: &ExitReason) -> bool {
        let Some(until) = st.promise else {
            return false;
        };
        let s = &self.slots[i];
        (r.is_failure() || st.owed)
            && st.intent == StopIntent::Final
            && s.spec.child.queued() > 0
            && s.spec.restart.restarts_after(true)
            && !self.forced()
            && self.now() < until
            && self.admit_restart()
    }

    /// Starts a new life of slot `i` to go on with the drain `st` (its
    /// predecessor ended with `r`; `report`: its `Exited` is still due).
    fn drain_again(&mut self, i: usize, st: Stopping, r: ExitReason, report: bool) {
        let path = Arc::clone(&self.slots[i].path);
        if report && let Some(id) = self.slots[i].ended_id {
            self.emit(Event::Exited {
                child: Arc::clone(&path),
                id,
                reason: r.clone(),
            });
        }
        self.slots[i].last_exit = Some(r);
        let attempt = self.slots[i].count_restart();
        self.emit(Event::Restarting {
            child: path,
            attempt,
            delay: std::time::Duration::ZERO,
        });
        self.slots[i].resume = Some(Stopping {
            intent: StopIntent::Final,
            mode: StopMode::Drain,
            deadline: st.promise.unwrap_or(st.deadline),
            promise: st.promise,
            report_as: None,
            owed: false,
            then: st.then,
        });
        self.begin_start(i);
    }
}

/// What a stop leads to when a later stop takes over from an earlier one:
/// an answer someone waits for is kept (a removal, a termination); a
/// policy decision is not (the later stop decides).
pub(super) fn keep_answer(earlier: Then, later: Then) -> Then {
    match (earlier, later) {
        (e @ (Then::Remove(_) | Then::Terminate(_)), Then::Rest) => e,
        (Then::Remove(reply), Then::Terminate(t)) => {
            // Removed after all: the termination is done when it is.
            let _ = t.send(Ok(()));
            Then::Remove(reply)
        }
        (_, later) => later,
    }
}
