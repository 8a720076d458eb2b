//! Async servers (feature `async`): handlers are async on a current-thread
//! runtime; they share the hub, addresses and supervision with sync
//! servers; a drain waits for spawned futures; a panic in one is a failure
//! handled by policy, and the restarted server keeps its mailbox.
//! (The pools, tasks and async issue, points 3 and 6.)
#![cfg(feature = "async")]

use std::time::Duration;

use crossbeam_channel::Sender;
use integration_tests::PATIENCE;
use integration_tests::events::EventLog;
use threadbutler::async_server::{AsyncCtx, AsyncServer};
use threadbutler::prelude::*;

pub struct Echo(pub u64, pub Reply<u64>);
/// Spawns a future that waits for `gate`, then reports on `done`.
pub struct Later(pub tokio::sync::oneshot::Receiver<u64>, pub Sender<u64>);
pub struct SpawnPanic;
threadbutler::messages! { pub enum AsyncyMsg for Asyncy { Echo, Later, SpawnPanic } }

pub struct Asyncy;

impl AsyncServer for Asyncy {
    async fn handle(&mut self, msg: AsyncyMsg, ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
        match msg {
            AsyncyMsg::Echo(Echo(n, r)) => r.send(n),
            AsyncyMsg::Later(Later(gate, done)) => ctx.spawn(async move {
                let v = gate.await?;
                let _ = done.send(v);
                Ok(())
            }),
            AsyncyMsg::SpawnPanic(SpawnPanic) => ctx.spawn(async { panic!("a future panicked") }),
        }
        Ok(())
    }
}

/// A sync server that forwards to the async one through the hub.
pub struct Relay(pub u64, pub Reply<u64>);
threadbutler::messages! { pub enum RelayerMsg for Relayer { Relay } }
pub struct Relayer;
impl Server for Relayer {
    fn handle(&mut self, msg: RelayerMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let RelayerMsg::Relay(Relay(n, r)) = msg;
        r.send(ctx.hub().request(|er| Echo(n + 1, er))?);
        Ok(())
    }
}

#[test]
fn sync_and_async_servers_share_the_hub() {
    let app = Butler::builder("app")
        .async_server("asyncy", || Asyncy)
        .server("relayer", || Relayer)
        .start()
        .expect("starts");
    for n in 0..20 {
        assert_eq!(app.hub().request(|r| Echo(n, r)).expect("answered"), n);
    }
    assert_eq!(app.hub().request(|r| Relay(41, r)).expect("relayed"), 42);
    let tree = app.status();
    assert_eq!(
        tree.find("app/asyncy").map(|n| n.kind),
        Some("async server")
    );
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
}

#[test]
fn a_drain_completes_the_futures_in_flight() {
    let app = Butler::builder("app")
        .async_server("asyncy", || Asyncy)
        .shutdown(Shutdown::Drain(PATIENCE))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let (gate_tx, gate_rx) = tokio::sync::oneshot::channel();
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    app.hub().send(Later(gate_rx, done_tx)).expect("sent");
    // Make sure it was handled (the future spawned) before the drain.
    assert_eq!(app.hub().request(|r| Echo(1, r)).expect("answered"), 1);
    app.shutdown();
    events.wait("ShutdownBegan", "app");
    // The server's queue is empty, but its future is still in flight: the
    // drain waits for it.
    gate_tx.send(7).expect("the future waits");
    assert_eq!(
        done_rx.recv_timeout(PATIENCE).expect("the future finished"),
        7
    );
    let report = app.wait().expect("clean");
    assert!(report.is_clean(), "{report:?}");
}

#[test]
fn a_panicking_future_is_a_failure_and_the_restarted_server_keeps_its_mailbox() {
    let app = Butler::builder("app")
        .intensity(5, Duration::from_secs(60))
        .async_server("asyncy", || Asyncy)
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let addr = app.hub().address::<Asyncy>("asyncy").expect("registered");
    addr.send(SpawnPanic).expect("sent");
    let exited = events.wait("Exited", "app/asyncy");
    let Event::Exited { reason, .. } = exited else {
        unreachable!()
    };
    assert!(
        matches!(&reason, ExitReason::Panicked { message, .. } if message == "a future panicked"),
        "{reason}"
    );
    events.wait("Started", "app/asyncy");
    // The same address, the same mailbox, a new life.
    assert_eq!(
        addr.request(|r| Echo(5, r))
            .expect("the restarted server answers"),
        5
    );
    app.shutdown();
    app.wait().expect("clean");
}

pub struct Nothing;
threadbutler::messages! { pub enum FragileMsg for Fragile { Nothing } }

/// Panics in `on_start` (when `at_start`) or in `on_stop`.
pub struct Fragile {
    at_start: bool,
}

impl AsyncServer for Fragile {
    async fn on_start(&mut self, _: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
        assert!(!self.at_start, "start boom");
        Ok(())
    }

    async fn handle(&mut self, _: FragileMsg, _: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
        Ok(())
    }

    async fn on_stop(&mut self, _: &ExitReason, _: &mut AsyncCtx<Self>) {
        panic!("stop boom");
    }
}

#[test]
fn a_panic_in_a_hook_names_the_hooks_stage() {
    // §5: a panic in on_start is a failed start at `Start`; one in on_stop
    // makes a clean end a failure at `Stop`.
    let err = Butler::builder("app")
        .async_server("fragile", || Fragile { at_start: true })
        .start()
        .expect_err("on_start panicked");
    let threadbutler::Error::Start { reason } = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(
            *reason_of(reason),
            ExitReason::Panicked {
                stage: Stage::Start,
                ..
            }
        ),
        "{reason}"
    );

    let app = Butler::builder("app")
        .async_server("fragile", || Fragile { at_start: false })
        .restart(Restart::Temporary)
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.shutdown();
    let exited = events.wait("Exited", "app/fragile");
    assert!(
        matches!(
            &exited,
            Event::Exited {
                reason: ExitReason::Panicked {
                    stage: Stage::Stop,
                    ..
                },
                ..
            }
        ),
        "{exited}"
    );
    let _ = app.wait();
}

/// The innermost reason of a failed start.
fn reason_of(r: &ExitReason) -> Box<ExitReason> {
    match r {
        ExitReason::ChildStartFailed { reason, .. } => reason_of(reason),
        other => Box::new(other.clone()),
    }
}

#[test]
fn an_async_server_can_be_added_to_a_running_tree() {
    let app = Butler::builder("app").start().expect("starts");
    app.add_children("app", |more| more.async_server("asyncy", || Asyncy))
        .expect("added");
    assert_eq!(
        app.status().find("app/asyncy").map(|n| n.kind),
        Some("async server")
    );
    assert_eq!(app.hub().request(|r| Echo(7, r)).expect("answered"), 7);
    app.shutdown();
    app.wait().expect("a requested shutdown");
}
