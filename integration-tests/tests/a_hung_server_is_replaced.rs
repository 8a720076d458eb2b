//! docs/runtime-semantics.md §11.14-15 (heartbeats under a supervisor),
//! with §9 Heartbeats and §6.4 Abandonment: a server busy in one handler
//! past its heartbeat timeout without progress is reported
//! `HeartbeatMissed` and stopped at once; if it ignores the stop past its
//! deadline it is `Abandoned` and replaced by a new life on a new thread,
//! and the abandoned thread takes no further message; if it obeys, it exits
//! as `HeartbeatMissed` and restarts on its own thread. A server that beats
//! inside a long handler, or that is idle, is never reported hung.

use std::thread::{self, ThreadId};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, after, bounded, select, unbounded};
use integration_tests::events::EventLog;
use integration_tests::{Count, Gate, PATIENCE};
use threadbutler::prelude::*;

const HEARTBEAT: Duration = Duration::from_millis(50);

/// Block at the gate without beating.
pub struct Hang;
/// Answer with who is answering.
pub struct Ask(pub Sender<Answer>);
/// Work until released, beating all along.
pub struct Work(pub Receiver<()>);
/// Busy without beating until asked to stop.
pub struct Spin;

threadbutler::messages! { pub enum SitterMsg for Sitter { Hang, Ask, Work, Spin } }

/// Who answered an [`Ask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    id: u64,
    thread: ThreadId,
}

/// What the lives of a [`Sitter`] share with the test.
#[derive(Clone)]
struct Hooks {
    gate: Gate,
    lives: Count,
    /// If set, every life after the first says its id on `starting` and
    /// waits here in `on_start` until released.
    hold_start: Option<(Sender<u64>, Receiver<()>)>,
    /// Each life's id when its `on_stop` runs.
    stopped: Sender<u64>,
    /// Told when a `Work` handler begins.
    working: Sender<()>,
}

pub struct Sitter {
    hooks: Hooks,
}

impl Server for Sitter {
    fn on_start(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let n = self.hooks.lives.get();
        self.hooks.lives.bump();
        if n > 0
            && let Some((starting, release)) = &self.hooks.hold_start
        {
            let _ = starting.send(ctx.id());
            let _ = release.recv_timeout(PATIENCE);
        }
        Ok(())
    }

    fn handle(&mut self, msg: SitterMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            SitterMsg::Hang(Hang) => self.hooks.gate.enter(),
            SitterMsg::Ask(Ask(tx)) => {
                let _ = tx.send(Answer {
                    id: ctx.id(),
                    thread: thread::current().id(),
                });
            }
            SitterMsg::Work(Work(release)) => {
                let _ = self.hooks.working.send(());
                loop {
                    ctx.beat();
                    match release.recv_timeout(Duration::from_millis(1)) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            }
            SitterMsg::Spin(Spin) => {
                let _ = self.hooks.working.send(());
                while !ctx.should_stop() {
                    let _ = after(Duration::from_millis(1)).recv();
                }
            }
        }
        Ok(())
    }

    fn on_stop(&mut self, _: &ExitReason, ctx: &mut Ctx<Self>) {
        let _ = self.hooks.stopped.send(ctx.id());
    }
}

/// Hooks with fresh channels; the receivers the test reads.
struct Test {
    hooks: Hooks,
    stopped: Receiver<u64>,
    working: Receiver<()>,
}

fn hooks(hold_start: Option<(Sender<u64>, Receiver<()>)>) -> Test {
    let (stopped_tx, stopped) = unbounded();
    let (working_tx, working) = unbounded();
    Test {
        hooks: Hooks {
            gate: Gate::new(),
            lives: Count::default(),
            hold_start,
            stopped: stopped_tx,
            working: working_tx,
        },
        stopped,
        working,
    }
}

fn factory(hooks: Hooks) -> impl Fn() -> Sitter + Send + Sync + 'static {
    move || Sitter {
        hooks: hooks.clone(),
    }
}

/// Sends an `Ask` and returns the receiver its answer comes on.
fn ask_later(addr: &Address<Sitter>) -> Receiver<Answer> {
    let (tx, rx) = bounded(1);
    addr.send(Ask(tx)).expect("the mailbox accepts");
    rx
}

fn ask(addr: &Address<Sitter>) -> Answer {
    ask_later(addr).recv_timeout(PATIENCE).expect("an answer")
}

/// Reads `events` until `window` has passed; panics on an event of `kind`
/// about `subject`.
fn assert_no_event_within(events: &Receiver<Event>, kind: &str, subject: &str, window: Duration) {
    let deadline = after(window);
    loop {
        select! {
            recv(events) -> e => {
                let e = e.expect("the bus lives as long as the butler");
                assert!(
                    !(e.kind() == kind && e.subject() == subject),
                    "unexpected event: {e}"
                );
            }
            recv(deadline) -> _ => return,
        }
    }
}

