//! Policies from a TOML file, with human durations, checked at load.
//!
//! # The file
//!
//! ```toml
//! [supervisor]                       # the root supervisor
//! strategy = "one_for_one"           # one_for_one | one_for_all | rest_for_one
//! intensity = { max_restarts = 3, period = "5s" }
//! abandon_after = "5s"
//!
//! [servers.counter]                  # keyed by server name
//! restart = "permanent"              # permanent | transient | temporary
//! shutdown = { drain = "5s" }        # or "immediate"
//! heartbeat = "1s"
//! backoff = { min = "10ms", max = "1s", jitter = 0.1, reset_after = "30s" }
//! capacity = 1024                    # or "unbounded"
//! pool_size = 4                      # pools only
//! intensity = { max_restarts = 50, period = "10s" }   # pools and nested supervisors
//! ```
//!
//! Every key is optional: what the file leaves out keeps the code's value.
//!
//! # The program's own settings
//!
//! One table is the program's: `[app]`. The framework does not read it;
//! [`Config::app_section`] deserializes it into the program's own type with
//! the same file-and-line errors, so a daemon's socket path or output file
//! lives in the same file as its policies.
//!
//! # Errors
//!
//! Nothing half-loads. An unknown key, a value of the wrong type, a bad
//! duration and an impossible policy (backoff `max` below `min`, a zero
//! period, heartbeat or capacity, jitter outside `[0, 1]`) all fail the load
//! with a [`ConfigError`] naming the file, the line and the key, and saying
//! what was expected.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::{Backoff, Intensity, Restart, Shutdown, Strategy};

/// A duration written as `"250ms"`, `"5s"`, `"1m"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(HumanDuration)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "expected a duration like \"250ms\", \"5s\" or \"1m\", found {text:?} ({e})"
                ))
            })
    }
}

/// The whole file.
///
/// Programs built on `threadbutler` hand the file to
/// `ButlerBuilder::config_file`; reading it directly:
///
/// ```
/// use std::time::Duration;
/// use threadbutler_supervisor::config::{Config, ConfigError, StrategyName};
///
/// let text = "[supervisor]\nstrategy = \"one_for_all\"\n\n[servers.db]\nheartbeat = \"2s\"\n";
/// let config = Config::parse(text, "app.toml")?;
/// assert_eq!(config.supervisor.strategy, Some(StrategyName::OneForAll));
/// let db = config.server("db").expect("the file has [servers.db]");
/// assert_eq!(db.heartbeat.as_ref().map(|h| h.get_ref().0), Some(Duration::from_secs(2)));
/// assert!(db.restart.is_none()); // left out: the code's value stands
/// assert_eq!(config.server_line("db", text), Some(4));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The root supervisor's policies.
    #[serde(default)]
    pub supervisor: SupervisorConfig,
    /// Per-server policies, by server name.
    #[serde(default)]
    pub servers: BTreeMap<String, Spanned<ServerConfig>>,
    /// Logging, read by the logging setup of the `threadbutler` crate.
    #[serde(default)]
    pub log: LogConfig,
    /// The program's own settings, left for it to read with
    /// [`Config::app_section`]: the framework only checks that it is a table.
    #[serde(default)]
    pub app: Option<toml::Table>,
}

/// Where and how logs are written.
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

/// A supervisor's policies.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SupervisorConfig {
    /// Its strategy.
    pub strategy: Option<StrategyName>,
    /// Its restart intensity.
    pub intensity: Option<Spanned<IntensityConfig>>,
    /// Its grace before abandoning a child.
    pub abandon_after: Option<Spanned<HumanDuration>>,
}

/// `one_for_one`, `one_for_all` or `rest_for_one`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyName {
    /// [`Strategy::OneForOne`].
    OneForOne,
    /// [`Strategy::OneForAll`].
    OneForAll,
    /// [`Strategy::RestForOne`].
    RestForOne,
}

impl From<StrategyName> for Strategy {
    fn from(s: StrategyName) -> Self {
        match s {
            StrategyName::OneForOne => Strategy::OneForOne,
            StrategyName::OneForAll => Strategy::OneForAll,
            StrategyName::RestForOne => Strategy::RestForOne,
        }
    }
}

/// `{ max_restarts = 3, period = "5s" }`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntensityConfig {
    /// Restarts allowed per period.
    pub max_restarts: u32,
    /// The sliding window.
    pub period: HumanDuration,
}

