//! §11.16: a shutdown that finds a child already stopping for a restart (a
//! group restart's stop, `terminate_child`) makes that stop final the
//! moment it begins, so the drain's promise holds however the stop ends:
//! once the old life is abandoned, a successor drains what is queued.
//!
//! Both tests once failed the same way: the closing made such a stop final
//! only when the child's turn came, and a grace that ran out before then
//! (a clock that moved as soon as the shutdown was announced, in the same
//! step of the loop; or a child before it in the closing's order that took
//! its time) abandoned the life as a restart's stop, which owes no drain:
//! the queue was swept (`Drained { left: 3 }`) instead of drained.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use common::*;
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use threadbutler_supervisor::*;

/// A child with a queue of `depth` items. Its first life ignores its stop
/// until the test lets it go (so it is abandoned); every later life handles
/// the whole queue once asked to drain.
struct Queued {
    depth: Arc<AtomicUsize>,
    lives: AtomicUsize,
    gate: Receiver<()>,
    first_stop: Sender<u64>,
}

/// The test's side of a [`Queued`] child.
struct QueuedHandle {
    depth: Arc<AtomicUsize>,
    first_stop: Receiver<u64>,
    /// Dropping it lets the first life end (late: it was abandoned).
    release: Sender<()>,
}

impl Queued {
    fn new(depth: usize) -> (QueuedHandle, Queued) {
        let depth = Arc::new(AtomicUsize::new(depth));
        let (release, gate) = bounded(0);
        let (stop_tx, stop_rx) = unbounded();
        (
            QueuedHandle {
                depth: Arc::clone(&depth),
                first_stop: stop_rx,
                release,
            },
            Queued {
                depth,
                lives: AtomicUsize::new(0),
                gate,
                first_stop: stop_tx,
            },
        )
    }
}

impl QueuedHandle {
    /// Waits until the first life saw its stop (and ignores it).
    fn first_life_stopped(&self) {
        self.first_stop
            .recv_timeout(PATIENCE)
            .expect("the first life was asked to stop");
    }
}

impl Child for Queued {
    fn run(&self, mut life: Life) -> ExitReason {
        let n = self.lives.fetch_add(1, Ordering::SeqCst);
        life.started();
        life.heartbeat.set_busy(false);
        while !life.stop.is_requested() {
            let _ = life.stop.waker().recv();
        }
        if n == 0 {
            let _ = self.first_stop.send(life.id);
            let _ = self.gate.recv(); // deaf to its stop until released
        } else if life.stop.mode() == Some(StopMode::Drain) {
            self.depth.store(0, Ordering::SeqCst); // handled every item
        }
        ExitReason::Shutdown
    }
    fn on_final_stop(&self, mode: StopMode) -> u64 {
        if mode == StopMode::Immediate {
            self.depth.swap(0, Ordering::SeqCst) as u64
        } else {
            0
        }
    }
    fn on_drain_deadline(&self) -> u64 {
        self.depth.swap(0, Ordering::SeqCst) as u64
    }
    fn on_retired(&self) {
        self.depth.store(0, Ordering::SeqCst);
    }
    fn queued(&self) -> usize {
        self.depth.load(Ordering::SeqCst)
    }
}

/// A child with nothing queued whose drain never ends by itself: it ends
/// only once its stop turns immediate (at its drain deadline).
struct Lingering;

impl Child for Lingering {
    fn run(&self, mut life: Life) -> ExitReason {
        life.started();
        life.heartbeat.set_busy(false);
        while life.stop.mode() != Some(StopMode::Immediate) {
            let _ = life.stop.waker().recv();
        }
        ExitReason::Shutdown
    }
}

/// What became of `q` after its old life was abandoned: the next of its
/// `Restarting` (a successor to drain), `Stopped` or `Drained` (the queue
/// given up without one).
fn after_the_abandon(events: &mut Events, q: &str) -> Event {
    events.take("Abandoned", q);
    events.take_where(q, "Restarting, Stopped or Drained", |e| {
        matches!(e.kind(), "Restarting" | "Stopped" | "Drained")
    })
}

fn left_of(e: &Event) -> u64 {
    match e {
        Event::Drained { left, .. } => *left,
        other => panic!("not a Drained event: {other}"),
    }
}

