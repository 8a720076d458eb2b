//! The end of one life of a supervisor: a requested shutdown (final), or
//! giving up, a failed start, a stop for a restart by its parent (not
//! final: queued work is kept for the next life).
//!
//! # Order
//!
//! Children stop in reverse start order, one after another: the next stop
//! begins once the one before ended or was abandoned. A child already
//! stopping when the closing begins (a hung child being replaced, a group
//! restart's stop) is not waited for in turn, and the closing ends once it
//! too ended. If the closing is final, that stop becomes final the moment
//! the closing begins, not when the child's turn comes: until then its
//! grace runs, and a stop for a restart that ends (or is abandoned) before
//! it was made final keeps no drain's promise. A successor started to keep
//! that promise is a stop under way too when the turn comes. A child
//! waiting out a backoff is not running: it is retired at once, unless a
//! final drain owes its queue a life (§11.16).

use std::sync::Arc;

use crate::event::Event;
use crate::fast_restart;
use crate::{ExitReason, Shutdown, StopIntent, StopMode};

use super::plans::Closing;
use super::slot::{Phase, Stopping, Then};
use super::state::Engine;
use super::stopping::keep_answer;

impl Engine {
    /// True while this life of the supervisor ends without being stopped
    /// for good (giving up, a failed start, a restart by its parent).
    pub(super) fn giving_up(&self) -> bool {
        self.closing.as_ref().is_some_and(|c| !c.final_)
    }

    /// Begins the end of this life (see the module docs).
    pub(super) fn begin_closing(&mut self, final_: bool, reason: ExitReason) {
        if self.closing.is_some() {
            return;
        }
        // No worker restarts its child on its own from now on; what they
        // did before is booked.
        fast_restart::lock(&self.gate).open = false;
        self.book_local_restarts();
        self.group = None;
        // The instant the closing begins, read before anyone hears of it:
        // a clock moved by a listener of `ShutdownBegan` is the next step's.
        let now = self.now();
        if final_ {
            self.emit(Event::ShutdownBegan {
                supervisor: Arc::clone(&self.path),
            });
        }
        self.closing = Some(Closing {
            final_,
            forced: false,
            reason,
            remaining: self.slots.iter().rev().map(|s| s.key).collect(),
            current: None,
            trailing: Vec::new(),
            closed: Vec::new(),
            for_restart: false,
            quiet: self
                .slots
                .iter()
                .filter(|s| {
                    let never_ran = s.life.is_none() && s.ended_id.is_none();
                    matches!(s.phase, Phase::Idle) || s.held || never_ran
                })
                .map(|s| s.key)
                .collect(),
        });
        if final_ {
            self.finalize_restart_stops(now);
        }
    }

    /// Looks at this supervisor's own stop: begins the closing it asks
    /// for, makes it final, or forces it.
    pub(super) fn check_own_stop(&mut self) {
        let Some(intent) = self.stop.intent() else {
            return;
        };
        let final_ = intent == StopIntent::Final;
        let now = self.now();
        match &mut self.closing {
            None => {
                self.begin_closing(final_, ExitReason::Shutdown);
                if let Some(c) = &mut self.closing {
                    c.for_restart = !final_;
                }
            }
            Some(c) if final_ && !c.final_ => {
                let announce = !c.for_restart;
                c.for_restart = false;
                // Stopped for a restart, then for good: the children already
                // stopped are finished at the end too, and those stopping
                // stop for good.
                c.final_ = true;
                let done: Vec<u64> = self
                    .slots
                    .iter()
                    .map(|s| s.key)
                    .filter(|k| !c.remaining.contains(k))
                    .collect();
                c.trailing.extend(done);
                if announce {
                    // It was giving up; now it is shut down as well.
                    self.emit(Event::ShutdownBegan {
                        supervisor: Arc::clone(&self.path),
                    });
                }
                self.finalize_restart_stops(now);
            }
            Some(_) => {}
        }
        let force = self.forced() && self.closing.as_ref().is_some_and(|c| c.final_ && !c.forced);
        if force {
            if let Some(c) = &mut self.closing {
                c.forced = true;
            }
            self.cut_drains_short();
        }
    }

