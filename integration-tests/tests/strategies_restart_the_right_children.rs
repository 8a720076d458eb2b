//! Strategies, as OTP defines them: which children restart, and in which
//! order they stop and start again. docs/runtime-semantics.md §11.

use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Journal, Ping, Pong, Probe, ProbeConfig};
use threadbutler::prelude::*;

struct Three {
    app: Butler,
    journal: Journal,
    events: EventLog,
}

fn three(strategy: Strategy) -> Three {
    let journal = Journal::default();
    let cfg = ProbeConfig {
        journal: journal.clone(),
        ..ProbeConfig::default()
    };
    let app = Butler::builder("app")
        .strategy(strategy)
        .intensity(10, Duration::from_secs(60))
        .server("a", Probe::factory(cfg.clone()))
        .server("b", Probe::factory(cfg.clone()))
        .server("c", Probe::factory(cfg))
        .start()
        .expect("starts");
    let events = EventLog::new(app.subscribe());
    journal.clear();
    Three {
        app,
        journal,
        events,
    }
}

fn ping(app: &Butler, name: &str) -> Pong {
    app.hub()
        .address::<Probe>(name)
        .expect("registered")
        .request(Ping)
        .expect("answers")
}

fn crash_b_and_settle(t: &mut Three) -> (Vec<Pong>, Vec<Pong>) {
    let before: Vec<Pong> = ["a", "b", "c"].iter().map(|n| ping(&t.app, n)).collect();
    t.app
        .hub()
        .address::<Probe>("b")
        .expect("b")
        .send(Crash)
        .expect("sent");
    // The restart of b (and whoever goes with it) is complete once b started.
    t.events.wait("Started", "app/b");
    let after: Vec<Pong> = ["a", "b", "c"].iter().map(|n| ping(&t.app, n)).collect();
    (before, after)
}

#[test]
fn one_for_one_restarts_only_the_failed_child() {
    let mut t = three(Strategy::OneForOne);
    let (before, after) = crash_b_and_settle(&mut t);
    assert_eq!(before[0].id, after[0].id, "a kept running");
    assert_ne!(before[1].id, after[1].id, "b restarted");
    assert_eq!(before[2].id, after[2].id, "c kept running");
    assert_eq!(t.journal.lines(), vec!["stop b panicked", "start b"]);
    t.app.shutdown();
    t.app.wait().expect("clean");
}

#[test]
fn one_for_all_restarts_everyone_stopping_in_reverse_and_starting_in_order() {
    let mut t = three(Strategy::OneForAll);
    let (before, after) = crash_b_and_settle(&mut t);
    // b is the last to start again only if it were last; wait for c too.
    t.events.wait("Started", "app/c");
    let after_c = ping(&t.app, "c");
    assert_ne!(before[0].id, after[0].id, "a restarted");
    assert_ne!(before[1].id, after[1].id, "b restarted");
    assert_ne!(before[2].id, after_c.id, "c restarted");
    assert_eq!(
        t.journal.lines(),
        vec![
            "stop b panicked",
            "stop c shutdown",
            "stop a shutdown",
            "start a",
            "start b",
            "start c"
        ]
    );
    assert_eq!(
        t.events.only(&["Restarting"]),
        vec!["Restarting app/a", "Restarting app/b", "Restarting app/c"]
    );
    t.app.shutdown();
    t.app.wait().expect("clean");
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_the_later_ones_in_order() {
    let mut t = three(Strategy::RestForOne);
    let (before, _) = crash_b_and_settle(&mut t);
    t.events.wait("Started", "app/c");
    let after: Vec<Pong> = ["a", "b", "c"].iter().map(|n| ping(&t.app, n)).collect();
    assert_eq!(
        before[0].id, after[0].id,
        "a, started earlier, kept running"
    );
    assert_ne!(before[1].id, after[1].id, "b restarted");
    assert_ne!(before[2].id, after[2].id, "c, started later, restarted");
    assert_eq!(
        t.journal.lines(),
        vec!["stop b panicked", "stop c shutdown", "start b", "start c"]
    );
    t.app.shutdown();
    t.app.wait().expect("clean");
}

#[test]
fn shutdown_stops_children_in_reverse_start_order() {
    let t = three(Strategy::OneForOne);
    let mut events = t.events;
    t.app.shutdown();
    let report = t.app.wait().expect("clean");
    assert!(report.is_clean());
    assert_eq!(
        t.journal.lines(),
        vec!["stop c shutdown", "stop b shutdown", "stop a shutdown"]
    );
    assert_eq!(
        events.only(&["ShutdownBegan", "Stopped"]),
        vec![
            "ShutdownBegan app",
            "Stopped app/c",
            "Stopped app/b",
            "Stopped app/a"
        ]
    );
    assert_eq!(
        events.only(&["Drained"]),
        vec!["Drained app/c", "Drained app/b", "Drained app/a"]
    );
}
