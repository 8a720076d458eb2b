//! docs/runtime-semantics.md §11.17-18 (events and status; DESIGN.md rule
//! 7): the status of a tree with a nested supervisor names every child by
//! path, kind and state, counts its restarts, keeps its last exit, shows its
//! queue and whether it is busy; it is published before each event;
//! `Display` draws it like `pstree`, and it serialises with serde.

use std::thread;
use std::time::{Duration, Instant};

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Hang, Probe, ProbeConfig};
use integration_tests::{PATIENCE, wait_until};
use threadbutler::prelude::*;
use threadbutler::{ChildState, StatusNode};

/// Starts this tree; returns it and the reader's config (to hold it at its
/// gate).
///
/// ```text
/// app
/// ├─ front
/// └─ db
///    ├─ reader
///    └─ writer   (a 60 s backoff: after a crash it stays restarting)
/// ```
fn start() -> (Butler, ProbeConfig) {
    let reader_cfg = ProbeConfig::default();
    let reader = reader_cfg.clone();
    let butler = Butler::builder("app")
        .server("front", Probe::factory(ProbeConfig::default()))
        .supervisor("db", move |s| {
            s.server("reader", Probe::factory(reader))
                .server("writer", Probe::factory(ProbeConfig::default()))
                .backoff(Backoff::exponential(
                    Duration::from_secs(60),
                    Duration::from_secs(60),
                ))
        })
        .start()
        .expect("starts");
    (butler, reader_cfg)
}

fn probe(butler: &Butler, name: &str) -> Address<Probe> {
    butler.hub().address::<Probe>(name).expect("registered")
}

/// Polls the status until `pred` holds; panics with the last tree after
/// [`PATIENCE`].
fn status_when(butler: &Butler, what: &str, pred: impl Fn(&StatusNode) -> bool) -> StatusNode {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let s = butler.status();
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; the tree:\n{s}"
        );
        thread::yield_now();
    }
}

fn nodes(n: &StatusNode) -> Vec<&StatusNode> {
    let mut all = vec![n];
    for c in &n.children {
        all.extend(nodes(c));
    }
    all
}

fn nobody_busy(s: &StatusNode) -> bool {
    nodes(s).iter().all(|n| !n.busy)
}

fn node<'a>(s: &'a StatusNode, path: &str) -> &'a StatusNode {
    s.find(path)
        .unwrap_or_else(|| panic!("no {path} in the tree:\n{s}"))
}

/// Crashes `name` and waits for the `Restarting` event about `path`.
fn crash(butler: &Butler, name: &str, path: &str) {
    let mut events = EventLog::new(butler.subscribe());
    probe(butler, name).send(Crash).expect("sent");
    events.wait("Restarting", path);
}

