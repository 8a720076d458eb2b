//! Requests from a supervisor's handles: OTP's child API (add, remove,
//! terminate, restart and delete a child) and reloads. Each is answered on
//! its own channel; none makes the loop wait on a child: a request that
//! needs a child to start or stop is answered when it has.

use std::sync::{Arc, PoisonError};

use crossbeam_channel::Sender;

use crate::event::Event;
use crate::spec::ChildSpec;
use crate::{ExitReason, Stage, StopIntent};

use super::requests::{ChildError, Control, RemoveReport, refuse};
use super::slot::{Phase, Then, Waiter};
use super::state::Engine;

impl Engine {
    pub(super) fn on_control(&mut self, c: Control) {
        if self.superseded() {
            // Meant for the current life: put back.
            if let Err(e) = self.control_tx.send(c) {
                refuse(e.into_inner());
            }
            return;
        }
        if self.closing.is_some() {
            return refuse(c);
        }
        match c {
            Control::Add { spec, reply } => self.add(spec, reply),
            Control::Reconfigure {
                own,
                children,
                reply,
            } => {
                let _ = reply.send(self.reconfigure(&own, &children));
            }
            Control::Remove { name, reply, begun } => match self.find(&name) {
                Some(i) => {
                    if let Some(w) = self.slots[i].waiter.take() {
                        w.answer(&name, Err(ExitReason::Shutdown));
                    }
                    self.slots[i].resume = None;
                    self.slots[i].given_up = 0;
                    self.begin_stop(i, StopIntent::Final, Then::Remove(reply), None);
                    if let Some(b) = begun {
                        let _ = b.send(());
                    }
                }
                None => {
                    let _ = reply.send(None);
                }
            },
            Control::Terminate { name, reply } => self.terminate(&name, reply),
            Control::Restart { name, reply } => self.restart_child(&name, reply),
            Control::Delete { name, reply } => {
                let result = match self.find(&name) {
                    None => Err(ChildError::NotFound { name }),
                    Some(i) if !self.is_stopped(i) => Err(ChildError::Running { name }),
                    Some(i) => {
                        let s = self.remove_slot(i);
                        let mut left = 0;
                        if !s.retired {
                            left = s.spec.child.left_behind() as u64;
                            s.spec.child.on_final_stop(crate::StopMode::Immediate);
                            s.spec.child.on_retired();
                        }
                        if let Some(w) = s.worker {
                            self.retired_thread(w.retire());
                        }
                        self.publish();
                        if left > 0 {
                            // What was queued for it is given up.
                            self.emit(Event::Drained {
                                child: s.path,
                                left,
                            });
                        }
                        Ok(())
                    }
                };
                let _ = reply.send(result);
            }
        }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.slots.iter().position(|s| *s.spec.name == *name)
    }

    /// Stopped: not running, starting, stopping, or due to start.
    fn is_stopped(&self, i: usize) -> bool {
        matches!(self.slots[i].phase, Phase::Idle | Phase::Abandoned)
    }

    fn add(&mut self, spec: ChildSpec, reply: Sender<Result<(), ExitReason>>) {
        let refused = if self.slots.iter().any(|s| s.spec.name == spec.name) {
            Some(format!("a child named {:?} already exists", spec.name))
        } else {
            spec.validate().err()
        };
        if let Some(e) = refused {
            spec.child.on_retired();
            let _ = reply.send(Err(ExitReason::failed(Stage::Init, e.into())));
            return;
        }
        let i = self.push_slot(spec);
        self.slots[i].dynamic = true;
        self.slots[i].waiter = Some(Waiter::Add(reply));
        self.begin_start(i);
    }

