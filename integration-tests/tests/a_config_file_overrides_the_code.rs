//! Policies from a TOML file override the code's, by server name; bad input
//! is refused at load with file, line and key, and nothing starts.
//! (threadbutler::config; the operations issue, point 4.)

use std::path::PathBuf;
use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Ping, Probe, ProbeConfig};
use threadbutler::prelude::*;

fn file(name: &str, text: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("threadbutler-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

#[test]
fn a_servers_restart_type_and_the_root_intensity_come_from_the_file() {
    let path = file(
        "policies",
        "[supervisor]\nintensity = { max_restarts = 0, period = \"1m\" }\n\n[servers.p]\nrestart = \"temporary\"\n",
    );
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .server("p", Probe::factory(ProbeConfig::default()))
        .restart(Restart::Permanent) // the file wins
        .server("q", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub()
        .address::<Probe>("p")
        .expect("p")
        .send(Crash)
        .expect("sent");
    // Temporary: not restarted, so the zero intensity is not exceeded.
    events.wait("Stopped", "app/p");
    app.hub()
        .address::<Probe>("q")
        .expect("q")
        .send(Crash)
        .expect("sent");
    // Permanent q restarts, and zero restarts are allowed: the root gives up.
    events.wait("GaveUp", "app");
    let err = app.wait().expect_err("gave up");
    assert_eq!(err.exit_code(), 1);
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_capacity_from_the_file_bounds_the_mailbox() {
    let path = file(
        "capacity",
        "[servers.p]\ncapacity = 2\nshutdown = \"immediate\"\n",
    );
    let cfg = ProbeConfig::default();
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .server("p", Probe::factory(cfg.clone()))
        .start()
        .expect("starts");
    let p = app.hub().address::<Probe>("p").expect("p");
    p.send(integration_tests::probe::Hang).expect("sent");
    cfg.gate.wait_arrival();
    p.try_send(Crash).expect("one");
    p.try_send(Crash).expect("two");
    assert!(matches!(
        p.try_send(Crash),
        Err(threadbutler::TrySendError::Full(Crash))
    ));
    cfg.gate.open(1);
    app.shutdown();
    let _ = app.wait();
    let _ = std::fs::remove_file(path);
}

#[test]
fn bad_files_are_refused_with_file_line_and_key_and_exit_code_78() {
    let cases = [
        (
            "unknown-key",
            "[servers.p]\nrestart = \"permanent\"\nheartbeet = \"1s\"\n",
            ":3",
            "heartbeet",
        ),
        (
            "bad-duration",
            "[servers.p]\nheartbeat = \"one second\"\n",
            ":2",
            "expected a duration",
        ),
        (
            "impossible",
            "[servers.p]\nbackoff = { min = \"1s\", max = \"10ms\" }\n",
            ":2: servers.p.backoff",
            "below min",
        ),
        (
            "unknown-server",
            "[servers.p]\n\n[servers.nobody]\nrestart = \"transient\"\n",
            ":3: servers.nobody",
            "no server",
        ),
    ];
    for (name, text, at, what) in cases {
        let path = file(name, text);
        let cfg = ProbeConfig::default();
        let result = Butler::builder("app")
            .config_file(&path)
            .and_then(|b| b.server("p", Probe::factory(cfg.clone())).start());
        let err = result.expect_err(name);
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("{}{at}", path.display())),
            "{name}: {shown}"
        );
        assert!(shown.contains(what), "{name}: {shown}");
        assert_eq!(err.exit_code(), 78, "{name}");
        assert_eq!(cfg.lives.get(), 0, "{name}: nothing started");
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn a_missing_file_is_a_config_error() {
    let err = Butler::builder("app")
        .config_file("/nonexistent/threadbutler.toml")
        .expect_err("no such file");
    assert!(err.to_string().contains("cannot read the file"), "{err}");
    assert_eq!(err.exit_code(), 78);
}

#[test]
fn durations_in_the_file_reach_the_servers() {
    let path = file("heartbeat", "[servers.p]\nheartbeat = \"30ms\"\n");
    let cfg = ProbeConfig::default();
    let app = Butler::builder("app")
        .abandon_after(Duration::from_millis(50))
        .config_file(&path)
        .expect("valid")
        .server("p", Probe::factory(cfg.clone()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let p = app.hub().address::<Probe>("p").expect("p");
    p.send(integration_tests::probe::Hang).expect("sent");
    events.wait("HeartbeatMissed", "app/p");
    events.wait("Started", "app/p");
    cfg.gate.open(1);
    assert!(p.request(Ping).is_ok());
    app.shutdown();
    let _ = app.wait();
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_reload_reaches_a_pools_workers_and_its_intensity() {
    // §12.3, §13.4: a pool's table is its workers' policies.
    let path = file(
        "pool-reload",
        "[servers.workers]\nheartbeat = \"2s\"\nintensity = { max_restarts = 1, period = \"60s\" }\n",
    );
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .pool("workers", 2, Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let heartbeats = |app: &Butler| -> Vec<Option<u64>> {
        let tree = app.status();
        let pool = tree.find("app/workers").expect("the pool");
        pool.children.iter().map(|w| w.heartbeat_ms).collect()
    };
    assert_eq!(heartbeats(&app), [Some(2000), Some(2000)]);

    std::fs::write(
        &path,
        "[servers.workers]\nheartbeat = \"700ms\"\nintensity = { max_restarts = 10, period = \"60s\" }\n",
    )
    .expect("writable");
    app.reload();
    assert_eq!(heartbeats(&app), [Some(700), Some(700)]);
    // The reloaded intensity (10) lets the pool survive two crashes that
    // the file's first one (1) would not have.
    let mut events = EventLog::new(app.subscribe());
    for _ in 0..2 {
        app.hub().send(Crash).expect("sent");
        let e = events.wait_for("a restart or giving up", |e| {
            matches!(e.kind(), "Restarting" | "GaveUp") && e.subject().starts_with("app/workers")
        });
        assert_eq!(e.kind(), "Restarting", "{e}");
    }
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
    std::fs::remove_file(&path).expect("exists");
}

#[test]
fn reloaded_policies_outlive_a_restart_of_their_supervisor() {
    // A pool that gives up is restarted by the root; its next life keeps
    // what the reload set (§12.3).
    let path = file(
        "reload-outlives",
        "[servers.workers]\nheartbeat = \"2s\"\nintensity = { max_restarts = 0, period = \"60s\" }\n",
    );
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .pool("workers", 2, Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    std::fs::write(
        &path,
        "[servers.workers]\nheartbeat = \"700ms\"\nintensity = { max_restarts = 0, period = \"60s\" }\n",
    )
    .expect("writable");
    app.reload();
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    events.wait("GaveUp", "app/workers");
    events.wait("Started", "app/workers");
    let tree = app.status();
    let pool = tree.find("app/workers").expect("the pool");
    let heartbeats: Vec<Option<u64>> = pool.children.iter().map(|w| w.heartbeat_ms).collect();
    assert_eq!(heartbeats, [Some(700), Some(700)], "{tree}");
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
    std::fs::remove_file(&path).expect("exists");
}
