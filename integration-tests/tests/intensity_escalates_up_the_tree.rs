//! Restart intensity: too many restarts in a period make a supervisor give
//! up, which its parent treats as a child failure; at the root the
//! application ends in failure. docs/runtime-semantics.md §11.

use std::time::{Duration, Instant};

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Journal, Ping, Probe, ProbeConfig};
use threadbutler::prelude::*;

fn crash(app: &Butler, name: &str) {
    app.hub()
        .address::<Probe>(name)
        .expect("registered")
        .send(Crash)
        .expect("sent");
}

#[test]
fn exceeding_the_intensity_at_the_root_ends_the_application_in_failure() {
    let app = Butler::builder("app")
        .intensity(2, Duration::from_secs(60))
        .server("a", Probe::factory(ProbeConfig::default()))
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    for _ in 0..2 {
        crash(&app, "p");
        events.wait("Started", "app/p");
    }
    crash(&app, "p"); // the third restart within the period is one too many
    events.wait("GaveUp", "app");
    match app.wait() {
        Err(threadbutler::Error::Failed {
            reason: ExitReason::GaveUp {
                max_restarts: 2, ..
            },
        }) => {}
        other => panic!("expected the root to give up, got {other:?}"),
    }
    // Giving up stops every child in reverse order.
    let stops = events.only(&["Stopped"]);
    assert_eq!(stops, vec!["Stopped app/p", "Stopped app/a"]);
}

#[test]
fn a_nested_supervisor_that_gives_up_is_a_failed_child_of_its_parent() {
    let app = Butler::builder("app")
        .intensity(5, Duration::from_secs(60))
        .server("front", Probe::factory(ProbeConfig::default()))
        .supervisor("db", |s| {
            s.intensity(1, Duration::from_secs(60))
                .server("w", Probe::factory(ProbeConfig::default()))
        })
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let front_before = app
        .hub()
        .address::<Probe>("front")
        .expect("front")
        .request(Ping)
        .expect("answers");
    crash(&app, "w");
    events.wait("Started", "app/db/w");
    crash(&app, "w"); // db allows one restart: the second gives up
    events.wait("GaveUp", "app/db");
    let exited = events.wait_for("db to exit", |e| {
        e.kind() == "Exited" && e.subject() == "app/db"
    });
    let Event::Exited { reason, .. } = exited else {
        unreachable!()
    };
    assert!(
        matches!(
            reason,
            ExitReason::GaveUp {
                max_restarts: 1,
                ..
            }
        ),
        "{reason}"
    );
    // The parent restarts db (Permanent) and with it w; front is untouched.
    events.wait("Restarting", "app/db");
    events.wait("Started", "app/db");
    let w = app
        .hub()
        .address::<Probe>("w")
        .expect("w")
        .request(Ping)
        .expect("w answers again");
    assert_eq!(w.handled, 0, "a fresh life");
    let front_after = app
        .hub()
        .address::<Probe>("front")
        .expect("front")
        .request(Ping)
        .expect("answers");
    assert_eq!(front_before.id, front_after.id);
    app.shutdown();
    app.wait().expect("the root itself did not give up");
}

#[test]
fn spaced_failures_slide_out_of_the_window() {
    let period = Duration::from_millis(40);
    let app = Butler::builder("app")
        .intensity(1, period)
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    for _ in 0..4 {
        crash(&app, "p");
        events.wait("Started", "app/p");
        // The restart was counted before its life started; from now, wait
        // (on a deadline) until it has aged out of the window.
        let counted_before = Instant::now();
        let _ = crossbeam_channel::at(counted_before + period + Duration::from_millis(1)).recv();
    }
    assert!(app.hub().request(Ping).is_ok());
    assert!(!events.lines().iter().any(|l| l.starts_with("GaveUp")));
    app.shutdown();
    app.wait().expect("never gave up");
}

#[test]
fn a_restart_that_keeps_failing_counts_each_attempt_and_escalates() {
    let journal = Journal::default();
    let cfg = ProbeConfig {
        journal: journal.clone(),
        fail_start_after: Some(1), // only the first life starts
        ..ProbeConfig::default()
    };
    let app = Butler::builder("app")
        .intensity(3, Duration::from_secs(60))
        .server("p", Probe::factory(cfg.clone()))
        .start()
        .expect("the first life starts");
    let mut events = EventLog::new(app.subscribe());
    crash(&app, "p");
    events.wait("GaveUp", "app");
    assert!(app.wait().is_err());
    // 1 crash + 3 failed restarts = 4 restarts counted; the 4th is too many.
    assert_eq!(events.only(&["Restarting"]).len(), 3);
    assert_eq!(
        cfg.lives.get(),
        4,
        "the first life and three failed attempts"
    );
    assert_eq!(
        journal
            .lines()
            .iter()
            .filter(|l| l.starts_with("start-failed"))
            .count(),
        3
    );
}

#[test]
fn a_failed_start_rolls_back_in_reverse_and_names_the_child() {
    let journal = Journal::default();
    let ok = ProbeConfig {
        journal: journal.clone(),
        ..ProbeConfig::default()
    };
    let bad = ProbeConfig {
        journal: journal.clone(),
        fail_start_after: Some(0),
        ..ProbeConfig::default()
    };
    let err = Butler::builder("app")
        .server("a", Probe::factory(ok.clone()))
        .supervisor("db", |s| {
            s.server("b", Probe::factory(ok.clone()))
                .server("c", Probe::factory(bad))
        })
        .server("d", Probe::factory(ok))
        .start()
        .expect_err("c cannot start");
    match &err {
        threadbutler::Error::Start {
            reason: ExitReason::ChildStartFailed { child, reason },
        } => {
            assert_eq!(&**child, "app/db");
            match &**reason {
                ExitReason::ChildStartFailed { child, reason } => {
                    assert_eq!(&**child, "app/db/c");
                    assert!(
                        reason.to_string().contains("c refuses to start"),
                        "{reason}"
                    );
                }
                other => panic!("expected db's child to be named, got {other}"),
            }
        }
        other => panic!("expected a start error, got {other:?}"),
    }
    assert!(err.to_string().contains("app/db/c"), "{err}");
    assert_eq!(
        journal.lines(),
        vec![
            "start a",
            "start b",
            "start-failed c",
            "stop b shutdown",
            "stop a shutdown"
        ],
        "d never started; b and a stopped in reverse order"
    );
}

#[test]
fn an_invalid_policy_is_refused_before_anything_starts() {
    let cfg = ProbeConfig::default();
    let err = Butler::builder("app")
        .server("p", Probe::factory(cfg.clone()))
        .backoff(Backoff::exponential(
            Duration::from_secs(2),
            Duration::from_secs(1),
        ))
        .start()
        .expect_err("max below min");
    assert!(err.to_string().contains("below min"), "{err}");
    assert_eq!(cfg.lives.get(), 0);
    // A child's option with no child before it does not compile (see the
    // `ChildScope` docs' compile_fail example).
    let err = Butler::builder("app")
        .server("p", Probe::factory(cfg.clone()))
        .server("p", Probe::factory(cfg))
        .start()
        .expect_err("duplicate");
    assert!(err.to_string().contains("\"p\""), "{err}");
}
