//! Tasks: closures run on a pool of `TaskPool` servers; results come back
//! as messages; a panicking task is reported and counted and the pool goes
//! on; a drain runs the queued tasks until its deadline and dead-letters the
//! rest. (The pools and tasks issue, point 2.)

use std::time::Duration;

use integration_tests::{Gate, PATIENCE};
use threadbutler::prelude::*;
use threadbutler::task::TaskPool;

pub struct Done(pub u32);
pub struct Main;
threadbutler::messages! { pub enum MainMsg for Main { Done } }

#[test]
fn results_come_back_as_messages_and_a_panicking_task_does_not_stop_the_pool() {
    let (dead_tx, dead_rx) = crossbeam_channel::unbounded();
    let app = Butler::builder("app")
        .on_dead_letter(move |d| {
            let _ = dead_tx.send(d);
        })
        .pool("tasks", 2, TaskPool::default)
        .start()
        .expect("starts");
    let mut main = app.hub().client::<Main>("main").expect("client");
    app.hub()
        .spawn_task(|_| panic!("task 0 is broken"))
        .expect("submitted");
    for n in 1..=10u32 {
        app.hub()
            .spawn_task(move |hub| {
                hub.send(Done(n))?;
                Ok(())
            })
            .expect("submitted");
    }
    let mut got: Vec<u32> = (0..10)
        .map(|_| match main.recv_timeout(PATIENCE).expect("a result") {
            MainMsg::Done(Done(n)) => n,
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, (1..=10).collect::<Vec<_>>());
    let letter = dead_rx
        .recv_timeout(PATIENCE)
        .expect("the panic is reported");
    assert_eq!(letter.message_type, "Task");
    assert!(
        matches!(&letter.reason, DeadReason::InFlight(ExitReason::Panicked { message, .. }) if message == "task 0 is broken")
    );
    // The workers were not restarted: the panic stayed inside the task.
    let tree = app.status();
    let pool = tree.find("app/tasks").expect("the pool");
    assert!(pool.children.iter().all(|w| w.restarts == 0), "{tree}");
    app.shutdown();
    let report = app.wait().expect("clean");
    let (_, s) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "tasks")
        .expect("listed");
    assert_eq!(
        (s.accepted, s.handled, s.dead_lettered),
        (11, 10, 1),
        "{s:?}"
    );
}

#[test]
fn a_drain_runs_queued_tasks_until_its_deadline_then_dead_letters_the_rest() {
    let gate = Gate::new();
    let (dead_tx, dead_rx) = crossbeam_channel::unbounded();
    let app = Butler::builder("app")
        .on_dead_letter(move |d| {
            let _ = dead_tx.send(d);
        })
        .abandon_after(Duration::from_secs(10))
        .pool("tasks", 1, TaskPool::default)
        .shutdown(Shutdown::Drain(Duration::from_millis(50)))
        .start()
        .expect("starts");
    let g = gate.clone();
    app.hub()
        .spawn_task(move |_| {
            g.enter(); // held past the drain deadline
            Ok(())
        })
        .expect("submitted");
    gate.wait_arrival();
    for _ in 0..5 {
        app.hub().spawn_task(|_| Ok(())).expect("queued");
    }
    app.shutdown();
    // The deadline passes with the five still queued: they become dead
    // letters; then the held task is let go.
    for _ in 0..5 {
        let d = dead_rx.recv_timeout(PATIENCE).expect("a dead letter");
        assert!(matches!(d.reason, DeadReason::DrainDeadline), "{d:?}");
    }
    gate.open(1);
    let report = app.wait().expect("a requested shutdown");
    assert!(!report.drain_deadline_missed.is_empty(), "{report:?}");
    assert_eq!(report.exit_code(), threadbutler::UNCLEAN_EXIT);
}
