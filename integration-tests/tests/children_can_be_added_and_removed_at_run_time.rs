//! DESIGN.md "Supervision semantics" (dynamic children, as in OTP's
//! `simple_one_for_one`) and docs/runtime-semantics.md §11.5 (a removal
//! never restarts and never counts towards intensity), §11.13 (the mailbox
//! closes when the server stops for good; run-time children are retired
//! with their supervisor's life), §1.4 (a finished mailbox's name can be
//! taken again) and §2.2 (a closed mailbox refuses sends with `Closed`):
//! servers added at run time, under the root or a nested supervisor, answer
//! through the returned address; a removal stops the child for good by its
//! shutdown mode.

use std::thread;
use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Hang, Ping, Pong, Probe, ProbeConfig};
use integration_tests::{PATIENCE, wait_until};
use threadbutler::prelude::*;
use threadbutler::{ChildOptions, ChildState, Error, SendError, SpawnError};

/// app
/// ├─ front
/// └─ db
///    └─ reader
fn start(name: &str, max_restarts: u32) -> Butler {
    Butler::builder(name)
        .intensity(max_restarts, Duration::from_secs(60))
        .server("front", Probe::factory(ProbeConfig::default()))
        .supervisor("db", |s| {
            s.server("reader", Probe::factory(ProbeConfig::default()))
        })
        .start()
        .expect("starts")
}

fn ping(addr: &Address<Probe>) -> Pong {
    addr.request_timeout(Ping, PATIENCE).expect("answered")
}

fn add(butler: &Butler, under: &str, name: &str) -> Result<Address<Probe>, Error> {
    butler.add_server(
        under,
        name,
        Probe::factory(ProbeConfig::default()),
        ChildOptions::new(),
    )
}

#[test]
fn added_servers_answer_under_the_root_and_under_a_nested_supervisor() {
    let butler = start("grow", 3);
    let mut events = EventLog::new(butler.subscribe());

    let top = add(&butler, "grow", "extra").expect("added under the root");
    events.wait("Started", "grow/extra");
    assert_eq!(ping(&top).name, "extra");

    let nested = add(&butler, "grow/db", "writer").expect("added under db");
    events.wait("Started", "grow/db/writer");
    assert_eq!(ping(&nested).name, "writer");
    assert!(
        butler.hub().address::<Probe>("writer").is_some(),
        "reachable through the hub by name"
    );

    let s = butler.status();
    let paths: Vec<&str> = s.children.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["grow/front", "grow/db", "grow/extra"], "added last");
    let db = s.find("grow/db").expect("listed");
    let paths: Vec<&str> = db.children.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["grow/db/reader", "grow/db/writer"]);
    let writer = s.find("grow/db/writer").expect("listed");
    assert_eq!((writer.kind, writer.state), ("server", ChildState::Running));

    // An added server is supervised like a declared one.
    let before = ping(&nested);
    nested.send(Crash).expect("sent");
    events.wait("Restarting", "grow/db/writer");
    events.wait("Started", "grow/db/writer");
    assert_ne!(
        ping(&nested).id,
        before.id,
        "restarted behind the same address"
    );

    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn a_taken_name_or_an_unknown_supervisor_is_refused() {
    let butler = start("dup", 3);
    let extra = add(&butler, "dup", "extra").expect("added");
    let before = ping(&extra);

    assert!(
        matches!(
            add(&butler, "dup", "extra"),
            Err(Error::Spawn(SpawnError::NameTaken { .. }))
        ),
        "a second server of the same name"
    );
    assert!(
        matches!(
            add(&butler, "dup", "reader"),
            Err(Error::Spawn(SpawnError::NameTaken { .. }))
        ),
        "mailbox names are unique per hub, whatever the supervisor"
    );
    let e = add(&butler, "dup", "db").expect_err("db is a child of the root");
    assert!(
        matches!(e, Error::Spawn(SpawnError::NameTaken { .. })),
        "{e}"
    );
    assert!(
        matches!(
            add(&butler, "dup/nope", "other"),
            Err(Error::UnknownServer { .. })
        ),
        "no such supervisor"
    );
    assert!(
        butler.hub().address::<Probe>("other").is_none(),
        "a refused add leaves no mailbox behind"
    );

    assert_eq!(
        ping(&extra),
        Pong {
            handled: 1,
            ..before
        },
        "untouched"
    );
    let s = butler.status();
    let names: Vec<&str> = s.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["front", "db", "extra"]);
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn a_removed_server_stops_for_good_without_a_restart() {
    let butler = start("shrink", 3);
    let mut events = EventLog::new(butler.subscribe());
    let extra = add(&butler, "shrink", "extra").expect("added");
    let Event::Started { id, .. } = events.wait("Started", "shrink/extra") else {
        unreachable!()
    };
    assert_eq!(ping(&extra).id, id);

    let report = butler.remove_child("shrink", "extra").expect("removed");
    assert!(!report.abandoned);
    assert!(
        matches!(report.reason, Some(ExitReason::Shutdown)),
        "{report:?}"
    );
    let Event::Exited {
        id: exited, reason, ..
    } = events.wait("Exited", "shrink/extra")
    else {
        unreachable!()
    };
    assert_eq!(exited, id);
    assert!(matches!(reason, ExitReason::Shutdown), "{reason}");
    events.wait("Stopped", "shrink/extra");

    assert!(extra.is_closed());
    assert!(matches!(extra.send(Crash), Err(SendError::Closed(Crash))));
    assert!(butler.hub().address::<Probe>("extra").is_none());
    assert!(butler.status().find("shrink/extra").is_none(), "gone");
    assert!(
        matches!(
            butler.remove_child("shrink", "extra"),
            Err(Error::UnknownServer { .. })
        ),
        "removed once"
    );

    // Nested, too.
    let nested = add(&butler, "shrink/db", "writer").expect("added");
    ping(&nested);
    let report = butler.remove_child("shrink/db", "writer").expect("removed");
    assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
    events.wait("Stopped", "shrink/db/writer");
    assert!(nested.is_closed());

    butler.shutdown();
    butler.wait().expect("a requested shutdown");
    let mine: Vec<String> = events
        .lines()
        .into_iter()
        .filter(|l| l.ends_with("/extra") || l.ends_with("/writer"))
        .filter(|l| l.starts_with("Restarting") || l.starts_with("Starting"))
        .collect();
    assert_eq!(
        mine,
        ["Starting shrink/extra", "Starting shrink/db/writer"],
        "each started once, never restarted"
    );
}

