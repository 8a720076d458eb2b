//! A config file names a declared child by its path below the root
//! (`[servers."db/reader"]`), or by a name only one declared child has; a
//! nested child is found through its supervisor, at the start and at a
//! reload alike (runtime-semantics §12.3). A name two children share is an
//! error at the start naming both paths, and nothing starts.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use integration_tests::probe::{Probe, ProbeConfig};
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

/// A plain thread that waits, idle, until asked to stop; counts its lives.
fn idle(lives: Arc<AtomicUsize>) -> impl Fn(Life) -> ExitReason + Send + Sync + 'static {
    move |mut life: Life| {
        lives.fetch_add(1, Ordering::SeqCst);
        life.heartbeat.set_busy(false);
        life.started();
        while !life.stop.is_requested() {
            let _ = life.stop.waker().recv();
        }
        ExitReason::Shutdown
    }
}

#[test]
fn a_path_reaches_one_of_two_children_of_the_same_name() {
    let lives = Arc::new(AtomicUsize::new(0));
    let path = file("by-path", "[servers.\"east/w\"]\nheartbeat = \"2s\"\n");
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .supervisor("east", |s| s.thread("w", idle(Arc::clone(&lives))))
        .supervisor("west", |s| s.thread("w", idle(Arc::clone(&lives))))
        .start()
        .expect("starts");
    assert_eq!(heartbeat(&app, "app/east/w"), Some(2000));
    assert_eq!(heartbeat(&app, "app/west/w"), None);

    std::fs::write(&path, "[servers.\"west/w\"]\nheartbeat = \"700ms\"\n").expect("writable");
    app.reload();
    assert_eq!(heartbeat(&app, "app/west/w"), Some(700));
    assert_eq!(heartbeat(&app, "app/east/w"), Some(2000), "left out: kept");
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
    std::fs::remove_file(&path).expect("exists");
}

#[test]
fn a_name_only_one_nested_child_has_reaches_it_at_start_and_reload() {
    let path = file("by-name", "[servers.reader]\nheartbeat = \"2s\"\n");
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .supervisor("db", |db| {
            db.server("reader", Probe::factory(ProbeConfig::default()))
        })
        .start()
        .expect("starts");
    assert_eq!(heartbeat(&app, "app/db/reader"), Some(2000));
    std::fs::write(&path, "[servers.\"db/reader\"]\nheartbeat = \"900ms\"\n").expect("writable");
    app.reload();
    assert_eq!(heartbeat(&app, "app/db/reader"), Some(900));
    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
    std::fs::remove_file(&path).expect("exists");
}

#[test]
fn a_name_two_children_share_is_refused_at_start_naming_both() {
    let lives = Arc::new(AtomicUsize::new(0));
    let path = file("ambiguous", "[servers.w]\nheartbeat = \"2s\"\n");
    let err = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .supervisor("east", |s| s.thread("w", idle(Arc::clone(&lives))))
        .supervisor("west", |s| s.thread("w", idle(Arc::clone(&lives))))
        .start()
        .expect_err("ambiguous");
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("{}:1: servers.w", path.display())),
        "{shown}"
    );
    assert!(
        shown.contains("\"east/w\"") && shown.contains("\"west/w\""),
        "{shown}"
    );
    assert_eq!(err.exit_code(), 78);
    assert_eq!(lives.load(Ordering::SeqCst), 0, "nothing started");
    std::fs::remove_file(&path).expect("exists");
}
