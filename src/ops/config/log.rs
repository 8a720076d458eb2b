//! The `[log]` table: where and how logs are written, checked at load (the
//! level filter parses, the retention is within its bound) and remembered
//! with the place it was written, for the errors [`crate::logging::init`]
//! can only find later (a directory that cannot be created).

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer};

/// The largest `max_files` of rolling log files: 10 000.
pub const MAX_LOG_FILES: usize = 10_000;

/// Where and how logs are written; [`crate::logging::init`] takes it.
///
/// ```toml
/// [log]
/// level = "info"                   # or any RUST_LOG-style filter; RUST_LOG wins if set
/// format = "human"                 # human | json
/// output = "stderr"                # or a directory for rolling files:
/// # output = { dir = "/var/log/app", rotation = "daily", prefix = "app.log", max_files = 7 }
/// ```
///
/// A relative `dir` is relative to the config file's directory. A `level`
/// that is not a filter is refused at load, with the file and line; a
/// `dir` that cannot be created is refused by [`crate::logging::init`],
/// which names the file and line it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LogConfig {
    /// A filter such as `"info"` or `"warn,my_crate=debug"`.
    #[serde(default, deserialize_with = "filter")]
    pub level: Option<String>,
    /// Human-readable lines or JSON lines.
    pub format: Option<LogFormat>,
    /// Standard error or rolling files.
    pub output: Option<LogOutput>,
    /// Where the file set `level` and `output`, for later errors.
    #[serde(skip)]
    origin: Origin,
}

/// Where a config file set the `[log]` keys whose errors come later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) file: Option<PathBuf>,
    pub(crate) level: Option<usize>,
    pub(crate) output: Option<usize>,
}

impl LogConfig {
    /// Remembers where the file set `level` and `output`.
    pub(crate) fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }

    /// `"FILE:LINE: "` for the key `log.output` was read from, or nothing
    /// for a config made in code.
    #[cfg(feature = "logging")]
    pub(crate) fn output_origin(&self) -> String {
        self.at(self.origin.output)
    }

    /// `"FILE:LINE: "` for `log.level`, or nothing.
    #[cfg(feature = "logging")]
    pub(crate) fn level_origin(&self) -> String {
        self.at(self.origin.level)
    }

    #[cfg(feature = "logging")]
    fn at(&self, line: Option<usize>) -> String {
        match (&self.origin.file, line) {
            (Some(f), Some(l)) => format!("{}:{l}: ", f.display()),
            (Some(f), None) => format!("{}: ", f.display()),
            _ => String::new(),
        }
    }
}

/// A level filter that `tracing_subscriber`'s `EnvFilter` accepts.
fn filter<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let level = String::deserialize(d)?;
    // Without `logging` the framework does not read the level.
    #[cfg(feature = "logging")]
    tracing_subscriber::EnvFilter::builder()
        .parse(&level)
        .map_err(|e| {
            de::Error::custom(format!(
                "expected a filter like \"info\" or \"warn,my_crate=debug\", found {level:?} ({e})"
            ))
        })?;
    Ok(Some(level))
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

/// `"stderr"` or `{ dir = "...", rotation = "daily", prefix = "app.log",
/// max_files = 7 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogOutput {
    /// `"stderr"`.
    Stream(StreamName),
    /// Rolling files in a directory.
    Files {
        /// The directory (a relative one in a file is relative to the
        /// file's directory).
        dir: PathBuf,
        /// How often a new file starts (default daily).
        rotation: Rotation,
        /// The file name prefix (default: the application's name).
        prefix: Option<String>,
        /// How many files to keep, the current one included: older ones
        /// are deleted at start and within a minute of a new file starting.
        /// Only files named `PREFIX.DATE` as the appender names them
        /// (`PREFIX.2026-12-02`, hourly `PREFIX.2026-12-02-13`) count:
        /// nothing else in the directory is touched. From 1 to
        /// [`MAX_LOG_FILES`], with rotation `daily` or `hourly`; default:
        /// every file is kept.
        max_files: Option<usize>,
    },
}

/// The table form of [`LogOutput::Files`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Files {
    dir: PathBuf,
    #[serde(default)]
    rotation: Rotation,
    prefix: Option<String>,
    #[serde(default, deserialize_with = "max_files")]
    max_files: Option<usize>,
}

/// A retention from 1 to [`MAX_LOG_FILES`] (the rotation is checked with
/// the whole table).
fn max_files<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let n = usize::deserialize(d)?;
    check_max_files_range(n).map_err(de::Error::custom)?;
    Ok(Some(n))
}

/// 1 to [`MAX_LOG_FILES`].
fn check_max_files_range(n: usize) -> Result<(), String> {
    match n {
        0 => Err("must be at least 1 (leave it out to keep every file)".into()),
        n if n > MAX_LOG_FILES => Err(format!("must be at most {MAX_LOG_FILES}, found {n}")),
        _ => Ok(()),
    }
}

/// The one check of a file name prefix (from a file or from code): a file
/// name's start, so neither empty (the appender would name files by their
/// date alone, which `max_files` could not tell from other files) nor a
/// path.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix.contains('/') || prefix == "." || prefix == ".." {
        return Err(format!(
            "prefix must be the start of a file name, found {prefix:?}"
        ));
    }
    Ok(())
}

/// The one check of a `max_files` (from a file or from code): in range,
/// and only with a rotation that starts new files (with `never` there is
/// one file, and keeping "the newest n" of one would mean deleting it).
pub(crate) fn check_max_files(n: usize, rotation: Rotation) -> Result<(), String> {
    check_max_files_range(n)?;
    if rotation == Rotation::Never {
        return Err(
            "max_files needs rotation = \"daily\" or \"hourly\": with \"never\" there is one file"
                .into(),
        );
    }
    Ok(())
}

impl<'de> Deserialize<'de> for LogOutput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // By hand rather than untagged, so that an error inside the table
        // (a bad `max_files`) is reported as itself, at its key.
        struct Output;
        impl<'de> Visitor<'de> for Output {
            type Value = LogOutput;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"stderr\" or a table { dir = \"...\", rotation = \"daily\" }")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<LogOutput, E> {
                match s {
                    "stderr" => Ok(LogOutput::Stream(StreamName::Stderr)),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LogOutput, A::Error> {
                let f = Files::deserialize(MapAccessDeserializer::new(map))?;
                if let Some(n) = f.max_files {
                    check_max_files(n, f.rotation).map_err(de::Error::custom)?;
                }
                if let Some(prefix) = &f.prefix {
                    check_prefix(prefix).map_err(de::Error::custom)?;
                }
                Ok(LogOutput::Files {
                    dir: f.dir,
                    rotation: f.rotation,
                    prefix: f.prefix,
                    max_files: f.max_files,
                })
            }
        }
        d.deserialize_any(Output)
    }
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
