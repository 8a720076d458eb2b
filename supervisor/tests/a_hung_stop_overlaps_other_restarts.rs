//! The supervisor never waits on one child (DESIGN rule 9): while one
//! child sits in a stop it ignores, with a minute of grace left in virtual
//! time, the others' failures are restarted and their heartbeats watched;
//! then the clock runs out the grace and the hung child is abandoned and
//! replaced on a new thread. docs/runtime-semantics.md §11.10, §11.14.

mod common;

use common::*;
use threadbutler_supervisor::*;

const A: &str = "app/a";
const B: &str = "app/b";
const C: &str = "app/c";
const T: u64 = 10; // heartbeat timeout of a and c, in seconds
const GRACE: u64 = 60;

#[test]
fn a_child_stuck_in_its_stop_does_not_hold_up_the_others() {
    let (a, a_child) = Puppet::new();
    let (b, b_child) = Puppet::new();
    let (c, c_child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .abandon_after(secs(GRACE))
        .intensity(Intensity {
            max_restarts: 10,
            period: secs(3600),
        })
        .child(ChildSpec::new("a", a_child).heartbeat(secs(T)))
        // A backoff, so that b's restart is the loop's to make (a worker
        // restarts its child itself only when there is none).
        .child(ChildSpec::new("b", b_child).backoff(Backoff::exponential(secs(1), secs(1))))
        .child(ChildSpec::new("c", c_child).heartbeat(secs(T)));
    let mut vt = Vt::start(spec);
    let a1 = a.next_life();
    let b1 = b.next_life();
    let c1 = c.next_life();
    for p in [A, B, C] {
        vt.events.take("Started", p);
    }

    // a hangs: busy, no progress, deaf to its stop. The clock moves in
    // steps of T/2 until it is reported.
    let a_hold = a.hang();
    let mut a_missed = None;
    for _ in 0..3 {
        vt.advance(secs(T) / 2);
        a_missed = vt.events.try_take("HeartbeatMissed", A);
        if a_missed.is_some() {
            break;
        }
    }
    let a_missed = a_missed.unwrap_or_else(|| {
        panic!(
            "a was not reported hung within 1.5 T; events:\n    {}",
            vt.events.history()
        )
    });
    assert_eq!(id_of(&a_missed), a1.id);
    // a is being stopped; its grace runs out at:
    let a_abandon_at = vt.now() + secs(GRACE);
    vt.settle();
    assert_eq!(vt.state_of("a"), ChildState::Stopping);

    // Meanwhile b fails and is restarted after its 1 s backoff ...
    assert_eq!(b.fail(), b1.id);
    assert_eq!(id_of(&vt.events.take("Exited", B)), b1.id);
    let b_restarting = vt.events.take("Restarting", B);
    assert_eq!(delay_of(&b_restarting), secs(1));
    assert_eq!(vt.state_of("b"), ChildState::Restarting);
    vt.advance(secs(1));
    vt.events.take("Starting", B);
    let b_started = vt.events.take("Started", B);
    let b2 = b.next_life();
    assert_eq!(id_of(&b_started), b2.id);
    assert_eq!(vt.state_of("b"), ChildState::Running);
    assert_eq!(vt.state_of("a"), ChildState::Stopping);

    // ... and c hangs, and its miss is seen and handled, while a's stop
    // still runs.
    let c_hold = c.hang();
    let mut c_missed = None;
    while c_missed.is_none() && vt.now() + secs(T) / 2 < a_abandon_at {
        vt.advance(secs(T) / 2);
        c_missed = vt.events.try_take("HeartbeatMissed", C);
    }
    let c_missed = c_missed.unwrap_or_else(|| {
        panic!(
            "c's miss was not reported while a was stopping; events:\n    {}",
            vt.events.history()
        )
    });
    assert_eq!(id_of(&c_missed), c1.id);
    assert!(vt.now() < a_abandon_at);
    c_hold.release(); // c lets go: it ends and is replaced
    let c_exited = vt.events.take("Exited", C);
    assert!(
        matches!(reason_of(&c_exited), ExitReason::HeartbeatMissed { .. }),
        "{c_exited}"
    );
    vt.events.take("Restarting", C);
    vt.events.take("Started", C);
    let c2 = c.next_life();
    assert_ne!(c2.id, c1.id);

    // All that while a was stopping, and it still is.
    vt.settle();
    vt.events
        .assert_none("Abandoned", A, "a's grace has not run out");
    assert_eq!(vt.state_of("a"), ChildState::Stopping);
    let status = vt.root.status();
    let row = |name: &str| {
        status
            .children
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.state)
    };
    assert_eq!(row("a"), Some(ChildState::Stopping), "{status}");
    assert_eq!(row("b"), Some(ChildState::Running), "{status}");
    assert_eq!(row("c"), Some(ChildState::Running), "{status}");
    a.assert_no_new_life();

    // The grace runs out: a is abandoned and restarted on a new thread.
    vt.advance_to(a_abandon_at - ms(1));
    vt.events
        .assert_none("Abandoned", A, "1 ms before a's grace ends");
    vt.clock.advance(ms(1));
    let abandoned = vt.events.take("Abandoned", A);
    assert_eq!(id_of(&abandoned), a1.id);
    let restarting = vt.events.take("Restarting", A);
    assert_eq!(attempt_of(&restarting), 1);
    let a_started = vt.events.take("Started", A);
    let a2 = a.next_life();
    assert_eq!(id_of(&a_started), a2.id);
    assert_ne!(a2.thread, a1.thread, "the abandoned thread is not reused");
    let a_row = vt.info("a");
    assert_eq!(a_row.state, ChildState::Running);
    assert_eq!(a_row.restarts, 1);
    assert_eq!(vt.info("b").restarts, 1);
    assert_eq!(vt.info("c").restarts, 1);
    assert!(
        vt.root
            .status()
            .find(A)
            .and_then(|n| n.last_exit.clone())
            .is_some_and(|e| e.contains("heartbeat")),
        "{}",
        vt.root.status()
    );

    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
    a_hold.release();
}
