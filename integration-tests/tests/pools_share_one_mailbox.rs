//! Pools: N workers share one mailbox (any idle worker takes the next
//! message), each supervised on its own; a failing worker loses only its
//! message in flight; the pool drains as one unit. (The pools issue.)

use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Hang, Ping, Probe, ProbeConfig};
use threadbutler::prelude::*;

#[test]
fn idle_workers_take_the_next_message_so_load_spreads() {
    let cfg = ProbeConfig::default();
    let app = Butler::builder("app")
        .pool("workers", 2, Probe::factory(cfg.clone()))
        .start()
        .expect("starts");
    // Two messages that each hold their worker: both are taken at once,
    // which only two workers can do.
    app.hub().send(Hang).expect("sent");
    app.hub().send(Hang).expect("sent");
    cfg.gate.wait_arrival();
    cfg.gate.wait_arrival();
    cfg.gate.open(2);
    let tree = app.status();
    let pool = tree.find("app/workers").expect("the pool is in the tree");
    assert_eq!(pool.kind, "pool");
    let names: Vec<&str> = pool.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["workers-0", "workers-1"]);
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
}

#[test]
fn a_failing_worker_loses_only_its_message_and_is_replaced_alone() {
    let (dead_tx, dead_rx) = crossbeam_channel::unbounded();
    let app = Butler::builder("app")
        .on_dead_letter(move |d| {
            let _ = dead_tx.send(d);
        })
        .intensity(10, Duration::from_secs(60))
        .pool("workers", 2, Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    let mut answered = 0;
    for _ in 0..20 {
        if app.hub().request(Ping).is_ok() {
            answered += 1;
        }
    }
    assert_eq!(
        answered, 20,
        "the other worker (and the replacement) answered everything"
    );
    // Whichever worker took the crash was replaced, alone.
    events.wait_for("a worker's restart", |e| {
        e.kind() == "Restarting" && e.subject().starts_with("app/workers/workers-")
    });
    assert_eq!(events.only(&["Restarting"]).len(), 1);
    let letters: Vec<DeadLetter> = dead_rx.try_iter().collect();
    assert_eq!(letters.len(), 1, "only the message in flight: {letters:?}");
    assert!(matches!(
        letters[0].reason,
        DeadReason::InFlight(ExitReason::Panicked { .. })
    ));
    app.shutdown();
    let report = app.wait().expect("clean");
    let (_, s) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "workers")
        .expect("listed");
    assert_eq!(s.accepted, s.handled + s.dead_lettered);
    assert_eq!((s.handled, s.dead_lettered), (20, 1));
}

/// A worker for the drain test: `Work` is quick, `Hold` waits at a gate.
pub struct Work;
pub struct Hold;
threadbutler::messages! { pub enum ChurnMsg for Churn { Work, Hold } }
pub struct Churn {
    gate: integration_tests::Gate,
}
impl Server for Churn {
    fn handle(&mut self, msg: ChurnMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        if let ChurnMsg::Hold(Hold) = msg {
            self.gate.enter();
        }
        Ok(())
    }
}

#[test]
fn the_pool_drains_as_one_unit() {
    let gate = integration_tests::Gate::new();
    let g = gate.clone();
    let app = Butler::builder("app")
        .pool("workers", 3, move || Churn { gate: g.clone() })
        .shutdown(Shutdown::Drain(Duration::from_secs(30)))
        .start()
        .expect("starts");
    // Hold every worker so that work queues up, then shut down under it.
    for _ in 0..3 {
        app.hub().send(Hold).expect("sent");
    }
    for _ in 0..3 {
        gate.wait_arrival();
    }
    for _ in 0..50 {
        app.hub().send(Work).expect("queued");
    }
    // The gate opens only once the drain reached the pool (its mailbox is
    // closed): the 50 are handled by the drain, not before it.
    let addr = app.hub().address::<Churn>("workers").expect("the pool");
    app.shutdown();
    integration_tests::wait_until("the drain reached the pool", || addr.is_closed());
    assert_eq!(addr.depth(), 50, "all queued when the drain began");
    gate.open(3);
    let report = app.wait().expect("clean");
    assert!(report.is_clean(), "{report:?}");
    let (_, s) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "workers")
        .expect("listed");
    assert_eq!(
        (s.accepted, s.handled, s.dead_lettered),
        (53, 53, 0),
        "{s:?}"
    );
}

