//! docs/runtime-semantics.md §10 Clients: a non-server thread owns a mailbox
//! that servers send to, and a wake callback runs after each accepted send.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use threadbutler::ClientOptions;
use threadbutler::prelude::*;

pub struct Progress(pub u32);
pub struct Main;
threadbutler::messages! { pub enum MainMsg for Main { Progress } }

pub struct Start(pub u32);
threadbutler::messages! { pub enum WorkerMsg for Worker { Start } }
pub struct Worker;
impl Server for Worker {
    fn handle(&mut self, msg: WorkerMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let WorkerMsg::Start(Start(steps)) = msg;
        for step in 1..=steps {
            ctx.hub().send(Progress(step))?;
        }
        Ok(())
    }
}

#[test]
fn servers_send_to_the_main_threads_mailbox_and_wake_it() {
    let hub = Hub::new();
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&wakes);
    let mut main = hub
        .client_with::<Main>(
            "main",
            ClientOptions::new()
                .capacity(Capacity::Unbounded)
                .on_wake(move || {
                    w.fetch_add(1, Ordering::SeqCst);
                }),
        )
        .expect("client");
    hub.spawn("worker", || Worker).expect("starts");
    hub.send(Start(5)).expect("sent");
    let mut got = Vec::new();
    while got.len() < 5 {
        let MainMsg::Progress(Progress(p)) = main
            .recv_timeout(integration_tests::PATIENCE)
            .expect("progress");
        got.push(p);
    }
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    // The wake runs on the sender's thread just after the message is in,
    // so the reader may see the last message a moment before its wake.
    let deadline = std::time::Instant::now() + integration_tests::PATIENCE;
    while wakes.load(Ordering::SeqCst) < 5 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(
        wakes.load(Ordering::SeqCst),
        5,
        "one wake per accepted send"
    );
    assert!(main.try_recv().is_none());
    assert!(main.recv_timeout(Duration::from_millis(1)).is_none());
    let stats = hub.stats("main").expect("registered");
    assert_eq!((stats.accepted, stats.handled), (5, 5));
    hub.shutdown().expect("shutdown");
}

#[test]
fn dropping_a_client_dead_letters_its_queue_and_frees_its_name() {
    let (builder, dead) = integration_tests::hub_with_dead_letters("clients");
    let hub = builder.build();
    let main = hub.client::<Main>("main").expect("client");
    let addr = main.address();
    addr.send(Progress(1)).expect("queued");
    drop(main);
    let d = dead
        .try_recv()
        .expect("the queued message is a dead letter");
    assert!(matches!(d.reason, DeadReason::Dropped));
    assert!(addr.send(Progress(2)).is_err(), "closed");
    hub.client::<Main>("main").expect("the name is free again");
}
