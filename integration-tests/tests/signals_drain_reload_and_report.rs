//! OS signals reach a running daemon: SIGTERM drains the queued work and
//! exits 0; a second SIGINT during a slow drain cuts it short at once and
//! exits 75; SIGHUP re-reads the config file, hands its `[app]` table to the
//! reload hook and applies its policies (and keeps the old ones, without
//! calling the hook, when the file is bad); SIGUSR1 logs the status tree; a
//! bad config (or a number above its bound) exits 78 naming the file and
//! line, before anything starts. Each scenario runs `opsd` (src/bin/opsd.rs) as
//! its own process; the test talks to it on stdin and reads its stdout
//! (`ready`, `event ...`, `handled N dead M`) and stderr (the logs).

use std::path::Path;
use std::time::{Duration, Instant};

use integration_tests::daemon::{ConfigFile, Opsd, Process, clean_env};

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

    // A bad file: the reload is refused with the file and line, the hook
    // is not called, and the running policy (permanent) stays.
    config.write("[servers.worker]\nrestart = \"sometimes\"\n");
    d.signal("HUP");
    let where_ = format!("{}:2", config.path().display());
    let refused = d.wait_err("the refused reload", |l| {
        l.contains("config reload failed; keeping the current policies")
    });
    let refused = refused.last().expect("the matching line");
    assert!(refused.contains(&where_), "names {where_}: {refused}");
    d.send("crash");
    d.expect_out("event Restarting opsd/worker");
    let lines = d.expect_out("event Started opsd/worker");
    assert!(
        !d.out.seen.iter().any(|l| l.starts_with("reload hook")),
        "the hook is not called for a refused file: {lines:?}"
    );

    // A bad [app] table: refused the same way, at its line.
    config.write("[servers.worker]\nrestart = \"temporary\"\n\n[app]\nnote = 3\n");
    d.signal("HUP");
    let where_ = format!("{}:5: app: ", config.path().display());
    d.wait_err("the refused [app] table", |l| {
        l.contains("config reload failed; keeping the current policies") && l.contains(&where_)
    });
    d.send("crash");
    d.expect_out("event Restarting opsd/worker");
    d.expect_out("event Started opsd/worker");

    // A good file: the hook sees its [app] table; temporary from now on.
    config.write("[servers.worker]\nrestart = \"temporary\"\n\n[app]\nnote = \"second\"\n");
    d.signal("HUP");
    d.expect_out("reload hook note=second");
    d.wait_err("the reload", |l| l.contains("config reloaded"));
    assert_eq!(
        d.out
            .seen
            .iter()
            .filter(|l| l.starts_with("reload hook"))
            .count(),
        1,
        "the hook ran for the good file only\n{}",
        d.transcript()
    );
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
fn sighup_without_a_config_file_still_calls_the_hook() {
    let mut d = Opsd::start(env!("CARGO_BIN_EXE_opsd"), None, &[]);
    d.expect_out("ready");
    d.signal("HUP");
    // No file: the hook gets the default settings.
    d.expect_out("reload hook note=-");
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

#[test]
fn numbers_above_their_bounds_exit_78_before_anything_is_allocated() {
    // The values that once allocated 5 GB at start and allocated until the
    // process aborted. Run under a 1 GiB address-space limit: had either
    // been honoured, the allocation would fail and abort the process
    // rather than exit 78.
    let cases = [
        (
            "capacity",
            "capacity = 100000000",
            "at most 1048576 messages",
        ),
        ("pool-size", "pool_size = 1000000000", "at most 1024"),
    ];
    for (name, line, bound) in cases {
        let config = ConfigFile::new(
            name,
            &format!("[servers.worker]\nrestart = \"permanent\"\n{line}\n"),
        );
        let mut cmd = std::process::Command::new("sh");
        clean_env(&mut cmd).env_remove("OPSD_CONFIG").args([
            "-c".as_ref(),
            "ulimit -v 1048576 && exec \"$0\" \"$1\"".as_ref(),
            env!("CARGO_BIN_EXE_opsd").as_ref(),
            config.path().as_os_str(),
        ]);
        let mut d = Process::spawn("opsd", &mut cmd, None);
        let code = d.exit_code();
        let transcript = d.transcript();
        assert_eq!(code, Some(78), "{line}: exit 78\n{transcript}");
        assert!(
            !d.out
                .seen
                .iter()
                .any(|l| l == "ready" || l.starts_with("event")),
            "{line}: nothing started\n{transcript}"
        );
        let at = format!("{}:3: servers.worker.", config.path().display());
        assert!(
            d.err
                .seen
                .iter()
                .any(|l| l.starts_with("opsd: invalid configuration")
                    && l.contains(&at)
                    && l.contains(bound)),
            "{line}: the file, line, key and bound ({at} ... {bound})\n{transcript}"
        );
    }
}