/// The interleaving of a flaky integration test, made deterministic: the
/// clock jumps past the grace the moment `ShutdownBegan` is emitted (a tap
/// runs on the supervisor's own thread), before the step of the loop that
/// began the closing is over. The closing must have made the group
/// restart's stop final by then.
#[test]
fn a_clock_that_jumps_as_the_shutdown_begins_still_gets_a_group_restarts_stop_drained() {
    let clock = Arc::new(ManualClock::new());
    let bus = EventBus::new();
    let jumper = Arc::clone(&clock);
    bus.tap(move |e| {
        if matches!(e, Event::ShutdownBegan { supervisor } if &**supervisor == "app") {
            jumper.advance(secs(21)); // the grace passes; the drain has 9 s left
        }
    });
    let (trigger, trigger_child) = Puppet::new();
    let (q, q_child) = Queued::new(3);
    let spec = SupervisorSpec::new("app")
        .strategy(Strategy::OneForAll)
        .abandon_after(secs(20))
        .child(ChildSpec::new("trigger", trigger_child))
        .child(ChildSpec::new("q", q_child).shutdown(Shutdown::Drain(secs(30))));
    let mut vt = Vt::start_on(spec, clock, bus);
    vt.events.take("Started", "app/q");
    trigger.next_life();
    // The trigger fails: the group restart stops q, which does not stop.
    trigger.fail();
    q.first_life_stopped();
    vt.settle();
    assert_eq!(vt.state_of("q"), ChildState::Stopping);

    vt.root.shutdown();
    vt.events.take("ShutdownBegan", "app");
    let next = after_the_abandon(&mut vt.events, "app/q");
    assert_eq!(
        next.kind(),
        "Restarting",
        "a successor drains the queue, got {next}; events seen:\n    {}",
        vt.events.history_now()
    );
    vt.events.take("Started", "app/q");
    let drained = vt.events.take("Drained", "app/q");
    assert_eq!(left_of(&drained), 0, "the successor drained the queue");
    let ended = vt.wait();
    assert!(matches!(ended, ExitReason::Shutdown), "ended: {ended:?}");
    assert_eq!(q.depth.load(Ordering::SeqCst), 0, "every item handled");
    drop(q.release);
}

/// The same stop made final late the other way: the shutdown first waits
/// for a child after q in start order (its drain takes its time), and q's
/// grace runs out before its turn. q was being terminated (a stop for a
/// restart) when the shutdown began: its stop turned final then, so the
/// drain's promise holds.
#[test]
fn a_stop_for_a_restart_abandoned_before_its_turn_in_the_shutdown_still_gets_drained() {
    let (q, q_child) = Queued::new(3);
    let spec = SupervisorSpec::new("app")
        .abandon_after(secs(20))
        .child(ChildSpec::new("q", q_child).shutdown(Shutdown::Drain(secs(30))))
        .child(ChildSpec::new("last", Lingering).shutdown(Shutdown::Drain(secs(60))));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", "app/q");
    vt.events.take("Started", "app/last");
    let app = vt.app.clone();
    let (ttx, trx) = bounded(1);
    thread::spawn(move || {
        let _ = ttx.send(app.terminate_child("q"));
    });
    q.first_life_stopped();
    vt.settle();
    assert_eq!(vt.state_of("q"), ChildState::Stopping);

    // Reverse order: `last` drains first (for up to 60 s); q is stopping
    // already, and is not waited for in turn.
    vt.root.shutdown();
    vt.settle();
    vt.events.take("ShutdownBegan", "app");
    assert_eq!(vt.state_of("last"), ChildState::Stopping);
    vt.advance(secs(21)); // q's grace passes long before its turn
    let next = after_the_abandon(&mut vt.events, "app/q");
    assert_eq!(
        next.kind(),
        "Restarting",
        "a successor drains the queue, got {next}; events seen:\n    {}",
        vt.events.history_now()
    );
    vt.events.take("Started", "app/q");
    let drained = vt.events.take("Drained", "app/q");
    assert_eq!(left_of(&drained), 0, "the successor drained the queue");
    vt.events.take("Stopped", "app/q");
    let terminated = trx
        .recv_timeout(PATIENCE)
        .expect("terminate_child answered");
    assert!(terminated.is_ok(), "terminated: {terminated:?}");
    assert_eq!(q.depth.load(Ordering::SeqCst), 0, "every item handled");

    // `last`'s drain runs out; then the shutdown ends.
    vt.advance(secs(40));
    let ended = vt.wait();
    assert!(matches!(ended, ExitReason::Shutdown), "ended: {ended:?}");
    let h = vt.events.history_now();
    let stopped = h.lines().filter(|l| l.trim() == "Stopped app/q").count();
    assert_eq!(stopped, 1, "Stopped app/q said once; events seen:\n    {h}");
    drop(q.release);
}
