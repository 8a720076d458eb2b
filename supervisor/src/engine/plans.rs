//! The plans a supervisor carries out over several children, and OTP's
//! decisions behind them, as pure values and functions (as in
//! `supervisor.erl`): whether a child that ended is restarted (`decide`,
//! one rule per restart type × exit reason), which children restart with it
//! (`group_of`, one rule per strategy), a group restart in progress
//! (`Group`) and the end of a supervisor's life (`Closing`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::{ExitReason, Restart, Strategy};

use super::slot::{Phase, Slot, Then};

/// Whether a child of restart type `restart` that ended with `reason` is
/// restarted (OTP's `do_restart/3`).
pub(super) fn decide(restart: Restart, reason: &ExitReason) -> bool {
    restart.restarts_after(reason.is_failure())
}

/// True if slot `s` takes part in a group restart: it runs, starts, waits
/// to start, or is being stopped on its way to a restart.
fn in_group(s: &Slot) -> bool {
    // A child still waiting for its first start (the initial start) is not
    // restarting: it starts in its turn.
    let never_ran =
        matches!(s.phase, Phase::Due { .. }) && s.life.is_none() && s.ended_id.is_none();
    (s.is_live() && !never_ran)
        || matches!(&s.phase, Phase::Stopping(st)
            if matches!(st.then, Then::Decide(_) | Then::StartFailed(_)))
}

/// The keys of the children that restart when slot `i` does, in start
/// order (OTP's `restart/3`): itself only (`OneForOne`), every live child
/// (`OneForAll`), or itself and the live children declared after it
/// (`RestForOne`).
pub(super) fn group_of(strategy: Strategy, slots: &[Slot], i: usize) -> Vec<u64> {
    let key = slots[i].key;
    let from = match strategy {
        Strategy::OneForOne => return vec![key],
        Strategy::OneForAll => 0,
        Strategy::RestForOne => i,
    };
    slots[from..]
        .iter()
        .filter(|s| (s.key == key || in_group(s)) && !s.held)
        .map(|s| s.key)
        .collect()
}

/// A group restart in progress: the others are stopped in reverse order,
/// then all start again in order after the backoff.
pub(super) struct Group {
    /// Every member, in start order.
    pub(super) members: Vec<u64>,
    /// Members still to stop (the last first).
    pub(super) to_stop: Vec<u64>,
    /// Members whose restart was counted already.
    pub(super) counted: Vec<u64>,
    pub(super) at: Instant,
    pub(super) delay: Duration,
    pub(super) attempt: u32,
}

impl Group {
    /// Leaves `key` out (it was terminated or removed).
    pub(super) fn forget(&mut self, key: u64) {
        self.members.retain(|k| *k != key);
        self.to_stop.retain(|k| *k != key);
    }
}

/// A closing in progress.
pub(super) struct Closing {
    /// Final: every child stops for good and its work is finished.
    pub(super) final_: bool,
    pub(super) forced: bool,
    pub(super) reason: ExitReason,
    /// Children still to stop, the next first.
    pub(super) remaining: VecDeque<u64>,
    /// The child whose stop (or drain) this closing waits for now.
    pub(super) current: Option<u64>,
    /// Children that were stopping already when their turn came.
    pub(super) trailing: Vec<u64>,
    /// Children whose turn is over, and whether it ended final.
    pub(super) closed: Vec<(u64, bool)>,
    /// Stopped by the parent so that it can restart this supervisor: its
    /// children are not stopped for good (no `Stopped` events).
    pub(super) for_restart: bool,
    /// Children that were stopped already when the closing began (retired,
    /// terminated, failed to start) or never ran (waiting their turn in the
    /// initial start): their stop was said before, or there was none, so no
    /// `Stopped` is said for them now.
    pub(super) quiet: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Stage;

    #[test]
    fn do_restart_one_rule_per_type_and_reason() {
        let normal = ExitReason::Normal;
        let shutdown = ExitReason::Shutdown;
        let failed = ExitReason::failed(Stage::Handle, "boom".into());
        let hung = ExitReason::HeartbeatMissed {
            timeout: Duration::from_secs(1),
        };
        assert!(decide(Restart::Permanent, &normal));
        assert!(decide(Restart::Permanent, &failed));
        assert!(!decide(Restart::Transient, &normal));
        assert!(!decide(Restart::Transient, &shutdown));
        assert!(decide(Restart::Transient, &failed));
        assert!(decide(Restart::Transient, &hung));
        assert!(!decide(Restart::Temporary, &failed));
    }
}