/// Crashes `n` workers one after the other, each crash waited for (its
/// `Restarting`, or the pool's `GaveUp`). Returns the events seen.
fn crash_workers(app: &Butler, events: &mut EventLog, n: usize) -> Vec<String> {
    for _ in 0..n {
        app.hub().send(Crash).expect("sent");
        let e = events.wait_for("a restart or the pool giving up", |e| {
            matches!(e.kind(), "Restarting" | "GaveUp") && e.subject().starts_with("app/workers")
        });
        if e.kind() == "GaveUp" {
            break;
        }
    }
    events.only(&["Restarting", "GaveUp"])
}

#[test]
fn a_pool_gives_up_by_its_own_intensity_which_code_and_file_can_raise() {
    // The default: 3 restarts within 5 s, like any supervisor.
    let app = Butler::builder("app")
        .intensity(10, Duration::from_secs(60))
        .pool("workers", 2, Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let seen = crash_workers(&app, &mut events, 4);
    assert!(
        seen.iter().any(|e| e.starts_with("GaveUp app/workers")),
        "the fourth crash within 5 s is one too many: {seen:?}"
    );
    app.shutdown();
    let _ = app.wait();

    // Raised in code...
    let app = Butler::builder("app")
        .pool("workers", 2, Probe::factory(ProbeConfig::default()))
        .pool_intensity(10, Duration::from_secs(60))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let seen = crash_workers(&app, &mut events, 6);
    assert!(!seen.iter().any(|e| e.starts_with("GaveUp")), "{seen:?}");
    assert_eq!(seen.len(), 6, "one restart per crash: {seen:?}");
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());

    // ...and by the file, over the code's.
    let path = std::env::temp_dir().join(format!("pool-intensity-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[servers.workers]\nintensity = { max_restarts = 10, period = \"60s\" }\n",
    )
    .expect("temp dir is writable");
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("a good file")
        .pool("workers", 2, Probe::factory(ProbeConfig::default()))
        .pool_intensity(1, Duration::from_secs(60))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let seen = crash_workers(&app, &mut events, 6);
    assert!(!seen.iter().any(|e| e.starts_with("GaveUp")), "{seen:?}");
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
    std::fs::remove_file(&path).expect("exists");
}

#[test]
fn pool_intensity_is_refused_where_it_means_nothing() {
    let err = Butler::builder("app")
        .server("single", Probe::factory(ProbeConfig::default()))
        .pool_intensity(10, Duration::from_secs(60))
        .start()
        .expect_err("refused");
    assert!(
        err.to_string()
            .contains("pool_intensity() must follow a pool"),
        "{err}"
    );

    let path = std::env::temp_dir().join(format!("server-intensity-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[servers.single]\nintensity = { max_restarts = 10, period = \"60s\" }\n",
    )
    .expect("temp dir is writable");
    let err = Butler::builder("app")
        .config_file(&path)
        .expect("the file itself is well-formed")
        .server("single", Probe::factory(ProbeConfig::default()))
        .start()
        .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains(":1: servers.single.intensity"), "{text}");
    assert!(text.contains("only pools and supervisors"), "{text}");
    assert_eq!(err.exit_code(), 78);
    std::fs::remove_file(&path).expect("exists");
}

#[test]
fn a_pool_abandons_a_hung_worker_after_its_supervisors_grace() {
    let cfg = ProbeConfig::default();
    let app = Butler::builder("app")
        .abandon_after(Duration::from_millis(100))
        .pool("workers", 1, Probe::factory(cfg.clone()))
        .heartbeat(Duration::from_millis(100))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Hang).expect("sent");
    cfg.gate.wait_arrival();
    let began = std::time::Instant::now();
    events.wait("HeartbeatMissed", "app/workers/workers-0");
    events.wait("Abandoned", "app/workers/workers-0");
    // The pool's own default would be 5 s; the root's 100 ms applies.
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "abandoned after {:?}",
        began.elapsed()
    );
    cfg.gate.open(1);
    app.shutdown();
    let _ = app.wait();
}
