//! The mailbox figures: accepted, handled, dead-lettered (by reason) and
//! queued, read from the counters the mailboxes keep anyway and handed to
//! the recorder as absolute values (`Counter::absolute`, `Gauge::set`).
//!
//! Nothing here runs per message: a look at the hub's registry and at
//! each mailbox's counters per interval (see `exporter.rs`).

use std::collections::HashMap;

use threadbutler_supervisor::StatusNode;

use super::dead_letters::DeadLetterTally;
use super::{MAILBOX_ACCEPTED, MAILBOX_DEAD_LETTERED, MAILBOX_HANDLED, MAILBOX_QUEUED};
use crate::data::hub::Hub;

/// Publishes the mailbox figures; remembers which child path each mailbox
/// belongs to (a mailbox is registered on the hub by its server's name, the
/// metrics are labelled with its path in the tree).
#[derive(Debug, Default)]
pub(crate) struct MailboxFigures {
    paths: HashMap<String, String>,
}

impl MailboxFigures {
    /// Hands every mailbox's figures to the recorder: those of `hub` (if it
    /// still exists) and the dead letters of `tally`, labelled by the paths
    /// in `tree`.
    pub(crate) fn publish(
        &mut self,
        hub: Option<&Hub>,
        tree: &StatusNode,
        tally: &DeadLetterTally,
    ) {
        self.learn(tree);
        if let Some(hub) = hub {
            for name in hub.names() {
                let Some(s) = hub.stats(&name) else { continue };
                let server = self.path_of(&name);
                metrics::counter!(MAILBOX_ACCEPTED, "server" => server.clone())
                    .absolute(s.accepted);
                metrics::counter!(MAILBOX_HANDLED, "server" => server.clone()).absolute(s.handled);
                metrics::gauge!(MAILBOX_QUEUED, "server" => server).set(s.queued as f64);
            }
        }
        for (name, reason, n) in tally.snapshot() {
            let server = self.path_of(&name);
            metrics::counter!(MAILBOX_DEAD_LETTERED, "server" => server, "reason" => reason)
                .absolute(n);
        }
    }

    /// Learns the path of every node of `tree` that has a queue (a server,
    /// an async server, a pool: the holders of a mailbox, by its name).
    fn learn(&mut self, node: &StatusNode) {
        if node.queued.is_some() && self.paths.get(&node.name) != Some(&node.path) {
            self.paths.insert(node.name.clone(), node.path.clone());
        }
        for c in &node.children {
            self.learn(c);
        }
    }

    /// The label of the mailbox `name`: its child's path, or its own name
    /// for a mailbox outside the tree (a client).
    fn path_of(&self, name: &str) -> String {
        self.paths
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use threadbutler_supervisor::ChildState;

    use super::*;
    use crate::ops::metrics::tests::figures;

    struct Note;
    struct Main;
    struct Worker;
    crate::messages! { enum MainMsg for Main { Note } }
    struct Job;
    crate::messages! { enum WorkerMsg for Worker { Job } }

    #[test]
    fn mailbox_counters_reach_the_recorder_labelled_by_child_path() {
        let tally = Arc::new(DeadLetterTally::default());
        let t = Arc::clone(&tally);
        let hub = Hub::builder("app")
            .on_dead_letter(move |d| t.count(&d))
            .build();
        // A client outside the tree: three accepted, one read, two queued.
        let mut main = hub.client::<Main>("main").expect("a new name");
        for _ in 0..3 {
            hub.send(Note).expect("room");
        }
        let _first = main.recv();
        // A mailbox the tree knows as app/pool/worker: two accepted, then
        // dropped with them (two dead letters, `dropped`).
        let worker = hub.client::<Worker>("worker").expect("a new name");
        hub.send(Job).expect("room");
        hub.send(Job).expect("room");
        drop(worker);
        let mut tree = StatusNode::new("app", "app", "supervisor", ChildState::Running);
        let mut pool = StatusNode::new("worker", "app/pool/worker", "pool", ChildState::Running);
        pool.queued = Some(0);
        tree.children.push(pool);

        let recorder = DebuggingRecorder::new();
        let snapshot = recorder.snapshotter();
        let mut figures_now = MailboxFigures::default();
        metrics::with_local_recorder(&recorder, || {
            figures_now.publish(Some(&hub), &tree, &tally);
        });
        let seen = figures(&snapshot);
        let want = [
            (
                "threadbutler_mailbox_accepted_total{server=main}",
                DebugValue::Counter(3),
            ),
            (
                "threadbutler_mailbox_handled_total{server=main}",
                DebugValue::Counter(1),
            ),
            (
                "threadbutler_mailbox_queued{server=main}",
                DebugValue::Gauge(2.0.into()),
            ),
            (
                "threadbutler_mailbox_dead_lettered_total{reason=dropped,server=app/pool/worker}",
                DebugValue::Counter(2),
            ),
        ];
        for (name, value) in want {
            assert!(
                seen.contains(&(name.to_owned(), value)),
                "{name} missing or wrong in {seen:#?}"
            );
        }
        assert!(
            !seen
                .iter()
                .any(|(n, _)| n.contains("reason=") && n.contains("server=main")),
            "no dead letters for main: {seen:#?}"
        );
        drop(main);
    }
}
