//! Requests from a supervisor's handles: OTP's child API (add, remove,
//! terminate, restart and delete a child) and reloads. Each is answered on
//! its own channel; none makes the loop wait on a child: a request that
//! needs a child to start or stop is answered when it has.

use std::fmt;
use std::sync::{Arc, PoisonError};

use crossbeam_channel::Sender;

use crate::event::Event;
use crate::spec::ChildSpec;
use crate::{ExitReason, Stage, StopIntent};

use super::Engine;
use super::reconfigure::Reconfigure;
use super::slot::{Phase, Then, Waiter};

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
    Terminate {
        name: String,
        reply: Sender<Result<(), ChildError>>,
    },
    Restart {
        name: String,
        reply: Sender<Result<(), ChildError>>,
    },
    Delete {
        name: String,
        reply: Sender<Result<(), ChildError>>,
    },
    Reconfigure {
        change: Reconfigure,
        reply: Sender<Vec<String>>,
    },
}

/// How a removed child ended.
#[derive(Debug, Clone)]
pub struct RemoveReport {
    /// Its exit reason, or `None` if it was abandoned or not running.
    pub reason: Option<ExitReason>,
    /// True if it was abandoned.
    pub abandoned: bool,
}

/// Why a request about one child was refused.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ChildError {
    /// The supervisor has no child of that name.
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// The child runs (or is starting or stopping): `restart_child` and
    /// `delete_child` take only a stopped child.
    Running {
        /// The child's name.
        name: String,
    },
    /// `restart_child` started it, and its start failed; it stays stopped.
    StartFailed {
        /// The child's name.
        name: String,
        /// Why its start failed.
        reason: ExitReason,
    },
    /// The supervisor is not running (not started yet, shutting down, or
    /// gone).
    NotRunning,
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::NotFound { name } => write!(f, "no child named {name:?}"),
            ChildError::Running { name } => write!(f, "child {name:?} is not stopped"),
            ChildError::StartFailed { name, reason } => {
                write!(f, "child {name:?} did not start: {reason}")
            }
            ChildError::NotRunning => f.write_str("the supervisor is not running"),
        }
    }
}

impl std::error::Error for ChildError {}

impl Engine {
    pub(super) fn on_control(&mut self, c: Control) {
        if self.closing.is_some() {
            return refuse(c);
        }
        match c {
            Control::Add { spec, reply } => self.add(spec, reply),
            Control::Reconfigure { change, reply } => {
                let _ = reply.send(self.reconfigure(change));
            }
            Control::Remove { name, reply } => match self.find(&name) {
                Some(i) => {
                    if let Some(w) = self.slots[i].waiter.take() {
                        w.answer(&name, Err(ExitReason::Shutdown));
                    }
                    self.slots[i].resume = None;
                    self.begin_stop(i, StopIntent::Final, Then::Remove(reply), None);
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
                        if !s.retired {
                            s.spec.child.on_final_stop(crate::StopMode::Immediate);
                            s.spec.child.on_retired();
                        }
                        if let Some(w) = s.worker {
                            w.retire();
                        }
                        self.publish();
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
                _ => st.then = Then::Terminate(reply),
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
        if !s.retired {
            s.spec.child.on_retired();
        }
        if let Some(w) = s.worker {
            w.retire();
        }
        self.emit(Event::Stopped { child: s.path });
        let _ = reply.send(Some(report));
    }

    /// This life of the supervisor is over: no more requests are taken, and
    /// those queued are answered rather than left hanging.
    pub(super) fn end_life(&mut self) {
        crate::fast_restart::lock(&self.gate).open = false;
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

/// Answers a request the supervisor will not carry out: it is ending.
fn refuse(c: Control) {
    match c {
        Control::Add { spec, reply } => {
            spec.child.on_retired();
            let _ = reply.send(Err(ExitReason::Shutdown));
        }
        Control::Remove { reply, .. } => {
            let _ = reply.send(None);
        }
        Control::Terminate { reply, .. }
        | Control::Restart { reply, .. }
        | Control::Delete { reply, .. } => {
            let _ = reply.send(Err(ChildError::NotRunning));
        }
        Control::Reconfigure { change, reply } => {
            let _ = reply.send(change.children.into_iter().map(|(n, _)| n).collect());
        }
    }
}
