//! [`SupervisorRef`]: a handle to a running supervisor, valid across its
//! lives: OTP's child API (add, remove, terminate, restart, delete, which
//! and count children), reloads, status.

use std::fmt;
use std::sync::{Arc, PoisonError};

use crossbeam_channel::{Sender, bounded};

use crate::engine::{ChildCounts, ChildError, ChildInfo, ChildKind, Control, RemoveReport, Shared};
use crate::spec::ChildSpec;
use crate::status::{ChildState, StatusNode};
use crate::{ExitReason, Policy};

/// A handle to a running supervisor: add and remove children, read status.
///
/// ```
/// use threadbutler_supervisor::*;
///
/// let idle = FnChild::new(|mut life| {
///     life.started();
///     while !life.stop.is_requested() {
///         let _ = life.stop.waker().recv();
///     }
///     ExitReason::Shutdown
/// });
/// let root = Supervisor::start(SupervisorSpec::new("app"), EventBus::new()).expect("starts");
/// let app: SupervisorRef = root.supervisor("app").expect("the root is a supervisor");
/// app.add_child(ChildSpec::new("late", idle)).expect("started"); // returns once it started
/// assert_eq!(app.status().children[0].name, "late");
/// let report = app.remove_child("late").expect("a child of app");
/// assert!(matches!(report.reason, Some(ExitReason::Shutdown))); // stopped for good
/// assert!(app.status().children.is_empty());
/// root.shutdown();
/// root.wait();
/// ```
#[derive(Clone)]
pub struct SupervisorRef {
    pub(crate) name: Arc<str>,
    pub(crate) path: Arc<str>,
    pub(crate) control: Sender<Control>,
    pub(crate) shared: Arc<Shared>,
}

/// Why a dynamic child could not be added.
pub type AddChildError = ExitReason;

impl SupervisorRef {
    /// Starts `spec` as a new last child and waits until it started.
    ///
    /// # Errors
    ///
    /// The child's start failure (a duplicate name and an invalid spec are
    /// `Failed` at stage `Init`), or `Shutdown` if the supervisor is gone.
    pub fn add_child(&self, spec: ChildSpec) -> Result<(), AddChildError> {
        let (tx, rx) = bounded(1);
        if let Err(back) = self.send_if_running(Control::Add { spec, reply: tx }) {
            if let Control::Add { spec, .. } = *back {
                spec.child.on_retired();
            }
            return Err(ExitReason::Shutdown);
        }
        rx.recv().unwrap_or(Err(ExitReason::Shutdown))
    }

    /// Stops the child `name` for good (by its shutdown mode) and removes
    /// its spec; `None` if there is no such child. The removal itself is no
    /// restart and not counted towards intensity (a life that fails during
    /// its drain with work queued is followed by another, which counts;
    /// runtime-semantics §11.5, §11.16).
    pub fn remove_child(&self, name: &str) -> Option<RemoveReport> {
        let (tx, rx) = bounded(1);
        let name = name.to_owned();
        self.send_if_running(Control::Remove {
            name,
            reply: tx,
            begun: None,
        })
        .ok()?;
        rx.recv().ok().flatten()
    }

    /// Like [`remove_child`](Self::remove_child), without waiting for the
    /// end: returns once the stop has begun (the child refuses new work and
    /// was asked to stop, by its shutdown mode), and the child is removed
    /// when it ended. False if the supervisor is not running or has no such
    /// child.
    pub fn begin_remove(&self, name: &str) -> bool {
        let (tx, _answer_unwanted) = bounded(1);
        let (begun_tx, begun) = bounded(1);
        let name = name.to_owned();
        let request = Control::Remove {
            name,
            reply: tx,
            begun: Some(begun_tx),
        };
        // The loop begins a stop at once (it never waits on a child).
        self.send_if_running(request).is_ok() && begun.recv().is_ok()
    }

    /// Stops the child `name` at once and keeps its spec (OTP's
    /// `terminate_child`): it is not restarted by policy, and the work
    /// queued for it waits for [`restart_child`](Self::restart_child) (or
    /// is finished by [`delete_child`](Self::delete_child) or a shutdown).
    /// Returns once it stopped (or was abandoned).
    ///
    /// # Errors
    ///
    /// [`ChildError::NotFound`], or [`ChildError::NotRunning`] if the
    /// supervisor is not running.
    pub fn terminate_child(&self, name: &str) -> Result<(), ChildError> {
        self.ask(|reply| Control::Terminate {
            name: name.to_owned(),
            reply,
        })
    }

    /// Starts the stopped child `name` again (OTP's `restart_child`): one
    /// that was terminated, or that ended with no restart due (a
    /// `Transient` child that ended normally). Returns once it started.
    ///
    /// # Errors
    ///
    /// [`ChildError::NotFound`]; [`ChildError::Running`] if it is not
    /// stopped; [`ChildError::StartFailed`] if its start failed (it stays
    /// stopped); [`ChildError::NotRunning`] if the supervisor is not
    /// running.
    pub fn restart_child(&self, name: &str) -> Result<(), ChildError> {
        self.ask(|reply| Control::Restart {
            name: name.to_owned(),
            reply,
        })
    }

