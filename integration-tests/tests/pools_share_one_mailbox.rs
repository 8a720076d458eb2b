//! Pools: N workers share one mailbox (any idle worker takes the next
//! message), each supervised on its own; a failing worker loses only its
//! message in flight; the pool drains as one unit. (The pools issue.)

use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Hang, Ping, Probe, ProbeConfig};
use threadbutler::prelude::*;

#[test]
fn idle_workers_take_the_next_message_so_load_spreads() {
    let cfg = ProbeConfig::default();
    let app = Butler::builder("app")
        .pool("workers", 2, Probe::factory(cfg.clone()))
        .start()
        .expect("starts");
    // Two messages that each hold their worker: both are taken at once,
    // which only two workers can do.
    app.hub().send(Hang).expect("sent");
    app.hub().send(Hang).expect("sent");
    cfg.gate.wait_arrival();
    cfg.gate.wait_arrival();
    cfg.gate.open(2);
    let tree = app.status();
    let pool = tree.find("app/workers").expect("the pool is in the tree");
    assert_eq!(pool.kind, "pool");
    let names: Vec<&str> = pool.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["workers-0", "workers-1"]);
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
}

#[test]
fn a_failing_worker_loses_only_its_message_and_is_replaced_alone() {
    let (dead_tx, dead_rx) = crossbeam_channel::unbounded();
    let app = Butler::builder("app")
        .on_dead_letter(move |d| {
            let _ = dead_tx.send(d);
        })
        .intensity(10, Duration::from_secs(60))
        .pool("workers", 2, Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    let mut answered = 0;
    for _ in 0..20 {
        if app.hub().request(Ping).is_ok() {
            answered += 1;
        }
    }
    assert_eq!(
        answered, 20,
        "the other worker (and the replacement) answered everything"
    );
    // Whichever worker took the crash was replaced, alone.
    events.wait_for("a worker's restart", |e| {
        e.kind() == "Restarting" && e.subject().starts_with("app/workers/workers-")
    });
    assert_eq!(events.only(&["Restarting"]).len(), 1);
    let letters: Vec<DeadLetter> = dead_rx.try_iter().collect();
    assert_eq!(letters.len(), 1, "only the message in flight: {letters:?}");
    assert!(matches!(
        letters[0].reason,
        DeadReason::InFlight(ExitReason::Panicked { .. })
    ));
    app.shutdown();
    let report = app.wait().expect("clean");
    let (_, s) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "workers")
        .expect("listed");
    assert_eq!(s.accepted, s.handled + s.dead_lettered);
    assert_eq!((s.handled, s.dead_lettered), (20, 1));
}

/// A worker for the drain test: `Work` is quick, `Hold` waits at a gate.
pub struct Work;
pub struct Hold;
threadbutler::messages! { pub enum ChurnMsg for Churn { Work, Hold } }
pub struct Churn {
    gate: integration_tests::Gate,
}
impl Server for Churn {
    fn handle(&mut self, msg: ChurnMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        if let ChurnMsg::Hold(Hold) = msg {
            self.gate.enter();
        }
        Ok(())
    }
}

#[test]
fn the_pool_drains_as_one_unit() {
    let gate = integration_tests::Gate::new();
    let g = gate.clone();
    let app = Butler::builder("app")
        .pool("workers", 3, move || Churn { gate: g.clone() })
        .shutdown(Shutdown::Drain(Duration::from_secs(30)))
        .start()
        .expect("starts");
    // Hold every worker so that work queues up, then shut down under it.
    for _ in 0..3 {
        app.hub().send(Hold).expect("sent");
    }
    for _ in 0..3 {
        gate.wait_arrival();
    }
    for _ in 0..50 {
        app.hub().send(Work).expect("queued");
    }
    app.shutdown();
    gate.open(3);
    let report = app.wait().expect("clean");
    assert!(report.is_clean(), "{report:?}");
    let (_, s) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "workers")
        .expect("listed");
    assert_eq!(
        (s.accepted, s.handled, s.dead_lettered),
        (53, 53, 0),
        "{s:?}"
    );
}
