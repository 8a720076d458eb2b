//! docs/runtime-semantics.md §2 Sending: a send that is not accepted returns
//! the message inside its error; nothing is dropped on an error path.

use std::time::Duration;

use integration_tests::Gate;
use threadbutler::prelude::*;
use threadbutler::{SendError, SendTimeoutError, TrySendError};

#[derive(Debug, PartialEq)]
pub struct Payload(pub String);

threadbutler::messages! { pub enum HeldMsg for Held { Payload } }

pub struct Held {
    gate: Gate,
}

impl Server for Held {
    fn handle(&mut self, _: HeldMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        self.gate.enter();
        Ok(())
    }
}

fn full_mailbox() -> (Hub, Address<Held>, Gate) {
    let gate = Gate::new();
    let hub = Hub::new();
    let g = gate.clone();
    let addr = hub
        .server("held", move || Held { gate: g.clone() })
        .capacity(Capacity::Bounded(2))
        .shutdown(Shutdown::Immediate)
        .spawn()
        .expect("starts");
    addr.send(Payload("in hand".into())).expect("first");
    gate.wait_arrival(); // the server holds one message, the queue is empty
    addr.send(Payload("q1".into())).expect("q1");
    addr.send(Payload("q2".into())).expect("q2");
    (hub, addr, gate)
}

#[test]
fn try_send_on_a_full_mailbox_returns_full_with_the_message() {
    let (hub, addr, gate) = full_mailbox();
    match addr.try_send(Payload("extra".into())) {
        Err(TrySendError::Full(p)) => assert_eq!(p, Payload("extra".into())),
        other => panic!("expected Full, got {other:?}"),
    }
    // Through the hub, by type, the same.
    match hub.try_send(Payload("by type".into())) {
        Err(TrySendError::Full(p)) => assert_eq!(p.0, "by type"),
        other => panic!("expected Full, got {other:?}"),
    }
    gate.open(3);
    hub.shutdown().expect("shutdown");
}

#[test]
fn send_timeout_on_a_full_mailbox_returns_timeout_with_the_message() {
    let (hub, addr, gate) = full_mailbox();
    match addr.send_timeout(Payload("late".into()), Duration::from_millis(20)) {
        Err(SendTimeoutError::Timeout(p)) => assert_eq!(p.0, "late"),
        other => panic!("expected Timeout, got {other:?}"),
    }
    gate.open(3);
    hub.shutdown().expect("shutdown");
}

#[test]
fn a_sender_blocked_on_a_full_mailbox_gets_closed_with_the_message_when_it_stops() {
    let (hub, addr, gate) = full_mailbox();
    let blocked = {
        let addr = addr.clone();
        std::thread::spawn(move || addr.send(Payload("waiting".into())))
    };
    // Stop (Immediate): closes the mailbox, which wakes the blocked sender.
    hub.request_stop("held").expect("known");
    // No slot frees before the gate opens (after this join): only the
    // close can have woken the sender. A close that did not would leave it
    // blocked until the gate gives up (PATIENCE), then let it in: `Ok`.
    match blocked.join().expect("sender thread") {
        Err(SendError::Closed(p)) => assert_eq!(p.0, "waiting"),
        other => panic!("the close did not refuse the blocked send: {other:?}"),
    }
    gate.open(4);
    let report = hub.join("held").expect("joined");
    let s = report.mailbox.expect("a server has a mailbox");
    assert_eq!(s.queued, 0);
    assert_eq!(s.accepted, s.handled + s.dead_lettered);
}

#[test]
fn sends_to_a_stopped_server_return_closed_with_the_message() {
    let (hub, addr, gate) = full_mailbox();
    gate.open(3);
    hub.stop("held").expect("stopped");
    match addr.send(Payload("after".into())) {
        Err(SendError::Closed(p)) => assert_eq!(p.0, "after"),
        other => panic!("expected Closed, got {other:?}"),
    }
    // Stopped for good, it left the hub: by type there is no route now.
    match hub.send(Payload("by type".into())) {
        Err(SendError::NoRoute(p, _)) => assert_eq!(p.0, "by type"),
        other => panic!("expected NoRoute, got {other:?}"),
    }
}

#[test]
fn a_type_with_no_registered_server_returns_no_route_with_the_message() {
    let hub = Hub::new();
    match hub.send(Payload("nobody".into())) {
        Err(SendError::NoRoute(p, threadbutler::NoRoute::NoEndpoint { .. })) => {
            assert_eq!(p.0, "nobody")
        }
        other => panic!("expected NoRoute, got {other:?}"),
    }
}
