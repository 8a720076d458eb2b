//! A reload (`SupervisorRef::reconfigure`) gives a supervisor one `Policy`
//! of its own and one per child, merged into what earlier reloads gave; it
//! reaches the running children, the later lives of the supervisor, and a
//! life that was still starting when the reload came. docs/runtime-semantics.md §12.3.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
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

/// Waits, idle (not busy), until asked to stop.
fn idle(mut life: Life) -> ExitReason {
    life.heartbeat.set_busy(false);
    life.started();
    while !life.stop.is_requested() {
        let _ = life.stop.waker().recv();
    }
    ExitReason::Shutdown
}

fn heartbeat(root: &Supervisor, path: &str) -> Option<u64> {
    root.status().find(path).and_then(|n| n.heartbeat_ms)
}

#[test]
fn a_reload_reaches_the_running_children_and_merges_with_the_last_one() {
    let spec = SupervisorSpec::new("app")
        .child(ChildSpec::new("a", FnChild::new(idle)))
        .child(ChildSpec::new("b", FnChild::new(idle)));
    let root = Supervisor::start(spec, EventBus::new()).expect("starts");
    let app = root.root();
    let s = Duration::from_secs(1);
    let first = Policy::new().heartbeat(2 * s).restart(Restart::Transient);
    let unknown = app
        .reconfigure(
            Policy::new(),
            vec![("a".into(), first), ("zz".into(), first)],
        )
        .expect("valid");
    assert_eq!(unknown, ["zz"]);
    assert_eq!(heartbeat(&root, "app/a"), Some(2000));
    assert_eq!(heartbeat(&root, "app/b"), None);

    // A policy that cannot hold is refused whole: nothing changes.
    let bad = Policy::new().heartbeat(Duration::ZERO);
    let err = app
        .reconfigure(Policy::new(), vec![("b".into(), first), ("a".into(), bad)])
        .expect_err("a zero heartbeat");
    assert!(err.contains("child a: heartbeat"), "{err}");
    assert_eq!(heartbeat(&root, "app/b"), None);

    let later = Policy::new().heartbeat(3 * s);
    app.reconfigure(Policy::new(), vec![("a".into(), later)])
        .expect("valid");
    assert_eq!(heartbeat(&root, "app/a"), Some(3000));
    root.shutdown();
    assert!(matches!(root.wait(), ExitReason::Shutdown));
}

/// A child whose first life fails when told to, and whose later lives say
/// they have begun, then wait for the test's word before they start.
fn flaky(
    lives: Arc<AtomicUsize>,
    fail: Receiver<()>,
    begun: Sender<()>,
    go: Receiver<()>,
) -> FnChild {
    FnChild::new(move |mut life| {
        if lives.fetch_add(1, Ordering::SeqCst) == 0 {
            life.heartbeat.set_busy(false);
            life.started();
            loop {
                crossbeam_channel::select! {
                    recv(fail) -> _ => return ExitReason::failed(Stage::Run, "told to fail".into()),
                    recv(life.stop.waker()) -> _ => if life.stop.is_requested() {
                        return ExitReason::Shutdown;
                    },
                }
            }
        }
        let _ = begun.send(());
        let _ = go.recv();
        idle(life)
    })
}

#[test]
fn a_reload_that_finds_a_supervisor_restarting_reaches_its_next_life() {
    let lives = Arc::new(AtomicUsize::new(0));
    let (fail_tx, fail_rx) = unbounded();
    let (begun_tx, begun_rx) = unbounded();
    let (go_tx, go_rx) = bounded(1);
    let sub = SupervisorSpec::new("sub")
        .intensity(Intensity {
            max_restarts: 0,
            period: Duration::from_secs(60),
        })
        .child(ChildSpec::new(
            "slow",
            flaky(Arc::clone(&lives), fail_rx, begun_tx, go_rx),
        ));
    let bus = EventBus::new();
    let events = bus.subscribe();
    let root = Supervisor::start(
        SupervisorSpec::new("app").child(ChildSpec::supervisor(sub)),
        bus,
    )
    .expect("starts");
    let sub = root.supervisor("app/sub").expect("a supervisor");

    // sub gives up at slow's first failure; the root starts a new life of
    // it, whose slow is held before it starts: sub is not running.
    fail_tx.send(()).expect("slow listens");
    wait_for(&events, "GaveUp", "app/sub");
    begun_rx
        .recv_timeout(PATIENCE)
        .expect("the next life of slow began");
    let policy = Policy::new().heartbeat(Duration::from_millis(1500));
    let unknown = sub
        .reconfigure(Policy::new(), vec![("slow".into(), policy)])
        .expect("valid");
    assert!(unknown.is_empty(), "remembered, not refused: {unknown:?}");
    go_tx.send(()).expect("slow waits");
    wait_for(&events, "Started", "app/sub");
    assert_eq!(
        heartbeat(&root, "app/sub/slow"),
        Some(1500),
        "{}",
        root.status()
    );
    root.shutdown();
    assert!(matches!(root.wait(), ExitReason::Shutdown));
}
