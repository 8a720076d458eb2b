//! Restart intensity over minutes, in virtual time: the window is read from
//! the tree's clock (DESIGN rule 12), so a minute-long period passes at
//! once. docs/runtime-semantics.md §11.7, §11.8.

mod common;

use common::*;
use threadbutler_supervisor::*;

const W: &str = "app/w";

fn tree() -> (Vt, Puppet) {
    let (w, child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .intensity(Intensity {
            max_restarts: 3,
            period: secs(60),
        })
        .child(ChildSpec::new("w", child));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", W);
    w.next_life();
    (vt, w)
}

/// Fails the running life at the clock's current time and waits until it
/// was restarted: `Exited` (a failure), `Restarting`, `Starting`, `Started`.
fn fail_and_see_restart(vt: &mut Vt, w: &Puppet) {
    let t = vt.now();
    let old = w.fail();
    let exited = vt.events.take("Exited", W);
    assert_eq!(id_of(&exited), old);
    assert!(reason_of(&exited).is_failure(), "{exited}");
    let restarting = vt.events.take("Restarting", W);
    assert_eq!(delay_of(&restarting), secs(0), "no backoff configured");
    let starting = vt.events.take("Starting", W);
    let started = vt.events.take("Started", W);
    assert_eq!(id_of(&starting), id_of(&started));
    assert_eq!(w.next_life().id, id_of(&started));
    assert_eq!(vt.now(), t, "the clock stood still meanwhile");
}

#[test]
fn three_failures_within_a_minute_are_restarted_and_a_fourth_gives_up() {
    let (mut vt, w) = tree();
    // Virtual t = 0 s, 10 s, 20 s: three restarts within the 60 s period.
    fail_and_see_restart(&mut vt, &w);
    vt.advance(secs(10));
    fail_and_see_restart(&mut vt, &w);
    vt.advance(secs(10));
    fail_and_see_restart(&mut vt, &w);
    assert_eq!(vt.root.status().children[0].restarts, 3);
    assert!(vt.root.exit_reason().is_none());

    // t = 59 s: the first restart (t = 0) is still in the window: a fourth
    // within 60 s is one too many.
    vt.advance_to(secs(59));
    let old = w.fail();
    let exited = vt.events.take("Exited", W);
    assert_eq!(id_of(&exited), old);
    let gave_up = vt.events.take("GaveUp", "app");
    assert!(
        matches!(gave_up, Event::GaveUp { max_restarts: 3, period, .. } if period == secs(60)),
        "{gave_up}"
    );
    vt.events.take("Stopped", W);
    vt.events
        .assert_none("Starting", W, "a supervisor that gave up restarts nothing");
    let reason = vt.wait();
    assert!(
        matches!(reason, ExitReason::GaveUp { max_restarts: 3, period } if period == secs(60)),
        "the root ends as GaveUp, got {reason}"
    );
    w.assert_no_new_life();
}

#[test]
fn the_window_slides_so_failures_spread_over_minutes_never_give_up() {
    let (mut vt, w) = tree();
    // Three at 0, 10, 20 s fill the window ...
    for t in [0, 10, 20] {
        vt.advance_to(secs(t));
        fail_and_see_restart(&mut vt, &w);
    }
    // ... and each later failure comes when the oldest has left it: at
    // 61 s the one at 0 s is out, at 71 s the one at 10 s, and so on. Ten
    // minutes of failures, never more than three in any 60 s.
    let mut restarts = 3;
    for t in [61, 71, 81, 122, 132, 142, 600] {
        vt.advance_to(secs(t));
        fail_and_see_restart(&mut vt, &w);
        restarts += 1;
        assert!(vt.root.exit_reason().is_none(), "gave up at t = {t} s");
    }
    vt.events
        .assert_none("GaveUp", "app", "never more than 3 within 60 s");
    let row = vt.info("w");
    assert_eq!(row.restarts, restarts);
    assert_eq!(row.state, ChildState::Running);
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn a_failure_just_past_the_period_is_admitted_where_one_just_inside_is_not() {
    // Two trees, the same three failures; the fourth comes 1 ms either side
    // of the first one's leaving the window (t = 60 s).
    for (t4, admitted) in [(secs(60) + ms(1), true), (secs(60) - ms(1), false)] {
        let (mut vt, w) = tree();
        for t in [0, 10, 20] {
            vt.advance_to(secs(t));
            fail_and_see_restart(&mut vt, &w);
        }
        vt.advance_to(t4);
        if admitted {
            fail_and_see_restart(&mut vt, &w);
            vt.events
                .assert_none("GaveUp", "app", "the restart at 0 s has left the window");
            assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
        } else {
            w.fail();
            vt.events.take("GaveUp", "app");
            assert!(matches!(vt.wait(), ExitReason::GaveUp { .. }));
        }
    }
}
