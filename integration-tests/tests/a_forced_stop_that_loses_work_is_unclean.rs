//! docs/runtime-semantics.md §11.16 and §12.2, §12.6: a shutdown that
//! dead-letters queued work is unclean (exit 75), whether the force came
//! during a drain, before it began, or instead of one; and a
//! `Drained { left }` event says what was left. (A force during a drain is
//! covered in `a_drain_goes_on_after_a_failure.rs`.)
//!
//! SIGINT and SIGTERM arriving together make the force land before any
//! drain started; in-process, `force_shutdown()` before `shutdown()` (or
//! alone) is the same, without sending real signals to the shared test
//! process. The server is held in a handler at a gate with work queued
//! behind it, so that the queue is not empty when the stop comes; the gate
//! opens once the queue was dead-lettered.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use integration_tests::events::EventLog;
use integration_tests::{Gate, PATIENCE};
use threadbutler::Report;
use threadbutler::prelude::*;

/// Counted work.
pub struct Work;
/// Waits at the gate.
pub struct Hold(pub Gate);
threadbutler::messages! { pub enum CellMsg for Cell { Work, Hold } }

pub struct Cell {
    done: Arc<AtomicUsize>,
}

impl Server for Cell {
    fn handle(&mut self, msg: CellMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            CellMsg::Work(Work) => {
                self.done.fetch_add(1, Ordering::SeqCst);
            }
            CellMsg::Hold(Hold(gate)) => gate.enter(),
        }
        Ok(())
    }
}

fn cell() -> Cell {
    Cell {
        done: Arc::default(),
    }
}

/// Opens the gate when dropped (also when a test fails).
struct Release(Gate);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.open(8);
    }
}

/// Waits until `n` dead letters arrived: the forced stop gave up the queue.
fn wait_dead_letters(dead: &Receiver<DeadLetter>, n: usize) -> Vec<DeadLetter> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while got.len() < n {
        match dead.recv_deadline(deadline) {
            Ok(d) => got.push(d),
            Err(_) => panic!(
                "only {} of {n} queued messages were dead-lettered: {got:?}",
                got.len()
            ),
        }
    }
    got
}

/// The `left` of every `Drained` event about `subject` or below it.
fn left(events: &mut EventLog, subject: &str) -> Vec<(String, u64)> {
    events
        .drain()
        .iter()
        .filter_map(|e| match e {
            Event::Drained { child, left }
                if &**child == subject || child.starts_with(&format!("{subject}/")) =>
            {
                Some((child.to_string(), *left))
            }
            _ => None,
        })
        .collect()
}

const QUEUED: usize = 5;

/// A server `cell` (drain of a minute) held with `QUEUED` work behind it;
/// `stop` ends the application; returns the report and the events.
fn held_cell_stopped_by(stop: impl FnOnce(&Butler)) -> (Report, EventLog) {
    let (tx, dead) = crossbeam_channel::unbounded();
    let app = Butler::builder("app")
        .on_dead_letter(move |d| {
            let _ = tx.send(d);
        })
        .server("cell", cell)
        .shutdown(Shutdown::Drain(Duration::from_secs(60)))
        .start()
        .expect("starts");
    let events = EventLog::new(app.subscribe());
    let gate = Gate::new();
    let _release = Release(gate.clone());
    app.hub().send(Hold(gate.clone())).expect("sent");
    gate.wait_arrival();
    for _ in 0..QUEUED {
        app.hub().send(Work).expect("sent");
    }

    stop(&app);
    let lost = wait_dead_letters(&dead, QUEUED);
    assert!(lost.iter().all(|d| d.message_type == "Work"), "{lost:?}");
    gate.open(1);
    let report = app.wait().expect("the tree did not give up");
    (report, events)
}

fn assert_unclean(report: &Report, events: &mut EventLog, subject: &str, lost: u64) {
    let lines = events.lines();
    assert_eq!(
        report.exit_code(),
        threadbutler::UNCLEAN_EXIT,
        "{lost} queued messages were dead-lettered by the forced stop, yet the exit code \
         says clean; report: {report:?}; events: {lines:#?}"
    );
    assert!(!report.is_clean(), "{report:?}");
    let drained = left(events, subject);
    assert_eq!(
        drained.iter().map(|(_, n)| n).sum::<u64>(),
        lost,
        "a Drained {{ left }} says what was left: {drained:?}; events: {lines:#?}"
    );
}

#[test]
fn a_force_before_the_drain_began_is_an_unclean_shutdown() {
    // Both signals at once: the force lands first, the drain request after.
    let (report, mut events) = held_cell_stopped_by(|app| {
        app.force_shutdown();
        app.shutdown();
    });
    assert_unclean(&report, &mut events, "app/cell", QUEUED as u64);
}

#[test]
fn a_force_instead_of_a_drain_is_an_unclean_shutdown() {
    let (report, mut events) = held_cell_stopped_by(|app| app.force_shutdown());
    assert_unclean(&report, &mut events, "app/cell", QUEUED as u64);
}

#[test]
fn a_pool_forced_before_its_drain_reports_what_it_left_and_is_unclean() {
    // The case: a pool with jobs queued behind busy workers.
    const WORKERS: usize = 2;
    const JOBS: usize = 10;
    let (tx, dead) = crossbeam_channel::unbounded();
    let app = Butler::builder("app")
        .on_dead_letter(move |d| {
            let _ = tx.send(d);
        })
        .pool("workers", WORKERS, cell)
        .shutdown(Shutdown::Drain(Duration::from_secs(60)))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let gate = Gate::new();
    let _release = Release(gate.clone());
    for _ in 0..WORKERS {
        app.hub().send(Hold(gate.clone())).expect("sent");
        gate.wait_arrival();
    }
    for _ in 0..JOBS {
        app.hub().send(Work).expect("sent");
    }

    app.force_shutdown();
    app.shutdown();
    wait_dead_letters(&dead, JOBS);
    gate.open(WORKERS);
    let report = app.wait().expect("the tree did not give up");
    assert_unclean(&report, &mut events, "app/workers", JOBS as u64);
}