#[test]
fn a_hung_server_is_abandoned_and_replaced_by_a_new_life_on_a_new_thread() {
    let (starting_tx, starting) = unbounded();
    let (release_start, release_rx) = unbounded();
    let t = hooks(Some((starting_tx, release_rx)));
    let gate = t.hooks.gate.clone();
    let butler = Butler::builder("hung")
        .abandon_after(Duration::from_millis(50))
        .server("sitter", factory(t.hooks.clone()))
        .heartbeat(HEARTBEAT)
        .shutdown(Shutdown::Immediate)
        .start_timeout(PATIENCE)
        .start()
        .expect("starts");
    let mut events = EventLog::new(butler.subscribe());
    let addr = butler
        .hub()
        .address::<Sitter>("sitter")
        .expect("registered");
    let old = ask(&addr);

    addr.send(Hang).expect("sent");
    gate.wait_arrival();

    let Event::HeartbeatMissed { id, timeout, .. } = events.wait("HeartbeatMissed", "hung/sitter")
    else {
        unreachable!()
    };
    assert_eq!((id, timeout), (old.id, HEARTBEAT));
    let Event::Abandoned { id, .. } = events.wait("Abandoned", "hung/sitter") else {
        unreachable!()
    };
    assert_eq!(id, old.id, "the hung life ignored its stop and was left");
    let Event::Restarting { attempt, .. } = events.wait("Restarting", "hung/sitter") else {
        unreachable!()
    };
    assert_eq!(attempt, 1);
    let Event::Starting { id: new_id, .. } = events.wait("Starting", "hung/sitter") else {
        unreachable!()
    };
    assert_ne!(new_id, old.id, "a new life");

    // The new life is held in `on_start`: nobody reads the mailbox now.
    assert_eq!(starting.recv_timeout(PATIENCE).expect("held"), new_id);
    const QUEUED: usize = 5;
    let answers: Vec<_> = (0..QUEUED).map(|_| ask_later(&addr)).collect();

    // Release the hung handler. Its life was abandoned and asked to stop:
    // it must end without taking any of the queued messages.
    gate.open(1);
    assert_eq!(
        t.stopped
            .recv_timeout(PATIENCE)
            .expect("the old life ended"),
        old.id
    );
    let s = addr.stats();
    assert_eq!(
        (s.queued, s.handled, s.dead_lettered),
        (QUEUED as u64, 2, 0),
        "the abandoned life handled its Ask and its Hang, and nothing more"
    );

    release_start.send(()).expect("the new life waits");
    let Event::Started { id, .. } = events.wait("Started", "hung/sitter") else {
        unreachable!()
    };
    assert_eq!(id, new_id);
    for rx in answers {
        let a = rx.recv_timeout(PATIENCE).expect("answered");
        assert_eq!(a.id, new_id, "every queued message went to the new life");
        assert_ne!(a.thread, old.thread, "the new life runs on a new thread");
    }
    integration_tests::wait_until("the status counts the restart", || {
        butler
            .status()
            .find("hung/sitter")
            .is_some_and(|n| n.restarts == 1 && n.state == threadbutler::ChildState::Running)
    });
    let s = butler.status();
    let n = s.find("hung/sitter").expect("listed");
    assert_eq!(
        n.last_exit.as_deref(),
        Some("no progress within the heartbeat timeout of 50ms")
    );
    assert_eq!(
        events.only(&[
            "HeartbeatMissed",
            "Exited",
            "Abandoned",
            "Restarting",
            "Starting",
            "Started"
        ]),
        [
            "HeartbeatMissed hung/sitter",
            "Abandoned hung/sitter",
            "Restarting hung/sitter",
            "Starting hung/sitter",
            "Started hung/sitter",
        ]
    );

    butler.shutdown();
    let report = butler.wait().expect("a requested shutdown");
    assert!(matches!(report.reason, ExitReason::Shutdown));
    // A hung life replaced before the shutdown does not make the end unclean.
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.exit_code(), 0);
    let s = addr.stats();
    assert_eq!(s.accepted, s.handled + s.dead_lettered);
    assert_eq!(
        s.accepted,
        2 + QUEUED as u64,
        "the Ask, the Hang and the queued Asks"
    );
}

