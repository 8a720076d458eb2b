//! OS signals reach a running daemon: SIGTERM drains the queued work and
//! exits 0; a second SIGINT during a slow drain cuts it short at once and
//! exits 75; SIGHUP re-reads the config file's policies (and keeps them when
//! the file is bad); SIGUSR1 logs the status tree; a bad config exits 78
//! naming the file and line. Each scenario runs `opsd` (src/bin/opsd.rs) as
//! its own process; the test talks to it on stdin and reads its stdout
//! (`ready`, `event ...`, `handled N dead M`) and stderr (the logs).

use std::path::Path;
use std::time::{Duration, Instant};

use integration_tests::daemon::{ConfigFile, Opsd};

// --- the scenarios ----------------------------------------------------------

#[test]
fn sigterm_drains_every_queued_job_and_exits_0() {
    let mut d = Opsd::start(env!("CARGO_BIN_EXE_opsd"), None, &[]);
    d.expect_out("ready");
    d.send("jobs 200 2");
    // Every job is in the mailbox before the signal: 200 x 2 ms of work is
    // still queued when the drain begins.
    d.expect_out("queued 200");
    d.signal("TERM");
    d.expect_out("event ShutdownBegan opsd");
    let code = d.exit_code();
    let transcript = d.transcript();
    assert_eq!(code, Some(0), "a clean drain exits 0\n{transcript}");
    assert_eq!(
        d.handled_dead(),
        (200, 0),
        "every job handled\n{transcript}"
    );
    assert!(
        d.out.seen.iter().any(|l| l == "event Drained opsd/worker"),
        "{transcript}"
    );
}

#[test]
fn a_second_sigint_during_a_slow_drain_exits_within_a_second() {
    let config = ConfigFile::new(
        "second-sigint",
        "[servers.worker]\nshutdown = { drain = \"60s\" }\n",
    );
    let mut d = Opsd::start(env!("CARGO_BIN_EXE_opsd"), Some(config.path()), &[]);
    d.expect_out("ready");
    // 50 x 400 ms: a drain of 20 s, well within its 60 s timeout.
    d.send("jobs 50 400");
    d.expect_out("queued 50");
    d.signal("INT");
    // The first SIGINT was handled: the drain began.
    d.expect_out("event ShutdownBegan opsd");
    d.signal("INT");
    let forced_at = Instant::now();
    let code = d.exit_code();
    let took = forced_at.elapsed();
    let transcript = d.transcript();
    assert!(
        took < Duration::from_secs(1),
        "exited {took:?} after the second SIGINT\n{transcript}"
    );
    assert_eq!(code, Some(75), "a drain cut short is unclean\n{transcript}");
    let (handled, dead) = d.handled_dead();
    assert_eq!(handled + dead, 50, "every job handled or dead-lettered");
    assert!(
        dead > 0,
        "the forced stop gave up queued jobs\n{transcript}"
    );
    assert!(
        d.err
            .seen
            .iter()
            .any(|l| l.contains("second stop request: forcing the shutdown")),
        "{transcript}"
    );
}

/// The restart-related events among `lines`.
fn restarts(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.starts_with("event Restarting"))
        .collect()
}

#[test]
fn sighup_reloads_policies_and_a_bad_file_keeps_the_old_ones() {
    let config = ConfigFile::new("sighup", "[servers.worker]\nrestart = \"permanent\"\n");
    let mut d = Opsd::start(env!("CARGO_BIN_EXE_opsd"), Some(config.path()), &[]);
    d.expect_out("ready");

    // A bad file: the reload is refused with the file and line, and the
    // running policy (permanent) stays.
    config.write("[servers.worker]\nrestart = \"sometimes\"\n");
    d.signal("HUP");
    d.expect_out("reload hook");
    let where_ = format!("{}:2", config.path().display());
    let refused = d.wait_err("the refused reload", |l| {
        l.contains("config reload failed; keeping the current policies")
    });
    let refused = refused.last().expect("the matching line");
    assert!(refused.contains(&where_), "names {where_}: {refused}");
    d.send("crash");
    d.expect_out("event Restarting opsd/worker");
    d.expect_out("event Started opsd/worker");

    // A good file: temporary from now on.
    config.write("[servers.worker]\nrestart = \"temporary\"\n");
    d.signal("HUP");
    d.expect_out("reload hook");
    d.wait_err("the reload", |l| l.contains("config reloaded"));
    d.send("crash");
    let lines = d.expect_out("event Stopped opsd/worker");
    assert!(restarts(&lines).is_empty(), "not restarted: {lines:?}");
    // Still up, and the worker is gone for good.
    d.send("status");
    let lines = d.wait_out("a status line", |l| l.starts_with("status "));
    assert_eq!(lines.last().map(String::as_str), Some("status worker=gone"));
    assert!(restarts(&lines).is_empty(), "not restarted: {lines:?}");

    d.signal("TERM");
    let code = d.exit_code();
    let transcript = d.transcript();
    assert_eq!(code, Some(0), "{transcript}");
}

#[test]
fn sigusr1_logs_the_status_tree() {
    let mut d = Opsd::start(env!("CARGO_BIN_EXE_opsd"), None, &[]);
    d.expect_out("ready");
    d.signal("USR1");
    // The signal by its name, then one line per node: the tree's branch as
    // the message, the node's state as fields.
    d.wait_err("the signal", |l| {
        l.contains("signal received") && l.contains("signal=SIGUSR1")
    });
    d.wait_err("the status tree", |l| {
        l.contains("status tree") && l.contains("root=opsd") && l.contains("nodes=2")
    });
    d.wait_err("the root in the tree", |l| {
        l.contains(" opsd path=opsd kind=\"supervisor\" state=running")
    });
    d.wait_err("the worker in the tree", |l| {
        l.contains("└─ worker path=opsd/worker kind=\"server\" state=running restarts=0 queued=0")
    });
    d.signal("TERM");
    let code = d.exit_code();
    let transcript = d.transcript();
    assert_eq!(code, Some(0), "{transcript}");
}

/// Runs `opsd` on a config that must be refused: exit 78 before `ready`,
/// with `want` (the file and line) on stderr.
fn refused_with(config: &Path, want: &str) {
    let mut d = Opsd::start(env!("CARGO_BIN_EXE_opsd"), Some(config), &[]);
    let code = d.exit_code();
    let transcript = d.transcript();
    assert_eq!(code, Some(78), "a bad config exits 78\n{transcript}");
    assert!(
        !d.out.seen.iter().any(|l| l == "ready"),
        "nothing started\n{transcript}"
    );
    let message = d
        .err
        .seen
        .iter()
        .find(|l| l.starts_with("opsd: invalid configuration"));
    assert!(
        message.is_some_and(|m| m.contains(want)),
        "the error names {want}\n{transcript}"
    );
}

#[test]
fn a_bad_config_exits_78_naming_the_file_and_line() {
    // A bad value, refused when the file is read.
    let config = ConfigFile::new(
        "bad-value",
        "[servers.worker]\nrestart = \"permanent\"\nheartbeat = \"soon\"\n",
    );
    refused_with(config.path(), &format!("{}:3", config.path().display()));
    // A server the code does not declare, refused at start.
    let config = ConfigFile::new(
        "bad-name",
        "[servers.worker]\nrestart = \"permanent\"\n\n[servers.wroker]\nrestart = \"temporary\"\n",
    );
    refused_with(config.path(), &format!("{}:4", config.path().display()));
    // No such file.
    let missing = std::env::temp_dir().join(format!("opsd-{}-missing.toml", std::process::id()));
    refused_with(&missing, &missing.display().to_string());
}
