//! Running the reference daemon `jobd` (examples/jobd.rs, built as
//! `src/bin/jobd.rs`) as a process: a scratch directory for its socket,
//! results file, logs and config; its stdout and stderr as they arrive
//! (the [`Stream`]s of [`crate::daemon`]); clients on its Unix socket;
//! signals; its exit status; and its results file and log, parsed.
//!
//! Nothing here sleeps: every wait is on a line (from a pipe, or from the
//! socket with a read timeout), a stream's end or a deadline, and every
//! deadline is [`PATIENCE`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::PATIENCE;
use crate::daemon::{Stream, strip_ansi};

// --- the scratch directory ----------------------------------------------------

/// A directory of its own for one test: `jobd-TAG-PID` in the temp
/// directory, emptied when made. Removed on drop, unless the test is
/// failing (the socket, results, logs and config are then kept to look at).
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A fresh directory named after `tag` and this process. Keep `tag`
    /// short: a Unix socket's path is limited to about 100 bytes.
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("jobd-{tag}-{}", std::process::id()));
        // A leftover of an earlier run with the same pid.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory created");
        Scratch { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `text` to the file `name` inside it; returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, text).expect("scratch file written");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

// --- the config ----------------------------------------------------------------

/// jobd's config file, as the tests write it (keys: examples/config.toml,
/// and the `[app]` table of examples/jobd.rs).
#[derive(Clone, Debug)]
pub struct Settings {
    /// `[servers.workers] pool_size`.
    pub pool_size: usize,
    /// `[servers.workers] heartbeat`.
    pub heartbeat: String,
    /// `[servers.workers] shutdown = { drain = ... }`.
    pub drain: String,
    /// `[servers.workers] backoff = { min = ... }`.
    pub backoff_min: String,
    /// `[servers.workers] backoff = { max = ... }`.
    pub backoff_max: String,
    /// `[supervisor] abandon_after`.
    pub abandon_after: String,
    /// `[app] socket`.
    pub socket: PathBuf,
    /// `[app] results`.
    pub results: PathBuf,
    /// `[app] socket_mode`.
    pub socket_mode: String,
    /// `[log] output.dir`; the log file is `jobd.log` in it.
    pub logs: PathBuf,
    /// Where the config file is written.
    pub config: PathBuf,
    /// Write only `[app]` (the paths): every policy and the log setup keep
    /// jobd's code defaults (logs on stderr).
    pub code_defaults: bool,
}

impl Settings {
    /// The tests' defaults, every path inside `scratch`: 4 workers, a
    /// heartbeat of 300 ms, a drain of 30 s, a backoff of 1 to 20 ms,
    /// `abandon_after` 300 ms, mode 0600.
    pub fn new(scratch: &Scratch) -> Settings {
        Settings {
            pool_size: 4,
            heartbeat: "300ms".into(),
            drain: "30s".into(),
            backoff_min: "1ms".into(),
            backoff_max: "20ms".into(),
            abandon_after: "300ms".into(),
            socket: scratch.join("jobd.sock"),
            results: scratch.join("results.tsv"),
            socket_mode: "0600".into(),
            logs: scratch.join("logs"),
            config: scratch.join("jobd.toml"),
            code_defaults: false,
        }
    }

    /// The config file's text.
    pub fn text(&self) -> String {
        if self.code_defaults {
            return format!(
                "[app]\nsocket = \"{}\"\nresults = \"{}\"\n",
                self.socket.display(),
                self.results.display()
            );
        }
        format!(
            r#"[supervisor]
intensity = {{ max_restarts = 1000, period = "10s" }}
abandon_after = "{abandon}"

[log]
level = "info"
output = {{ dir = "{logs}", rotation = "never", prefix = "jobd.log" }}

[servers.workers]
pool_size = {pool}
heartbeat = "{heartbeat}"
shutdown = {{ drain = "{drain}" }}
backoff = {{ min = "{backoff_min}", max = "{backoff_max}" }}
intensity = {{ max_restarts = 1000, period = "10s" }}

[app]
socket = "{socket}"
results = "{results}"
socket_mode = "{mode}"
"#,
            abandon = self.abandon_after,
            logs = self.logs.display(),
            pool = self.pool_size,
            heartbeat = self.heartbeat,
            drain = self.drain,
            backoff_min = self.backoff_min,
            backoff_max = self.backoff_max,
            socket = self.socket.display(),
            results = self.results.display(),
            mode = self.socket_mode,
        )
    }

