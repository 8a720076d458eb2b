//! OTP's child API, typed (runtime-semantics §11.21-§11.22): `terminate_child`
//! keeps the spec and the mailbox, `restart_child` starts a stopped child
//! again (a terminated one, or a `Transient` one that ended normally),
//! `delete_child` drops a stopped child's spec and finishes its mailbox;
//! `which_children` and `count_children` answer with values.

use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Ping, Probe, ProbeConfig, Quit};
use threadbutler::prelude::*;
use threadbutler::{ChildError, ChildKind, ChildState, SendError};

fn app() -> Butler {
    Butler::builder("app")
        .server("a", Probe::factory(ProbeConfig::default()))
        .server("b", Probe::factory(ProbeConfig::default()))
        .restart(Restart::Transient)
        .supervisor("inner", |s| {
            s.server("c", Probe::factory(ProbeConfig::default()))
        })
        .start()
        .expect("starts")
}

#[test]
fn a_terminated_child_keeps_its_spec_and_its_mail_until_it_is_restarted() {
    let app = app();
    let mut events = EventLog::new(app.subscribe());
    let root = app.supervisor("app").expect("the root");
    let a = app.hub().address::<Probe>("a").expect("a");
    let first = a.request(Ping).expect("answers");

    root.terminate_child("a").expect("terminated");
    events.wait("Exited", "app/a");
    let rows = root.which_children();
    let row = rows
        .iter()
        .find(|r| r.name == "a")
        .expect("the spec is kept");
    assert_eq!((row.state, row.life), (ChildState::Stopped, None));
    assert_eq!(row.kind, ChildKind::Worker);
    let counts = root.count_children();
    assert_eq!(
        (
            counts.specs,
            counts.active,
            counts.supervisors,
            counts.workers
        ),
        (3, 2, 1, 2)
    );
    // Not restarted by policy (it is Permanent): nothing starts it.
    assert!(
        !events.drain().iter().any(|e| e.kind() == "Restarting"),
        "a terminated child is not restarted: {:?}",
        events.drain()
    );
    // Mail sent meanwhile waits for the next life.
    let reply = {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let a2 = a.clone();
        std::thread::spawn(move || {
            let _ = tx.send(a2.request(Ping));
        });
        rx
    };
    assert!(
        reply.recv_timeout(Duration::from_millis(50)).is_err(),
        "no life answers while the child is terminated"
    );
    assert!(matches!(root.restart_child("a"), Ok(()),));
    let pong = reply
        .recv_timeout(integration_tests::PATIENCE)
        .expect("answered after the restart")
        .expect("by the new life");
    assert_ne!(pong.id, first.id, "a new life answered");
    assert_eq!(a.stats().dead_lettered, 0, "nothing was lost");

    // A running child is not restarted or deleted; unknown names are said.
    assert!(matches!(
        root.restart_child("a"),
        Err(ChildError::Running { .. })
    ));
    assert!(matches!(
        root.delete_child("a"),
        Err(ChildError::Running { .. })
    ));
    assert!(matches!(
        root.terminate_child("zz"),
        Err(ChildError::NotFound { .. })
    ));
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
}

#[test]
fn a_transient_child_that_ended_normally_can_be_restarted_and_takes_mail_again() {
    let app = app();
    let mut events = EventLog::new(app.subscribe());
    let root = app.supervisor("app").expect("the root");
    let b = app.hub().address::<Probe>("b").expect("b");
    b.send(Quit).expect("sent");
    events.wait("Stopped", "app/b");
    assert!(
        matches!(b.send(Quit), Err(SendError::Closed(_))),
        "retired: closed"
    );
    // Its name is still its own: a new server cannot take it.
    let taken = app.add_server(
        "app",
        "b",
        Probe::factory(ProbeConfig::default()),
        threadbutler::ChildOptions::new(),
    );
    assert!(
        matches!(
            taken,
            Err(threadbutler::Error::Spawn(
                threadbutler::SpawnError::NameTaken { .. }
            ))
        ),
        "{taken:?}"
    );
    root.restart_child("b").expect("started again");
    let pong = b.request(Ping).expect("its mailbox is open again");
    assert_eq!(pong.name, "b");
    let again = app.hub().address::<Probe>("b").expect("still routed");
    assert_eq!(again.request(Ping).expect("answers").id, pong.id);
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
}

#[test]
fn a_deleted_child_is_gone_and_its_mail_is_finished() {
    let app = app();
    let root = app.supervisor("app").expect("the root");
    let rows = root.which_children();
    let inner = rows.iter().find(|r| r.name == "inner").expect("listed");
    assert_eq!(inner.kind, ChildKind::Supervisor);
    root.terminate_child("a").expect("terminated");
    let a = app.hub().address::<Probe>("a").expect("a");
    a.send(Quit).expect("queued for a next life");
    root.delete_child("a").expect("deleted");
    assert!(root.which_children().iter().all(|r| r.name != "a"));
    assert_eq!(a.stats().dead_lettered, 1, "its queue was finished");
    assert!(matches!(
        root.restart_child("a"),
        Err(ChildError::NotFound { .. })
    ));
    // The nested supervisor's own children are reached through its handle.
    let nested = app.supervisor("app/inner").expect("nested");
    nested.terminate_child("c").expect("terminated");
    nested.restart_child("c").expect("restarted");
    app.shutdown();
    let report = app.wait().expect("a requested shutdown");
    assert!(report.is_clean(), "{report:?}");
}