    /// OTP's `terminate_child`: stops the child at once, keeping its spec
    /// and its queued work; it stays stopped until `restart_child`.
    fn terminate(&mut self, name: &str, reply: Sender<Result<(), ChildError>>) {
        let Some(i) = self.find(name) else {
            let _ = reply.send(Err(ChildError::NotFound {
                name: name.to_owned(),
            }));
            return;
        };
        if let Some(g) = &mut self.group {
            g.forget(self.slots[i].key);
        }
        let adding = matches!(self.slots[i].waiter, Some(Waiter::Add(_)));
        let waiter = if adding || !matches!(self.slots[i].phase, Phase::Stopping(_)) {
            None
        } else {
            self.slots[i].waiter.take()
        };
        match &mut self.slots[i].phase {
            Phase::Starting { .. } | Phase::Running => {
                if let Some(w) = self.slots[i].waiter.take() {
                    w.answer(name, Err(ExitReason::Shutdown));
                }
                self.begin_stop(i, StopIntent::Restart, Then::Terminate(reply), None);
            }
            Phase::Stopping(st) => match st.then {
                Then::Remove(_) | Then::Terminate(_) => {
                    let _ = reply.send(Ok(()));
                }
                // A child still being added whose start timed out: its add
                // fails and it is dropped, as it would have been.
                Then::StartFailed(_) if adding => {
                    let _ = reply.send(Ok(()));
                }
                _ => {
                    st.then = Then::Terminate(reply);
                    if let Some(w) = waiter {
                        w.answer(name, Err(ExitReason::Shutdown));
                    }
                }
            },
            Phase::Due { .. } => {
                self.slots[i].phase = Phase::Idle;
                self.slots[i].held = true;
                self.emit(Event::Stopped {
                    child: Arc::clone(&self.slots[i].path),
                });
                let _ = reply.send(Ok(()));
            }
            Phase::Idle | Phase::Abandoned => {
                self.slots[i].held = true;
                self.touch(i);
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// OTP's `restart_child`: starts a stopped child again (one that was
    /// terminated, or ended with no restart due); answered once it started.
    fn restart_child(&mut self, name: &str, reply: Sender<Result<(), ChildError>>) {
        let Some(i) = self.find(name) else {
            let _ = reply.send(Err(ChildError::NotFound {
                name: name.to_owned(),
            }));
            return;
        };
        if !self.is_stopped(i) {
            let _ = reply.send(Err(ChildError::Running {
                name: name.to_owned(),
            }));
            return;
        }
        let s = &mut self.slots[i];
        s.held = false;
        if s.retired {
            s.spec.child.on_revived();
            s.retired = false;
            s.finalized = false;
        }
        s.waiter = Some(Waiter::Restart(reply));
        self.begin_start(i);
    }

    /// Drops slot `i` after its final stop and answers `remove_child`.
    pub(super) fn finish_removal(
        &mut self,
        i: usize,
        reply: Sender<Option<RemoveReport>>,
        report: RemoveReport,
    ) {
        let s = self.remove_slot(i);
        if let Some(w) = s.worker {
            self.retired_thread(w.retire());
        }
        // The status shows it gone before anyone can see it gone (a joiner
        // woken by `on_retired`, a `Stopped` subscriber).
        self.publish();
        if !s.retired {
            s.spec.child.on_retired();
        }
        self.emit(Event::Stopped { child: s.path });
        let _ = reply.send(Some(report));
    }

    /// This life of the supervisor is over: no more requests are taken, and
    /// those queued are answered rather than left hanging.
    pub(super) fn end_life(&mut self) {
        crate::fast_restart::lock(&self.gate).open = false;
        let superseded = self.superseded();
        let queued: Vec<Control> = if superseded {
            Vec::new() // the current life's, not ours to answer
        } else {
            let mut running = self
                .shared
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *running = false;
            self.control.try_iter().collect()
        };
        for c in queued {
            refuse(c);
        }
        // Those still waiting for a start that will not come.
        for s in &mut self.slots {
            if let Some(w) = s.waiter.take() {
                w.answer(&s.spec.name, Err(ExitReason::Shutdown));
            }
        }
    }
}