    /// Moves the closing on; the reason this life ends with, once every
    /// child stopped.
    pub(super) fn advance_closing(&mut self) -> Option<ExitReason> {
        loop {
            let c = self.closing.as_mut()?;
            if let Some(k) = c.current {
                if let Some(i) = self.slot_of(k)
                    && self.slots[i].in_transition()
                {
                    return None;
                }
                if let Some(c) = self.closing.as_mut() {
                    c.current = None;
                }
                self.close_slot(k);
                continue;
            }
            let Some(k) = c.remaining.pop_front() else {
                break;
            };
            let final_ = c.final_;
            let Some(i) = self.slot_of(k) else { continue };
            let dynamic = self.slots[i].dynamic;
            let intent = if final_ || dynamic {
                StopIntent::Final
            } else {
                StopIntent::Restart
            };
            if self.slots[i].resume.is_some() {
                // A life started to go on with a final drain (kept promise
                // of a stop made final before its turn): under way already,
                // within that drain's deadline; not waited for in turn.
                if let Some(c) = self.closing.as_mut() {
                    c.trailing.push(k);
                }
                continue;
            }
            match &mut self.slots[i].phase {
                Phase::Stopping(st) => {
                    // Stopping already (not by us): not waited for in turn,
                    // nor restarted after; an answer someone waits for stands.
                    let earlier = std::mem::replace(&mut st.then, Then::Rest);
                    st.then = keep_answer(earlier, Then::Rest);
                    if intent == StopIntent::Final && st.intent == StopIntent::Restart {
                        // A stop for a restart that began after the closing
                        // (a heartbeat missed while waiting for its turn).
                        let now = self.now();
                        self.finalize_stop(i, now);
                    }
                    if let Some(c) = self.closing.as_mut() {
                        c.trailing.push(k);
                    }
                }
                Phase::Starting { .. } | Phase::Running => {
                    self.begin_stop(i, intent, Then::Rest, None);
                    if let Some(c) = self.closing.as_mut() {
                        c.current = Some(k);
                    }
                }
                _ => {
                    // A shutdown drains a stopped child's queue with a new
                    // life; a supervisor that gives up starts nothing more.
                    if intent == StopIntent::Final && final_ && self.owes_drain(i) {
                        self.start_to_drain(i);
                        if let Some(c) = self.closing.as_mut() {
                            c.current = Some(k);
                        }
                    } else {
                        self.close_slot(k);
                    }
                }
            }
        }
        if self.slots.iter().any(|s| s.in_transition()) {
            return None; // stops that began before the closing still run
        }
        let c = self.closing.as_mut()?;
        let trailing = std::mem::take(&mut c.trailing);
        for k in trailing {
            self.close_slot(k);
        }
        let reason = self.closing.as_ref().map(|c| c.reason.clone())?;
        self.publish();
        Some(reason)
    }

    /// True if slot `i`, not running when a final drain reached it, still
    /// owes its queue a life: it waits out a backoff, or failed during the
    /// closing with a restart due, and work is queued.
    fn owes_drain(&self, i: usize) -> bool {
        let s = &self.slots[i];
        if self.forced()
            || s.held
            || s.retired
            || !matches!(s.spec.shutdown, Shutdown::Drain(_))
            || s.spec.child.queued() == 0
        {
            return false;
        }
        match s.phase {
            Phase::Due { .. } => true,
            Phase::Idle => {
                s.last_exit
                    .as_ref()
                    .is_some_and(|r| r.is_failure() && s.spec.restart.restarts_after(true))
                    && self.admit_restart()
            }
            _ => false,
        }
    }

