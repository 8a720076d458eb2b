//! docs/runtime-semantics.md §11.1, §11.2 and §11.17:
//! `ButlerBuilder::subscribe` sees the events of the start itself, so a
//! start that fails can be read in order, and the same receiver goes on with
//! the running tree's events.

use integration_tests::events::EventLog;
use threadbutler::prelude::*;

pub struct Nothing;
threadbutler::messages! { pub enum IdleMsg for Idle { Nothing } }

pub struct Idle;

impl Server for Idle {
    fn handle(&mut self, _: IdleMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_failed_start_can_be_read_in_order() {
    let builder = Butler::builder("app")
        .server("a", || Idle)
        .supervisor("db", |s| {
            s.server("b", || Idle)
                .try_server("c", || Err::<Idle, _>("no disk"))
        })
        .server("d", || Idle);
    let mut events = EventLog::new(builder.subscribe());
    let err = builder.start().expect_err("c refuses");
    assert!(err.to_string().contains("no disk"), "{err}");
    // Every event of the start was delivered by the time `start` returned.
    assert_eq!(
        events.only(&["Starting", "Started", "Exited"]),
        [
            "Starting app/a",
            "Started app/a",
            "Starting app/db",
            "Starting app/db/b",
            "Started app/db/b",
            "Starting app/db/c",
            "Exited app/db/c", // the failure
            "Exited app/db/b", // db's rollback
            "Exited app/db",   // db did not start
            "Exited app/a",    // the root's rollback, in reverse order
        ],
        "d never starts"
    );
    let reasons: Vec<String> = events
        .drain()
        .iter()
        .filter_map(|e| match e {
            Event::Exited { child, reason, .. } => Some(format!("{child}: {reason}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "app/db/c: init failed: no disk",
            "app/db/b: shut down on request",
            "app/db: child app/db/c failed to start: init failed: no disk",
            "app/a: shut down on request",
        ]
    );
    let stopped = events.only(&["Stopped"]);
    assert!(
        stopped.contains(&"Stopped app/db/b".to_owned())
            && stopped.contains(&"Stopped app/a".to_owned()),
        "the children rolled back stop for good: {stopped:?}"
    );
}

#[test]
fn a_subscription_before_start_sees_the_start_and_then_the_running_tree() {
    let builder = Butler::builder("app")
        .server("a", || Idle)
        .server("b", || Idle);
    let mut early = EventLog::new(builder.subscribe());
    let mut second = EventLog::new(builder.subscribe());
    let app = builder.start().expect("starts");
    assert_eq!(
        early.lines(),
        [
            "Starting app/a",
            "Started app/a",
            "Starting app/b",
            "Started app/b",
            "Started app",
        ]
    );

    // The same receiver goes on with what happens next.
    app.shutdown();
    early.wait("ShutdownBegan", "app");
    early.wait("Stopped", "app/b");
    early.wait("Stopped", "app/a");
    app.wait().expect("a requested shutdown");

    // Each call is a receiver of its own, and each gets every event.
    assert_eq!(second.lines(), early.lines());
}
