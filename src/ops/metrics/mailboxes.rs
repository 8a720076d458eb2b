//! The mailbox figures: accepted, handled, dead-lettered (by reason) and
//! queued, read from the counters the mailboxes keep anyway and handed to
//! the recorder as absolute values (`Counter::absolute`, `Gauge::set`).
//!
//! Per mailbox name, the figures add up every mailbox that had the name:
//! the hub keeps the last counters of those that left
//! (`Hub::figures`), so a server or client removed between two readings
//! still exports what it accepted and handled, and a name taken again
//! counts on from there (the counters never go back).
//!
//! Nothing here runs per message: a look at the hub's registry and at
//! each mailbox's counters per interval (see `exporter.rs`).

use std::sync::Arc;

use threadbutler_supervisor::StatusNode;

use super::dead_letters::DeadLetterTally;
use super::paths::MailboxPaths;
use super::{MAILBOX_ACCEPTED, MAILBOX_DEAD_LETTERED, MAILBOX_HANDLED, MAILBOX_QUEUED};
use crate::data::hub::Hub;

/// Publishes the mailbox figures, labelled by the mailboxes' paths in the
/// tree.
#[derive(Debug)]
pub(crate) struct MailboxFigures {
    paths: Arc<MailboxPaths>,
}

impl MailboxFigures {
    /// Figures labelled by `paths`, which the event tap also feeds.
    pub(crate) fn new(paths: Arc<MailboxPaths>) -> MailboxFigures {
        MailboxFigures { paths }
    }

