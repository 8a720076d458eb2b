//! DESIGN rule 9, docs/runtime-semantics.md §11.14 and §11.16: the
//! supervisor never waits on one child. While one hung child sits in its
//! stop (it ignores it, so the supervisor would wait up to `abandon_after`
//! for it), every other child is still served: a sibling's panic is
//! restarted, a second hang is detected, `status()` shows the stopping
//! child as `stopping`, and a shutdown begins the others' drains at once.
//!
//! The hung children here block at a gate the test holds and never beat;
//! the heartbeat timeout is short and `abandon_after` long, so "served
//! while the stop is pending" and "served only after the stop ended" are
//! told apart by event order: the hung child's `Abandoned` comes
//! `GRACE` after its `HeartbeatMissed`. Each test releases its gates
//! before it ends (also when it fails), so that no thread is left behind.

use std::time::{Duration, Instant};

use integration_tests::Gate;
use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Hang, Ping, Probe, ProbeConfig};
use threadbutler::ChildState;
use threadbutler::prelude::*;

/// Short, so that a hang is seen within a fraction of a second.
const T: Duration = Duration::from_millis(250);
/// Long, so that waiting out a hung child's stop is unmistakable.
const GRACE: Duration = Duration::from_secs(6);

/// Opens every gate it holds when dropped, so that the hung handlers
/// return even when an assertion fails.
struct Release(Vec<Gate>);

impl Drop for Release {
    fn drop(&mut self) {
        for g in &self.0 {
            g.open(8);
        }
    }
}

/// One child's config with its own gate.
fn probe() -> (ProbeConfig, Gate) {
    let cfg = ProbeConfig::default();
    let gate = cfg.gate.clone();
    (cfg, gate)
}

struct Tree {
    app: Butler,
    events: EventLog,
    before: Gate,
    hung: Gate,
    _release: Release,
}

/// `app` with three probes, each watched with heartbeat `T`: `before`,
/// `hung` and `after`, in that order (so that a shutdown's reverse order
/// has a child on either side of `hung`).
fn tree() -> Tree {
    let (before_cfg, before) = probe();
    let (hung_cfg, hung) = probe();
    let (after_cfg, after) = probe();
    let app = Butler::builder("app")
        .abandon_after(GRACE)
        .intensity(100, Duration::from_secs(60))
        .server("before", Probe::factory(before_cfg))
        .heartbeat(T)
        .server("hung", Probe::factory(hung_cfg))
        .heartbeat(T)
        .server("after", Probe::factory(after_cfg))
        .heartbeat(T)
        .start()
        .expect("starts");
    let events = EventLog::new(app.subscribe());
    Tree {
        app,
        events,
        _release: Release(vec![before.clone(), hung.clone(), after.clone()]),
        before,
        hung,
    }
}

fn address(app: &Butler, name: &str) -> Address<Probe> {
    app.hub().address::<Probe>(name).expect("registered")
}

/// Hangs `app/hung` and waits until its supervisor found it hung: from
/// then on it is being stopped, and it ignores the stop.
fn hang_the_hung_one(t: &mut Tree) {
    address(&t.app, "hung").send(Hang).expect("sent");
    t.hung.wait_arrival();
    t.events.wait("HeartbeatMissed", "app/hung");
}

fn is(e: &Event, kind: &str, subject: &str) -> bool {
    e.kind() == kind && e.subject() == subject
}

#[test]
fn a_siblings_panic_is_restarted_while_a_hung_child_is_being_stopped() {
    let mut t = tree();
    let old = address(&t.app, "after").request(Ping).expect("answers");
    hang_the_hung_one(&mut t);

    address(&t.app, "after").send(Crash).expect("sent");
    let first = t.events.wait_for(
        "the sibling's restart, or the hung child's abandonment",
        |e| is(e, "Started", "app/after") || is(e, "Abandoned", "app/hung"),
    );
    assert!(
        is(&first, "Started", "app/after"),
        "the sibling's panic was restarted only after the hung child's stop ended \
         ({GRACE:?} later): the supervisor waited on one child; events: {:#?}",
        t.events.lines()
    );
    let sibling: Vec<String> = t
        .events
        .only(&["Exited", "Restarting", "Starting", "Started"])
        .into_iter()
        .filter(|l| l.ends_with(" app/after"))
        .collect();
    assert_eq!(
        sibling,
        [
            "Exited app/after",
            "Restarting app/after",
            "Starting app/after",
            "Started app/after"
        ],
        "the sibling's restart was reported like any other"
    );
    let new = address(&t.app, "after")
        .request(Ping)
        .expect("the replacement answers");
    assert_ne!(new.id, old.id, "a new life");

    t.hung.open(1);
    t.app.shutdown();
    t.app.wait().expect("a requested shutdown");
}

