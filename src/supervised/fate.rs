//! What became of a child spawned on the hub: how its last life ended, and
//! whether it is done for good, so that [`Hub::join`](crate::Hub::join)
//! can wait for it and still answer after the supervisor forgot it (a
//! `Temporary` child is dropped from its supervisor when it ends).

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use threadbutler_supervisor::{Child, ChildDetails, ExitReason, Life, StopMode, SupervisorChild};

use crate::data::mailbox::{MailboxControl, MailboxStats};

/// How a child's lives ended, as far as they have.
pub(crate) struct Fate {
    state: Mutex<Ended>,
    done: Condvar,
    /// Its mailbox's counters, readable after the mailbox left the hub.
    mailbox: Arc<dyn MailboxControl>,
}

impl fmt::Debug for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fate")
            .field("state", &*self.lock())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Ended {
    /// The last life's exit reason (none if no life returned: abandoned).
    pub(crate) reason: Option<ExitReason>,
    /// It will not run again.
    pub(crate) done: bool,
}

impl Fate {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ended> {
        // Two plain fields, each written whole: nothing half-set to trip on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Its mailbox's counters now.
    pub(crate) fn stats(&self) -> MailboxStats {
        self.mailbox.stats()
    }

    /// Waits until the child is done for good.
    pub(crate) fn wait(&self) -> Ended {
        let mut state = self.lock();
        while !state.done {
            state = self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.clone()
    }
}

/// A child whose fate is kept: every hook is the wrapped child's.
pub(crate) struct Watched {
    child: Arc<dyn Child>,
    fate: Arc<Fate>,
}

impl Watched {
    pub(crate) fn new(
        child: Arc<dyn Child>,
        mailbox: Arc<dyn MailboxControl>,
    ) -> (Watched, Arc<Fate>) {
        let fate = Arc::new(Fate {
            state: Mutex::default(),
            done: Condvar::new(),
            mailbox,
        });
        let watched = Watched {
            child,
            fate: Arc::clone(&fate),
        };
        (watched, fate)
    }
}

impl Child for Watched {
    fn run(&self, life: Life) -> ExitReason {
        let reason = self.child.run(life);
        self.fate.lock().reason = Some(reason.clone());
        reason
    }

    fn on_final_stop(&self, mode: StopMode) -> u64 {
        self.child.on_final_stop(mode)
    }

    fn on_revived(&self) {
        self.fate.lock().done = false;
        self.child.on_revived();
    }

    fn on_drain_deadline(&self) -> u64 {
        self.child.on_drain_deadline()
    }

    fn on_retired(&self) {
        self.child.on_retired();
        self.fate.lock().done = true;
        self.fate.done.notify_all();
    }

    fn on_removed(&self) {
        self.child.on_removed();
    }

    fn queued(&self) -> usize {
        self.child.queued()
    }

    fn left_behind(&self) -> usize {
        self.child.left_behind()
    }

    fn validate(&self) -> Result<(), String> {
        self.child.validate()
    }

    fn as_supervisor(&self) -> Option<&SupervisorChild> {
        self.child.as_supervisor()
    }

    fn details(&self) -> ChildDetails {
        self.child.details()
    }
}

impl fmt::Debug for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watched")
            .field("fate", &self.fate)
            .finish_non_exhaustive()
    }
}
