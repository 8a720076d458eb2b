//! The `[log]` table: where and how logs are written.

use std::path::PathBuf;

use serde::Deserialize;

/// Where and how logs are written; [`crate::logging::init`] takes it.
///
/// ```toml
/// [log]
/// level = "info"                   # or any RUST_LOG-style filter; RUST_LOG wins if set
/// format = "human"                 # human | json
/// output = "stderr"                # or a directory for rolling files:
/// # output = { dir = "/var/log/app", rotation = "daily", prefix = "app.log" }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LogConfig {
    /// A filter such as `"info"` or `"warn,my_crate=debug"`.
    pub level: Option<String>,
    /// Human-readable lines or JSON lines.
    pub format: Option<LogFormat>,
    /// Standard error or rolling files.
    pub output: Option<LogOutput>,
}

/// `human` or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line.
    Json,
}

/// `"stderr"` or `{ dir = "...", rotation = "daily", prefix = "app.log" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum LogOutput {
    /// `"stderr"`.
    Stream(StreamName),
    /// Rolling files in a directory.
    Files {
        /// The directory.
        dir: PathBuf,
        /// How often a new file starts (default daily).
        #[serde(default)]
        rotation: Rotation,
        /// The file name prefix (default: the application's name).
        prefix: Option<String>,
    },
}

/// The only stream: `"stderr"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamName {
    /// Standard error.
    Stderr,
}

/// How often a rolling log file starts anew.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// Every day.
    #[default]
    Daily,
    /// Every hour.
    Hourly,
    /// Never: one file.
    Never,
}