#[test]
fn a_second_hang_is_detected_while_a_hung_child_is_being_stopped() {
    let mut t = tree();
    hang_the_hung_one(&mut t);

    let hung_at = Instant::now();
    address(&t.app, "before").send(Hang).expect("sent");
    t.before.wait_arrival();
    let first = t.events.wait_for(
        "the second hang's HeartbeatMissed, or the first one's abandonment",
        |e| is(e, "HeartbeatMissed", "app/before") || is(e, "Abandoned", "app/hung"),
    );
    let seen_after = hung_at.elapsed();
    assert!(
        is(&first, "HeartbeatMissed", "app/before"),
        "the second hang was seen only after the first hung child's stop ended \
         ({seen_after:?} after it began, for a heartbeat of {T:?}): heartbeats were \
         not watched meanwhile; events: {:#?}",
        t.events.lines()
    );

    t.before.open(1);
    t.hung.open(1);
    t.app.shutdown();
    t.app.wait().expect("a requested shutdown");
}

#[test]
fn the_status_shows_a_child_that_is_being_stopped_as_stopping() {
    let mut t = tree();
    hang_the_hung_one(&mut t);

    // The stop lasts until the gate opens (or GRACE passes): the status
    // must say so well before then.
    let deadline = Instant::now() + GRACE / 2;
    let status = loop {
        let s = t.app.status();
        let state = s.find("app/hung").expect("listed").state;
        if state == ChildState::Stopping || Instant::now() >= deadline {
            break s;
        }
        std::thread::yield_now();
    };
    let hung = status.find("app/hung").expect("listed");
    assert_eq!(
        hung.state,
        ChildState::Stopping,
        "a hung child whose stop is pending is not running; status:\n{status}"
    );
    for other in ["app/before", "app/after"] {
        assert_eq!(
            status.find(other).expect("listed").state,
            ChildState::Running,
            "{other} is untouched; status:\n{status}"
        );
    }
    assert!(
        !t.events.lines().iter().any(|l| l == "Abandoned app/hung"),
        "the hung child is still within its grace"
    );

    t.hung.open(1);
    t.app.shutdown();
    t.app.wait().expect("a requested shutdown");
}

#[test]
fn a_shutdown_during_a_hung_childs_stop_drains_the_others_at_once() {
    let mut t = tree();
    hang_the_hung_one(&mut t);

    t.app.shutdown();
    // Both others end (the one declared after `hung`, whose turn comes
    // first, and the one declared before it, whose turn comes after
    // `hung`'s) while the hung child's stop is still pending.
    let mut ended = Vec::new();
    let first_blocker =
        t.events
            .wait_for("the others' exits, or the hung child's abandonment", |e| {
                if e.kind() == "Exited" && ["app/before", "app/after"].contains(&e.subject()) {
                    ended.push(e.subject().to_owned());
                }
                ended.len() == 2 || is(e, "Abandoned", "app/hung")
            });
    assert!(
        !is(&first_blocker, "Abandoned", "app/hung"),
        "the shutdown waited for the hung child's stop to end ({GRACE:?}) before \
         draining the others (exited before it: {ended:?}); events: {:#?}",
        t.events.lines()
    );
    assert!(
        t.events.lines().iter().any(|l| l == "ShutdownBegan app"),
        "the shutdown began"
    );

    t.hung.open(1);
    t.app.wait().expect("a requested shutdown");
}

#[test]
fn in_a_pool_one_hung_worker_does_not_hold_up_the_others_restarts_or_hang_checks() {
    // The issue's own case: a pool of 4 with a heartbeat.
    let cfg = ProbeConfig::default();
    let gate = cfg.gate.clone();
    let _release = Release(vec![gate.clone()]);
    let app = Butler::builder("app")
        .abandon_after(GRACE)
        .pool("workers", 4, Probe::factory(cfg))
        .heartbeat(T)
        .pool_intensity(100, Duration::from_secs(60))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let in_pool = |e: &Event| e.subject().starts_with("app/workers/");

    app.hub().send(Hang).expect("sent");
    gate.wait_arrival();
    let hung = events
        .wait_for("a worker's HeartbeatMissed", |e| {
            e.kind() == "HeartbeatMissed" && in_pool(e)
        })
        .subject()
        .to_owned();

    // Another worker panics: it is replaced while the hung one is stopping.
    app.hub().send(Crash).expect("sent");
    let first = events.wait_for(
        "another worker's restart, or the hung worker's abandonment",
        |e| {
            (e.kind() == "Started" && in_pool(e) && e.subject() != hung)
                || is(e, "Abandoned", &hung)
        },
    );
    assert!(
        first.kind() == "Started",
        "a worker's panic was restarted only after the hung worker {hung} was \
         abandoned ({GRACE:?}); events: {:#?}",
        events.lines()
    );

    // Another worker hangs: it is seen while the first is still stopping.
    app.hub().send(Hang).expect("sent");
    gate.wait_arrival();
    let second = events.wait_for(
        "a second worker's HeartbeatMissed, or the first one's abandonment",
        |e| {
            (e.kind() == "HeartbeatMissed" && in_pool(e) && e.subject() != hung)
                || is(e, "Abandoned", &hung)
        },
    );
    assert!(
        second.kind() == "HeartbeatMissed",
        "a second hung worker was seen only after the first ({hung}) was abandoned; \
         events: {:#?}",
        events.lines()
    );

    gate.open(2);
    app.shutdown();
    app.wait().expect("a requested shutdown");
}
