//! docs/runtime-semantics.md §5.3 and §6: a custom `run` may do its own
//! work, reading a few messages itself, then call `ctx.default_loop(self)`;
//! from there on the server is served by the default loop with its exact
//! stop, drain, tick and failure rules.

use std::time::Duration;

use crossbeam_channel::{Sender, unbounded};
use integration_tests::{Gate, PATIENCE};
use threadbutler::prelude::*;

pub struct Note(pub u32);
pub struct Open;
pub struct Fail;
threadbutler::messages! { pub enum KeeperMsg for Keeper { Note, Open, Fail } }

/// Reads notes itself until `Open`, then hands over to the default loop.
/// With a gate, it first waits there, before reading anything.
pub struct Keeper {
    seen: Sender<String>,
    gate: Option<Gate>,
    ticks: Option<Duration>,
}

impl Keeper {
    fn new(seen: Sender<String>) -> Self {
        Keeper {
            seen,
            gate: None,
            ticks: None,
        }
    }

    fn note(&self, line: String) {
        // The receiver lives as long as the test.
        let _ = self.seen.send(line);
    }
}

impl Server for Keeper {
    fn tick_interval(&self) -> Option<Duration> {
        self.ticks
    }

    fn on_tick(&mut self, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        self.note("tick".into());
        Ok(())
    }

    fn handle(&mut self, msg: KeeperMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            KeeperMsg::Note(Note(n)) => self.note(format!("handled {n}")),
            KeeperMsg::Open(Open) => self.note("open again".into()),
            KeeperMsg::Fail(Fail) => return Err("refused".into()),
        }
        Ok(())
    }

    fn run(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        if let Some(gate) = &self.gate {
            gate.enter();
        } else {
            while let Some(msg) = ctx.recv() {
                match msg {
                    KeeperMsg::Note(Note(n)) => self.note(format!("early {n}")),
                    KeeperMsg::Open(Open) => break,
                    KeeperMsg::Fail(Fail) => return Err("failed early".into()),
                }
            }
            self.note("handing over".into());
        }
        ctx.default_loop(self)
    }
}

fn next(seen: &crossbeam_channel::Receiver<String>) -> String {
    seen.recv_timeout(PATIENCE).expect("the server reports")
}

#[test]
fn messages_after_the_hand_over_go_to_handle_and_every_one_counts() {
    let (seen_tx, seen) = unbounded();
    let hub = Hub::new();
    let keeper = hub
        .spawn("keeper", move || Keeper::new(seen_tx.clone()))
        .expect("starts");
    keeper.send(Note(1)).expect("sent");
    keeper.send(Note(2)).expect("sent");
    keeper.send(Open).expect("sent");
    keeper.send(Note(3)).expect("sent");
    keeper.send(Open).expect("sent");
    let lines: Vec<String> = (0..5).map(|_| next(&seen)).collect();
    assert_eq!(
        lines,
        [
            "early 1",
            "early 2",
            "handing over",
            "handled 3",
            "open again"
        ]
    );
    let report = hub.stop("keeper").expect("known");
    assert!(
        matches!(report.reason, Some(ExitReason::Shutdown)),
        "{:?}",
        report.reason
    );
    let s = report.mailbox.expect("a server has a mailbox");
    assert_eq!(
        (s.accepted, s.handled, s.dead_lettered),
        (5, 5, 0),
        "the messages the custom part read count as handled"
    );
}

#[test]
fn a_drain_asked_for_before_the_hand_over_is_carried_out_by_the_default_loop() {
    let (seen_tx, seen) = unbounded();
    let gate = Gate::new();
    let g = gate.clone();
    let hub = Hub::new();
    let keeper = hub
        .server("keeper", move || Keeper {
            gate: Some(g.clone()),
            ..Keeper::new(seen_tx.clone())
        })
        .shutdown(Shutdown::Drain(PATIENCE))
        .spawn()
        .expect("starts");
    gate.wait_arrival();
    for n in 1..=3 {
        keeper.send(Note(n)).expect("queued");
    }
    hub.request_stop("keeper").expect("known");
    gate.open(1);
    let report = hub.join("keeper").expect("known");
    let lines: Vec<String> = seen.try_iter().collect();
    assert_eq!(lines, ["handled 1", "handled 2", "handled 3"], "drained");
    assert!(
        matches!(report.reason, Some(ExitReason::Shutdown)),
        "{:?}",
        report.reason
    );
    assert_eq!(report.given_up, 0);
    assert_eq!(report.mailbox.expect("a server has a mailbox").handled, 3);
}

#[test]
fn an_immediate_stop_asked_for_before_the_hand_over_handles_nothing_more() {
    let (seen_tx, seen) = unbounded();
    let gate = Gate::new();
    let g = gate.clone();
    let hub = Hub::new();
    let keeper = hub
        .server("keeper", move || Keeper {
            gate: Some(g.clone()),
            ..Keeper::new(seen_tx.clone())
        })
        .shutdown(Shutdown::Immediate)
        .spawn()
        .expect("starts");
    gate.wait_arrival();
    for n in 1..=3 {
        keeper.send(Note(n)).expect("queued");
    }
    hub.request_stop("keeper").expect("known");
    gate.open(1);
    let report = hub.join("keeper").expect("known");
    assert_eq!(seen.try_iter().count(), 0, "nothing handled after the stop");
    assert!(
        matches!(report.reason, Some(ExitReason::Shutdown)),
        "{:?}",
        report.reason
    );
    let s = report.mailbox.expect("a server has a mailbox");
    assert_eq!(
        (s.handled, s.dead_lettered),
        (0, 3),
        "the queue is dead-lettered"
    );
}

#[test]
fn ticks_come_once_the_default_loop_runs() {
    let (seen_tx, seen) = unbounded();
    let hub = Hub::new();
    let keeper = hub
        .spawn("keeper", move || Keeper {
            ticks: Some(Duration::from_millis(2)),
            ..Keeper::new(seen_tx.clone())
        })
        .expect("starts");
    keeper.send(Open).expect("sent");
    assert_eq!(next(&seen), "handing over", "no tick before the hand-over");
    for _ in 0..3 {
        assert_eq!(next(&seen), "tick");
    }
    hub.stop("keeper").expect("known");
}

#[test]
fn a_failing_handler_after_the_hand_over_fails_at_handle_and_dead_letters_its_message() {
    let (seen_tx, seen) = unbounded();
    let hub = Hub::new();
    let keeper = hub
        .spawn("keeper", move || Keeper::new(seen_tx.clone()))
        .expect("starts");
    keeper.send(Open).expect("sent");
    assert_eq!(next(&seen), "handing over");
    keeper.send(Fail).expect("sent");
    let report = hub.join("keeper").expect("known");
    match &report.reason {
        Some(ExitReason::Failed {
            stage: Stage::Handle,
            error,
        }) => assert_eq!(error.to_string(), "refused"),
        other => panic!("expected a failure in handle, got {other:?}"),
    }
    let s = report.mailbox.expect("a server has a mailbox");
    assert_eq!(
        (s.accepted, s.handled, s.dead_lettered),
        (2, 1, 1),
        "Open handled by the custom part, Fail dead-lettered in flight"
    );
}
