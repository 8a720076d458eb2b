//! jobd's config file, as the tests write it.

use std::path::{Path, PathBuf};

use super::Scratch;

/// jobd's config file, as the tests write it (keys: examples/config.toml,
/// and the `[app]` table of jobd/src/lib.rs).
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
    /// `[app] journal`.
    pub journal: PathBuf,
    /// `[app] socket_mode`.
    pub socket_mode: String,
    /// `[log] output.dir`; the log file is `jobd.log` in it.
    pub logs: PathBuf,
    /// Where the config file is written.
    pub config: PathBuf,
    /// Write only `[app]` (the paths): every policy and the log setup keep
    /// jobd's code defaults (logs on stderr).
    pub code_defaults: bool,
    /// `[app] test_kinds`, when set.
    pub test_kinds: Option<bool>,
    /// `[app] file_mode`, when set (jobd's default otherwise: "0600").
    pub file_mode: Option<String>,
    /// `[app] max_connections`, when set.
    pub max_connections: Option<usize>,
    /// `[app] read_timeout`, when set.
    pub read_timeout: Option<String>,
    /// `[app] job_timeout`, when set.
    pub job_timeout: Option<String>,
    /// `[app] max_file_bytes`, when set.
    pub max_file_bytes: Option<u64>,
    /// `[app] root`, when set.
    pub root: Option<PathBuf>,
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
            journal: scratch.join("journal.tsv"),
            socket_mode: "0600".into(),
            logs: scratch.join("logs"),
            config: scratch.join("jobd.toml"),
            code_defaults: false,
            test_kinds: None,
            file_mode: None,
            max_connections: None,
            read_timeout: None,
            job_timeout: None,
            max_file_bytes: None,
            root: None,
        }
    }

    /// The `[app]` keys of the limits that are set, one per line.
    fn limits(&self) -> String {
        let mut keys = String::new();
        if let Some(n) = self.max_connections {
            keys += &format!("max_connections = {n}\n");
        }
        if let Some(t) = &self.read_timeout {
            keys += &format!("read_timeout = \"{t}\"\n");
        }
        if let Some(t) = &self.job_timeout {
            keys += &format!("job_timeout = \"{t}\"\n");
        }
        if let Some(n) = self.max_file_bytes {
            keys += &format!("max_file_bytes = {n}\n");
        }
        if let Some(root) = &self.root {
            keys += &format!("root = \"{}\"\n", root.display());
        }
        if let Some(on) = self.test_kinds {
            keys += &format!("test_kinds = {on}\n");
        }
        keys
    }

    /// The config file's text.
    pub fn text(&self) -> String {
        let mut text = self.base_text();
        if let Some(mode) = &self.file_mode {
            text += &format!("file_mode = \"{mode}\"\n");
        }
        text
    }

    /// The 1-based line of the config file's text that starts with
    /// `prefix` (e.g. `"socket ="`), for checking an error's line.
    pub fn line_of(&self, prefix: &str) -> usize {
        let text = self.text();
        let found = text.lines().position(|l| l.starts_with(prefix));
        found.unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{text}")) + 1
    }

    /// The text without the optional keys (`[app]` last, so that they can
    /// be added at the end).
    fn base_text(&self) -> String {
        if self.code_defaults {
            return format!(
                "[app]
socket = \"{}\"
results = \"{}\"
journal = \"{}\"
{}",
                self.socket.display(),
                self.results.display(),
                self.journal.display(),
                self.limits()
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
journal = "{journal}"
socket_mode = "{mode}"
{limits}"#,
            abandon = self.abandon_after,
            logs = self.logs.display(),
            pool = self.pool_size,
            heartbeat = self.heartbeat,
            drain = self.drain,
            backoff_min = self.backoff_min,
            backoff_max = self.backoff_max,
            socket = self.socket.display(),
            results = self.results.display(),
            journal = self.journal.display(),
            mode = self.socket_mode,
            limits = self.limits(),
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
