//! A running jobd: its output streams, signals, exit status, log and
//! results.

use std::fmt::Write as _;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Conn, Results, Settings, read_results};
use crate::PATIENCE;
use crate::daemon::{Stream, strip_ansi};

/// A running `jobd`. Its stdin is a pipe held open (jobd reads requests
/// from it); dropping it kills the process if it is still running.
pub struct Jobd {
    child: Child,
    stdin: Option<ChildStdin>,
    exited: Option<ExitStatus>,
    /// Its settings (paths of the socket, results file and log).
    pub settings: Settings,
    /// Its standard output.
    pub out: Stream,
    /// Its standard error.
    pub err: Stream,
}

impl Jobd {
    /// Writes `settings`' config file and runs `exe` (`env!("CARGO_BIN_EXE_jobd")`
    /// in a test) with `--config` on it, without waiting for anything.
    pub fn spawn(exe: &str, settings: &Settings) -> Jobd {
        let config = settings.write();
        let mut child = Command::new(exe)
            .arg("--config")
            .arg(config)
            .env_remove("RUST_LOG")
            .env_remove("RUST_BACKTRACE")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("jobd runs");
        let stdin = child.stdin.take();
        let out = Stream::new("stdout", child.stdout.take().expect("piped"));
        let err = Stream::new("stderr", child.stderr.take().expect("piped"));
        Jobd {
            child,
            stdin,
            exited: None,
            settings: settings.clone(),
            out,
            err,
        }
    }

    /// As [`spawn`](Self::spawn), then waits for `jobd: listening on ...`
    /// on stdout: the socket is then ready for clients.
    pub fn start(exe: &str, settings: &Settings) -> Jobd {
        let mut jobd = Jobd::spawn(exe, settings);
        jobd.wait_out("`jobd: listening on`", |l| {
            l.starts_with("jobd: listening on ")
        });
        jobd
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`"TERM"`, `"INT"`, `"KILL"`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Writes one request line to its stdin.
    pub fn send_stdin(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("jobd reads its stdin");
        stdin.flush().expect("flushed");
    }

    /// Closes its stdin: jobd reads the end of it.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// A new client on its socket.
    pub fn connect(&self) -> Conn {
        Conn::open(&self.settings.socket)
    }

    /// Consumes stdout lines until one satisfies `pred`; returns the lines
    /// consumed, that one last. Panics with a transcript after [`PATIENCE`]
    /// or when stdout ends first.
    pub fn wait_out(&mut self, what: &str, mut pred: impl FnMut(&str) -> bool) -> Vec<String> {
        match self.out.until(Instant::now() + PATIENCE, &mut pred) {
            Ok(lines) => lines,
            Err(why) => panic!("{why} waiting on stdout for {what}\n{}", self.transcript()),
        }
    }

    /// Waits until the process closed both output streams, then reaps it;
    /// panics with a transcript after `patience`.
    pub fn exit_status_within(&mut self, patience: Duration) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let deadline = Instant::now() + patience;
        if !(self.out.wait_end(deadline) && self.err.wait_end(deadline)) {
            panic!(
                "jobd did not exit within {patience:?}\n{}",
                self.transcript()
            );
        }
        let status = self.child.wait().expect("reaped");
        self.exited = Some(status);
        status
    }

    /// The exit code, waiting up to [`PATIENCE`] for the process to end;
    /// `None` when a signal ended it.
    pub fn exit_code(&mut self) -> Option<i32> {
        self.exit_status_within(PATIENCE).code()
    }

    /// SIGKILL, then waits for the process to end; asserts that the signal
    /// ended it.
    pub fn kill_hard(&mut self) {
        self.signal("KILL");
        let status = self.exit_status_within(PATIENCE);
        assert_eq!(
            status.signal(),
            Some(9),
            "SIGKILL ended jobd: {status:?}\n{}",
            self.transcript()
        );
    }

    /// Everything seen so far on stdout and stderr, and the log file's
    /// last lines, for failure messages.
    pub fn transcript(&mut self) -> String {
        self.out.poll();
        self.err.poll();
        let log = log_lines(&self.settings.log_file());
        let tail = &log[log.len().saturating_sub(40)..];
        let mut s = String::new();
        let _ = write!(
            s,
            "--- stdout ---\n{}\n--- stderr ---\n{}\n--- last lines of {} ---\n{}",
            self.out.seen.join("\n"),
            self.err.seen.join("\n"),
            self.settings.log_file().display(),
            tail.join("\n")
        );
        s
    }

    /// The log file's lines (without colour codes).
    pub fn log(&self) -> Vec<String> {
        log_lines(&self.settings.log_file())
    }

    /// The results file, checked to hold whole lines only (see
    /// [`read_results`]).
    pub fn results(&self) -> Results {
        read_results(&self.settings.results)
    }
}

impl Drop for Jobd {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The lines of the log file at `path`, without colour codes; none when
/// it does not exist.
pub fn log_lines(path: &Path) -> Vec<String> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes)
            .lines()
            .map(strip_ansi)
            .collect(),
        Err(_) => Vec::new(),
    }
}
