//! Stop and drain deadlines, in virtual time: a child that ignores its stop
//! is abandoned only once the clock has passed `abandon_after`; a final
//! drain is cut at its own deadline, then the grace runs.
//! docs/runtime-semantics.md §6, §11.16; DESIGN rule 4.

mod common;

use common::*;
use threadbutler_supervisor::*;

const STUCK: &str = "app/stuck";

fn tree(shutdown: Shutdown, grace: std::time::Duration) -> (Vt, Puppet, LifeInfo) {
    let (p, child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .abandon_after(grace)
        .child(ChildSpec::new("stuck", child).shutdown(shutdown));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", STUCK);
    let life = p.next_life();
    (vt, p, life)
}

/// Asks for a shutdown and returns once the stop of the only child has
/// begun, its deadline set by the clock as it stands. (`ShutdownBegan`
/// alone is not enough: it comes before the child's stop, in the same step
/// of the loop, and a clock moved in between would shift the deadline.)
fn shut_down_and_see_the_stop_begin(vt: &mut Vt) {
    vt.root.shutdown();
    vt.events.take("ShutdownBegan", "app");
    vt.settle();
}

#[test]
fn a_child_that_ignores_its_immediate_stop_is_abandoned_only_after_abandon_after() {
    let (mut vt, p, life) = tree(Shutdown::Immediate, secs(60));
    let hold = p.ignore_stop();
    shut_down_and_see_the_stop_begin(&mut vt);
    assert_eq!(p.next_stop(), life.id);
    assert_eq!(vt.state_of("stuck"), ChildState::Stopping);

    vt.advance(secs(30));
    vt.events
        .assert_none("Abandoned", STUCK, "30 s into a 60 s grace");
    vt.advance(secs(30) - ms(1));
    vt.events
        .assert_none("Abandoned", STUCK, "1 ms before the grace ends");
    assert_eq!(vt.state_of("stuck"), ChildState::Stopping);
    assert!(
        vt.root.exit_reason().is_none(),
        "the shutdown waits for the grace"
    );

    vt.clock.advance(ms(1));
    let abandoned = vt.events.take("Abandoned", STUCK);
    assert_eq!(id_of(&abandoned), life.id);
    vt.events.take("Stopped", STUCK);
    assert!(matches!(vt.wait(), ExitReason::Shutdown));
    // The abandoned life is still blocked; let it go (its late end is
    // nobody's business now).
    hold.release();
}

#[test]
fn a_final_drain_is_cut_at_its_deadline_then_abandoned_after_the_grace() {
    let (mut vt, p, life) = tree(Shutdown::Drain(secs(30)), secs(10));
    let hold = p.ignore_stop();
    shut_down_and_see_the_stop_begin(&mut vt);
    assert_eq!(p.next_stop(), life.id);

    // The drain has 30 s.
    vt.advance(secs(30) - ms(1));
    vt.events
        .assert_none("Drained", STUCK, "1 ms before the drain deadline");
    assert_eq!(vt.state_of("stuck"), ChildState::Stopping);
    vt.clock.advance(ms(1));
    let drained = vt.events.take("Drained", STUCK);
    assert!(
        matches!(drained, Event::Drained { left: 0, .. }),
        "nothing queued for a plain thread: {drained}"
    );

    // Then the stop is immediate, with the 10 s grace.
    vt.settle();
    vt.events
        .assert_none("Abandoned", STUCK, "the grace has just begun");
    assert_eq!(vt.state_of("stuck"), ChildState::Stopping);
    vt.advance(secs(10) - ms(1));
    vt.events
        .assert_none("Abandoned", STUCK, "1 ms before the grace ends");
    vt.clock.advance(ms(1));
    let abandoned = vt.events.take("Abandoned", STUCK);
    assert_eq!(id_of(&abandoned), life.id);
    assert_eq!(vt.now(), secs(40));
    vt.events.take("Stopped", STUCK);
    assert!(matches!(vt.wait(), ExitReason::Shutdown));
    hold.release();
}

#[test]
fn a_drain_that_ends_in_time_is_neither_cut_nor_abandoned() {
    let (mut vt, p, life) = tree(Shutdown::Drain(secs(30)), secs(10));
    let hold = p.ignore_stop();
    shut_down_and_see_the_stop_begin(&mut vt);
    assert_eq!(p.next_stop(), life.id);
    vt.advance(secs(20));
    vt.events
        .assert_none("Drained", STUCK, "20 s into a 30 s drain");
    // It finishes its drain at 20 s.
    hold.release();
    let drained = vt.events.take("Drained", STUCK);
    assert!(
        matches!(drained, Event::Drained { left: 0, .. }),
        "{drained}"
    );
    let exited = vt.events.take("Exited", STUCK);
    assert_eq!(id_of(&exited), life.id);
    assert!(
        matches!(reason_of(&exited), ExitReason::Shutdown),
        "{exited}"
    );
    assert!(matches!(vt.wait(), ExitReason::Shutdown));
    vt.events
        .assert_none("Abandoned", STUCK, "it ended within its drain");
}

#[test]
fn terminate_child_waits_out_the_grace_in_virtual_time_and_restart_child_takes_a_new_thread() {
    let (mut vt, p, life) = tree(Shutdown::Immediate, secs(60));
    let hold = p.ignore_stop();
    let app = vt.app.clone();
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(app.terminate_child("stuck"));
    });
    // The life saw its stop; once the loop answered two more requests, the
    // step that began the stop is over.
    assert_eq!(p.next_stop(), life.id);
    vt.settle();
    assert_eq!(vt.state_of("stuck"), ChildState::Stopping);
    vt.advance(secs(60) - ms(1));
    assert!(
        rx.recv_timeout(QUIET).is_err(),
        "terminate_child returned before the grace ended"
    );
    vt.clock.advance(ms(1));
    let answer = rx.recv_timeout(PATIENCE).expect("terminate_child returns");
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(id_of(&vt.events.take("Abandoned", STUCK)), life.id);
    assert_eq!(vt.state_of("stuck"), ChildState::Abandoned);
    vt.events.assert_none(
        "Starting",
        STUCK,
        "a terminated child is not restarted by policy",
    );

    // restart_child runs it again, on a new thread: the old one is still
    // held by the abandoned life.
    let app = vt.app.clone();
    within("restart_child", move || app.restart_child("stuck")).expect("restarted");
    let next = p.next_life();
    assert_ne!(next.thread, life.thread);
    assert_eq!(vt.info("stuck").life, Some(next.id));
    assert_eq!(vt.state_of("stuck"), ChildState::Running);
    hold.release();
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn a_life_hung_in_its_drain_is_caught_by_its_heartbeat_before_the_drain_deadline() {
    // Heartbeats are watched during a drain (§11.16): a 10 s heartbeat
    // catches a hang within 15 s, well before the 60 s drain deadline; the
    // stop then turns immediate, with the 10 s grace.
    let (p, child) = Puppet::new();
    let spec = SupervisorSpec::new("app").abandon_after(secs(10)).child(
        ChildSpec::new("stuck", child)
            .shutdown(Shutdown::Drain(secs(60)))
            .heartbeat(secs(10)),
    );
    let mut vt = Vt::start(spec);
    vt.events.take("Started", STUCK);
    let life = p.next_life();
    let hold = p.hang();
    shut_down_and_see_the_stop_begin(&mut vt); // a hung life does not see it
    let mut missed = None;
    while missed.is_none() && vt.now() < secs(15) {
        vt.advance(secs(5));
        missed = vt.events.try_take("HeartbeatMissed", STUCK);
    }
    let missed = missed.unwrap_or_else(|| {
        panic!(
            "no HeartbeatMissed during the drain; events seen:\n    {}",
            vt.events.history()
        )
    });
    assert_eq!(id_of(&missed), life.id);
    let caught_at = vt.now();
    assert!(
        caught_at >= secs(10) && caught_at <= secs(15),
        "{caught_at:?}"
    );
    vt.advance_to(caught_at + secs(10) - ms(1));
    vt.events
        .assert_none("Abandoned", STUCK, "1 ms before the grace ends");
    vt.clock.advance(ms(1));
    assert_eq!(id_of(&vt.events.take("Abandoned", STUCK)), life.id);
    vt.events.take("Stopped", STUCK);
    assert!(matches!(vt.wait(), ExitReason::Shutdown));
    assert!(vt.now() < secs(60), "the drain deadline was not waited for");
    hold.release();
}
