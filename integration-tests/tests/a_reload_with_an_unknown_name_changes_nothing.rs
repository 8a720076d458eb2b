//! A reload resolves the whole file before it changes anything: one table
//! that names no declared child makes the reload fail, the error is logged
//! with the file and the line, and every running policy stays, the known
//! children's and the root's included (runtime-semantics §12.3).

use std::path::PathBuf;

use integration_tests::events::EventLog;
use integration_tests::logs::{capture, the_line};
use integration_tests::probe::{Crash, Probe, ProbeConfig};
use threadbutler::Life;
use threadbutler::prelude::*;

fn file(name: &str, text: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("threadbutler-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

fn heartbeat(app: &Butler, path: &str) -> Option<u64> {
    app.status().find(path).and_then(|n| n.heartbeat_ms)
}

#[test]
fn one_unknown_name_leaves_every_policy_as_it_was_and_says_where() {
    let path = file(
        "reload-unknown",
        "[servers.p]\nheartbeat = \"2s\"\n\n[servers.q]\nrestart = \"transient\"\n",
    );
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .server("p", Probe::factory(ProbeConfig::default()))
        .server("q", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    assert_eq!(heartbeat(&app, "app/p"), Some(2000));

    // Every table but the last is good; the last names nobody (line 10).
    std::fs::write(
        &path,
        "[supervisor]\nintensity = { max_restarts = 0, period = \"1m\" }\n\n\
         [servers.p]\nheartbeat = \"500ms\"\n\n\
         [servers.q]\nrestart = \"temporary\"\n\n\
         [servers.nobody]\nrestart = \"temporary\"\n",
    )
    .expect("writable");
    let ((), logs) = capture(|| app.reload());
    let refused = the_line(&logs, "config reload failed; keeping the current policies");
    let at = format!("{}:10: servers.nobody", path.display());
    assert!(refused.contains(&at), "names {at}: {}", refused);
    assert!(
        !logs.iter().any(|l| l.contains("config reloaded")),
        "{logs:#?}"
    );

    // p keeps its heartbeat; q is still transient and the root's intensity
    // still allows a restart: a failure of q restarts it, and the root
    // (which the refused file would have given zero restarts) does not
    // give up.
    assert_eq!(heartbeat(&app, "app/p"), Some(2000));
    let mut events = EventLog::new(app.subscribe());
    app.hub()
        .address::<Probe>("q")
        .expect("q")
        .send(Crash)
        .expect("sent");
    events.wait("Restarting", "app/q");
    events.wait("Started", "app/q");

    // The same file without the unknown table is taken whole.
    let good = std::fs::read_to_string(&path).expect("readable");
    let good = good
        .split("[servers.nobody]")
        .next()
        .expect("split")
        .to_owned();
    std::fs::write(&path, good).expect("writable");
    let ((), logs) = capture(|| app.reload());
    assert!(
        logs.iter().any(|l| l.contains("config reloaded")),
        "{logs:#?}"
    );
    assert_eq!(heartbeat(&app, "app/p"), Some(500));
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
    std::fs::remove_file(&path).expect("exists");
}

#[test]
fn an_ambiguous_name_is_refused_at_a_reload_too() {
    let idle = |mut life: Life| {
        life.heartbeat.set_busy(false);
        life.started();
        while !life.stop.is_requested() {
            let _ = life.stop.waker().recv();
        }
        ExitReason::Shutdown
    };
    let path = file(
        "reload-ambiguous",
        "[servers.\"east/w\"]\nheartbeat = \"2s\"\n",
    );
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .supervisor("east", |s| s.thread("w", idle))
        .supervisor("west", |s| s.thread("w", idle))
        .start()
        .expect("starts");
    std::fs::write(&path, "[servers.w]\nheartbeat = \"700ms\"\n").expect("writable");
    let ((), logs) = capture(|| app.reload());
    let refused = logs
        .iter()
        .find(|l| l.contains("config reload failed"))
        .unwrap_or_else(|| panic!("refused: {logs:#?}"));
    assert!(
        refused.contains(&format!("{}:1: servers.w", path.display())),
        "{refused}"
    );
    assert!(
        refused.contains("east/w") && refused.contains("west/w"),
        "{refused}"
    );
    assert_eq!(heartbeat(&app, "app/east/w"), Some(2000));
    assert_eq!(heartbeat(&app, "app/west/w"), None);
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
    std::fs::remove_file(&path).expect("exists");
}
