//! Health (#13 point 6) through `Butler::health`, over the life of a tree:
//! live and ready once started; not live while a watched heartbeat is
//! stale (in virtual time), naming the child, and live again once it was
//! replaced; not ready from the instant a shutdown begins, or the root
//! gives up, though still live while it drains; neither once the root
//! ended. docs/operations.md, "Health probes".

use std::sync::Arc;
use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Hang, Probe, ProbeConfig};
use threadbutler::prelude::*;
use threadbutler::{Butler, Clock, Error, Health, HealthIssue, ManualClock};

fn live_and_ready(h: &Health) -> bool {
    h.live && h.ready && h.not_live.is_none() && h.not_ready.is_none()
}

#[test]
fn a_stale_heartbeat_costs_liveness_until_the_child_is_replaced() {
    let clock = Arc::new(ManualClock::new());
    let cfg = ProbeConfig::default();
    let gate = cfg.gate.clone();
    let builder = Butler::builder("app")
        .clock(clock.clone())
        .server("sitter", Probe::factory(cfg))
        .heartbeat(Duration::from_secs(1));
    let mut events = EventLog::new(builder.subscribe());
    let app = builder.start().expect("starts");
    assert!(live_and_ready(&app.health()), "{:?}", app.health());

    app.hub().send(Hang).expect("sent");
    gate.wait_arrival();
    // The first look finds it busy: staleness counts from here.
    assert!(app.health().live, "busy for no time yet");
    let root = app.supervisor("app").expect("the root");
    let t0 = clock.now();
    loop {
        clock.advance(Duration::from_millis(250));
        // Two requests answered by the loop in turn: it has looked at the
        // clock as it stands.
        for _ in 0..2 {
            let _ = root.terminate_child("no such child");
        }
        if events.drain().iter().any(|e| e.kind() == "HeartbeatMissed") {
            break;
        }
        assert!(
            clock.now() - t0 < Duration::from_secs(60),
            "no heartbeat miss"
        );
    }
    // Reported, asked to stop, still stuck at the gate: not live, and the
    // answer says who and for how long; readiness is not about heartbeats.
    let h = app.health();
    assert!(!h.live && h.ready, "{h:?}");
    match &h.not_live {
        Some(HealthIssue::StaleHeartbeat {
            child,
            since_progress_ms,
            heartbeat_ms,
        }) => {
            assert_eq!(child, "app/sitter");
            assert_eq!(*heartbeat_ms, 1000);
            assert!(*since_progress_ms >= 1000, "{since_progress_ms}");
        }
        other => panic!("not a stale heartbeat: {other:?}"),
    }

    // It lets go: it ends as hung and is replaced by a fresh life.
    gate.open(1);
    events.wait("Exited", "app/sitter");
    events.wait("Started", "app/sitter");
    assert!(live_and_ready(&app.health()), "{:?}", app.health());
    app.shutdown();
    app.wait().expect("a clean shutdown");
}

#[test]
fn readiness_goes_when_the_shutdown_begins_and_liveness_when_the_root_ended() {
    let cfg = ProbeConfig::default();
    let gate = cfg.gate.clone();
    let app = Butler::builder("app")
        .server("slow", Probe::factory(cfg))
        .shutdown(Shutdown::Drain(Duration::from_secs(30)))
        .start()
        .expect("starts");
    assert!(live_and_ready(&app.health()), "{:?}", app.health());
    app.hub().send(Hang).expect("sent");
    gate.wait_arrival();

    app.shutdown();
    // At once, while `slow` is still busy with its message.
    let h = app.health();
    assert!(h.live && !h.ready, "{h:?}");
    assert!(
        matches!(h.not_ready, Some(HealthIssue::ShuttingDown)),
        "{h:?}"
    );
    assert!(h.not_live.is_none(), "draining is alive: {h:?}");

    gate.open(1);
    app.wait().expect("a clean shutdown");
    let h = app.health();
    assert!(!h.live && !h.ready, "{h:?}");
    assert!(
        matches!(
            &h.not_live,
            Some(HealthIssue::Ended {
                reason: ExitReason::Shutdown
            })
        ),
        "{h:?}"
    );
    assert_eq!(
        h.not_ready.map(|i| i.to_string()).as_deref(),
        Some("the root supervisor ended: shut down on request")
    );
}

#[test]
fn a_root_that_gives_up_is_not_ready_while_it_stops_and_not_live_once_ended() {
    let holder = ProbeConfig::default();
    let gate = holder.gate.clone();
    let builder = Butler::builder("app")
        .intensity(0, Duration::from_secs(60))
        .server("holder", Probe::factory(holder))
        .shutdown(Shutdown::Drain(Duration::from_secs(30)))
        .server("crasher", Probe::factory(ProbeConfig::default()));
    let mut events = EventLog::new(builder.subscribe());
    let app = builder.start().expect("starts");
    let address = |name: &str| app.hub().address::<Probe>(name).expect("declared");
    // `holder` is busy, so the root's closing waits for it.
    address("holder").send(Hang).expect("sent");
    gate.wait_arrival();
    address("crasher").send(Crash).expect("sent");
    events.wait("GaveUp", "app");

    let h = app.health();
    assert!(h.live && !h.ready, "{h:?}");
    assert!(matches!(h.not_ready, Some(HealthIssue::GivingUp)), "{h:?}");

    gate.open(1);
    let err = app.wait().expect_err("the root gave up");
    assert!(matches!(err, Error::Failed { .. }), "{err}");
    let h = app.health();
    assert!(
        matches!(
            &h.not_live,
            Some(HealthIssue::Ended {
                reason: ExitReason::GaveUp { .. }
            })
        ),
        "{h:?}"
    );
    assert!(!h.ready, "{h:?}");
}