    /// Hands every mailbox's figures to the recorder: those of `hub` (if it
    /// still exists), including the mailboxes that left it, and the dead
    /// letters of `tally`, labelled by the paths in `tree` and those
    /// learned from events.
    pub(crate) fn publish(&self, hub: Option<&Hub>, tree: &StatusNode, tally: &DeadLetterTally) {
        self.paths.learn(tree);
        if let Some(hub) = hub {
            for (name, s) in hub.figures() {
                let server = self.paths.path_of(&name);
                metrics::counter!(MAILBOX_ACCEPTED, "server" => server.clone())
                    .absolute(s.accepted);
                metrics::counter!(MAILBOX_HANDLED, "server" => server.clone()).absolute(s.handled);
                metrics::gauge!(MAILBOX_QUEUED, "server" => server).set(s.queued as f64);
            }
        }
        for (name, reason, n) in tally.snapshot() {
            let server = self.paths.path_of(&name);
            metrics::counter!(MAILBOX_DEAD_LETTERED, "server" => server, "reason" => reason)
                .absolute(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::metrics::test_recorder::{Seen, TestRecorder};
    use threadbutler_supervisor::ChildState;

    use super::*;

    struct Note;
    struct Main;
    struct Worker;
    crate::messages! { enum MainMsg for Main { Note } }
    struct Job;
    crate::messages! { enum WorkerMsg for Worker { Job } }

    /// A hub as the exporter's: dead letters counted in `tally`, the
    /// counters of removed mailboxes kept.
    fn hub(tally: &Arc<DeadLetterTally>) -> Hub {
        let t = Arc::clone(tally);
        Hub::builder("app")
            .on_dead_letter(move |d| t.count(&d))
            .keep_departed()
            .build()
    }

    fn assert_holds(seen: &[(String, Seen)], want: &[(&str, Seen)]) {
        for (name, value) in want {
            assert!(
                seen.iter().any(|(n, v)| n == name && v == value),
                "{name} missing or wrong in {seen:#?}"
            );
        }
    }

    #[test]
    fn mailbox_counters_reach_the_recorder_labelled_by_child_path() {
        let tally = Arc::new(DeadLetterTally::default());
        let hub = hub(&tally);
        // A client outside the tree: three accepted, one read, two queued.
        let mut main = hub.client::<Main>("main").expect("a new name");
        for _ in 0..3 {
            hub.send(Note).expect("room");
        }
        let _first = main.recv();
        // A mailbox the tree knows as app/pool/worker: two accepted, then
        // dropped with them (two dead letters, `dropped`), gone from the
        // hub before the reading.
        let worker = hub.client::<Worker>("worker").expect("a new name");
        hub.send(Job).expect("room");
        hub.send(Job).expect("room");
        drop(worker);
        let mut tree = StatusNode::new("app", "app", "supervisor", ChildState::Running);
        let mut pool = StatusNode::new("worker", "app/pool/worker", "pool", ChildState::Running);
        pool.queued = Some(0);
        tree.children.push(pool);

        let recorder = TestRecorder::default();
        let figures_now = MailboxFigures::new(Arc::default());
        metrics::with_local_recorder(&recorder, || {
            figures_now.publish(Some(&hub), &tree, &tally);
        });
        let seen = recorder.figures();
        assert_holds(
            &seen,
            &[
                (
                    "threadbutler_mailbox_accepted_total{server=main}",
                    Seen::Counter(3),
                ),
                (
                    "threadbutler_mailbox_handled_total{server=main}",
                    Seen::Counter(1),
                ),
                ("threadbutler_mailbox_queued{server=main}", Seen::Gauge(2.0)),
                (
                    "threadbutler_mailbox_accepted_total{server=app/pool/worker}",
                    Seen::Counter(2),
                ),
                (
                    "threadbutler_mailbox_handled_total{server=app/pool/worker}",
                    Seen::Counter(0),
                ),
                (
                    "threadbutler_mailbox_queued{server=app/pool/worker}",
                    Seen::Gauge(0.0),
                ),
                (
                    "threadbutler_mailbox_dead_lettered_total{reason=dropped,server=app/pool/worker}",
                    Seen::Counter(2),
                ),
            ],
        );
        assert!(
            !seen
                .iter()
                .any(|(n, _)| n.contains("reason=") && n.contains("server=main")),
            "no dead letters for main: {seen:#?}"
        );
        drop(main);
    }

    #[test]
    fn a_mailbox_removed_between_two_readings_exports_its_last_figures_and_its_name_counts_on() {
        let tally = Arc::new(DeadLetterTally::default());
        let hub = hub(&tally);
        let tree = StatusNode::new("app", "app", "supervisor", ChildState::Running);
        let recorder = TestRecorder::default();
        let figures_now = MailboxFigures::new(Arc::default());
        let read = || {
            metrics::with_local_recorder(&recorder, || {
                figures_now.publish(Some(&hub), &tree, &tally);
            });
            recorder.figures()
        };
        let main_is = |seen: &[(String, Seen)], accepted, handled, queued: f64| {
            assert_holds(
                seen,
                &[
                    (
                        "threadbutler_mailbox_accepted_total{server=main}",
                        Seen::Counter(accepted),
                    ),
                    (
                        "threadbutler_mailbox_handled_total{server=main}",
                        Seen::Counter(handled),
                    ),
                    (
                        "threadbutler_mailbox_queued{server=main}",
                        Seen::Gauge(queued),
                    ),
                ],
            );
        };

        // First reading: registered, nothing yet.
        let mut main = hub.client::<Main>("main").expect("a new name");
        main_is(&read(), 0, 0, 0.0);
        // Between two readings: four handled, then removed.
        for _ in 0..4 {
            hub.send(Note).expect("room");
            let _ = main.recv();
        }
        drop(main);
        assert!(hub.names().is_empty(), "removed from the hub");
        main_is(&read(), 4, 4, 0.0);
        // The name taken again: its figures count on from the last ones.
        let mut main = hub.client::<Main>("main").expect("free again");
        hub.send(Note).expect("room");
        hub.send(Note).expect("room");
        let _ = main.recv();
        main_is(&read(), 6, 5, 1.0);
        drop(main);
        main_is(&read(), 6, 5, 0.0);
        assert_holds(
            &read(),
            &[(
                "threadbutler_mailbox_dead_lettered_total{reason=dropped,server=main}",
                Seen::Counter(1),
            )],
        );
    }

    #[test]
    fn a_hub_not_asked_to_keep_them_forgets_removed_mailboxes() {
        let hub = Hub::builder("app").build();
        let main = hub.client::<Main>("main").expect("a new name");
        hub.send(Note).expect("room");
        drop(main);
        assert!(hub.figures().is_empty());
    }
}