impl From<IntensityConfig> for Intensity {
    fn from(i: IntensityConfig) -> Self {
        Intensity {
            max_restarts: i.max_restarts,
            period: i.period.0,
        }
    }
}

/// One server's policies.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Its restart type.
    pub restart: Option<RestartName>,
    /// Its shutdown mode.
    pub shutdown: Option<ShutdownConfig>,
    /// Its heartbeat timeout.
    pub heartbeat: Option<Spanned<HumanDuration>>,
    /// Its backoff.
    pub backoff: Option<Spanned<BackoffConfig>>,
    /// Its mailbox capacity.
    pub capacity: Option<Spanned<CapacityConfig>>,
    /// Its number of worker threads (pools).
    pub pool_size: Option<Spanned<usize>>,
    /// The restart intensity of a pool or a nested supervisor.
    pub intensity: Option<Spanned<IntensityConfig>>,
}

/// `permanent`, `transient` or `temporary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartName {
    /// [`Restart::Permanent`].
    Permanent,
    /// [`Restart::Transient`].
    Transient,
    /// [`Restart::Temporary`].
    Temporary,
}

impl From<RestartName> for Restart {
    fn from(r: RestartName) -> Self {
        match r {
            RestartName::Permanent => Restart::Permanent,
            RestartName::Transient => Restart::Transient,
            RestartName::Temporary => Restart::Temporary,
        }
    }
}

/// `"immediate"` or `{ drain = "5s" }`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ShutdownConfig {
    /// [`Shutdown::Immediate`].
    Immediate,
    /// [`Shutdown::Drain`].
    Drain(HumanDuration),
}

impl From<ShutdownConfig> for Shutdown {
    fn from(s: ShutdownConfig) -> Self {
        match s {
            ShutdownConfig::Immediate => Shutdown::Immediate,
            ShutdownConfig::Drain(d) => Shutdown::Drain(d.0),
        }
    }
}

/// `{ min = "10ms", max = "1s", jitter = 0.1, reset_after = "30s" }`;
/// `jitter` and `reset_after` are optional.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffConfig {
    /// The first delay.
    pub min: HumanDuration,
    /// The largest delay.
    pub max: HumanDuration,
    /// The jitter factor in `[0, 1]` (default 0).
    #[serde(default)]
    pub jitter: f64,
    /// Forget past failures after running this long (default 30 s).
    pub reset_after: Option<HumanDuration>,
}

impl From<BackoffConfig> for Backoff {
    fn from(b: BackoffConfig) -> Self {
        let mut out = Backoff::exponential(b.min.0, b.max.0).with_jitter(b.jitter);
        if let Some(r) = b.reset_after {
            out = out.with_reset_after(r.0);
        }
        out
    }
}

/// A number of messages, or `"unbounded"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityConfig {
    /// At most this many.
    Bounded(usize),
    /// No limit.
    Unbounded,
}

impl<'de> Deserialize<'de> for CapacityConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        let expected = "expected a positive number of messages or \"unbounded\"";
        match Raw::deserialize(d).map_err(|_| serde::de::Error::custom(expected))? {
            Raw::N(n) if n > 0 => Ok(CapacityConfig::Bounded(n as usize)),
            Raw::S(s) if s == "unbounded" => Ok(CapacityConfig::Unbounded),
            Raw::N(n) => Err(serde::de::Error::custom(format!("{expected}, found {n}"))),
            Raw::S(s) => Err(serde::de::Error::custom(format!("{expected}, found {s:?}"))),
        }
    }
}

