//! The engine knows nothing of messages: plain closures on threads are
//! children like any other, restarted by policy, watched by heartbeat and
//! stopped in order. docs/runtime-semantics.md §11.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use threadbutler_supervisor::*;

const PATIENCE: Duration = Duration::from_secs(20);

fn wait_for(rx: &Receiver<Event>, kind: &str, subject: &str) -> Event {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let e = rx
            .recv_deadline(deadline)
            .unwrap_or_else(|_| panic!("no {kind} {subject}"));
        if e.kind() == kind && e.subject() == subject {
            return e;
        }
    }
}

/// A child that waits until asked to stop, or fails when the test tells it
/// to through a channel.
fn worker(lives: Arc<AtomicUsize>, fail: Receiver<()>) -> FnChild {
    FnChild::new(move |mut life| {
        lives.fetch_add(1, Ordering::SeqCst);
        life.started();
        loop {
            crossbeam_channel::select! {
                recv(fail) -> _ => return ExitReason::failed(Stage::Run, "told to fail".into()),
                recv(life.stop.waker()) -> _ => {
                    if life.stop.is_requested() {
                        return ExitReason::Shutdown;
                    }
                }
            }
        }
    })
}

#[test]
fn a_failing_thread_is_restarted_on_its_own_worker_thread() {
    let lives = Arc::new(AtomicUsize::new(0));
    let (fail_tx, fail_rx) = unbounded();
    let spec =
        SupervisorSpec::new("root").child(ChildSpec::new("w", worker(Arc::clone(&lives), fail_rx)));
    let bus = EventBus::new();
    let events = bus.subscribe();
    let root = Supervisor::start(spec, bus).expect("starts");
    fail_tx.send(()).expect("the child listens");
    let exited = wait_for(&events, "Exited", "root/w");
    assert!(matches!(
        exited,
        Event::Exited {
            reason: ExitReason::Failed { .. },
            ..
        }
    ));
    wait_for(&events, "Restarting", "root/w");
    wait_for(&events, "Started", "root/w");
    assert_eq!(lives.load(Ordering::SeqCst), 2);
    let status = root.status();
    assert_eq!(status.children[0].restarts, 1);
    assert_eq!(status.children[0].kind, "thread");
    root.shutdown();
    assert!(matches!(root.wait(), ExitReason::Shutdown));
}

#[test]
fn a_thread_that_never_beats_while_busy_is_replaced() {
    // Busy from the start (a life starts busy) and never bumping progress.
    let lives = Arc::new(AtomicUsize::new(0));
    let l = Arc::clone(&lives);
    let child = FnChild::new(move |mut life| {
        let n = l.fetch_add(1, Ordering::SeqCst);
        life.started();
        if n == 0 {
            // The first life "hangs" until told to stop, never beating.
            while !life.stop.is_requested() {
                let _ = life.stop.waker().recv();
            }
            return ExitReason::Shutdown;
        }
        // Later lives idle properly: not busy while they wait.
        life.heartbeat.set_busy(false);
        while !life.stop.is_requested() {
            let _ = life.stop.waker().recv();
        }
        ExitReason::Shutdown
    });
    let spec = SupervisorSpec::new("root")
        .child(ChildSpec::new("h", child).heartbeat(Duration::from_millis(20)));
    let bus = EventBus::new();
    let events = bus.subscribe();
    let root = Supervisor::start(spec, bus).expect("starts");
    wait_for(&events, "HeartbeatMissed", "root/h");
    let exited = wait_for(&events, "Exited", "root/h");
    assert!(matches!(
        exited,
        Event::Exited {
            reason: ExitReason::HeartbeatMissed { .. },
            ..
        }
    ));
    wait_for(&events, "Started", "root/h");
    assert_eq!(lives.load(Ordering::SeqCst), 2);
    root.shutdown();
    assert!(matches!(root.wait(), ExitReason::Shutdown));
}

#[test]
fn an_invalid_spec_is_refused_with_the_rule_it_breaks() {
    let spec = SupervisorSpec::new("root")
        .intensity(Intensity {
            max_restarts: 1,
            period: Duration::ZERO,
        })
        .child(ChildSpec::new("a", FnChild::new(|_| ExitReason::Normal)));
    let err = Supervisor::start(spec, EventBus::new()).expect_err("zero period");
    assert!(
        err.to_string().contains("period must be greater than zero"),
        "{err}"
    );
}

#[test]
fn a_panic_on_the_supervisor_thread_stops_every_child() {
    let (stopped_tx, stopped_rx) = unbounded::<&'static str>();
    let (fail_tx, fail_rx) = unbounded();
    let s = stopped_tx.clone();
    let steady = FnChild::new(move |mut life| {
        life.started();
        while !life.stop.is_requested() {
            let _ = life.stop.waker().recv();
        }
        let _ = s.send("steady");
        ExitReason::Shutdown
    });
    let lives = Arc::new(AtomicUsize::new(0));
    let spec = SupervisorSpec::new("root")
        .child(ChildSpec::new("steady", steady))
        .child(ChildSpec::new("flaky", worker(Arc::clone(&lives), fail_rx)));
    let bus = EventBus::new();
    // A user callback that panics on the supervisor's thread.
    bus.tap(|e| {
        if e.kind() == "Exited" && e.subject() == "root/flaky" {
            panic!("tap panics");
        }
    });
    let root = Supervisor::start(spec, bus).expect("starts");
    fail_tx.send(()).expect("flaky listens");
    let reason = root.wait_timeout(PATIENCE).expect("the root ends");
    assert!(matches!(reason, ExitReason::Panicked { .. }), "{reason}");
    assert_eq!(
        stopped_rx
            .recv_timeout(PATIENCE)
            .expect("steady was asked to stop"),
        "steady"
    );
}
