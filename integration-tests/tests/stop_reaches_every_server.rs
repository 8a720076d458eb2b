//! docs/runtime-semantics.md §6 Stopping: a stop request reaches a server
//! blocked waiting for mail and a server whose mailbox is full; `Drain`
//! handles the queue first, `Immediate` dead-letters it.

use integration_tests::{Gate, hub_with_dead_letters};
use threadbutler::prelude::*;

pub struct Work(pub u32);
threadbutler::messages! { pub enum SlowMsg for Slow { Work } }

pub struct Slow {
    gate: Option<Gate>,
}

impl Server for Slow {
    fn handle(&mut self, _: SlowMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        if let Some(g) = &self.gate {
            g.enter();
        }
        Ok(())
    }
}

#[test]
fn stop_reaches_a_server_blocked_in_recv() {
    let hub = Hub::new();
    hub.spawn("idle", || Slow { gate: None }).expect("starts");
    // Idle: blocked waiting for mail. The stop must wake it.
    let report = hub.stop("idle").expect("known");
    assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
    assert_eq!(report.given_up, 0);
}

fn full_server(
    shutdown: Shutdown,
) -> (
    Hub,
    Address<Slow>,
    Gate,
    crossbeam_channel::Receiver<DeadLetter>,
) {
    let gate = Gate::new();
    let (builder, dead) = hub_with_dead_letters("stops");
    let hub = builder.build();
    let g = gate.clone();
    let addr = hub
        .server("slow", move || Slow {
            gate: Some(g.clone()),
        })
        .capacity(Capacity::Bounded(4))
        .shutdown(shutdown)
        .spawn()
        .expect("starts");
    addr.send(Work(0)).expect("in hand");
    gate.wait_arrival();
    for n in 1..=4 {
        addr.try_send(Work(n))
            .unwrap_or_else(|_| panic!("queue {n}"));
    }
    assert!(matches!(
        addr.try_send(Work(99)),
        Err(threadbutler::TrySendError::Full(_))
    ));
    (hub, addr, gate, dead)
}

#[test]
fn immediate_stop_reaches_a_full_mailbox_and_dead_letters_the_queue() {
    let (hub, addr, gate, dead) = full_server(Shutdown::Immediate);
    let stopper = {
        let hub = hub.clone();
        std::thread::spawn(move || hub.stop("slow").expect("known"))
    };
    // The stop did not need room in the mailbox: the queue is swept while the
    // handler is still held at the gate.
    integration_tests::wait_until("the queue is dead-lettered", || {
        addr.depth() == 0 && addr.is_closed()
    });
    gate.open(1);
    let report = stopper.join().expect("stopper");
    assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
    assert_eq!(
        report.mailbox.expect("a server has a mailbox").handled,
        1,
        "only the message in hand was handled"
    );
    assert_eq!(
        report
            .mailbox
            .expect("a server has a mailbox")
            .dead_lettered,
        4
    );
    let letters: Vec<_> = dead.try_iter().collect();
    assert_eq!(letters.len(), 4);
    assert!(
        letters
            .iter()
            .all(|d| matches!(d.reason, DeadReason::Stopped) && d.message_type == "Work")
    );
    // Payloads come back: the queued jobs 1..=4, in order.
    let ids: Vec<u32> = letters
        .into_iter()
        .map(|d| {
            match *d
                .payload
                .expect("queued letters keep their payload")
                .downcast::<SlowMsg>()
                .expect("the enum")
            {
                SlowMsg::Work(Work(n)) => n,
            }
        })
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
}

#[test]
fn drain_stop_reaches_a_full_mailbox_and_handles_the_queue() {
    let (hub, addr, gate, dead) = full_server(Shutdown::Drain(integration_tests::PATIENCE));
    let stopper = {
        let hub = hub.clone();
        std::thread::spawn(move || hub.stop("slow").expect("known"))
    };
    integration_tests::wait_until("the mailbox closes", || addr.is_closed());
    // Closed to new sends while the queue is drained.
    assert!(matches!(
        addr.try_send(Work(100)),
        Err(threadbutler::TrySendError::Closed(Work(100)))
    ));
    gate.open(5);
    let report = stopper.join().expect("stopper");
    assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
    assert_eq!(report.mailbox.expect("a server has a mailbox").handled, 5);
    assert_eq!(
        report
            .mailbox
            .expect("a server has a mailbox")
            .dead_lettered,
        0
    );
    assert!(dead.try_recv().is_err());
}

#[test]
fn a_drain_that_misses_its_deadline_dead_letters_the_rest() {
    let (hub, _addr, gate, dead) =
        full_server(Shutdown::Drain(std::time::Duration::from_millis(50)));
    let stopper = {
        let hub = hub.clone();
        std::thread::spawn(move || hub.stop("slow").expect("known"))
    };
    // Hold the first message past the drain deadline: the four queued ones
    // are dead-lettered for the deadline, then the server is let go.
    let first = dead
        .recv_timeout(integration_tests::PATIENCE)
        .expect("a dead letter after the deadline");
    assert!(matches!(first.reason, DeadReason::DrainDeadline));
    gate.open(5);
    let report = stopper.join().expect("stopper");
    assert!(report.given_up > 0);
    assert_eq!(report.mailbox.expect("a server has a mailbox").handled, 1);
    assert_eq!(
        report
            .mailbox
            .expect("a server has a mailbox")
            .dead_lettered,
        4
    );
    assert_eq!(dead.try_iter().count(), 3);
}