/// Why a config file was refused: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `"<string>"`).
    pub file: PathBuf,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The key, as a dotted path, when known (`servers.counter.backoff`).
    pub key: Option<String>,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(k) = &self.key {
            write!(f, ": {k}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Reads and checks a file.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unreadable file, bad TOML, an unknown key, a
    /// bad value or an impossible policy.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: None,
            key: None,
            message: format!("cannot read the file: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks `text`, reporting errors against `file`.
    ///
    /// ```
    /// use threadbutler_supervisor::config::Config;
    ///
    /// let err = Config::parse("[servers.db]\nheartbeat = \"soon\"\n", "app.toml").unwrap_err();
    /// assert_eq!(err.line, Some(2));
    /// assert!(err.to_string().starts_with("app.toml:2"));
    /// assert!(err.message.contains("expected a duration"));
    /// ```
    ///
    /// # Errors
    ///
    /// See [`load`](Self::load).
    pub fn parse(text: &str, file: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let file = file.as_ref().to_owned();
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            ConfigError {
                file: file.clone(),
                line,
                key: None,
                message: e.message().trim().to_owned(),
            }
        })?;
        config.check(text, &file)?;
        Ok(config)
    }

    fn check(&self, text: &str, file: &Path) -> Result<(), ConfigError> {
        let err = |span: std::ops::Range<usize>, key: String, message: String| ConfigError {
            file: file.to_owned(),
            line: Some(line_of(text, span.start)),
            key: Some(key),
            message,
        };
        if let Some(i) = &self.supervisor.intensity
            && i.get_ref().period.0.is_zero()
        {
            return Err(err(
                i.span(),
                "supervisor.intensity.period".into(),
                "the period must be greater than zero".into(),
            ));
        }
        for (name, server) in &self.servers {
            let s = server.get_ref();
            if let Some(h) = &s.heartbeat
                && h.get_ref().0.is_zero()
            {
                return Err(err(
                    h.span(),
                    format!("servers.{name}.heartbeat"),
                    "must be greater than zero".into(),
                ));
            }
            if let Some(b) = &s.backoff {
                let backoff: Backoff = (*b.get_ref()).into();
                if let Err(e) = backoff.validate() {
                    return Err(err(
                        b.span(),
                        format!("servers.{name}.backoff"),
                        e.to_string(),
                    ));
                }
            }
            if let Some(i) = &s.intensity
                && i.get_ref().period.0.is_zero()
            {
                return Err(err(
                    i.span(),
                    format!("servers.{name}.intensity.period"),
                    "the period must be greater than zero".into(),
                ));
            }
            if let Some(p) = &s.pool_size
                && *p.get_ref() == 0
            {
                return Err(err(
                    p.span(),
                    format!("servers.{name}.pool_size"),
                    "must be at least 1".into(),
                ));
            }
        }
        Ok(())
    }

    /// Deserializes the `[app]` table of `text` (the text this config was
    /// parsed from) into the program's own settings type; `None` when the
    /// file has no `[app]` table. Give `T` `#[serde(deny_unknown_fields)]`
    /// so that a misspelled key is an error rather than a silent default.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use threadbutler_supervisor::config::Config;
    ///
    /// #[derive(Deserialize)]
    /// #[serde(deny_unknown_fields)]
    /// struct Settings {
    ///     socket: String,
    /// }
    ///
    /// let text = "[servers.db]\nrestart = \"permanent\"\n\n[app]\nsocket = \"/run/db.sock\"\n";
    /// let s: Settings = Config::app_section(text, "db.toml")?.expect("the file has [app]");
    /// assert_eq!(s.socket, "/run/db.sock");
    ///
    /// let bad = "[app]\nsockett = \"/run/db.sock\"\n";
    /// let err = Config::app_section::<Settings>(bad, "db.toml").err().expect("unknown key");
    /// assert_eq!(err.line, Some(2));
    /// assert_eq!(err.key.as_deref(), Some("app"));
    /// # Ok::<(), threadbutler_supervisor::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError`] with the file, the line and what was expected, for
    /// bad TOML or an `[app]` table that `T` does not accept.
    pub fn app_section<T: serde::de::DeserializeOwned>(
        text: &str,
        file: impl AsRef<Path>,
    ) -> Result<Option<T>, ConfigError> {
        // Only `app` is read; the other tables are the framework's, checked
        // by `parse`.
        #[derive(Deserialize)]
        struct AppOnly<T> {
            app: Option<T>,
        }
        toml::from_str::<AppOnly<T>>(text)
            .map(|a| a.app)
            .map_err(|e| ConfigError {
                file: file.as_ref().to_owned(),
                line: e.span().map(|s| line_of(text, s.start)),
                key: Some("app".into()),
                message: e.message().trim().to_owned(),
            })
    }

    /// The policies given for server `name`, if any.
    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.get(name).map(Spanned::get_ref)
    }

    /// The line of server `name`'s table in `text` (the text it was parsed
    /// from), for errors found after the load.
    pub fn server_line(&self, name: &str, text: &str) -> Option<usize> {
        self.servers
            .get(name)
            .map(|s| line_of(text, s.span().start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[supervisor]
strategy = "rest_for_one"
intensity = { max_restarts = 5, period = "10s" }
abandon_after = "2s"

[servers.counter]
restart = "transient"
shutdown = { drain = "250ms" }
heartbeat = "1s"
backoff = { min = "10ms", max = "1s", jitter = 0.1, reset_after = "1m" }
capacity = "unbounded"
pool_size = 4

[servers.db]
shutdown = "immediate"
capacity = 16

[log]
level = "debug"
format = "json"
output = { dir = "/var/log/app", rotation = "hourly" }
"#;

    #[test]
    fn a_full_file_loads_with_human_durations() {
        let c = Config::parse(FULL, "app.toml").expect("valid");
        assert_eq!(c.supervisor.strategy, Some(StrategyName::RestForOne));
        let i = c.supervisor.intensity.as_ref().expect("set").get_ref();
        assert_eq!((i.max_restarts, i.period.0), (5, Duration::from_secs(10)));
        let s = c.server("counter").expect("listed");
        assert_eq!(s.restart, Some(RestartName::Transient));
        assert!(
            matches!(s.shutdown.map(Shutdown::from), Some(Shutdown::Drain(d)) if d == Duration::from_millis(250))
        );
        let b: Backoff = (*s.backoff.as_ref().expect("set").get_ref()).into();
        assert_eq!(
            (b.min, b.max, b.reset_after),
            (
                Duration::from_millis(10),
                Duration::from_secs(1),
                Duration::from_secs(60)
            )
        );
        assert_eq!(
            s.capacity.as_ref().map(|c| *c.get_ref()),
            Some(CapacityConfig::Unbounded)
        );
        assert_eq!(
            c.server("db")
                .and_then(|d| d.capacity.as_ref())
                .map(|c| *c.get_ref()),
            Some(CapacityConfig::Bounded(16))
        );
        assert!(c.server("nobody").is_none());
        assert_eq!(c.log.format, Some(LogFormat::Json));
        assert!(matches!(
            &c.log.output,
            Some(LogOutput::Files {
                rotation: Rotation::Hourly,
                ..
            })
        ));
    }

    #[test]
    fn log_settings_are_checked_too() {
        let c = Config::parse(
            "[log]
output = \"stderr\"
",
            "app.toml",
        )
        .expect("valid");
        assert_eq!(c.log.output, Some(LogOutput::Stream(StreamName::Stderr)));
        let e = refused(
            "[log]
format = \"xml\"
",
        );
        assert_eq!(e.line, Some(2), "{e}");
        let e = refused(
            "[log]
levle = \"info\"
",
        );
        assert!(e.message.contains("levle"), "{e}");
    }

    #[test]
    fn an_empty_file_changes_nothing() {
        let c = Config::parse("", "empty.toml").expect("valid");
        assert!(c.servers.is_empty());
        assert!(c.supervisor.strategy.is_none());
    }

    fn refused(text: &str) -> ConfigError {
        Config::parse(text, "app.toml").expect_err("must be refused")
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line() {
        let e = refused("[servers.db]\nrestart = \"permanent\"\nretsart = 3\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("retsart"), "{e}");
        let e = refused("[supervisr]\n");
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn a_bad_duration_is_refused_with_what_was_expected() {
        let e = refused("[servers.db]\n\nheartbeat = \"fast\"\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("expected a duration like"), "{e}");
    }

    #[test]
    fn impossible_policies_are_refused_with_key_and_line() {
        let e = refused("[servers.db]\nbackoff = { min = \"2s\", max = \"1s\" }\n");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(2), Some("servers.db.backoff")),
            "{e}"
        );
        assert!(e.message.contains("below min"), "{e}");
        let e = refused("[supervisor]\nintensity = { max_restarts = 1, period = \"0s\" }\n");
        assert_eq!(e.key.as_deref(), Some("supervisor.intensity.period"), "{e}");
        let e = refused("[servers.db]\ncapacity = 0\n");
        assert!(e.message.contains("positive number"), "{e}");
        let e = refused("[servers.db]\npool_size = 0\n");
        assert_eq!(e.key.as_deref(), Some("servers.db.pool_size"), "{e}");
        let e = refused("[servers.db]\nbackoff = { min = \"1s\", max = \"2s\", jitter = 2.0 }\n");
        assert!(e.message.contains("jitter"), "{e}");
        let e = refused("[servers.db]\nrestart = \"sometimes\"\n");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn the_display_is_file_line_key_message() {
        let e = refused("[servers.db]\nheartbeat = \"0s\"\n");
        assert_eq!(
            e.to_string(),
            "app.toml:2: servers.db.heartbeat: must be greater than zero"
        );
    }
}
