//! OS signals reach a running daemon: SIGTERM drains the queued work and
//! exits 0; a second SIGINT during a slow drain cuts it short at once and
//! exits 75; SIGHUP re-reads the config file's policies (and keeps them when
//! the file is bad); SIGUSR1 logs the status tree; a bad config exits 78
//! naming the file and line. Each scenario runs `opsd` (src/bin/opsd.rs) as
//! its own process; the test talks to it on stdin and reads its stdout
//! (`ready`, `event ...`, `handled N dead M`) and stderr (the logs).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, unbounded};
use integration_tests::PATIENCE;

// --- the harness ----------------------------------------------------------

/// The lines of one of the child's output streams, as they arrive.
struct Stream {
    name: &'static str,
    rx: Receiver<String>,
    seen: Vec<String>,
    /// Lines up to here were consumed by a wait.
    read: usize,
    ended: bool,
}

impl Stream {
    /// Reads `from` line by line on a thread; ANSI colour codes are removed
    /// (the log writer colours stderr even into a pipe).
    fn new(name: &'static str, from: impl Read + Send + 'static) -> Stream {
        let (tx, rx) = unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { return };
                if tx.send(strip_ansi(&line)).is_err() {
                    return;
                }
            }
        });
        Stream {
            name,
            rx,
            seen: Vec::new(),
            read: 0,
            ended: false,
        }
    }

    /// Takes what has arrived, without waiting.
    fn poll(&mut self) {
        self.seen.extend(self.rx.try_iter());
    }

    /// Collects lines until the stream ends (true) or `deadline` (false).
    fn wait_end(&mut self, deadline: Instant) -> bool {
        while !self.ended {
            match self.rx.recv_deadline(deadline) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => self.ended = true,
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
        true
    }

    /// The next line not yet consumed, waiting until `deadline`; `Err(true)`
    /// at the end of the stream, `Err(false)` past the deadline.
    fn next(&mut self, deadline: Instant) -> Result<String, bool> {
        if self.read == self.seen.len() {
            if self.ended {
                return Err(true);
            }
            match self.rx.recv_deadline(deadline) {
                Ok(line) => self.seen.push(line),
                Err(e) => {
                    self.ended = e.is_disconnected();
                    return Err(self.ended);
                }
            }
        }
        self.read += 1;
        Ok(self.seen[self.read - 1].clone())
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, then one final byte in '@'..='~'.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A running `opsd`. Dropping it kills the process if it is still running.
struct Opsd {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Stream,
    err: Stream,
}

impl Opsd {
    /// Starts `opsd` with `config` (if any) and the extra environment.
    fn start(config: Option<&Path>, env: &[(&str, &str)]) -> Opsd {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsd"));
        cmd.args(config)
            .env_remove("RUST_LOG")
            .env_remove("OPSD_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("opsd runs");
        let stdin = child.stdin.take();
        let out = Stream::new("stdout", child.stdout.take().expect("piped"));
        let err = Stream::new("stderr", child.stderr.take().expect("piped"));
        Opsd {
            child,
            stdin,
            out,
            err,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command line.
    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("opsd reads its stdin");
        stdin.flush().expect("flushed");
    }

    /// Sends `signal` (`"TERM"`, `"INT"`, `"HUP"`, `"USR1"`) with kill(1).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Everything seen so far on both streams, for failure messages.
    fn transcript(&mut self) -> String {
        self.out.poll();
        self.err.poll();
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.out.seen.join("\n"),
            self.err.seen.join("\n")
        )
    }

    /// Consumes stdout lines until one satisfies `pred`; returns the lines
    /// consumed, that one last. Panics after [`PATIENCE`].
    fn wait_out(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> Vec<String> {
        self.wait_on(true, what, pred)
    }

    /// As [`wait_out`](Self::wait_out), on stderr (the logs).
    fn wait_err(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> Vec<String> {
        self.wait_on(false, what, pred)
    }

    fn wait_on(
        &mut self,
        stdout: bool,
        what: &str,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut lines = Vec::new();
        loop {
            let stream = if stdout { &mut self.out } else { &mut self.err };
            let name = stream.name;
            match stream.next(deadline) {
                Ok(line) => {
                    let hit = pred(&line);
                    lines.push(line);
                    if hit {
                        return lines;
                    }
                }
                Err(ended) => {
                    let why = if ended {
                        "the stream ended"
                    } else {
                        "timed out"
                    };
                    panic!("{why} waiting on {name} for {what}\n{}", self.transcript());
                }
            }
        }
    }

    /// Waits for the exact stdout line `line`.
    fn expect_out(&mut self, line: &str) -> Vec<String> {
        self.wait_out(line, |l| l == line)
    }

    /// Waits until the process closed both streams (it exited), then reaps
    /// it; returns its exit code. Panics after `patience`.
    fn exit_code_within(&mut self, patience: Duration) -> Option<i32> {
        let deadline = Instant::now() + patience;
        if !(self.out.wait_end(deadline) && self.err.wait_end(deadline)) {
            panic!(
                "opsd did not exit within {patience:?}\n{}",
                self.transcript()
            );
        }
        self.child.wait().expect("reaped").code()
    }

    fn exit_code(&mut self) -> Option<i32> {
        self.exit_code_within(PATIENCE)
    }

    /// The last `handled N dead M` line, as (N, M).
    fn handled_dead(&mut self) -> (u64, u64) {
        self.out.poll();
        let line = self
            .out
            .seen
            .iter()
            .rev()
            .find(|l| l.starts_with("handled "))
            .cloned();
        let Some(line) = line else {
            panic!("no `handled N dead M` line\n{}", self.transcript())
        };
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["handled", h, "dead", d] => (h.parse().expect("a count"), d.parse().expect("a count")),
            _ => panic!("malformed: {line}"),
        }
    }
}

impl Drop for Opsd {
    fn drop(&mut self) {
        // Only an unreaped child can still be running; kill() of a reaped
        // one is a harmless error.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config file in the temp directory, removed on drop.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(test: &str, text: &str) -> ConfigFile {
        let path = std::env::temp_dir().join(format!("opsd-{}-{test}.toml", std::process::id()));
        let file = ConfigFile(path);
        file.write(text);
        file
    }

    fn write(&self, text: &str) {
        std::fs::write(&self.0, text).expect("config written");
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// --- the scenarios ----------------------------------------------------------

#[test]
fn sigterm_drains_every_queued_job_and_exits_0() {
    let mut d = Opsd::start(None, &[]);
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
    let mut d = Opsd::start(Some(config.path()), &[]);
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
    let mut d = Opsd::start(Some(config.path()), &[]);
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
    let mut d = Opsd::start(None, &[]);
    d.expect_out("ready");
    d.signal("USR1");
    d.wait_err("the status tree", |l| l.contains("status tree:"));
    d.wait_err("the worker in the tree", |l| {
        l.contains("worker [server running]")
    });
    d.signal("TERM");
    let code = d.exit_code();
    let transcript = d.transcript();
    assert_eq!(code, Some(0), "{transcript}");
}

/// Runs `opsd` on a config that must be refused: exit 78 before `ready`,
/// with `want` (the file and line) on stderr.
fn refused_with(config: &Path, want: &str) {
    let mut d = Opsd::start(Some(config), &[]);
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
