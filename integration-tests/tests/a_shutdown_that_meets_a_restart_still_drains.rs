//! runtime-semantics §11.16: a shutdown that reaches a child while it is
//! being stopped for a restart (here a hung server) does not wait for it in
//! turn, makes its stop final, and keeps the drain's promise: once the old
//! life is abandoned, a new one drains what was queued. Driven in virtual
//! time (a `ManualClock`), so the grace takes no real time.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::events::EventLog;
use threadbutler::prelude::*;
use threadbutler::{Event, ManualClock};

/// Tells the test it is in, then waits at the gate.
pub struct Block(
    pub crossbeam_channel::Sender<()>,
    pub crossbeam_channel::Receiver<()>,
);
pub struct Work;
threadbutler::messages! { pub enum SlowMsg for Slow { Block, Work } }

pub struct Slow;
impl Server for Slow {
    fn handle(&mut self, msg: SlowMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        if let SlowMsg::Block(Block(entered, gate)) = msg {
            let _ = entered.send(());
            // Busy without a beat until the test lets go: hung.
            let _ = gate.recv();
        }
        Ok(())
    }
}

/// Puts `slow` in its blocking handler (busy, no beat) and queues `queued`
/// messages behind it; sending on (or dropping) the answer lets it go.
fn hold_slow(app: &Butler, queued: usize) -> crossbeam_channel::Sender<()> {
    let (release, gate) = crossbeam_channel::bounded::<()>(0);
    let slow = app.hub().address::<Slow>("slow").expect("slow");
    let (entered_tx, entered) = crossbeam_channel::bounded::<()>(1);
    slow.send(Block(entered_tx, gate)).expect("sent");
    entered
        .recv_timeout(integration_tests::PATIENCE)
        .expect("slow took the blocking message");
    for _ in 0..queued {
        slow.send(Work).expect("queued behind the blocked one");
    }
    release
}

#[test]
fn a_hung_server_caught_by_the_shutdown_mid_restart_has_its_queue_drained_by_a_successor() {
    let clock = Arc::new(ManualClock::new());
    let app = Butler::builder("app")
        .clock(clock.clone())
        .abandon_after(Duration::from_secs(20))
        .server("slow", || Slow)
        .heartbeat(Duration::from_secs(10))
        .shutdown(Shutdown::Drain(Duration::from_secs(30)))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let release = hold_slow(&app, 3);
    // Virtual time passes until the heartbeat is found stale; after each
    // step, two requests answered by the supervisor's loop in turn make sure
    // it looked at the clock as it stands.
    let root = app.supervisor("app").expect("root");
    let settle = || {
        for _ in 0..2 {
            let _ = root.terminate_child("no such child");
        }
    };
    let missed = loop {
        clock.advance(Duration::from_secs(5));
        settle();
        let seen = events.drain();
        if let Some(e) = seen.iter().find(|e| e.kind() == "HeartbeatMissed") {
            break e.clone();
        }
        if clock.elapsed() > Duration::from_secs(600) {
            panic!("no heartbeat miss in ten virtual minutes: {seen:?}");
        }
        std::thread::yield_now();
    };
    assert_eq!(missed.subject(), "app/slow");
    assert!(
        events.drain().iter().all(|e| e.kind() != "Abandoned"),
        "the grace has not passed"
    );

    // The shutdown meets the restart's stop: it does not wait for it, and
    // the mailbox closes to new sends.
    app.shutdown();
    events.wait("ShutdownBegan", "app");
    clock.advance(Duration::from_secs(21)); // the grace passes, the drain has 9 s left
    events.wait("Abandoned", "app/slow");
    // A successor drains the three queued messages.
    events.wait("Started", "app/slow");
    let drained = events.wait("Drained", "app/slow");
    assert!(
        matches!(drained, Event::Drained { left: 0, .. }),
        "all handled: {drained:?}"
    );
    let report = app.wait().expect("a requested shutdown");
    let _ = release.send(()); // the abandoned thread may end now
    let (_, stats) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "slow")
        .expect("listed");
    assert_eq!(
        (stats.handled, stats.dead_lettered),
        (3, 0),
        "the queue was drained by the new life; the hung message is with the abandoned one (§8.5)"
    );
    assert_eq!(report.abandoned, vec!["app/slow".to_string()]);
    assert_eq!(report.exit_code(), 75, "a thread was left behind");
}

