//! A drain is a promise to handle the queue (docs/runtime-semantics.md
//! §11.16): a life that fails during a drain, with work left and a restart
//! due by its policy, is followed by another that goes on draining within
//! the same deadline; a child waiting out a restart backoff when the drain
//! begins is started to drain; and a drain that ends with work left (no
//! restart due) reports it as `Drained { left }`, which makes the shutdown
//! unclean (exit 75, §12.6).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use integration_tests::Gate;
use integration_tests::events::EventLog;
use threadbutler::prelude::*;

/// Counted work.
pub struct Work;
/// Panics.
pub struct Crash;
/// Waits at the gate (without a heartbeat: hung).
pub struct Hold(pub Gate);
/// Waits until the channel receives or closes, beating meanwhile (busy,
/// not hung).
pub struct Pause(pub crossbeam_channel::Receiver<()>);
threadbutler::messages! { pub enum CellMsg for Cell { Work, Crash, Hold, Pause } }

/// Counts the `Work` it handles.
pub struct Cell {
    done: Arc<AtomicUsize>,
}

impl Server for Cell {
    fn handle(&mut self, msg: CellMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            CellMsg::Work(Work) => {
                self.done.fetch_add(1, Ordering::SeqCst);
            }
            CellMsg::Crash(Crash) => panic!("crashed during the drain"),
            CellMsg::Hold(Hold(gate)) => gate.enter(),
            CellMsg::Pause(Pause(until)) => {
                while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                    until.recv_timeout(Duration::from_millis(10))
                {
                    ctx.beat();
                }
            }
        }
        Ok(())
    }
}

/// A server held at a gate with `Crash` and ten `Work` queued behind it,
/// then shut down; returns the report's exit code, the work done, the
/// mailbox's dead letters and the events.
fn crash_during_drain(restart: Restart) -> (i32, usize, u64, Vec<String>) {
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    let app = Butler::builder("app")
        .server("cell", move || Cell {
            done: Arc::clone(&d),
        })
        .restart(restart)
        .shutdown(Shutdown::Drain(Duration::from_secs(20)))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let gate = Gate::new();
    app.hub().send(Hold(gate.clone())).expect("sent");
    gate.wait_arrival();
    app.hub().send(Crash).expect("sent");
    for _ in 0..10 {
        app.hub().send(Work).expect("sent");
    }
    app.shutdown();
    events.wait("ShutdownBegan", "app");
    gate.open(1);
    let report = app.wait().expect("the tree did not give up");
    let (_, stats) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "cell")
        .expect("listed");
    assert_eq!(stats.accepted, stats.handled + stats.dead_lettered);
    assert_eq!(stats.accepted, 12, "Hold, Crash and ten Work, each counted");
    let kinds = ["Exited", "Restarting", "Started", "Drained"];
    let seen: Vec<String> = events
        .drain()
        .iter()
        .filter(|e| kinds.contains(&e.kind()))
        .map(ToString::to_string)
        .collect();
    (
        report.exit_code(),
        done.load(Ordering::SeqCst),
        stats.dead_lettered,
        seen,
    )
}

#[test]
fn a_server_that_fails_during_its_drain_gets_a_life_that_finishes_it() {
    let (code, done, dead, seen) = crash_during_drain(Restart::Permanent);
    assert_eq!(done, 10, "the next life handled the rest: {seen:?}");
    assert_eq!(dead, 1, "only the message in flight at the panic");
    assert_eq!(code, 0, "a clean drain: {seen:?}");
    assert!(
        seen.iter()
            .any(|e| e.starts_with("Restarting app/cell (attempt 1")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|e| e == "Drained app/cell (0 left)"),
        "{seen:?}"
    );
}

#[test]
fn a_drain_cut_short_by_a_failure_reports_what_it_left() {
    let (code, done, dead, seen) = crash_during_drain(Restart::Temporary);
    assert_eq!(done, 0, "{seen:?}");
    assert_eq!(dead, 11, "the crash's message and the ten behind it");
    assert!(
        seen.iter().any(|e| e == "Drained app/cell (10 left)"),
        "{seen:?}"
    );
    assert_eq!(code, threadbutler::UNCLEAN_EXIT, "work was lost: {seen:?}");
}

#[test]
fn pool_workers_waiting_out_a_backoff_are_started_to_drain() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    let app = Butler::builder("app")
        .pool("cells", 2, move || Cell {
            done: Arc::clone(&d),
        })
        // Far longer than the test: without the drain's start, nothing would run.
        .backoff(Backoff::exponential(
            Duration::from_secs(600),
            Duration::from_secs(600),
        ))
        .shutdown(Shutdown::Drain(Duration::from_secs(20)))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    app.hub().send(Crash).expect("sent");
    for _ in 0..2 {
        events.wait_for("a worker waiting out its backoff", |e| {
            e.kind() == "Restarting" && e.subject().starts_with("app/cells/")
        });
    }
    for _ in 0..5 {
        app.hub().send(Work).expect("queued while no worker runs");
    }
    app.shutdown();
    let report = app.wait().expect("the tree did not give up");
    assert_eq!(done.load(Ordering::SeqCst), 5);
    assert_eq!(report.exit_code(), 0);
    let (_, stats) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "cells")
        .expect("listed");
    assert_eq!((stats.handled, stats.dead_lettered), (5, 2));
}

