//! Requests from async code on any executor (here a minimal one built on
//! thread parking): the answer is awaited; a dropped reply ends the wait at
//! once; a request that cannot be sent comes back without blocking.
//! (The pools, tasks and async issue, point 4.)

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use integration_tests::Gate;
use threadbutler::RequestError;
use threadbutler::prelude::*;

struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `f` to completion on this thread, parking while it is pending.
fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

pub struct Ask(pub Reply<u32>);
pub struct AskAndDie(pub Reply<u32>);
pub struct Hold;
threadbutler::messages! { pub enum OracleMsg for Oracle { Ask, AskAndDie, Hold } }

pub struct Oracle {
    gate: Gate,
}

impl Server for Oracle {
    fn handle(&mut self, msg: OracleMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            OracleMsg::Ask(Ask(r)) => r.send(42),
            OracleMsg::AskAndDie(AskAndDie(_r)) => panic!("died holding the reply"),
            OracleMsg::Hold(Hold) => self.gate.enter(),
        }
        Ok(())
    }
}

fn oracle(hub: &Hub, capacity: usize) -> (Address<Oracle>, Gate) {
    let gate = Gate::new();
    let g = gate.clone();
    let a = hub
        .server("oracle", move || Oracle { gate: g.clone() })
        .capacity(Capacity::Bounded(capacity))
        .spawn()
        .expect("starts");
    (a, gate)
}

#[test]
fn an_async_request_is_answered() {
    let hub = Hub::new();
    let (a, _) = oracle(&hub, 8);
    let answers: Vec<u32> = (0..10)
        .map(|_| block_on(a.request_async(Ask)).expect("answered"))
        .collect();
    assert_eq!(answers, vec![42; 10]);
    hub.shutdown().expect("shutdown");
}

#[test]
fn a_reply_dropped_by_a_failing_server_ends_the_wait_at_once() {
    let hub = Hub::new();
    let (a, _) = oracle(&hub, 8);
    let r = block_on(a.request_async(AskAndDie));
    assert!(matches!(r, Err(RequestError::Dropped)), "{r:?}");
}

#[test]
fn a_request_that_cannot_be_sent_comes_back_without_blocking() {
    let hub = Hub::new();
    let (a, gate) = oracle(&hub, 1);
    a.send(Hold).expect("held");
    gate.wait_arrival();
    a.send(Hold).expect("fills the mailbox");
    let r = block_on(a.request_async(Ask));
    assert!(matches!(r, Err(RequestError::Full(Ask(_)))), "{r:?}");
    gate.open(2);
    hub.stop("oracle").expect("stopped");
    let r = block_on(a.request_async(Ask));
    assert!(matches!(r, Err(RequestError::Closed(Ask(_)))), "{r:?}");
}
