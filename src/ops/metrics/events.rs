//! The event-driven figures: restarts, exits by reason, heartbeat misses
//! and give-ups, counted by a tap on the tree's event bus as they happen.
//!
//! The tap runs on the emitting supervisor's thread, once per lifecycle
//! event (never per message): one counter lookup and increment in the
//! installed recorder. It also tells the mailbox labels where each started
//! child is (`paths.rs`).

use std::sync::Arc;

use threadbutler_supervisor::{Event, EventBus};

use super::paths::MailboxPaths;
use super::{CHILD_EXITS, CHILD_RESTARTS, HEARTBEAT_MISSES, SUPERVISOR_GIVE_UPS};

/// Counts `event` in the recorder, if it is one of the counted kinds.
pub(crate) fn record(event: &Event) {
    match event {
        Event::Restarting { child, .. } => {
            metrics::counter!(CHILD_RESTARTS, "child" => child.to_string()).increment(1);
        }
        Event::Exited { child, reason, .. } => {
            metrics::counter!(CHILD_EXITS, "child" => child.to_string(), "reason" => reason.kind())
                .increment(1);
        }
        Event::HeartbeatMissed { child, .. } => {
            metrics::counter!(HEARTBEAT_MISSES, "child" => child.to_string()).increment(1);
        }
        Event::GaveUp { supervisor, .. } => {
            metrics::counter!(SUPERVISOR_GIVE_UPS, "supervisor" => supervisor.to_string())
                .increment(1);
        }
        _ => {}
    }
}

/// Counts every event of `bus` from now on, and tells `paths` where each
/// child that starts is.
pub(crate) fn watch(bus: &EventBus, paths: Arc<MailboxPaths>) {
    bus.tap(move |event| {
        if let Event::Started { child, .. } = event {
            paths.started(child);
        }
        record(event);
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::ops::metrics::test_recorder::{Seen, TestRecorder};
    use threadbutler_supervisor::{ExitReason, Stage};

    use super::*;

    #[test]
    fn each_counted_event_bumps_its_counter_with_its_labels() {
        let recorder = TestRecorder::default();
        metrics::with_local_recorder(&recorder, || {
            let child = || "app/db/writer".into();
            record(&Event::Exited {
                child: child(),
                id: 7,
                reason: ExitReason::Panicked {
                    stage: Stage::Handle,
                    message: "boom".into(),
                },
            });
            record(&Event::Restarting {
                child: child(),
                attempt: 1,
                delay: Duration::ZERO,
            });
            record(&Event::HeartbeatMissed {
                child: child(),
                id: 8,
                timeout: Duration::from_secs(1),
            });
            record(&Event::Exited {
                child: child(),
                id: 8,
                reason: ExitReason::HeartbeatMissed {
                    timeout: Duration::from_secs(1),
                },
            });
            record(&Event::Restarting {
                child: child(),
                attempt: 2,
                delay: Duration::ZERO,
            });
            record(&Event::GaveUp {
                supervisor: "app/db".into(),
                max_restarts: 1,
                period: Duration::from_secs(5),
            });
            record(&Event::Started {
                child: child(),
                id: 9,
            });
        });
        assert_eq!(
            recorder.figures(),
            [
                (
                    "threadbutler_child_exits_total{child=app/db/writer,reason=heartbeat_missed}"
                        .to_owned(),
                    Seen::Counter(1)
                ),
                (
                    "threadbutler_child_exits_total{child=app/db/writer,reason=panicked}"
                        .to_owned(),
                    Seen::Counter(1)
                ),
                (
                    "threadbutler_child_restarts_total{child=app/db/writer}".to_owned(),
                    Seen::Counter(2)
                ),
                (
                    "threadbutler_heartbeat_misses_total{child=app/db/writer}".to_owned(),
                    Seen::Counter(1)
                ),
                (
                    "threadbutler_supervisor_give_ups_total{supervisor=app/db}".to_owned(),
                    Seen::Counter(1)
                ),
            ]
        );
    }
}
