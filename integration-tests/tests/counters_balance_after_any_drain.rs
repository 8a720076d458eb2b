//! docs/runtime-semantics.md §8 Counters: after any drain, every accepted
//! message was handled or dead-lettered, and `accepted` matches what the
//! senders saw accepted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use threadbutler::prelude::*;

pub struct Tick(pub u64);
threadbutler::messages! { pub enum SinkMsg for Sink { Tick } }

pub struct Sink;
impl Server for Sink {
    fn handle(&mut self, msg: SinkMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let SinkMsg::Tick(Tick(n)) = msg;
        std::hint::black_box(n);
        Ok(())
    }
}

/// Senders hammer the mailbox while it is stopped under them; whatever the
/// interleaving, the books balance.
fn books_balance(shutdown: Shutdown) {
    let hub = Hub::new();
    let addr = hub
        .server("sink", || Sink)
        .capacity(Capacity::Bounded(64))
        .shutdown(shutdown)
        .spawn()
        .expect("starts");
    let ok = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let senders: Vec<_> = (0..3)
        .map(|_| {
            let (addr, ok, barrier) = (addr.clone(), Arc::clone(&ok), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                for n in 0..50_000 {
                    match addr.try_send(Tick(n)) {
                        Ok(()) => {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(threadbutler::TrySendError::Full(_)) => thread::yield_now(),
                        Err(_) => break, // closed: the stop has begun
                    }
                }
            })
        })
        .collect();
    barrier.wait();
    // Stop while the senders are mid-stream.
    while addr.stats().handled < 1_000 {
        thread::yield_now();
    }
    let report = hub.stop("sink").expect("known");
    for s in senders {
        s.join().expect("sender");
    }
    // Late senders may race the close; the final counters settle them too.
    let s = addr.stats();
    assert_eq!(s.queued, 0, "{s:?}");
    assert_eq!(s.accepted, s.handled + s.dead_lettered, "{s:?}");
    assert_eq!(
        s.accepted,
        ok.load(Ordering::SeqCst),
        "every Ok send is counted: {s:?}"
    );
    assert!(
        matches!(report.reason, Some(ExitReason::Shutdown)),
        "{report:?}"
    );
    if matches!(shutdown, Shutdown::Drain(_)) {
        assert!(report.is_clean(), "a drain gives nothing up: {report:?}");
    } else {
        // What the stop swept; a sender racing the close may add to it.
        assert!(report.given_up <= s.dead_lettered, "{report:?} {s:?}");
    }
}

#[test]
fn books_balance_after_a_drain() {
    books_balance(Shutdown::Drain(integration_tests::PATIENCE));
}

#[test]
fn books_balance_after_an_immediate_stop() {
    books_balance(Shutdown::Immediate);
}
