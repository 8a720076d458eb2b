//! docs/runtime-semantics.md §15 (one runtime): a server spawned on a hub is
//! a child of the hub's root supervisor (an implicit one, or a Butler's), so
//! it stops, drains, restarts and reports exactly as a declared one does,
//! and `hub.shutdown()` means the same thing everywhere.

use std::time::Duration;

use integration_tests::{Gate, PATIENCE};
use threadbutler::prelude::*;
use threadbutler::{ChildState, SendError};

pub struct Job(pub u32);
pub struct Crash;
pub struct Total(pub Reply<u32>);
threadbutler::messages! { pub enum TallyMsg for Tally { Job, Crash, Total } }

pub struct Tally {
    sum: u32,
    gate: Option<Gate>,
}

impl Tally {
    fn new() -> Self {
        Tally { sum: 0, gate: None }
    }

    /// One that holds each job at `gate` until the test lets it go.
    fn gated(gate: &Gate) -> Self {
        Tally {
            sum: 0,
            gate: Some(gate.clone()),
        }
    }
}

impl Server for Tally {
    fn handle(&mut self, msg: TallyMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            TallyMsg::Job(Job(n)) => {
                if let Some(g) = &self.gate {
                    g.enter();
                }
                self.sum += n
            }
            TallyMsg::Crash(Crash) => panic!("asked to crash"),
            TallyMsg::Total(Total(r)) => r.send(self.sum),
        }
        Ok(())
    }
}

fn events_until(events: &crossbeam_channel::Receiver<Event>, kind: &str, subject: &str) {
    loop {
        let e = events.recv_timeout(PATIENCE).expect("the event comes");
        if e.kind() == kind && e.subject() == subject {
            return;
        }
    }
}

#[test]
fn a_hub_without_a_tree_runs_its_servers_under_an_implicit_root() {
    let hub = Hub::builder("svc").build();
    hub.spawn("tally", Tally::new).expect("starts");
    let status = hub.status();
    assert_eq!(status.path, "svc");
    assert_eq!(status.kind, "supervisor");
    let row = status.find("svc/tally").expect("a child of the root");
    assert_eq!(row.state, ChildState::Running);

    hub.send(Job(2)).expect("sent");
    let report = hub.shutdown().expect("a requested shutdown");
    assert!(report.is_clean(), "{report:?}");
    assert!(matches!(
        report.exit_of("svc/tally"),
        Some(ExitReason::Shutdown)
    ));
    let (_, tally) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "tally")
        .expect("listed");
    assert_eq!((tally.handled, tally.dead_lettered), (1, 0));
}

#[test]
fn a_spawned_server_restarts_by_its_policy_and_keeps_its_queue() {
    let hub = Hub::builder("svc").build();
    let events = hub.subscribe();
    let tally = hub
        .server("tally", Tally::new)
        .restart(Restart::Permanent)
        .spawn()
        .expect("starts");
    tally.send(Crash).expect("sent");
    tally.send(Job(5)).expect("queued behind the crash");
    events_until(&events, "Restarting", "svc/tally");
    // The same mailbox, read by the next life: the queued job was handled.
    assert_eq!(tally.request(Total).expect("answered"), 5);
    assert_eq!(hub.status().find("svc/tally").map(|r| r.restarts), Some(1));
    hub.shutdown().expect("a requested shutdown");
}

#[test]
fn by_default_a_spawned_server_is_temporary_and_a_stop_drains_it() {
    let hub = Hub::builder("svc").build();
    let gate = Gate::new();
    let g = gate.clone();
    let tally = hub
        .server("tally", move || Tally::gated(&g))
        .shutdown(Shutdown::Drain(PATIENCE))
        .spawn()
        .expect("starts");
    for n in 1..=3 {
        tally.send(Job(n)).expect("queued");
    }
    gate.wait_arrival();
    hub.request_stop("tally").expect("known");
    gate.open(3);
    let report = hub.join("tally").expect("spawned here");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.mailbox.map(|m| m.handled), Some(3), "drained");
    assert!(hub.status().find("svc/tally").is_none(), "removed");

    // A crash ends a temporary server for good.
    let crashing = hub.spawn("crashing", Tally::new).expect("starts");
    crashing.send(Crash).expect("sent");
    let report = hub.join("crashing").expect("spawned here");
    assert!(matches!(report.reason, Some(ExitReason::Panicked { .. })));
    assert!(crashing.send(Job(1)).is_err(), "finished");
    hub.shutdown().expect("a requested shutdown");
}