    /// Deletes the spec of the stopped child `name` (OTP's `delete_child`);
    /// the work still queued for it is finished (dead-lettered).
    ///
    /// # Errors
    ///
    /// [`ChildError::NotFound`]; [`ChildError::Running`] if it is not
    /// stopped; [`ChildError::NotRunning`] if the supervisor is not running.
    pub fn delete_child(&self, name: &str) -> Result<(), ChildError> {
        self.ask(|reply| Control::Delete {
            name: name.to_owned(),
            reply,
        })
    }

    /// The children with their kind and state, in start order (OTP's
    /// `which_children`), as the supervisor last published them.
    pub fn which_children(&self) -> Vec<ChildInfo> {
        self.shared.which_children()
    }

    /// The heartbeat of child `name`'s current life (its progress count and
    /// busy flag); `None` if it has no such child or the child is not
    /// running. Sampling costs the child nothing.
    pub fn heartbeat(&self, name: &str) -> Option<crate::heartbeat::HeartbeatSample> {
        self.shared.heartbeat(name)
    }

    /// How many children there are, running, and of each kind (OTP's
    /// `count_children`).
    pub fn count_children(&self) -> ChildCounts {
        let mut n = ChildCounts::default();
        for c in self.which_children() {
            n.specs += 1;
            if c.life.is_some() {
                n.active += 1;
            }
            match c.kind {
                ChildKind::Supervisor => n.supervisors += 1,
                _ => n.workers += 1,
            }
        }
        n
    }

    fn ask(
        &self,
        request: impl FnOnce(Sender<Result<(), ChildError>>) -> Control,
    ) -> Result<(), ChildError> {
        let (tx, rx) = bounded(1);
        self.send_if_running(request(tx))
            .map_err(|_| ChildError::NotRunning)?;
        rx.recv().unwrap_or(Err(ChildError::NotRunning))
    }

    /// Lays new policies over the running ones (a reload): `own` over this
    /// supervisor's (its strategy, intensity and abandon grace) and each
    /// child's, by name, over that child's (see [`Policy::merge`]). They
    /// apply from the next decision on (a running life keeps running) and
    /// hold for later lives of this supervisor too; one that is starting,
    /// stopping or restarting takes them when it next runs. Returns the
    /// names of the children it does not have now, once the policies are in
    /// place.
    ///
    /// ```
    /// use std::time::Duration;
    /// use threadbutler_supervisor::*;
    ///
    /// let idle = FnChild::new(|mut life| {
    ///     life.started();
    ///     while !life.stop.is_requested() {
    ///         let _ = life.stop.waker().recv();
    ///     }
    ///     ExitReason::Shutdown
    /// });
    /// let root = Supervisor::start(SupervisorSpec::new("app").child(ChildSpec::new("db", idle)), EventBus::new())
    ///     .expect("starts");
    /// let app = root.root();
    /// let db = Policy::new().heartbeat(Duration::from_millis(1500));
    /// let own = Policy::new().strategy(Strategy::OneForAll);
    /// let unknown = app.reconfigure(own, vec![("db".into(), db), ("cache".into(), db)])?;
    /// assert_eq!(unknown, ["cache"]);
    /// assert_eq!(root.status().find("app/db").and_then(|n| n.heartbeat_ms), Some(1500));
    /// root.shutdown();
    /// root.wait();
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A policy that [`Policy::validate`] refuses, naming it; then nothing
    /// changes.
    pub fn reconfigure(
        &self,
        own: Policy,
        children: Vec<(String, Policy)>,
    ) -> Result<Vec<String>, String> {
        own.validate()?;
        for (name, p) in &children {
            p.validate().map_err(|e| format!("child {name}: {e}"))?;
        }
        // Remembered first: a life that is not running yet (or no more)
        // takes them when it goes live (under the same running flag that
        // refuses the request).
        self.shared.remember(&own, &children);
        let (tx, rx) = bounded(1);
        let request = Control::Reconfigure {
            own,
            children,
            reply: tx,
        };
        match self.send_if_running(request) {
            Ok(()) => Ok(rx.recv().unwrap_or_default()),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Queues `request` if the supervisor is running, or gives it back.
    /// Sent under the running flag's lock: a supervisor that ends takes the
    /// same lock, then answers whatever is queued, so no request is left
    /// without an answer.
    fn send_if_running(&self, request: Control) -> Result<(), Box<Control>> {
        let running = self
            .shared
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !*running {
            return Err(Box::new(request));
        }
        self.control
            .send(request)
            .map_err(|e| Box::new(e.into_inner()))
    }

    /// The status of this supervisor's subtree.
    pub fn status(&self) -> StatusNode {
        let state = if self.shared.is_running() {
            ChildState::Running
        } else {
            ChildState::Stopped
        };
        self.shared.status(&self.name, &self.path, state)
    }
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorRef")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
