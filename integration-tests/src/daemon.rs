//! Running a helper daemon (`src/bin/opsd.rs`, or jobd through
//! [`crate::jobd`]) as a process: its output lines as they arrive, lines on
//! its stdin, signals, its exit code.
//! Nothing here sleeps: every wait is on a line, a stream's end or a
//! deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, unbounded};

use crate::PATIENCE;

/// The lines of one of the child's output streams, as they arrive.
pub struct Stream {
    name: &'static str,
    rx: Receiver<String>,
    /// Every line received so far.
    pub seen: Vec<String>,
    /// Lines up to here were consumed by a wait.
    read: usize,
    ended: bool,
}

impl Stream {
    /// Reads `from` line by line on a thread; ANSI colour codes are removed
    /// (should a log writer colour a pipe).
    pub fn new(name: &'static str, from: impl Read + Send + 'static) -> Stream {
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
    pub fn poll(&mut self) {
        self.seen.extend(self.rx.try_iter());
    }

    /// Consumes lines until one satisfies `pred`: the lines consumed, that
    /// one last; or, at the end of the stream or past `deadline`, why not.
    pub fn until(
        &mut self,
        deadline: Instant,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Result<Vec<String>, &'static str> {
        let mut lines = Vec::new();
        loop {
            match self.next(deadline) {
                Ok(line) => {
                    let hit = pred(&line);
                    lines.push(line);
                    if hit {
                        return Ok(lines);
                    }
                }
                Err(true) => return Err("the stream ended"),
                Err(false) => return Err("timed out"),
            }
        }
    }

    /// Collects lines until the stream ends (true) or `deadline` (false).
    pub fn wait_end(&mut self, deadline: Instant) -> bool {
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
    pub fn next(&mut self, deadline: Instant) -> Result<String, bool> {
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

/// `s` without ANSI escape sequences (colour codes).
pub fn strip_ansi(s: &str) -> String {
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

/// A helper daemon run as a process: its output streams as they arrive,
/// lines on its stdin, signals, its exit status. Dropping it kills the
/// process if it is still running. [`Opsd`] and
/// [`Jobd`](crate::jobd::Jobd) are this with their own start and helpers.
pub struct Process {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    exited: Option<ExitStatus>,
    /// A log file whose last lines go into [`transcript`](Self::transcript).
    log: Option<PathBuf>,
    /// Its standard output.
    pub out: Stream,
    /// Its standard error.
    pub err: Stream,
}

impl Process {
    /// Runs `cmd` (see [`clean_env`]) with its three standard streams
    /// piped. `name` names it in failure messages; `log` is a log file whose
    /// tail failure messages show.
    pub fn spawn(name: &'static str, cmd: &mut Command, log: Option<PathBuf>) -> Process {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} runs: {e}"));
        let stdin = child.stdin.take();
        let out = Stream::new("stdout", child.stdout.take().expect("piped"));
        let err = Stream::new("stderr", child.stderr.take().expect("piped"));
        Process {
            name,
            child,
            stdin,
            exited: None,
            log,
            out,
            err,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes one line to its stdin.
    pub fn send_stdin(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("the daemon reads its stdin");
        stdin.flush().expect("flushed");
    }

    /// Closes its stdin: the daemon reads the end of it.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Sends `signal` (`"TERM"`, `"INT"`, `"HUP"`, `"USR1"`, `"KILL"`)
    /// with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Everything seen so far on both streams, and the log file's last
    /// lines if it has one, for failure messages.
    pub fn transcript(&mut self) -> String {
        self.out.poll();
        self.err.poll();
        let mut s = format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.out.seen.join("\n"),
            self.err.seen.join("\n")
        );
        if let Some(log) = &self.log {
            let lines = log_lines(log);
            let tail = &lines[lines.len().saturating_sub(40)..];
            s += &format!(
                "\n--- last lines of {} ---\n{}",
                log.display(),
                tail.join("\n")
            );
        }
        s
    }

    /// Consumes stdout lines until one satisfies `pred`; returns the lines
    /// consumed, that one last. Panics with a transcript after [`PATIENCE`]
    /// or when stdout ends first.
    pub fn wait_out(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> Vec<String> {
        self.wait_on(true, what, pred)
    }

    /// As [`wait_out`](Self::wait_out), on stderr.
    pub fn wait_err(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> Vec<String> {
        self.wait_on(false, what, pred)
    }

    /// Waits on stdout (or stderr) for a line satisfying `pred`.
    fn wait_on(
        &mut self,
        stdout: bool,
        what: &str,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Vec<String> {
        let stream = if stdout { &mut self.out } else { &mut self.err };
        let name = stream.name;
        match stream.until(Instant::now() + PATIENCE, &mut pred) {
            Ok(lines) => lines,
            Err(why) => panic!("{why} waiting on {name} for {what}\n{}", self.transcript()),
        }
    }

    /// Waits until the process closed both output streams (it exited), then
    /// reaps it; panics with a transcript after `patience`.
    pub fn exit_status_within(&mut self, patience: Duration) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let deadline = Instant::now() + patience;
        if !(self.out.wait_end(deadline) && self.err.wait_end(deadline)) {
            let name = self.name;
            panic!(
                "{name} did not exit within {patience:?}\n{}",
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
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A finished command's stdout then stderr, as text (for messages).
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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

/// Removes from `cmd` the environment that changes a daemon's behaviour
/// under test: `RUST_LOG`, `RUST_BACKTRACE`, `RUST_LIB_BACKTRACE` and systemd's.
pub fn clean_env(cmd: &mut Command) -> &mut Command {
    for var in [
        "RUST_LOG",
        "RUST_BACKTRACE",
        "RUST_LIB_BACKTRACE",
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A running `opsd` (see [`Process`], which it derefs to).
pub struct Opsd(Process);

impl std::ops::Deref for Opsd {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.0
    }
}

impl std::ops::DerefMut for Opsd {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.0
    }
}

impl Opsd {
    /// Starts `opsd` (its path: `env!("CARGO_BIN_EXE_opsd")` in a test)
    /// with `config` (if any) and the extra environment.
    pub fn start(exe: &str, config: Option<&Path>, env: &[(&str, &str)]) -> Opsd {
        let mut cmd = Command::new(exe);
        clean_env(&mut cmd)
            .env_remove("OPSD_CONFIG")
            .args(config)
            .envs(env.iter().copied());
        Opsd(Process::spawn("opsd", &mut cmd, None))
    }

    /// Sends one command line.
    pub fn send(&mut self, line: &str) {
        self.send_stdin(line);
    }

    /// Waits for the exact stdout line `line`.
    pub fn expect_out(&mut self, line: &str) -> Vec<String> {
        self.wait_out(line, |l| l == line)
    }

    /// The last `handled N dead M` line, as (N, M).
    pub fn handled_dead(&mut self) -> (u64, u64) {
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

/// A config file in the temp directory, removed on drop.
pub struct ConfigFile(PathBuf);

impl ConfigFile {
    /// A file named after the process and `test`, holding `text`.
    pub fn new(test: &str, text: &str) -> ConfigFile {
        let path = std::env::temp_dir().join(format!("opsd-{}-{test}.toml", std::process::id()));
        let file = ConfigFile(path);
        file.write(text);
        file
    }

    /// Replaces the file's text.
    pub fn write(&self, text: &str) {
        std::fs::write(&self.0, text).expect("config written");
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