    /// Every stop for a restart under way when a closing begins final (or
    /// turns final) becomes final at `now`, that instant: none is left for
    /// a deadline to end as a restart's stop before its turn comes.
    fn finalize_restart_stops(&mut self, now: std::time::Instant) {
        let stopping: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                matches!(&self.slots[i].phase,
                    Phase::Stopping(st) if st.intent == StopIntent::Restart)
            })
            .collect();
        for i in stopping {
            self.finalize_stop(i, now);
        }
    }

    /// A stop for a restart that a final closing reached at `now`: it
    /// becomes final by the child's shutdown mode, and a drain's promise
    /// runs from `now`. The life stopping was asked to stop at
    /// once already; it is asked again so that its intent turns final (a
    /// nested supervisor then finishes its children's work). A drain's
    /// promise holds: once the life ended or was abandoned, a successor
    /// drains what is queued (the restart was due anyway).
    fn finalize_stop(&mut self, i: usize, now: std::time::Instant) {
        let mode = if self.forced() {
            StopMode::Immediate
        } else {
            self.slots[i].spec.shutdown.mode()
        };
        let drain_for = self.slots[i].spec.shutdown.drain_timeout();
        let child = Arc::clone(&self.slots[i].spec.child);
        self.slots[i].finalized = true;
        let swept = child.on_final_stop(mode);
        if let Some(life) = &self.slots[i].life {
            life.stop.request(StopMode::Immediate);
        }
        if let Phase::Stopping(st) = &mut self.slots[i].phase {
            st.intent = StopIntent::Final;
            st.owed = true;
            if mode == StopMode::Drain {
                st.promise = Some(crate::clock::after(now, drain_for));
            }
        }
        if swept > 0 {
            self.slots[i].left_reported = true;
            self.gave_up(i, swept);
        }
    }

    /// Starts slot `i` so that it drains its queue for good.
    fn start_to_drain(&mut self, i: usize) {
        if matches!(self.slots[i].phase, Phase::Idle) {
            // It failed during the closing: this life is a restart.
            let attempt = self.slots[i].count_restart();
            self.emit(Event::Restarting {
                child: Arc::clone(&self.slots[i].path),
                attempt,
                delay: std::time::Duration::ZERO,
            });
        }
        let now = self.now();
        let t = self.slots[i].spec.shutdown.drain_timeout();
        let until = crate::clock::after(now, t);
        self.slots[i].resume = Some(Stopping {
            intent: StopIntent::Final,
            mode: StopMode::Drain,
            deadline: until,
            promise: Some(until),
            report_as: None,
            owed: false,
            then: Then::Rest,
        });
        let child = Arc::clone(&self.slots[i].spec.child);
        child.on_final_stop(StopMode::Drain);
        self.slots[i].finalized = true;
        self.begin_start(i);
    }

    /// Slot `k`'s turn in the closing is over: for a final closing (and
    /// for children added at run time, which the spec does not bring back)
    /// its work is finished, and what that gives up is reported.
    fn close_slot(&mut self, k: u64) {
        let Some(i) = self.slot_of(k) else { return };
        let final_ = self.closing.as_ref().is_some_and(|c| c.final_) || self.slots[i].dynamic;
        // Its turn may be over already (a closing that turned final looks
        // at every child again): then only what finality adds is done.
        let before = self
            .closing
            .as_ref()
            .and_then(|c| c.closed.iter().find(|(key, _)| *key == k).map(|(_, f)| *f));
        if before == Some(true) || (before == Some(false) && !final_) {
            return;
        }
        if let Some(c) = self.closing.as_mut() {
            c.closed.retain(|(key, _)| *key != k);
            c.closed.push((k, final_));
        }
        let child = Arc::clone(&self.slots[i].spec.child);
        if final_ && !self.slots[i].retired {
            // What is still queued is given up now; said once.
            let left = child.left_behind() as u64;
            if !self.slots[i].finalized {
                child.on_final_stop(StopMode::Immediate);
            }
            child.on_retired();
            if left > 0 && !self.slots[i].left_reported {
                self.gave_up(i, left);
            }
            self.slots[i].retired = true;
            self.slots[i].finalized = true;
        }
        let s = &mut self.slots[i];
        if !matches!(s.phase, Phase::Abandoned) {
            s.phase = Phase::Idle;
            if let Some(w) = s.worker.take() {
                self.retired_thread(w.retire());
            }
        }
        self.sync_gate(i);
        let quiet = before.is_some()
            || self.slots[i].held
            || self
                .closing
                .as_ref()
                .is_some_and(|c| (c.for_restart && !final_) || c.quiet.contains(&k));
        if quiet {
            self.touch(i);
        } else {
            let child = Arc::clone(&self.slots[i].path);
            self.emit(Event::Stopped { child });
        }
    }
}
