//! Backoff between restarts, in virtual time: the delays double from `min`
//! up to `max`, the next life starts only once the clock has moved by the
//! delay, and a life that ran `reset_after` starts the sequence again.
//! docs/runtime-semantics.md §11.9.

mod common;

use std::time::Duration;

use common::*;
use threadbutler_supervisor::*;

const W: &str = "app/w";

fn tree(backoff: Backoff) -> (Vt, Puppet) {
    let (w, child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .intensity(Intensity {
            max_restarts: 100,
            period: secs(3600),
        })
        .child(ChildSpec::new("w", child).backoff(backoff));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", W);
    w.next_life();
    (vt, w)
}

/// Fails the running life; returns the planned restart's (attempt, delay).
/// Checks that the next life does not start while the clock stands, nor
/// 1 ms before the delay is over, and does right after it is.
fn fail_and_wait_out_the_backoff(vt: &mut Vt, w: &Puppet) -> (u32, Duration) {
    let old = w.fail();
    assert_eq!(id_of(&vt.events.take("Exited", W)), old);
    let restarting = vt.events.take("Restarting", W);
    let (attempt, delay) = (attempt_of(&restarting), delay_of(&restarting));
    assert!(delay > ms(1), "{restarting}");

    // The clock stands: nothing is due, whatever real time passes.
    vt.settle();
    vt.events
        .assert_none("Starting", W, "the clock has not moved");
    assert_eq!(vt.state_of("w"), ChildState::Restarting);
    // 1 ms short of the delay: still waiting.
    vt.advance(delay - ms(1));
    vt.events.assert_none(
        "Starting",
        W,
        &format!("1 ms before the {delay:?} backoff ends"),
    );
    assert_eq!(vt.state_of("w"), ChildState::Restarting);
    // The delay is over: the next life starts.
    vt.clock.advance(ms(1));
    let starting = vt.events.take("Starting", W);
    let started = vt.events.take("Started", W);
    assert_eq!(id_of(&starting), id_of(&started));
    assert_eq!(w.next_life().id, id_of(&started));
    assert_eq!(vt.state_of("w"), ChildState::Running);
    (attempt, delay)
}

#[test]
fn delays_double_up_to_the_cap_and_each_restart_waits_for_the_clock() {
    let (mut vt, w) = tree(Backoff::exponential(secs(1), secs(8)));
    let seen: Vec<(u32, Duration)> = (0..5)
        .map(|_| fail_and_wait_out_the_backoff(&mut vt, &w))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, secs(1)),
            (2, secs(2)),
            (3, secs(4)),
            (4, secs(8)),
            (5, secs(8)),
        ]
    );
    assert_eq!(vt.info("w").restarts, 5);
    assert_eq!(vt.now(), secs(1 + 2 + 4 + 8 + 8));
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn a_life_that_ran_reset_after_starts_the_sequence_again() {
    let backoff = Backoff::exponential(secs(1), secs(8)).with_reset_after(secs(30));
    let (mut vt, w) = tree(backoff);
    assert_eq!(fail_and_wait_out_the_backoff(&mut vt, &w), (1, secs(1)));
    assert_eq!(fail_and_wait_out_the_backoff(&mut vt, &w), (2, secs(2)));

    // This life runs 29 s (virtual) before it fails: short of reset_after,
    // so the sequence goes on.
    vt.advance(secs(29));
    assert_eq!(fail_and_wait_out_the_backoff(&mut vt, &w), (3, secs(4)));
    assert_eq!(fail_and_wait_out_the_backoff(&mut vt, &w), (4, secs(8)));

    // This one runs 30 s: the next failure's delay is back to `min`, and
    // the sequence starts again from there.
    vt.advance(secs(30));
    assert_eq!(fail_and_wait_out_the_backoff(&mut vt, &w), (1, secs(1)));
    assert_eq!(fail_and_wait_out_the_backoff(&mut vt, &w), (2, secs(2)));
    assert_eq!(fail_and_wait_out_the_backoff(&mut vt, &w), (3, secs(4)));
    assert_eq!(
        vt.info("w").restarts,
        7,
        "a reset forgets the sequence, not the count"
    );
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn a_shutdown_during_a_backoff_retires_the_child_without_starting_it() {
    let (mut vt, w) = tree(Backoff::exponential(secs(60), secs(60)));
    w.fail();
    let restarting = vt.events.take("Restarting", W);
    assert_eq!(delay_of(&restarting), secs(60));
    // The shutdown needs no clock: the child waiting out its backoff is not
    // running (§11.9).
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
    vt.events.take("Stopped", W);
    vt.events.assert_none(
        "Starting",
        W,
        "a child in its backoff is retired, not started",
    );
    w.assert_no_new_life();
}