#[test]
fn a_nested_supervisor_waiting_out_a_backoff_is_started_to_drain_its_childrens_queues() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    let app = Butler::builder("app")
        .supervisor("inner", move |s| {
            s.intensity(0, Duration::from_secs(60))
                .server("cell", move || Cell {
                    done: Arc::clone(&d),
                })
                .shutdown(Shutdown::Drain(Duration::from_secs(20)))
        })
        .backoff(Backoff::exponential(
            Duration::from_secs(600),
            Duration::from_secs(600),
        ))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let gate = Gate::new();
    app.hub().send(Hold(gate.clone())).expect("sent");
    gate.wait_arrival();
    app.hub().send(Crash).expect("sent");
    for _ in 0..10 {
        app.hub().send(Work).expect("sent");
    }
    gate.open(1);
    // `inner` may not restart `cell` (intensity 0): it gives up, and the
    // root schedules it again in ten minutes. Its child's queue is kept.
    events.wait("GaveUp", "app/inner");
    events.wait("Restarting", "app/inner");
    app.shutdown();
    let report = app.wait().expect("the root did not give up");
    assert_eq!(done.load(Ordering::SeqCst), 10, "drained by a new life");
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn a_forced_shutdown_cuts_a_drain_short_and_says_it_was_no_deadline() {
    // §11.16, §12.2: a second signal turns the drain into an immediate stop;
    // the queue is dead-lettered as stopped, not as past a deadline.
    let (tx, dead) = crossbeam_channel::unbounded();
    let app = Butler::builder("app")
        .on_dead_letter(move |d| {
            let _ = tx.send(d);
        })
        .server("cell", || Cell {
            done: Arc::default(),
        })
        .shutdown(Shutdown::Drain(Duration::from_secs(60)))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let gate = Gate::new();
    app.hub().send(Hold(gate.clone())).expect("sent");
    gate.wait_arrival();
    for _ in 0..5 {
        app.hub().send(Work).expect("sent");
    }
    app.shutdown();
    events.wait("ShutdownBegan", "app");
    app.force_shutdown();
    let drained = events.wait("Drained", "app/cell");
    assert!(
        matches!(drained, Event::Drained { left: 5, .. }),
        "{drained}"
    );
    gate.open(1);
    let report = app.wait().expect("the tree did not give up");
    assert_eq!(report.exit_code(), threadbutler::UNCLEAN_EXIT);
    let reasons: Vec<String> = dead.try_iter().map(|d| d.reason.to_string()).collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|r| r == "queued when the server stopped"),
        "{reasons:?}"
    );
}

#[test]
fn a_life_that_hangs_during_its_drain_is_given_up_on_and_replaced_to_finish_it() {
    // §11.16: heartbeats are watched during a drain too. Without that, the
    // hung handler would hold the drain until its deadline (20 s), which
    // then dead-letters the queue: `done` would be 0.
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    let app = Butler::builder("app")
        .abandon_after(Duration::from_millis(100))
        .server("cell", move || Cell {
            done: Arc::clone(&d),
        })
        .heartbeat(Duration::from_millis(100))
        .shutdown(Shutdown::Drain(Duration::from_secs(20)))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    // Busy (and beating) until the shutdown began, so that the hang below
    // happens during the drain.
    let (resume, paused) = crossbeam_channel::bounded(1);
    app.hub().send(Pause(paused)).expect("sent");
    for _ in 0..5 {
        app.hub().send(Work).expect("sent");
    }
    let gate = Gate::new();
    app.hub().send(Hold(gate.clone())).expect("sent");
    for _ in 0..5 {
        app.hub().send(Work).expect("sent");
    }
    app.shutdown();
    events.wait("ShutdownBegan", "app");
    resume.send(()).expect("the cell waits");
    let report = app.wait().expect("the tree did not give up");
    gate.open(1); // lets the abandoned thread go
    assert_eq!(
        done.load(Ordering::SeqCst),
        10,
        "the replacement drained the rest"
    );
    let seen = events.only(&["HeartbeatMissed", "Abandoned", "Restarting", "Drained"]);
    assert_eq!(
        seen,
        [
            "HeartbeatMissed app/cell",
            "Abandoned app/cell",
            "Restarting app/cell",
            "Drained app/cell"
        ],
        "{seen:?}"
    );
    assert_eq!(
        report.exit_code(),
        threadbutler::UNCLEAN_EXIT,
        "a thread was abandoned during the shutdown"
    );
}
