//! Heartbeat checks, in virtual time: a life busy without progress for its
//! timeout `T` is reported once the clock has moved past `T` (sampled every
//! `T/2`, so by `1.5 T`), never before; an idle life, or a busy one that
//! makes progress, never is. docs/runtime-semantics.md §9, §11.14, §11.15.

mod common;

use std::time::Duration;

use common::*;
use threadbutler_supervisor::*;

const H: &str = "app/h";
const T: u64 = 10; // the heartbeat timeout, in seconds

fn tree() -> (Vt, Puppet) {
    let (h, child) = Puppet::new();
    let spec = SupervisorSpec::new("app").child(ChildSpec::new("h", child).heartbeat(secs(T)));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", H);
    h.next_life();
    (vt, h)
}

/// Advances the clock in steps of `T/2`, the loop looking at each, until
/// the life, busy without progress since virtual time `since`, is reported
/// hung. Fails if it is reported before it was hung for `T`, or not once
/// it was hung for `1.5 T`. Returns the event.
fn advance_until_reported(vt: &mut Vt, since: Duration) -> Event {
    while vt.now() - since < secs(T) * 3 / 2 {
        vt.advance(secs(T) / 2);
        if let Some(e) = vt.events.try_take("HeartbeatMissed", H) {
            let hung_for = vt.now() - since;
            assert!(hung_for >= secs(T), "{e} after {hung_for:?} only");
            return e;
        }
    }
    panic!(
        "no HeartbeatMissed after 1.5 T without progress; events seen:\n    {}",
        vt.events.history()
    );
}

#[test]
fn a_busy_life_without_progress_is_reported_past_its_timeout_not_before() {
    let (mut vt, h) = tree();
    let hang = h.hang();
    let hung_id = vt.info("h").life.expect("a running life");

    // T/2: busy, but not for T yet.
    vt.advance(secs(T) / 2);
    vt.events
        .assert_none("HeartbeatMissed", H, "hung for T/2 only");
    // T - 1 ms: still not for T.
    vt.advance(secs(T) / 2 - ms(1));
    vt.events
        .assert_none("HeartbeatMissed", H, "hung for 1 ms less than T");
    assert_eq!(vt.state_of("h"), ChildState::Running);
    // 1.5 T: past T, and the samples every T/2 have seen it.
    vt.advance(secs(T) / 2 + ms(1));
    let missed = vt.events.take("HeartbeatMissed", H);
    assert!(
        matches!(&missed, Event::HeartbeatMissed { id, timeout, .. } if *id == hung_id && *timeout == secs(T)),
        "{missed}"
    );
    // It is stopped (it does not listen while hung) ...
    assert_eq!(vt.state_of("h"), ChildState::Stopping);
    // ... and once it lets go, it ends as HeartbeatMissed and is replaced.
    hang.release();
    let exited = vt.events.take("Exited", H);
    assert_eq!(id_of(&exited), hung_id);
    assert!(
        matches!(reason_of(&exited), ExitReason::HeartbeatMissed { timeout } if timeout == secs(T)),
        "{exited}"
    );
    vt.events.take("Restarting", H);
    let started = vt.events.take("Started", H);
    assert_eq!(h.next_life().id, id_of(&started));
    assert_ne!(id_of(&started), hung_id);
    vt.events
        .assert_none("Abandoned", H, "it ended within the grace");
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn an_idle_life_is_never_reported_however_far_the_clock_goes() {
    let (mut vt, h) = tree();
    // Idle (blocked waiting for work): samples every T/2 for ten minutes,
    // then a jump of a day.
    for _ in 0..120 {
        vt.advance(secs(T) / 2);
    }
    vt.advance(secs(24 * 3600));
    vt.events
        .assert_none("HeartbeatMissed", H, "an idle life is never hung");
    assert_eq!(vt.state_of("h"), ChildState::Running);

    // The watchdog was awake all along: the same life, once it hangs, is
    // reported within 1.5 T.
    let hang = h.hang();
    let since = vt.now();
    advance_until_reported(&mut vt, since);
    hang.release();
    vt.events.take("Started", H);
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn a_busy_life_that_makes_progress_is_never_reported() {
    let (mut vt, h) = tree();
    h.busy(true);
    // Busy for ten minutes, one beat per T/2.
    for _ in 0..120 {
        h.beat();
        vt.advance(secs(T) / 2);
    }
    let last_beat = vt.now() - secs(T) / 2;
    vt.events
        .assert_none("HeartbeatMissed", H, "progress every T/2 is not a hang");

    // It stops beating while busy: reported once T passed, by 1.5 T.
    advance_until_reported(&mut vt, last_beat);
    // Not hung, only busy: it ends when stopped, as HeartbeatMissed.
    let exited = vt.events.take("Exited", H);
    assert!(
        matches!(reason_of(&exited), ExitReason::HeartbeatMissed { .. }),
        "{exited}"
    );
    vt.events.take("Started", H);
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}
