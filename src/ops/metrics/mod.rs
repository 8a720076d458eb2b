//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): per mailbox, per child and per supervisor, for whatever
//! recorder the program installs (a Prometheus exporter, StatsD, ...).
//!
//! Turn it on with [`ButlerBuilder::metrics`](crate::ButlerBuilder::metrics);
//! install a recorder before `start()` so that the descriptions reach it.
//!
//! Each metric's name is a constant of this module, whose docs give its
//! kind and labels. `server`, `child` and `supervisor` labels are paths in
//! the tree (`app/db/writer`); a client's mailbox, which is outside the
//! tree, is labelled with its name. The table in docs/operations.md
//! ("Metrics") is the reference.
//!
//! # Anatomy
//!
//! - The mailbox figures are read, not counted: the counters a mailbox
//!   keeps anyway (`MailboxStats`, runtime-semantics' accounting rule) are
//!   read once per interval on the `threadbutler-metrics` thread and handed
//!   over with `Counter::absolute` and `Gauge::set`. Dead letters by reason
//!   are counted by the hub's dead-letter sink, which runs only for a
//!   message that will never be handled. A mailbox that leaves the hub
//!   (a client dropped, a server removed, a temporary server that ended)
//!   leaves its last counters with the hub, added to its name's, so that
//!   its final figures reach the next reading; its path, for the label, is
//!   learned from the status tree at each reading and from `Started`
//!   events, so a server that came and went between two readings has one
//!   too. The send, receive and handle path is the same code with the
//!   feature on or off (decision D46).
//! - The child and supervisor figures are counted as their events happen,
//!   by a tap on the tree's event bus (on the supervisor's thread, once
//!   per lifecycle event).
//!
//! # Limitations
//!
//! Mailbox figures are as fresh as the interval (at least
//! [`MIN_INTERVAL`]). The figures of a mailbox name add up every mailbox
//! that had it: a server removed and added again under the same name
//! counts on from its last figures. The last figures are read when the
//! mailbox leaves the hub: a message that lands in the instant after that
//! and before the mailbox's final close (a `Temporary` server that ended
//! leaves the hub just before its mailbox is closed) is dead-lettered, and
//! counted so by reason, but missing from `accepted`.

mod dead_letters;
mod events;
mod exporter;
mod mailboxes;
mod paths;
#[cfg(test)]
mod test_recorder;

use std::time::Duration;

pub(crate) use exporter::{Exporter, MetricsSetup};

use metrics::Unit;

/// The shortest interval [`ButlerBuilder::metrics`](crate::ButlerBuilder::metrics)
/// takes: 1 ms. The exporter's thread sleeps a whole interval after each
/// reading, so from 1 ms on it can never spin; below it, down to the 1 ns
/// the builder once took, it would do little but read (a busy thread,
/// taking the hub's and each supervisor's status locks all the time).
/// A reading costs about 0.65 µs per mailbox with metrics-util's
/// debugging recorder (measured on the 2-core benchmark machine; the
/// status tree comes on top), so at 1 ms the thread reads 6% of the time
/// for 100 mailboxes and about 40% for 1,000: the floor is for tests and
/// benchmarks, and a production interval is seconds (scrapers read every
/// 10–60 s). The longest is
/// [`Policy::MAX_DURATION`](crate::Policy::MAX_DURATION), as for every
/// duration.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Counter, label `server`: messages the mailbox took in. Always
/// `handled + dead_lettered + queued`.
pub const MAILBOX_ACCEPTED: &str = "threadbutler_mailbox_accepted_total";
/// Counter, label `server`: messages a handler finished without failing,
/// or a client read.
pub const MAILBOX_HANDLED: &str = "threadbutler_mailbox_handled_total";
/// Counter, labels `server` and `reason` (`in_flight`, `stopped`,
/// `drain_deadline`, `dropped`): messages that will never be handled.
pub const MAILBOX_DEAD_LETTERED: &str = "threadbutler_mailbox_dead_lettered_total";
/// Gauge, label `server`: messages waiting in the mailbox.
pub const MAILBOX_QUEUED: &str = "threadbutler_mailbox_queued";
/// Counter, label `child`: restarts of the child (each `Restarting` event).
pub const CHILD_RESTARTS: &str = "threadbutler_child_restarts_total";
/// Counter, labels `child` and `reason` (`normal`, `shutdown`, `failed`,
/// `panicked`, `heartbeat_missed`, `gave_up`, `child_start_failed`): ended
/// lives of the child.
pub const CHILD_EXITS: &str = "threadbutler_child_exits_total";
/// Counter, label `child`: heartbeat timeouts the child missed.
pub const HEARTBEAT_MISSES: &str = "threadbutler_heartbeat_misses_total";
/// Counter, label `supervisor`: times the supervisor exceeded its restart
/// intensity and gave up.
pub const SUPERVISOR_GIVE_UPS: &str = "threadbutler_supervisor_give_ups_total";

/// Describes every metric to the installed recorder (units and help text).
fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(
        MAILBOX_ACCEPTED,
        Unit::Count,
        "Messages the mailbox took in (handled + dead-lettered + queued)."
    );
    describe_counter!(
        MAILBOX_HANDLED,
        Unit::Count,
        "Messages handled by the server (or read by a client)."
    );
    describe_counter!(
        MAILBOX_DEAD_LETTERED,
        Unit::Count,
        "Messages that will never be handled, by reason."
    );
    describe_gauge!(
        MAILBOX_QUEUED,
        Unit::Count,
        "Messages waiting in the mailbox."
    );
    describe_counter!(CHILD_RESTARTS, Unit::Count, "Restarts of the child.");
    describe_counter!(
        CHILD_EXITS,
        Unit::Count,
        "Ended lives of the child, by reason."
    );
    describe_counter!(
        HEARTBEAT_MISSES,
        Unit::Count,
        "Heartbeat timeouts the child missed (busy without progress)."
    );
    describe_counter!(
        SUPERVISOR_GIVE_UPS,
        Unit::Count,
        "Times the supervisor exceeded its restart intensity and gave up."
    );
}

#[cfg(test)]
mod tests {
    use super::test_recorder::TestRecorder;
    use super::*;

    #[test]
    fn every_metric_is_described_with_its_unit() {
        let recorder = TestRecorder::default();
        metrics::with_local_recorder(&recorder, describe);
        let described = recorder.described();
        assert_eq!(described.len(), 8);
        for (name, unit, help) in described {
            assert_eq!(unit, Some(Unit::Count), "{name}");
            assert!(!help.is_empty(), "{name}");
            assert!(name.starts_with("threadbutler_"), "{name}");
        }
    }
}
