//! Helper process for `metrics_reach_the_recorder.rs` (feature `metrics`):
//! installs metrics-util's debugging recorder as the global recorder, runs
//! a known scenario under a manual clock (three requests handled, a panic,
//! a heartbeat miss, a nested supervisor giving up, a client leaving two
//! messages unread; then, between two readings, a server removed after
//! five requests, a temporary server that ends on its own after three
//! messages and a client dropped after reading four), shuts down, and
//! prints what the recorder holds, one
//! `name{label=value,...} value` line each, then each mailbox's own
//! counters as `stats NAME accepted handled dead_lettered queued`. One
//! scenario per process: the recorder is global.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Hang, Ping, Probe, ProbeConfig, Quit};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use threadbutler::prelude::*;
use threadbutler::{ChildOptions, Clock, ManualClock};

pub struct Note;
pub struct Inbox;
threadbutler::messages! { pub enum InboxMsg for Inbox { Note } }
pub struct Letter;
pub struct Outbox;
threadbutler::messages! { pub enum OutboxMsg for Outbox { Letter } }

fn main() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the first recorder of this process");
    std::panic::set_hook(Box::new(|_| {})); // the crashes are on purpose

    let clock = Arc::new(ManualClock::new());
    let sitter = ProbeConfig::default();
    let gate = sitter.gate.clone();
    let builder = Butler::builder("app")
        .clock(clock.clone())
        .intensity(10, Duration::from_secs(60))
        // An hour: the figures printed are those read when `wait` returns.
        .metrics(Duration::from_secs(3600))
        .server("counter", Probe::factory(ProbeConfig::default()))
        .server("sitter", Probe::factory(sitter))
        .heartbeat(Duration::from_secs(1))
        .supervisor("flaky", |s| {
            s.intensity(0, Duration::from_secs(60))
                .server("fragile", Probe::factory(ProbeConfig::default()))
        });
    let mut events = EventLog::new(builder.subscribe());
    let app = builder.start().expect("starts");
    let hub = app.hub();
    let address = |name: &str| hub.address::<Probe>(name).expect("declared");

    // Three requests handled, then a panic: restart, dead letter in flight.
    for _ in 0..3 {
        address("counter").request(Ping).expect("answered");
    }
    address("counter").send(Crash).expect("sent");
    events.wait("Exited", "app/counter");
    events.wait("Started", "app/counter");

    // A heartbeat miss in virtual time: held at the gate without beating,
    // the clock moved until the supervisor reports it.
    address("sitter").send(Hang).expect("sent");
    gate.wait_arrival();
    let root = app.supervisor("app").expect("the root");
    let settle = || {
        // Two requests answered by the loop in turn: it has looked at the
        // clock as it stands.
        for _ in 0..2 {
            let _ = root.terminate_child("no such child");
        }
    };
    let t0 = clock.now();
    loop {
        clock.advance(Duration::from_millis(250));
        settle();
        if events
            .drain()
            .iter()
            .any(|e| e.kind() == "HeartbeatMissed" && e.subject() == "app/sitter")
        {
            break;
        }
        assert!(
            clock.now() - t0 < Duration::from_secs(60),
            "no heartbeat miss in a virtual minute"
        );
    }
    gate.open(1);
    events.wait("Exited", "app/sitter");
    events.wait("Started", "app/sitter");

    // A nested supervisor that allows no restart gives up; the root
    // restarts it.
    address("fragile").send(Crash).expect("sent");
    events.wait("GaveUp", "app/flaky");
    events.wait("Started", "app/flaky");

    // A client outside the tree: three accepted, one read, two queued.
    let mut inbox = hub.client::<Inbox>("inbox").expect("a new name");
    for _ in 0..3 {
        hub.send(Note).expect("room");
    }
    let _first = inbox.recv();

    // Between two readings (the interval is an hour: the next one is at
    // `wait`), three mailboxes come and leave the hub, each with
    // everything it accepted handled: a server removed after five
    // requests; a temporary server that handles two requests and a `Quit`
    // and ends on its own (its supervisor drops it); a client that reads
    // four, then is dropped.
    let temp = app
        .add_server(
            "app",
            "temp",
            Probe::factory(ProbeConfig::default()),
            ChildOptions::new(),
        )
        .expect("added");
    for _ in 0..5 {
        temp.request(Ping).expect("answered");
    }
    app.remove_child("app", "temp").expect("removed");
    let once = app
        .add_server(
            "app",
            "once",
            Probe::factory(ProbeConfig::default()),
            ChildOptions::new().restart(Restart::Temporary),
        )
        .expect("added");
    for _ in 0..2 {
        once.request(Ping).expect("answered");
    }
    once.send(Quit).expect("sent");
    events.wait("Stopped", "app/once");
    let mut outbox = hub.client::<Outbox>("outbox").expect("a new name");
    for _ in 0..4 {
        hub.send(Letter).expect("room");
        let _ = outbox.recv();
    }
    drop(outbox);
    for gone in ["temp", "once", "outbox"] {
        assert!(hub.stats(gone).is_none(), "{gone} left the hub");
    }

    app.shutdown();
    app.wait().expect("a clean shutdown");

    let mut lines: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(n) => n.to_string(),
                DebugValue::Gauge(g) => g.to_string(),
                DebugValue::Histogram(h) => format!("{h:?}"),
            };
            format!("{}{{{}}} {value}", key.name(), labels.join(","))
        })
        .collect();
    lines.sort();
    for line in lines {
        println!("{line}");
    }
    for name in hub.names() {
        let s = hub.stats(&name).expect("listed");
        println!(
            "stats {name} {} {} {} {}",
            s.accepted, s.handled, s.dead_lettered, s.queued
        );
    }
    drop(inbox);
}
