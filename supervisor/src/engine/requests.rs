//! What a supervisor's handles ask of it, and how it answers: the
//! requests, their replies and their errors, as values.

use std::fmt;

use crossbeam_channel::Sender;

use crate::spec::ChildSpec;
use crate::{ExitReason, Policy};

/// A request to a running supervisor.
pub(crate) enum Control {
    Add {
        spec: ChildSpec,
        reply: Sender<Result<(), ExitReason>>,
    },
    Remove {
        name: String,
        reply: Sender<Option<RemoveReport>>,
        /// Told once the stop has begun (the mailbox closed, the life asked
        /// to stop), for a caller that does not wait for the end.
        begun: Option<Sender<()>>,
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
        own: Policy,
        children: Vec<(String, Policy)>,
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
    /// How many queued items its stop gave up (dead-lettered rather than
    /// handled): a drain that missed its deadline or ended early, an
    /// `Immediate` stop with work queued. 0 after a clean drain.
    pub given_up: u64,
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

/// Answers a request the supervisor will not carry out: it is ending.
pub(super) fn refuse(c: Control) {
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
        Control::Reconfigure { reply, .. } => {
            // Remembered already: the next life starts with it.
            let _ = reply.send(Vec::new());
        }
    }
}