    /// Writes the config file; returns its path.
    pub fn write(&self) -> &Path {
        std::fs::write(&self.config, self.text()).expect("config written");
        &self.config
    }

    /// The log file.
    pub fn log_file(&self) -> PathBuf {
        self.logs.join("jobd.log")
    }
}

// --- the process -----------------------------------------------------------------

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
        let deadline = Instant::now() + PATIENCE;
        let mut lines = Vec::new();
        loop {
            match self.out.next(deadline) {
                Ok(line) => {
                    let hit = pred(&line);
                    lines.push(line);
                    if hit {
                        return lines;
                    }
                }
                Err(ended) => {
                    let why = if ended { "stdout ended" } else { "timed out" };
                    panic!("{why} waiting for {what}\n{}", self.transcript());
                }
            }
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

// --- a client -----------------------------------------------------------------

/// One connection to jobd's socket. Every read waits at most [`PATIENCE`]
/// (a read timeout), so a silent jobd fails the test instead of hanging it.
pub struct Conn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Conn {
    /// Connects to the socket at `path`.
    pub fn open(path: &Path) -> Conn {
        let stream = UnixStream::connect(path)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout set");
        stream
            .set_write_timeout(Some(PATIENCE))
            .expect("write timeout set");
        let writer = stream.try_clone().expect("socket cloned");
        Conn {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// A second handle on the socket for writing from another thread (with
    /// the same write timeout); the answers are still read here.
    pub fn writer(&self) -> UnixStream {
        self.writer.try_clone().expect("socket cloned")
    }

    /// Writes one request line.
    pub fn send(&mut self, line: &str) {
        self.write_raw(format!("{line}\n").as_bytes());
    }

    /// Writes bytes as they are (no newline added).
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("jobd reads the socket");
    }

    /// The next answer line (without its newline); panics when none comes
    /// within [`PATIENCE`] or jobd closed the connection.
    pub fn recv(&mut self) -> String {
        self.try_recv()
            .unwrap_or_else(|why| panic!("no answer from jobd: {why}"))
    }

    /// The next answer line, or why there is none (`"end of stream"`,
    /// a timeout, an error).
    pub fn try_recv(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("end of stream: jobd closed the connection".into()),
            Ok(_) if !line.ends_with('\n') => Err(format!("a torn answer: {line:?}")),
            Ok(_) => {
                line.pop();
                Ok(line)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Err(
                format!("timed out after {PATIENCE:?} (read so far: {line:?})"),
            ),
            Err(e) => Err(format!("read error: {e}")),
        }
    }

    /// Sends `line` and returns the answer.
    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.recv()
    }

    /// Submits `ID JOB` and asserts the answer `ok ID`.
    pub fn submit(&mut self, id: &str, job: &str) {
        let answer = self.ask(&format!("{id} {job}"));
        assert_eq!(answer, format!("ok {id}"), "the answer to `{id} {job}`");
    }

    /// `wait ID`: blocks until the job's line is in the results file;
    /// returns the outcome (`ok`, `failed`, `dead`) from `done ID OUTCOME`.
    pub fn wait(&mut self, id: &str) -> String {
        let answer = self.ask(&format!("wait {id}"));
        let prefix = format!("done {id} ");
        match answer.strip_prefix(&prefix) {
            Some(outcome) => outcome.to_owned(),
            None => panic!("`wait {id}` answered {answer:?}, not `done {id} OUTCOME`"),
        }
    }

    /// `status`, parsed as JSON.
    pub fn status(&mut self) -> serde_json::Value {
        let answer = self.ask("status");
        serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("`status` answered invalid JSON ({e}): {answer}"))
    }

    /// Asks `status` until `cond` holds for the answer, which is returned;
    /// panics after [`PATIENCE`] with the last answer.
    pub fn status_until(
        &mut self,
        what: &str,
        mut cond: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let status = self.status();
            if cond(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}: {status}"
            );
        }
    }
}

// --- the results file ------------------------------------------------------------

