//! Restart types, as OTP's supervisor test suite checks them: each type
//! against a normal exit, an API stop, a panic and an `Err`.
//! docs/runtime-semantics.md §11 Supervision, "Restart types".

use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Fail, Ping, Probe, ProbeConfig, Quit};
use threadbutler::prelude::*;

/// What ending a life by `how` led to: restarted (a new life answers) or not.
fn restarted_after(restart: Restart, how: &str) -> bool {
    let cfg = ProbeConfig::default();
    let app = Butler::builder("app")
        .intensity(10, Duration::from_secs(60))
        .server("p", Probe::factory(cfg.clone()))
        .restart(restart)
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let first = app.hub().request(Ping).expect("first life answers");
    match how {
        "normal" => app.hub().send(Quit).expect("sent"),
        "panic" => app.hub().send(Crash).expect("sent"),
        "err" => app.hub().send(Fail).expect("sent"),
        "stop" => {
            let report = app.remove_child("app", "p").expect("removed");
            assert!(
                matches!(report.reason, Some(ExitReason::Shutdown)),
                "{report:?}"
            );
        }
        _ => unreachable!(),
    }
    let after = events.wait_for(
        "the life to end",
        |e| matches!(e, Event::Exited { child, .. } if &**child == "app/p"),
    );
    let Event::Exited { reason, .. } = after else {
        unreachable!()
    };
    let want_kind = match how {
        "normal" => "normal",
        "panic" => "panicked",
        "err" => "failed",
        _ => "shutdown",
    };
    assert_eq!(reason.kind(), want_kind);
    // Either a restart or a final stop follows, never both.
    let next = events.wait_for("a restart or a final stop", |e| {
        matches!(e.kind(), "Restarting" | "Stopped") && e.subject() == "app/p"
    });
    let restarted = next.kind() == "Restarting";
    if restarted {
        events.wait("Started", "app/p");
        let second = app.hub().request(Ping).expect("the new life answers");
        assert_ne!(first.id, second.id);
        assert_eq!(cfg.lives.get(), 2);
    } else {
        assert!(
            app.hub().request(Ping).is_err(),
            "nobody answers once it stopped for good"
        );
        assert_eq!(cfg.lives.get(), 1);
    }
    app.shutdown();
    app.wait().expect("clean end");
    assert!(
        !events
            .lines()
            .iter()
            .any(|l| l == "Restarting app/p" && !restarted)
    );
    restarted
}

#[test]
fn permanent_restarts_after_everything_but_a_stop() {
    assert!(restarted_after(Restart::Permanent, "normal"));
    assert!(restarted_after(Restart::Permanent, "panic"));
    assert!(restarted_after(Restart::Permanent, "err"));
    assert!(!restarted_after(Restart::Permanent, "stop"));
}

#[test]
fn transient_restarts_only_after_a_failure() {
    assert!(!restarted_after(Restart::Transient, "normal"));
    assert!(restarted_after(Restart::Transient, "panic"));
    assert!(restarted_after(Restart::Transient, "err"));
    assert!(!restarted_after(Restart::Transient, "stop"));
}

#[test]
fn temporary_never_restarts_and_its_spec_is_dropped() {
    assert!(!restarted_after(Restart::Temporary, "normal"));
    assert!(!restarted_after(Restart::Temporary, "panic"));
    assert!(!restarted_after(Restart::Temporary, "err"));
    assert!(!restarted_after(Restart::Temporary, "stop"));

    let app = Butler::builder("app")
        .server("p", Probe::factory(ProbeConfig::default()))
        .restart(Restart::Temporary)
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    events.wait("Stopped", "app/p");
    assert!(
        app.status().find("app/p").is_none(),
        "the spec is gone: {}",
        app.status()
    );
    app.shutdown();
    app.wait().expect("clean");
}

#[test]
fn a_stop_through_the_api_never_counts_towards_intensity() {
    // Zero restarts allowed: any counted restart would make the root give up.
    let app = Butler::builder("app")
        .intensity(0, Duration::from_secs(60))
        .server("a", Probe::factory(ProbeConfig::default()))
        .server("b", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    app.remove_child("app", "b").expect("removed");
    assert!(
        app.hub()
            .address::<Probe>("a")
            .expect("a")
            .request(Ping)
            .is_ok(),
        "the tree still runs"
    );
    app.shutdown();
    let report = app.wait().expect("a requested shutdown is not a failure");
    assert!(report.is_clean(), "{report:?}");
}
