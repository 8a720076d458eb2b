//! docs/runtime-semantics.md §11.11: a worker may restart its child on its
//! own thread when the decision is certain, but such a restart never slips
//! past a stop, never escapes the intensity count, and is reported with the
//! same events as any other.

use std::thread;
use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Journal, Ping, Probe, ProbeConfig};
use threadbutler::prelude::*;

#[test]
fn local_restarts_emit_the_same_events_in_order() {
    let app = Butler::builder("app")
        .intensity(100, Duration::from_secs(60))
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let first = app.hub().request(Ping).expect("answers");
    app.hub().send(Crash).expect("sent");
    let second = app.hub().request(Ping).expect("the replacement answers");
    assert_ne!(first.id, second.id);
    assert_eq!(first.thread, second.thread, "restarted on its own thread");
    events.wait("Started", "app/p");
    assert_eq!(
        events.only(&["Exited", "Restarting", "Starting", "Started"]),
        vec![
            "Exited app/p",
            "Restarting app/p",
            "Starting app/p",
            "Started app/p"
        ]
    );
    let node = app.status();
    let p = node.find("app/p").expect("listed");
    assert_eq!(p.restarts, 1);
    assert!(
        p.last_exit
            .as_deref()
            .is_some_and(|e| e.contains("crashed on purpose"))
    );
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
}

#[test]
fn a_shutdown_racing_local_restarts_stops_every_life() {
    for round in 0..20 {
        let journal = Journal::default();
        let cfg = ProbeConfig {
            journal: journal.clone(),
            ..ProbeConfig::default()
        };
        let app = Butler::builder("app")
            .intensity(threadbutler::Policy::MAX_RESTARTS, Duration::from_secs(60))
            .server("p", Probe::factory(cfg))
            .start()
            .expect("starts");
        let addr = app.hub().address::<Probe>("p").expect("registered");
        let crasher = thread::spawn(move || {
            // Crash it as fast as it comes back, until its mailbox closes.
            while addr.send(Crash).is_ok() {}
        });
        // Let some restarts happen, then stop everything under them.
        let mut events = EventLog::new(app.subscribe());
        events.wait("Restarting", "app/p");
        app.shutdown();
        let report = app.wait().expect("a requested shutdown");
        crasher.join().expect("crasher");
        let lines = journal.lines();
        let starts = lines.iter().filter(|l| l.starts_with("start p")).count();
        let stops = lines.iter().filter(|l| l.starts_with("stop p")).count();
        assert_eq!(
            starts, stops,
            "round {round}: every life that started was stopped: {lines:?}"
        );
        assert!(
            lines.last().is_some_and(|l| l.starts_with("stop p")),
            "round {round}: {lines:?}"
        );
        assert!(report.abandoned.is_empty(), "round {round}: {report:?}");
        let s = app.hub().stats("p").expect("still registered");
        assert_eq!(s.queued, 0, "round {round}: {s:?}");
        assert_eq!(
            s.accepted,
            s.handled + s.dead_lettered,
            "round {round}: {s:?}"
        );
    }
}

#[test]
fn local_restarts_count_towards_intensity() {
    let app = Butler::builder("app")
        .intensity(3, Duration::from_secs(60))
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    for _ in 0..3 {
        app.hub().send(Crash).expect("sent");
        app.hub().request(Ping).expect("restarted");
    }
    app.hub().send(Crash).expect("sent");
    events.wait("GaveUp", "app");
    assert!(
        app.wait().is_err(),
        "the fourth restart within the period is one too many"
    );
    assert_eq!(events.only(&["Restarting"]).len(), 3);
}