/// One line of the results file: `ID\tOUTCOME\tDETAIL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultLine {
    /// The job id.
    pub id: String,
    /// `ok`, `failed` or `dead`.
    pub outcome: String,
    /// The result, the error, or why the job is dead.
    pub detail: String,
}

/// The results file, parsed.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// Its bytes.
    pub raw: String,
    /// Its lines, in order.
    pub lines: Vec<ResultLine>,
}

impl Results {
    /// Each id's lines, by id.
    pub fn by_id(&self) -> HashMap<&str, Vec<&ResultLine>> {
        let mut map: HashMap<&str, Vec<&ResultLine>> = HashMap::new();
        for l in &self.lines {
            map.entry(l.id.as_str()).or_default().push(l);
        }
        map
    }

    /// The one line of `id`; panics unless there is exactly one.
    pub fn only(&self, id: &str) -> &ResultLine {
        let found: Vec<&ResultLine> = self.lines.iter().filter(|l| l.id == id).collect();
        match found.as_slice() {
            [one] => one,
            _ => panic!("{} result lines for {id}: {found:?}", found.len()),
        }
    }

    /// How many lines have `outcome`.
    pub fn count(&self, outcome: &str) -> usize {
        self.lines.iter().filter(|l| l.outcome == outcome).count()
    }
}

/// Reads the results file at `path` (empty when it does not exist) and
/// asserts that it is whole lines only: UTF-8, ending with a newline, each
/// line `ID\tOUTCOME\tDETAIL` with a non-empty id and an outcome of `ok`,
/// `failed` or `dead`.
pub fn read_results(path: &Path) -> Results {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("read {}: {e}", path.display()),
    };
    let raw =
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()));
    assert!(
        raw.is_empty() || raw.ends_with('\n'),
        "{} ends with a torn line: {:?}",
        path.display(),
        raw.lines().last()
    );
    let lines = raw
        .lines()
        .enumerate()
        .map(|(n, line)| {
            parse_result_line(line)
                .unwrap_or_else(|why| panic!("{} line {}: {why}: {line:?}", path.display(), n + 1))
        })
        .collect();
    Results { raw, lines }
}

/// Parses one results line (without its newline).
pub fn parse_result_line(line: &str) -> Result<ResultLine, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [id, outcome, detail] = fields.as_slice() else {
        return Err(format!(
            "{} tab-separated fields, not 3 (ID, OUTCOME, DETAIL)",
            fields.len()
        ));
    };
    if id.is_empty() {
        return Err("an empty id".into());
    }
    if !matches!(*outcome, "ok" | "failed" | "dead") {
        return Err(format!("an unknown outcome {outcome:?}"));
    }
    Ok(ResultLine {
        id: (*id).to_owned(),
        outcome: (*outcome).to_owned(),
        detail: (*detail).to_owned(),
    })
}

// --- what the jobs compute ---------------------------------------------------------

/// The FNV-1a 64 hash of `bytes`, what a `hash` job computes.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The number of whitespace-separated words in `bytes`, what a `words`
/// job counts.
pub fn word_count(bytes: &[u8]) -> usize {
    bytes
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .count()
}

// --- the status JSON -------------------------------------------------------------

/// The node at `path` (e.g. `"jobd/workers"`) in the `tree` of a
/// `status` answer, searched depth first.
pub fn status_node<'a>(status: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    fn find<'a>(node: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
        if node.get("path").and_then(|p| p.as_str()) == Some(path) {
            return Some(node);
        }
        node.get("children")?
            .as_array()?
            .iter()
            .find_map(|c| find(c, path))
    }
    find(status.get("tree")?, path)
}

/// The states (`running`, `restarting`, ...) of the pool's workers in a
/// `status` answer, in order.
pub fn worker_states(status: &serde_json::Value) -> Vec<String> {
    let pool = status_node(status, "jobd/workers")
        .unwrap_or_else(|| panic!("no jobd/workers in the status: {status}"));
    pool["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| w["state"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The job count `key` (`accepted`, `queued`, `running`, `ok`, ...) of a
/// `status` answer.
pub fn job_count(status: &serde_json::Value, key: &str) -> u64 {
    status
        .get("jobs")
        .and_then(|j| j.get(key))
        .and_then(|v| v.as_u64())
        .unwrap_or_else(|| panic!("no jobs.{key} count in the status: {status}"))
}
