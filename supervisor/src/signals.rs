//! Which OS signal does what: a policy table, installed only when asked for.
//!
//! The table is data; acting on it is the embedding program's job (the
//! `threadbutler` crate's `Butler` does it on a plain thread fed by
//! `signal-hook`'s iterator, so no user code ever runs inside a signal
//! handler).

use std::fmt;

pub use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignalAction {
    /// Drain the whole tree in reverse start order; the same signal again
    /// during the drain forces it (every remaining drain becomes immediate).
    Drain,
    /// Stop everything immediately.
    Immediate,
    /// Call the reload hook and re-read the config file's policies.
    Reload,
    /// Log the status tree.
    LogStatus,
}

/// A signal → action table.
///
/// ```
/// use threadbutler_supervisor::signals::{SignalAction, Signals, SIGHUP, SIGTERM, SIGUSR2};
///
/// let s = Signals::graceful().on(SIGUSR2, SignalAction::LogStatus).off(SIGHUP);
/// assert_eq!(s.action(SIGTERM), Some(SignalAction::Drain));
/// assert_eq!(s.action(SIGHUP), None);
/// assert_eq!(s.action(SIGUSR2), Some(SignalAction::LogStatus));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct Signals {
    table: Vec<(i32, SignalAction)>,
}

impl Signals {
    /// An empty table: no handler is installed.
    pub fn none() -> Self {
        Signals { table: Vec::new() }
    }

    /// The usual daemon table: SIGTERM and SIGINT drain (a second one
    /// forces), SIGHUP reloads, SIGUSR1 logs the status tree, SIGQUIT stops
    /// immediately.
    pub fn graceful() -> Self {
        Signals::none()
            .on(SIGTERM, SignalAction::Drain)
            .on(SIGINT, SignalAction::Drain)
            .on(SIGHUP, SignalAction::Reload)
            .on(SIGUSR1, SignalAction::LogStatus)
            .on(SIGQUIT, SignalAction::Immediate)
    }

    /// Maps `signal` to `action`, replacing any earlier mapping.
    pub fn on(mut self, signal: i32, action: SignalAction) -> Self {
        self.table.retain(|(s, _)| *s != signal);
        self.table.push((signal, action));
        self
    }

    /// Removes `signal` from the table.
    pub fn off(mut self, signal: i32) -> Self {
        self.table.retain(|(s, _)| *s != signal);
        self
    }

    /// The action for `signal`.
    pub fn action(&self, signal: i32) -> Option<SignalAction> {
        self.table
            .iter()
            .find(|(s, _)| *s == signal)
            .map(|(_, a)| *a)
    }

    /// The signals in the table.
    pub fn signals(&self) -> Vec<i32> {
        self.table.iter().map(|(s, _)| *s).collect()
    }

    /// True if the table is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.table.iter().map(|(s, a)| (s, a)))
            .finish()
    }
}