#[test]
fn a_hung_server_that_obeys_its_stop_exits_as_hung_and_restarts_on_its_thread() {
    let t = hooks(None);
    let butler = Butler::builder("obeying")
        .server("sitter", factory(t.hooks.clone()))
        .heartbeat(HEARTBEAT)
        .start()
        .expect("starts");
    let mut events = EventLog::new(butler.subscribe());
    let addr = butler
        .hub()
        .address::<Sitter>("sitter")
        .expect("registered");
    let old = ask(&addr);

    addr.send(Spin).expect("sent");
    t.working.recv_timeout(PATIENCE).expect("spinning");
    let Event::HeartbeatMissed { id, .. } = events.wait("HeartbeatMissed", "obeying/sitter") else {
        unreachable!()
    };
    assert_eq!(id, old.id);
    let Event::Exited { id, reason, .. } = events.wait("Exited", "obeying/sitter") else {
        unreachable!()
    };
    assert_eq!(id, old.id);
    assert!(
        matches!(reason, ExitReason::HeartbeatMissed { timeout } if timeout == HEARTBEAT),
        "{reason}"
    );
    events.wait("Restarting", "obeying/sitter");
    let Event::Started { id: new_id, .. } = events.wait("Started", "obeying/sitter") else {
        unreachable!()
    };
    let new = ask(&addr);
    assert_eq!(new.id, new_id);
    assert_ne!(new.id, old.id);
    assert_eq!(
        new.thread, old.thread,
        "a life that ended is replaced on its thread"
    );
    assert!(
        events.only(&["Abandoned"]).is_empty(),
        "it obeyed, so it was not abandoned"
    );
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn a_hung_server_is_abandoned_after_abandon_after_whatever_its_drain_timeout() {
    // §11.14: replacing a hung child is an immediate stop, so its deadline is
    // the supervisor's `abandon_after`, not its drain timeout (60 s here, far
    // beyond PATIENCE).
    let t = hooks(None);
    let gate = t.hooks.gate.clone();
    let butler = Butler::builder("hung-drain")
        .abandon_after(Duration::from_millis(100))
        .server("sitter", factory(t.hooks.clone()))
        .heartbeat(HEARTBEAT)
        .shutdown(Shutdown::Drain(Duration::from_secs(60)))
        .start()
        .expect("starts");
    let mut events = EventLog::new(butler.subscribe());
    let addr = butler
        .hub()
        .address::<Sitter>("sitter")
        .expect("registered");
    let old = ask(&addr);
    addr.send(Hang).expect("sent");
    gate.wait_arrival();
    events.wait("HeartbeatMissed", "hung-drain/sitter");
    let Event::Abandoned { id, .. } = events.wait("Abandoned", "hung-drain/sitter") else {
        unreachable!()
    };
    assert_eq!(id, old.id);
    let Event::Started { id: new_id, .. } = events.wait("Started", "hung-drain/sitter") else {
        unreachable!()
    };
    let new = ask(&addr);
    assert_eq!(new.id, new_id);
    assert_ne!(new.thread, old.thread, "abandoned: a new thread");
    gate.open(1);
    assert_eq!(
        t.stopped
            .recv_timeout(PATIENCE)
            .expect("the old life ended"),
        old.id
    );
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn a_server_that_beats_in_a_long_handler_is_not_hung() {
    let t = hooks(None);
    let butler = Butler::builder("beating")
        .server("sitter", factory(t.hooks.clone()))
        .heartbeat(Duration::from_millis(200))
        .start()
        .expect("starts");
    let events = butler.subscribe();
    let addr = butler
        .hub()
        .address::<Sitter>("sitter")
        .expect("registered");
    let before = ask(&addr);

    let (release, release_rx) = bounded(1);
    addr.send(Work(release_rx)).expect("sent");
    t.working.recv_timeout(PATIENCE).expect("working");
    // Three heartbeat timeouts of work, beating all along.
    assert_no_event_within(
        &events,
        "HeartbeatMissed",
        "beating/sitter",
        Duration::from_millis(600),
    );
    release.send(()).expect("still working");

    let after_work = ask(&addr);
    assert_eq!(after_work, before, "the same life, never replaced");
    let rest: Vec<Event> = events.try_iter().collect();
    assert!(
        rest.iter()
            .all(|e| !matches!(e, Event::HeartbeatMissed { .. } | Event::Exited { .. })),
        "no hang reported, no life ended: {rest:?}"
    );
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn an_idle_server_with_a_heartbeat_is_never_hung() {
    let t = hooks(None);
    let butler = Butler::builder("idle")
        .server("sitter", factory(t.hooks.clone()))
        .heartbeat(HEARTBEAT)
        .start()
        .expect("starts");
    let events = butler.subscribe();
    let addr = butler
        .hub()
        .address::<Sitter>("sitter")
        .expect("registered");
    let before = ask(&addr);

    // Six heartbeat timeouts of idleness.
    assert_no_event_within(
        &events,
        "HeartbeatMissed",
        "idle/sitter",
        Duration::from_millis(300),
    );
    assert_eq!(ask(&addr), before, "the same life, never replaced");
    assert!(
        events
            .try_iter()
            .all(|e| !matches!(e, Event::HeartbeatMissed { .. } | Event::Exited { .. })),
        "no hang reported, no life ended"
    );
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
    assert!(
        t.stopped.try_recv().is_ok(),
        "the one life stopped at the shutdown"
    );
}
