//! What the library logs on the current thread, captured for tests that
//! check what it says (a refused reload names its file and line).

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// Runs `f` with every `tracing` event of this thread written as a plain
/// text line; returns its result and the lines.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || Lines(Arc::clone(&sink)))
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let bytes = buffer.lock().unwrap_or_else(PoisonError::into_inner);
    let lines = String::from_utf8_lossy(&bytes)
        .lines()
        .map(String::from)
        .collect();
    (result, lines)
}

/// The one line of `logs` that contains `what`; fails, showing them all,
/// when there is none or more than one.
pub fn the_line<'a>(logs: &'a [String], what: &str) -> &'a str {
    let found: Vec<&String> = logs.iter().filter(|l| l.contains(what)).collect();
    assert_eq!(found.len(), 1, "one line with {what:?}: {logs:#?}");
    found[0]
}

struct Lines(Arc<Mutex<Vec<u8>>>);

impl io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut b = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        b.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One line of the JSON log format, as `logging::init` writes it with
/// `format = "json"`.
#[derive(Debug, Clone)]
pub struct JsonLine(pub serde_json::Value);

impl JsonLine {
    /// `"INFO"`, `"WARN"`, ...
    pub fn level(&self) -> &str {
        self.0["level"].as_str().unwrap_or_default()
    }

    /// The event's message.
    pub fn message(&self) -> &str {
        self.field("message").as_str().unwrap_or_default()
    }

    /// One of the event's fields (`Null` if it has none of that name).
    pub fn field(&self, name: &str) -> &serde_json::Value {
        &self.0["fields"][name]
    }

    /// True at INFO or above (what the default level shows).
    pub fn shown_at_info(&self) -> bool {
        matches!(self.level(), "INFO" | "WARN" | "ERROR")
    }
}

/// Every line of `text` (a process's standard error, a log file) parsed as
/// a JSON log line; panics, showing the text, on a line that is not one.
pub fn json_lines(text: &str) -> Vec<JsonLine> {
    text.lines()
        .map(|line| {
            serde_json::from_str(line)
                .map(JsonLine)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}\n---\n{text}"))
        })
        .collect()
}

/// How a helper process that logs ended: its exit code, its standard
/// output, and its standard error as JSON log lines.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error, as text.
    pub stderr: String,
    /// Its standard error's JSON log lines (the lines that start with `{`:
    /// a default panic hook's text, when it speaks, is in `stderr` alone).
    pub lines: Vec<JsonLine>,
}

/// Runs `exe scenario` to its end, in a clean environment (see
/// [`clean_env`](crate::daemon::clean_env)) plus `env`, and parses its
/// standard error as JSON log lines.
pub fn run(exe: &str, scenario: &str, env: &[(&str, &str)]) -> Run {
    let mut cmd = std::process::Command::new(exe);
    crate::daemon::clean_env(&mut cmd).arg(scenario);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the helper runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        lines: json_lines(
            &stderr
                .lines()
                .filter(|l| l.starts_with('{'))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        stderr,
    }
}