#[test]
fn every_child_is_listed_by_name_path_kind_and_state() {
    let (butler, _) = start();
    let s = status_when(&butler, "everything is idle", nobody_busy);
    assert_eq!(
        (s.name.as_str(), s.path.as_str(), s.kind, s.state),
        ("app", "app", "supervisor", ChildState::Running)
    );
    let listed: Vec<(&str, &str, &str, ChildState)> = nodes(&s)
        .iter()
        .map(|n| (n.name.as_str(), n.path.as_str(), n.kind, n.state))
        .collect();
    assert_eq!(
        listed,
        [
            ("app", "app", "supervisor", ChildState::Running),
            ("front", "app/front", "server", ChildState::Running),
            ("db", "app/db", "supervisor", ChildState::Running),
            ("reader", "app/db/reader", "server", ChildState::Running),
            ("writer", "app/db/writer", "server", ChildState::Running),
        ],
        "in start order, depth first"
    );
    for n in nodes(&s) {
        assert_eq!(n.restarts, 0, "{}", n.path);
        assert_eq!(n.last_exit, None, "{}", n.path);
        let want_depth = if n.kind == "server" { Some(0) } else { None };
        assert_eq!(n.queued, want_depth, "{}", n.path);
    }
    let db = node(&s, "app/db");
    assert_eq!(db.children.len(), 2);
    assert!(db.since_progress_ms.is_some(), "a running child is sampled");
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn a_crash_shows_as_a_restart_count_and_the_last_exit() {
    let (butler, _) = start();
    crash(&butler, "reader", "app/db/reader");
    crash(&butler, "writer", "app/db/writer");

    let s = status_when(&butler, "the reader runs again", |s| {
        s.find("app/db/reader")
            .is_some_and(|n| n.state == ChildState::Running && n.restarts == 1)
    });
    let reader = node(&s, "app/db/reader");
    assert_eq!(
        reader.last_exit.as_deref(),
        Some("handle panicked: reader crashed on purpose")
    );
    let s = status_when(&butler, "the writer waits out its backoff", |s| {
        s.find("app/db/writer")
            .is_some_and(|n| n.state == ChildState::Restarting)
    });
    let writer = node(&s, "app/db/writer");
    assert_eq!(writer.restarts, 1);
    assert_eq!(
        writer.last_exit.as_deref(),
        Some("handle panicked: writer crashed on purpose")
    );
    assert!(!writer.busy, "no life runs");
    assert_eq!(
        writer.since_progress_ms, None,
        "no life runs, nothing to sample"
    );
    for path in ["app", "app/front", "app/db"] {
        let n = node(&s, path);
        assert_eq!(
            (n.state, n.restarts),
            (ChildState::Running, 0),
            "{path} is untouched"
        );
    }
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn the_queue_length_and_busy_show_a_server_held_with_work_queued() {
    let (butler, reader_cfg) = start();
    let reader = probe(&butler, "reader");
    reader.send(Hang).expect("sent");
    reader_cfg.gate.wait_arrival();
    reader.send(Hang).expect("queued");
    reader.send(Hang).expect("queued");

    let s = butler.status();
    let n = node(&s, "app/db/reader");
    assert_eq!(n.queued, Some(2));
    assert!(n.busy, "held in a handler");
    assert!(n.since_progress_ms.is_some());
    let line = s
        .to_string()
        .lines()
        .find(|l| l.contains("reader"))
        .expect("drawn")
        .to_owned();
    assert!(
        line.starts_with("   ├─ reader [server running] queued=2 busy progress="),
        "{line}"
    );

    reader_cfg.gate.open(3);
    let s = status_when(&butler, "the queue is worked off", |s| {
        s.find("app/db/reader")
            .is_some_and(|n| n.queued == Some(0) && !n.busy)
    });
    assert_eq!(node(&s, "app/db/reader").state, ChildState::Running);
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn display_draws_the_tree_like_pstree() {
    let (butler, _) = start();
    crash(&butler, "reader", "app/db/reader");
    crash(&butler, "writer", "app/db/writer");
    let want = "\
app [supervisor running]
├─ front [server running] queued=0
└─ db [supervisor running]
   ├─ reader [server running] restarts=1 queued=0 last_exit=\"handle panicked: reader crashed on purpose\"
   └─ writer [server restarting] restarts=1 queued=0 last_exit=\"handle panicked: writer crashed on purpose\"
";
    let s = status_when(&butler, "the tree settles", |s| {
        nobody_busy(s) && s.to_string() == want
    });
    let drawn = s.to_string();
    assert!(drawn.contains("└─ "));
    assert!(drawn.contains("├─ "));
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn the_status_serialises_with_every_field() {
    let (butler, _) = start();
    crash(&butler, "writer", "app/db/writer");
    let s = status_when(&butler, "the writer waits and nobody is busy", |s| {
        nobody_busy(s)
            && s.find("app/db/writer")
                .is_some_and(|n| n.state == ChildState::Restarting)
    });
    let json = serde_json::to_value(&s).expect("serialisable");

    let mut keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "busy",
            "children",
            "heartbeat_ms",
            "kind",
            "last_exit",
            "name",
            "path",
            "queued",
            "restarts",
            "since_progress_ms",
            "state"
        ]
    );
    assert_eq!(json["name"], "app");
    assert_eq!(json["kind"], "supervisor");
    assert_eq!(json["state"], "running");
    assert_eq!(json["queued"], serde_json::Value::Null);

    let front = &json["children"][0];
    assert_eq!(front["path"], "app/front");
    assert_eq!(front["kind"], "server");
    assert_eq!(front["queued"], 0);
    assert_eq!(front["busy"], false);
    assert!(front["since_progress_ms"].is_u64());

    let db = &json["children"][1];
    assert_eq!(db["path"], "app/db");
    assert_eq!(db["kind"], "supervisor");
    let writer = &db["children"][1];
    assert_eq!(writer["name"], "writer");
    assert_eq!(writer["path"], "app/db/writer");
    assert_eq!(writer["state"], "restarting");
    assert_eq!(writer["restarts"], 1);
    assert_eq!(
        writer["last_exit"],
        "handle panicked: writer crashed on purpose"
    );
    assert_eq!(writer["children"], serde_json::json!([]));
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn the_final_report_shows_every_child_stopped() {
    let (butler, _) = start();
    crash(&butler, "writer", "app/db/writer");
    wait_until("the writer waits out its backoff", || {
        butler
            .status()
            .find("app/db/writer")
            .is_some_and(|n| n.state == ChildState::Restarting)
    });
    butler.shutdown();
    let report = butler.wait().expect("a requested shutdown");
    let states: Vec<(&str, ChildState)> = nodes(&report.tree)
        .iter()
        .map(|n| (n.path.as_str(), n.state))
        .collect();
    assert_eq!(
        states,
        [
            ("app", ChildState::Stopped),
            ("app/front", ChildState::Stopped),
            ("app/db", ChildState::Stopped),
            ("app/db/reader", ChildState::Stopped),
            ("app/db/writer", ChildState::Stopped),
        ],
        "{}",
        report.tree
    );
    assert_eq!(
        node(&report.tree, "app/db/writer").restarts,
        1,
        "the count survives the shutdown"
    );
}

#[test]
fn the_status_is_published_before_each_event() {
    // §11.17: whoever waits for an event and then reads the status sees the
    // transition, without polling.
    let (butler, _) = start();
    let mut events = EventLog::new(butler.subscribe());

    probe(&butler, "writer").send(Crash).expect("sent");
    events.wait("Restarting", "app/db/writer");
    let s = butler.status();
    let writer = node(&s, "app/db/writer");
    assert_eq!(
        (writer.state, writer.restarts),
        (ChildState::Restarting, 1),
        "{s}"
    );
    assert_eq!(
        writer.last_exit.as_deref(),
        Some("handle panicked: writer crashed on purpose")
    );

    probe(&butler, "reader").send(Crash).expect("sent");
    events.wait("Started", "app/db/reader");
    let s = butler.status();
    let reader = node(&s, "app/db/reader");
    assert_eq!(
        (reader.state, reader.restarts),
        (ChildState::Running, 1),
        "{s}"
    );

    butler.shutdown();
    events.wait("Stopped", "app/front");
    let s = butler.status();
    assert_eq!(node(&s, "app/front").state, ChildState::Stopped, "{s}");
    butler.wait().expect("a requested shutdown");
}