#[test]
fn inside_a_butler_the_hub_spawns_into_the_tree_and_its_shutdown_is_the_apps() {
    let app = Butler::builder("app")
        .server("first", Tally::new)
        .start()
        .expect("starts");
    let hub = app.hub().clone();
    let late = hub.spawn("late", Tally::new).expect("starts");
    let row = app.status().find("app/late").cloned().expect("in the tree");
    assert_eq!(row.state, ChildState::Running);
    late.send(Job(1)).expect("sent");

    let report = hub.shutdown().expect("a requested shutdown");
    assert!(report.is_clean(), "{report:?}");
    let order: Vec<&str> = report.exits.iter().map(|(p, _)| &**p).collect();
    assert_eq!(order, ["app/late", "app/first"], "reverse start order");
    // The Butler saw the same shutdown.
    let again = app
        .wait_timeout(Duration::from_secs(5))
        .expect("the tree ended")
        .expect("a requested shutdown");
    assert_eq!(again.exits.len(), 2);
}

#[test]
fn a_server_that_ended_for_good_leaves_the_hub_and_ties_no_route() {
    let hub = Hub::builder("svc").build();
    // Ended by itself (a temporary server that crashed).
    let first = hub.spawn("first", Tally::new).expect("starts");
    first.send(Crash).expect("sent");
    hub.join("first").expect("spawned here");
    assert!(hub.address::<Tally>("first").is_none(), "left the hub");
    // Another of the same type takes the route alone.
    hub.spawn("second", Tally::new).expect("starts");
    hub.send(Job(4)).expect("routed to second alone");
    assert_eq!(hub.request(Total).expect("answered"), 4);
    // Stopped without waiting, then joined: gone too.
    hub.request_stop("second").expect("known");
    let report = hub.join("second").expect("spawned here");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.mailbox.map(|m| m.handled), Some(2));
    assert!(
        matches!(hub.send(Job(1)), Err(SendError::NoRoute(Job(1), _))),
        "by type: no route, the message back"
    );
    hub.shutdown().expect("a requested shutdown");
}

#[test]
fn a_join_after_a_drain_past_its_deadline_reports_what_was_given_up() {
    let hub = Hub::builder("svc").build();
    let gate = Gate::new();
    let g = gate.clone();
    let tally = hub
        .server("tally", move || Tally::gated(&g))
        .shutdown(Shutdown::Drain(Duration::from_millis(20)))
        .spawn()
        .expect("starts");
    for n in 1..=5 {
        tally.send(Job(n)).expect("queued");
    }
    gate.wait_arrival();
    let events = hub.subscribe();
    hub.request_stop("tally").expect("known");
    events_until(&events, "Drained", "svc/tally");
    gate.open(5);
    let report = hub.join("tally").expect("spawned here");
    assert_eq!(report.given_up, 4, "{report:?}");
    assert!(!report.is_clean());
    let stats = report.mailbox.expect("a server has a mailbox");
    assert_eq!((stats.handled, stats.dead_lettered), (1, 4));
    hub.shutdown().expect("a requested shutdown");
}

#[test]
fn an_implicit_root_that_gives_up_starts_no_life_to_drain() {
    let hub = Hub::builder("svc").build();
    let events = hub.subscribe();
    let tally = hub
        .server("tally", Tally::new)
        .restart(Restart::Permanent)
        .spawn()
        .expect("starts");
    for _ in 0..4 {
        let _ = tally.send(Crash);
    }
    let _ = tally.send(Job(1));
    let err = hub.wait().expect_err("the root gave up");
    assert!(matches!(err, threadbutler::Error::Failed { .. }), "{err}");
    let seen: Vec<Event> = events.try_iter().collect();
    let gave_up = seen
        .iter()
        .position(|e| e.kind() == "GaveUp")
        .expect("the root gave up");
    assert!(
        !seen[gave_up..].iter().any(|e| e.kind() == "Starting"),
        "no life after giving up: {seen:?}"
    );
}
