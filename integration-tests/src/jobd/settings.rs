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
        }
    }

    /// The config file's text.
    pub fn text(&self) -> String {
        if self.code_defaults {
            return format!(
                "[app]\nsocket = \"{}\"\nresults = \"{}\"\njournal = \"{}\"\n",
                self.socket.display(),
                self.results.display(),
                self.journal.display()
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
            journal = self.journal.display(),
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
