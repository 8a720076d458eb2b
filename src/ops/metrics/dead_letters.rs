//! Dead letters counted by mailbox and reason, for the
//! `threadbutler_mailbox_dead_lettered_total{reason}` counter.
//!
//! The mailbox's own counter has no reason (and is not the place for one:
//! it is shared with the data path's bookkeeping). This tally is fed by the
//! hub's dead-letter sink, which runs only for a message that will never be
//! handled: it costs the data path nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::data::dead_letter::DeadLetter;
use crate::data::dead_letter_log::Kind;

/// Dead letters so far, by mailbox name and reason kind (the log's
/// `reason_kind`: `in_flight`, `stopped`, `drain_deadline`, `dropped`).
#[derive(Debug, Default)]
pub(crate) struct DeadLetterTally {
    counts: Mutex<HashMap<(Arc<str>, &'static str), u64>>,
}

impl DeadLetterTally {
    /// Counts one dead letter.
    pub(crate) fn count(&self, letter: &DeadLetter) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts
            .entry((Arc::clone(&letter.server), Kind::of(&letter.reason).name()))
            .or_default() += 1;
    }

    /// Every (mailbox, reason, count) so far.
    pub(crate) fn snapshot(&self) -> Vec<(Arc<str>, &'static str, u64)> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts
            .iter()
            .map(|((server, reason), n)| (Arc::clone(server), *reason, *n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dead_letter::DeadReason;

    fn letter(server: &str, reason: DeadReason) -> DeadLetter {
        DeadLetter {
            server: Arc::from(server),
            message_type: "Job",
            reason,
            payload: None,
        }
    }

    #[test]
    fn counts_by_mailbox_and_reason() {
        let tally = DeadLetterTally::default();
        tally.count(&letter("jobs", DeadReason::Stopped));
        tally.count(&letter("jobs", DeadReason::Stopped));
        tally.count(&letter("jobs", DeadReason::Dropped));
        tally.count(&letter("main", DeadReason::Stopped));
        let mut seen: Vec<(String, &str, u64)> = tally
            .snapshot()
            .into_iter()
            .map(|(s, r, n)| (s.to_string(), r, n))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("jobs".to_owned(), "dropped", 1),
                ("jobs".to_owned(), "stopped", 2),
                ("main".to_owned(), "stopped", 1)
            ]
        );
    }
}
