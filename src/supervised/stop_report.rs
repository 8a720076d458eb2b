//! [`StopReport`]: how one child ended when it was stopped or joined, and
//! the one way a child is stopped on request.

use std::sync::Arc;
use std::thread;

use threadbutler_supervisor::{ExitReason, SupervisorRef};

use crate::data::hub::Hub;
use crate::data::mailbox::MailboxStats;
use crate::error::Error;
use crate::supervised::fate::Fate;

/// How one child ended when it was stopped or joined.
#[derive(Debug, Clone)]
pub struct StopReport {
    /// The child's name.
    pub server: Arc<str>,
    /// Its last life's exit reason; `None` if it was abandoned (its thread
    /// may still run; it takes no further message) or was not running.
    pub reason: Option<ExitReason>,
    /// True if it ignored its stop past the grace and was left behind.
    pub abandoned: bool,
    /// How many queued messages the stop gave up (dead-lettered rather than
    /// handled): a drain past its deadline, an `Immediate` stop with work
    /// queued. 0 after a clean drain.
    pub given_up: u64,
    /// Its mailbox's counters after the stop; `None` for a child without a
    /// mailbox (a thread, a nested supervisor).
    pub mailbox: Option<MailboxStats>,
}

impl StopReport {
    /// True if it ended without failure, was not abandoned, and gave up no
    /// queued work: the same rule as [`Report::is_clean`](crate::Report::is_clean).
    pub fn is_clean(&self) -> bool {
        !self.abandoned
            && self.given_up == 0
            && self.reason.as_ref().is_some_and(|r| !r.is_failure())
    }

    /// The report of a spawned server that ended for good, by its fate
    /// and what its stops gave up.
    pub(crate) fn ended(server: &str, fate: &Fate, given_up: u64) -> StopReport {
        let ended = fate.wait();
        StopReport {
            server: Arc::from(server),
            abandoned: ended.reason.is_none(),
            reason: ended.reason,
            given_up,
            mailbox: Some(fate.stats()),
        }
    }
}

/// Stops the child `name` of `sup` for good, removes it, and reports how it
/// ended. The one way a child is stopped on request.
pub(crate) fn stop_child(hub: &Hub, sup: &SupervisorRef, name: &str) -> Result<StopReport, Error> {
    // A child's thread is named after it: stopping yourself would wait for
    // yourself to stop.
    if thread::current().name() == Some(name) {
        return Err(Error::WouldDeadlock);
    }
    // Its counters, readable after its mailbox left the hub.
    let mailbox = hub.control(name);
    let removed = sup.remove_child(name).ok_or_else(|| Error::UnknownServer {
        name: name.to_owned(),
    })?;
    // The removed child left the hub with its slot (`Child::on_removed`):
    // a send by type now gets `NoRoute`, one through a kept address
    // `Closed`, both with the message back.
    let report = StopReport {
        server: Arc::from(name),
        reason: removed.reason,
        abandoned: removed.abandoned,
        given_up: removed.given_up,
        mailbox: mailbox.map(|m| m.stats()),
    };
    Ok(report)
}