#[test]
fn a_removal_does_not_count_towards_intensity() {
    // No restart allowed at all: a removal counted as one would make the
    // root give up.
    let butler = start("strict", 0);
    let mut events = EventLog::new(butler.subscribe());
    let front = butler.hub().address::<Probe>("front").expect("registered");
    let before = ping(&front);

    for round in 0..3 {
        let extra = add(&butler, "strict", "extra").expect("added");
        ping(&extra);
        butler.remove_child("strict", "extra").expect("removed");
        let nested = add(&butler, "strict/db", "writer").expect("added");
        ping(&nested);
        butler.remove_child("strict/db", "writer").expect("removed");
        assert_eq!(butler.status().state, ChildState::Running, "round {round}");
    }

    let now = ping(&front);
    assert_eq!(
        (now.id, now.thread),
        (before.id, before.thread),
        "untouched"
    );
    butler.shutdown();
    let report = butler
        .wait()
        .expect("the root did not give up: a requested shutdown");
    assert!(matches!(report.reason, ExitReason::Shutdown));
    assert!(
        events.only(&["GaveUp", "Restarting"]).is_empty(),
        "{:?}",
        events.lines()
    );
}

#[test]
fn a_removed_name_can_be_taken_again() {
    let butler = start("again", 3);
    let old = add(&butler, "again", "extra").expect("added");
    butler.remove_child("again", "extra").expect("removed");
    let new = add(&butler, "again", "extra").expect("the name is free again");
    assert_eq!(ping(&new).name, "extra");
    assert!(old.is_closed(), "the old mailbox stays finished");
    assert!(!new.is_closed());
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn a_removal_drains_the_queue_by_the_childs_shutdown_mode() {
    let butler = start("drain", 3);
    let cfg = ProbeConfig::default();
    let extra = butler
        .add_server(
            "drain",
            "extra",
            Probe::factory(cfg.clone()),
            ChildOptions::new().shutdown(Shutdown::Drain(PATIENCE)),
        )
        .expect("added");
    extra.send(Hang).expect("sent");
    cfg.gate.wait_arrival();

    thread::scope(|s| {
        let queued: Vec<_> = (0..4).map(|_| s.spawn(|| ping(&extra))).collect();
        wait_until("the pings are queued", || extra.depth() == 4);
        let removal = s.spawn(|| butler.remove_child("drain", "extra"));
        wait_until("the removal closed the mailbox", || extra.is_closed());
        assert!(matches!(extra.send(Crash), Err(SendError::Closed(Crash))));
        cfg.gate.open(1);
        for q in queued {
            q.join().expect("a pinger");
        }
        let report = removal.join().expect("the remover").expect("removed");
        assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
    });
    let s = extra.stats();
    assert_eq!(
        (s.handled, s.dead_lettered, s.queued),
        (5, 0, 0),
        "the hang and every queued ping were handled"
    );
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn a_child_removed_during_its_backoff_is_never_started_again() {
    let butler = start("backoff", 3);
    let mut events = EventLog::new(butler.subscribe());
    let extra = butler
        .add_server(
            "backoff",
            "extra",
            Probe::factory(ProbeConfig::default()),
            ChildOptions::new().backoff(Backoff::exponential(
                Duration::from_secs(60),
                Duration::from_secs(60),
            )),
        )
        .expect("added");
    extra.send(Crash).expect("sent");
    events.wait("Restarting", "backoff/extra");
    let report = butler.remove_child("backoff", "extra").expect("removed");
    assert!(report.reason.is_none(), "no life was running: {report:?}");
    assert!(!report.abandoned);
    events.wait("Stopped", "backoff/extra");
    assert!(extra.is_closed());
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
    let lines = events.lines();
    let crashed = lines
        .iter()
        .position(|l| l == "Restarting backoff/extra")
        .expect("seen");
    assert!(
        !lines[crashed..]
            .iter()
            .any(|l| l == "Starting backoff/extra"),
        "{lines:?}"
    );
}

#[test]
fn a_child_added_at_run_time_is_retired_with_its_supervisors_life() {
    // §11.13: the spec does not bring it back, so when db gives up and the
    // root starts a new life of db, the added child is gone and its mailbox
    // finished; its name can be taken again.
    let butler = Butler::builder("retire")
        .server("front", Probe::factory(ProbeConfig::default()))
        .supervisor("db", |s| {
            s.intensity(0, Duration::from_secs(60))
                .server("reader", Probe::factory(ProbeConfig::default()))
        })
        .start()
        .expect("starts");
    let mut events = EventLog::new(butler.subscribe());
    let extra = add(&butler, "retire/db", "extra").expect("added");
    ping(&extra);

    butler
        .hub()
        .address::<Probe>("reader")
        .expect("registered")
        .send(Crash)
        .expect("sent");
    events.wait("GaveUp", "retire/db");
    events.wait("Stopped", "retire/db/extra");
    events.wait("Restarting", "retire/db");
    events.wait("Started", "retire/db");

    assert!(extra.is_closed(), "its mailbox was finished");
    assert!(matches!(extra.send(Crash), Err(SendError::Closed(Crash))));
    let s = butler.status();
    let db = s.find("retire/db").expect("listed");
    let names: Vec<&str> = db.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["reader"], "only the declared child came back\n{s}");
    let lines = events.lines();
    let gave_up = lines
        .iter()
        .position(|l| l == "GaveUp retire/db")
        .expect("seen");
    assert!(
        !lines[gave_up..]
            .iter()
            .any(|l| l == "Starting retire/db/extra"),
        "never started again: {lines:?}"
    );

    let again = add(&butler, "retire/db", "extra").expect("the name is free");
    assert_eq!(ping(&again).name, "extra");
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn removing_a_child_leaves_another_childs_mailbox_of_the_same_name_alone() {
    // "cache" names a server under the root and a plain thread under db:
    // only the server has a mailbox. Removing the thread must not take the
    // server's mailbox off the hub.
    let butler = Butler::builder("names")
        .server("cache", Probe::factory(ProbeConfig::default()))
        .supervisor("db", |s| {
            s.thread("cache", |mut life| {
                life.started();
                while !life.stop.is_requested() {
                    let _ = life.stop.waker().recv();
                }
                ExitReason::Shutdown
            })
        })
        .start()
        .expect("starts");
    let cache = butler.hub().address::<Probe>("cache").expect("registered");
    butler.remove_child("names/db", "cache").expect("removed");
    assert!(!cache.is_closed(), "the server runs on");
    assert!(
        butler.hub().address::<Probe>("cache").is_some(),
        "the server's mailbox is still on the hub"
    );
    butler
        .hub()
        .request_timeout(Ping, PATIENCE)
        .expect("routed by type");
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}