pub struct Boom;
threadbutler::messages! { pub enum TriggerMsg for Trigger { Boom } }
pub struct Trigger;
impl Server for Trigger {
    fn handle(&mut self, _: TriggerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Err("boom".into())
    }
}

#[test]
fn a_collateral_stop_caught_by_the_shutdown_and_abandoned_still_has_its_queue_drained() {
    let clock = Arc::new(ManualClock::new());
    let app = Butler::builder("app")
        .clock(clock.clone())
        .strategy(Strategy::OneForAll)
        .abandon_after(Duration::from_secs(20))
        .server("trigger", || Trigger)
        .server("slow", || Slow)
        .shutdown(Shutdown::Drain(Duration::from_secs(30)))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let release = hold_slow(&app, 3);
    // The trigger fails: the group restart stops `slow`, which does not stop.
    app.hub().send(Boom).expect("sent");
    events.wait("Exited", "app/trigger");
    let stopping = |app: &Butler| {
        app.status()
            .find("app/slow")
            .map(|n| n.state == threadbutler::ChildState::Stopping)
    };
    let deadline = std::time::Instant::now() + integration_tests::PATIENCE;
    while stopping(&app) != Some(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "slow is being stopped"
        );
        std::thread::yield_now();
    }
    app.shutdown();
    events.wait("ShutdownBegan", "app");
    clock.advance(Duration::from_secs(21));
    events.wait("Abandoned", "app/slow");
    events.wait("Started", "app/slow");
    let drained = events.wait("Drained", "app/slow");
    assert!(
        matches!(drained, Event::Drained { left: 0, .. }),
        "the successor drained the queue: {drained:?}"
    );
    let report = app.wait().expect("a requested shutdown");
    let _ = release.send(());
    let (_, stats) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "slow")
        .expect("listed");
    assert_eq!((stats.handled, stats.dead_lettered), (3, 0));
    let stopped: Vec<_> = events
        .drain()
        .iter()
        .filter(|e| e.kind() == "Stopped" && e.subject() == "app/slow")
        .cloned()
        .collect();
    assert_eq!(stopped.len(), 1, "one Stopped for slow: {stopped:?}");
}

#[test]
fn a_terminated_child_that_was_abandoned_is_said_stopped_once() {
    let clock = Arc::new(ManualClock::new());
    let app = Butler::builder("app")
        .clock(clock.clone())
        .abandon_after(Duration::from_secs(20))
        .server("slow", || Slow)
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let release = hold_slow(&app, 0);
    let root = app.supervisor("app").expect("root");
    let terminated = std::thread::spawn(move || root.terminate_child("slow"));
    // Its stop waits for the grace, in virtual time.
    let deadline = std::time::Instant::now() + integration_tests::PATIENCE;
    while app.status().find("app/slow").map(|n| n.state) != Some(threadbutler::ChildState::Stopping)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "slow is being stopped"
        );
        std::thread::yield_now();
    }
    clock.advance(Duration::from_secs(21));
    terminated
        .join()
        .expect("no panic")
        .expect("terminated (abandoned)");
    events.wait("Abandoned", "app/slow");
    app.shutdown();
    let report = app.wait().expect("a requested shutdown");
    let _ = release.send(());
    let stopped = events
        .drain()
        .iter()
        .filter(|e| e.kind() == "Stopped" && e.subject() == "app/slow")
        .count();
    assert_eq!(stopped, 1, "said once, when it was terminated");
    assert!(report.is_clean(), "the abandonment was before the shutdown");
}
