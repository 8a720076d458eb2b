//! The application's config file: its tree's policies, its logging and its
//! own settings, in TOML with human durations, checked at load.
//!
//! # The file
//!
//! ```toml
//! [supervisor]                       # the root supervisor's own policies
//! strategy = "one_for_one"           # one_for_one | one_for_all | rest_for_one
//! intensity = { max_restarts = 3, period = "5s" }
//! abandon_after = "5s"
//!
//! [servers.counter]                  # a declared child, by name
//! restart = "permanent"              # permanent | transient | temporary
//! shutdown = { drain = "5s" }        # or "immediate"
//! heartbeat = "1s"
//! backoff = { min = "10ms", max = "1s", jitter = 0.1, reset_after = "30s" }
//! capacity = 1024                    # or "unbounded" (servers and pools)
//!
//! [servers.workers]                  # a pool: the policies are its workers'
//! pool_size = 4                      # pools only
//! intensity = { max_restarts = 50, period = "10s" }   # pools and nested supervisors
//!
//! [servers."db/reader"]              # a nested child, by its path below the root
//! heartbeat = "2s"
//!
//! [log]                              # see LogConfig
//! output = { dir = "logs", rotation = "daily", max_files = 7 }   # logs/ beside this file
//!
//! [app]                              # the program's own settings
//! socket = "run/app.sock"
//! poll = "30s"
//! ```
//!
//! Every key is optional: what the file leaves out keeps the code's value.
//! A `[servers.NAME]` table is a [`Policy`] (every key of it:
//! `restart`, `shutdown`, `heartbeat`, `backoff`, `start_timeout`,
//! `stack_size`, `fresh_thread_on_restart`, and for nested supervisors and
//! pools `intensity` and `abandon_after`, for nested supervisors `strategy`)
//! plus the application's own `capacity` and `pool_size`; `[supervisor]`
//! is the root's own `strategy`, `intensity` and `abandon_after`.
//!
//! # Which child a table names
//!
//! `NAME` is a declared child's path below the root supervisor
//! (`"db/reader"`: the child `reader` of the nested supervisor `db`; quote
//! it, TOML keys take no `/` bare), or just its name when no other declared
//! child has that name. A name that matches no declared child, or several,
//! is an error naming the file, the line and the candidates; so is a key
//! that does not apply to the kind of child named (`pool_size` on a server,
//! `capacity` on a thread, `intensity` on a server). Children added at run
//! time are not declared: the file does not name them.
//!
//! # Durations
//!
//! Durations are written as people write them: `"250ms"`, `"5s"`, `"1m"`,
//! `"1h 30m"`, `"2days"` (what the `humantime` crate reads). For the
//! program's own settings, [`HumanDuration`] reads the same spelling, with
//! the same errors:
//!
//! ```
//! use std::time::Duration;
//! use serde::Deserialize;
//! use threadbutler::config::{Config, HumanDuration};
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     poll: HumanDuration,
//! }
//!
//! let config = Config::parse("[app]\npoll = \"1m 30s\"\n", "app.toml")?;
//! let s: Settings = config.app_config()?.expect("the file has [app]");
//! assert_eq!(s.poll.0, Duration::from_secs(90));
//!
//! let bad = Config::parse("[app]\npoll = \"soon\"\n", "app.toml")?;
//! let err = bad.app_config::<Settings>().err().expect("not a duration");
//! assert_eq!(err.line, Some(2));
//! assert!(err.message.contains("expected a duration like"));
//! # Ok::<(), threadbutler::config::ConfigError>(())
//! ```
//!
//! # Bounds
//!
//! Every number has an upper bound, checked at load: a value outside it
//! fails the load with the file, the line, the key and the bound
//! (`app.toml:7: servers.db.capacity: a bounded capacity must be at most
//! 1048576 messages ...`), so that no value makes the program panic or
//! allocate gigabytes when it starts. The same bounds hold for the values a
//! program gives in code (`.capacity(..)`, `.pool(name, n, ..)`, durations):
//! [`ButlerBuilder::start`](crate::ButlerBuilder::start) refuses them with
//! [`Error::Config`](crate::Error::Config), before anything starts.
//!
//! | key | bound | why |
//! |---|---|---|
//! | `capacity` | 1 to [`Capacity::MAX_BOUNDED`](crate::Capacity::MAX_BOUNDED) = 1 048 576 messages, or `"unbounded"`; its slots at most [`Capacity::MAX_BOUNDED_BYTES`](crate::Capacity::MAX_BOUNDED_BYTES) = 256 MiB, checked at `start` (it depends on the message type) | a bounded mailbox allocates every slot (the message plus a stamp) when it is created: 24 MiB for 1 Mi 16-byte messages |
//! | `pool_size` | 1 to [`MAX_POOL_SIZE`](crate::MAX_POOL_SIZE) = 1024 | each worker is a thread |
//! | every duration (`heartbeat`, `start_timeout`, `shutdown.drain`, `backoff.min`/`max`/`reset_after`, `intensity.period`, `abandon_after`) | [`Policy::MAX_DURATION`] = 365 days (`heartbeat`, `start_timeout` and `intensity.period` also above zero) | `Instant + d` must not overflow; a deadline a year away already means "never" |
//! | `intensity.max_restarts` | [`Policy::MAX_RESTARTS`] = 100 000 | the restart window keeps one instant per restart |
//! | `stack_size` | 1 to [`Policy::MAX_STACK_SIZE`] = 1 GiB | a thread's stack is reserved when it is spawned |
//! | `backoff.jitter` | 0 to 1 | a fraction of the delay |
//! | `log.output.max_files` | 1 to [`MAX_LOG_FILES`] = 10 000 | |
//!
//! # Paths
//!
//! A relative path in the file is relative to the file's directory, not to
//! the working directory: `log.output.dir` is resolved so at load. For the
//! program's own paths, [`Config::resolve_path`] does the same:
//!
//! ```
//! use std::path::Path;
//! use threadbutler::config::Config;
//!
//! let config = Config::parse("[app]\nsocket = \"run/app.sock\"\n", "/etc/app/app.toml")?;
//! assert_eq!(config.dir(), Some(Path::new("/etc/app")));
//! assert_eq!(config.resolve_path("run/app.sock"), Path::new("/etc/app/run/app.sock"));
//! assert_eq!(config.resolve_path("/run/app.sock"), Path::new("/run/app.sock"));
//! # Ok::<(), threadbutler::config::ConfigError>(())
//! ```
//!
//! # The program's own settings
//!
//! One table is the program's: `[app]`. The framework does not read it;
//! [`Config::app_config`] deserializes it into the program's own type with
//! the same file-and-line errors, so a daemon's socket path or output file
//! lives in the same file as its policies. At a reload (SIGHUP) the hook
//! given to [`ButlerBuilder::on_reload`](crate::ButlerBuilder::on_reload)
//! gets the new [`Config`], and
//! [`on_reload_app`](crate::ButlerBuilder::on_reload_app) the new `[app]`
//! table as the program's type.
//!
//! # Errors
//!
//! Nothing half-loads. An unknown key, a value of the wrong type, a bad
//! duration, a value above its bound and an impossible policy (backoff
//! `max` below `min`, a zero period, heartbeat or capacity, jitter outside
//! `[0, 1]`) all fail the load with a [`ConfigError`] naming the file, the
//! line and the key, and saying what was expected. At a reload (SIGHUP),
//! any such error, or a name that matches no child, is logged and nothing
//! changes.

mod error;
mod log;
mod server;
mod source;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

pub use self::error::ConfigError;
pub(crate) use self::error::{key_name, line_of};
pub use self::log::{LogConfig, LogFormat, LogOutput, MAX_LOG_FILES, Rotation, StreamName};
#[cfg(feature = "logging")]
pub(crate) use self::log::{check_max_files, check_prefix};
pub use self::server::{CapacityConfig, ServerConfig};
pub use threadbutler_supervisor::HumanDuration;
use threadbutler_supervisor::Policy;

use self::source::Source;
use crate::servers::pool::check_pool_size;

/// The whole file.
///
/// Programs hand the file to
/// [`ButlerBuilder::config_file`](crate::ButlerBuilder::config_file);
/// reading it directly:
///
/// ```
/// use std::time::Duration;
/// use threadbutler::config::{Config, ConfigError};
/// use threadbutler::Strategy;
///
/// let text = "[supervisor]\nstrategy = \"one_for_all\"\n\n[servers.db]\nheartbeat = \"2s\"\n";
/// let config = Config::parse(text, "app.toml")?;
/// assert_eq!(config.supervisor.strategy, Some(Strategy::OneForAll));
/// let db = config.server("db").expect("the file has [servers.db]");
/// assert_eq!(db.policy.heartbeat, Some(Duration::from_secs(2)));
/// assert!(db.policy.restart.is_none()); // left out: the code's value stands
/// assert_eq!(config.server_line("db", text), Some(4));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Config {
    /// The root supervisor's own policies (`[supervisor]`).
    pub supervisor: Policy,
    /// Per-child policies, by the name or path the file gives.
    pub servers: BTreeMap<String, Spanned<ServerConfig>>,
    /// Logging, read by [`crate::logging::init`].
    pub log: LogConfig,
    /// The program's own settings, left for it to read with
    /// [`Config::app_section`]: the framework only checks that it is a table.
    pub app: Option<toml::Table>,
    /// Where `[supervisor]` begins in the text, if the file has it.
    supervisor_at: Option<usize>,
    /// The file, its directory and its text; none for `Config::default()`.
    source: Option<Source>,
}

/// The top-level tables; `supervisor` and `servers` are read apart, as
/// policies, so that their errors keep their places.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tables {
    #[serde(default, rename = "supervisor")]
    _supervisor: Option<IgnoredAny>,
    #[serde(default, rename = "servers")]
    _servers: Option<BTreeMap<String, IgnoredAny>>,
    #[serde(default)]
    log: LogConfig,
    #[serde(default)]
    app: Option<toml::Table>,
}

/// The parsed document, for errors: the text, the file, the key tree.
struct Doc<'a> {
    text: &'a str,
    file: &'a Path,
    keys: &'a DeTable<'a>,
}

impl Doc<'_> {
    /// Reads one value of the document as `T`.
    fn read<T: DeserializeOwned>(&self, v: Spanned<DeValue<'_>>) -> Result<T, ConfigError> {
        let span = v.span();
        T::deserialize(ValueDeserializer::from(v)).map_err(|e| self.error(&e, span))
    }

    fn error(&self, e: &toml::de::Error, at: Range<usize>) -> ConfigError {
        ConfigError::from_toml(e, self.text, self.file, Some(self.keys), Some(at))
    }

    /// One `[servers.NAME]` table: `capacity` and `pool_size` are the
    /// application's keys, everything else the child's [`Policy`].
    fn server(&self, name: &str, v: &Spanned<DeValue<'_>>) -> Result<ServerConfig, ConfigError> {
        let DeValue::Table(table) = v.get_ref() else {
            // Read as a policy, it is refused as what it is.
            return self
                .read::<Policy>(v.clone())
                .map(|_| ServerConfig::default());
        };
        // `[servers.db.reader]` is a table inside `[servers.db]`, not the
        // child `reader` of `db`: say how to write that.
        let nested = table.iter().find(|(k, v)| {
            matches!(v.get_ref(), DeValue::Table(_))
                && !["shutdown", "backoff", "intensity"].contains(&k.get_ref().as_ref())
        });
        if let Some((k, v)) = nested {
            let path = format!("{name}/{}", k.get_ref());
            return Err(ConfigError {
                file: self.file.to_owned(),
                line: Some(line_of(self.text, v.span().start)),
                key: Some(format!(
                    "servers.{}.{}",
                    key_name(name),
                    key_name(k.get_ref())
                )),
                message: format!(
                    "a table inside a child's table; to name a nested child, quote its path: [servers.{}]",
                    key_name(&path)
                ),
            });
        }
        let mut table = table.clone();
        let capacity = table.remove("capacity").map(|c| self.read(c)).transpose()?;
        let pool_size = match table.remove("pool_size") {
            Some(p) => {
                let span = p.span();
                let n = self.read::<usize>(p)?;
                Some(check_pool_size(n).map_err(|message| ConfigError {
                    file: self.file.to_owned(),
                    line: Some(line_of(self.text, span.start)),
                    key: Some(format!("servers.{}.pool_size", key_name(name))),
                    message,
                })?)
            }
            None => None,
        };
        let policy = self.read(Spanned::new(v.span(), DeValue::Table(table)))?;
        Ok(ServerConfig {
            policy,
            capacity,
            pool_size,
        })
    }
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::whole(path, format!("cannot read the file: {e}")))?;
        Self::parse(&text, path)
    }

    /// Parses and checks `text`, reporting errors against `file`.
    ///
    /// ```
    /// use threadbutler::config::Config;
    ///
    /// let err = Config::parse("[servers.db]\nheartbeat = \"soon\"\n", "app.toml").unwrap_err();
    /// assert_eq!(err.line, Some(2));
    /// assert_eq!(err.key.as_deref(), Some("servers.db.heartbeat"));
    /// assert!(err.to_string().starts_with("app.toml:2"));
    /// assert!(err.message.contains("expected a duration"));
    /// ```
    ///
    /// # Errors
    ///
    /// See [`load`](Self::load).
    pub fn parse(text: &str, file: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let file = file.as_ref();
        let doc =
            DeTable::parse(text).map_err(|e| ConfigError::from_toml(&e, text, file, None, None))?;
        let keys = doc.get_ref();
        let d = Doc { text, file, keys };
        let tables = Tables::deserialize(toml::de::Deserializer::from(doc.clone()))
            .map_err(|e| d.error(&e, doc.span()))?;
        let source = Source::new(file, text);
        let mut config = Config {
            log: log_config(tables.log, keys, text, &source),
            app: tables.app,
            source: Some(source),
            ..Config::default()
        };
        if let Some(v) = keys.get("supervisor") {
            config.supervisor_at = Some(v.span().start);
            config.supervisor = d.read(v.clone())?;
        }
        if let Some(DeValue::Table(servers)) = keys.get("servers").map(Spanned::get_ref) {
            for (name, v) in servers.iter() {
                let server = d.server(name.get_ref(), v)?;
                config
                    .servers
                    .insert(name.get_ref().to_string(), Spanned::new(v.span(), server));
            }
        }
        Ok(config)
    }

    /// Deserializes the `[app]` table of `text` into the program's own
    /// settings type, without reading the rest of the file (see
    /// [`app_config`](Self::app_config) for a loaded config); `None` when
    /// the text has no `[app]` table.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use threadbutler::config::Config;
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
    /// # Ok::<(), threadbutler::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError`] with the file, the line and what was expected, for
    /// bad TOML or an `[app]` table that `T` does not accept.
    pub fn app_section<T: DeserializeOwned>(
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
                key: Some("app".into()),
                ..ConfigError::from_toml(&e, text, file.as_ref(), None, None)
            })
    }

    /// The program's own settings: this config's `[app]` table
    /// deserialized into `T`, with the file-and-line errors of the rest of
    /// the file; `None` when the file has no `[app]` table (or for
    /// `Config::default()`, which stands for no file). Give `T`
    /// `#[serde(deny_unknown_fields)]` so that a misspelled key is an
    /// error rather than a silent default.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use threadbutler::config::Config;
    ///
    /// #[derive(Deserialize)]
    /// #[serde(deny_unknown_fields)]
    /// struct Settings {
    ///     socket: String,
    /// }
    ///
    /// let config = Config::parse("[app]\nsocket = \"/run/db.sock\"\n", "db.toml")?;
    /// let s: Settings = config.app_config()?.expect("the file has [app]");
    /// assert_eq!(s.socket, "/run/db.sock");
    /// assert!(Config::default().app_config::<Settings>()?.is_none());
    /// # Ok::<(), threadbutler::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError`] with the file, the line and what was expected, for
    /// an `[app]` table that `T` does not accept.
    pub fn app_config<T: DeserializeOwned>(&self) -> Result<Option<T>, ConfigError> {
        match &self.source {
            Some(s) => Self::app_section(&s.text, &s.file),
            None => Ok(None),
        }
    }

    /// The file this config was read from (as the program named it); `None`
    /// for `Config::default()`.
    pub fn file(&self) -> Option<&Path> {
        self.source.as_ref().map(|s| s.file.as_path())
    }

    /// The file made absolute when it was read: what a reload reads again.
    pub(crate) fn absolute_file(&self) -> Option<&Path> {
        self.source.as_ref().map(|s| s.absolute.as_path())
    }

    /// The directory of the file, made absolute when it was read: what the
    /// relative paths in it are relative to. `None` for
    /// `Config::default()`.
    pub fn dir(&self) -> Option<&Path> {
        self.source.as_ref().map(|s| s.dir.as_path())
    }

    /// `path` as the file means it: relative to the file's directory, unless
    /// it is absolute (see [Paths](self#paths)). Without a file, `path` as
    /// it is (relative to the working directory).
    pub fn resolve_path(&self, path: impl AsRef<Path>) -> PathBuf {
        match &self.source {
            Some(s) => s.resolve(path.as_ref()),
            None => path.as_ref().to_owned(),
        }
    }

    /// The text the config was parsed from (empty without a file).
    pub(crate) fn text(&self) -> &str {
        self.source.as_ref().map_or("", |s| &s.text)
    }

    /// The table given for `name` (as the file writes it), if any.
    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.get(name).map(Spanned::get_ref)
    }

    /// The line of the table for `name` in `text` (the text it was parsed
    /// from), for errors found after the load.
    pub fn server_line(&self, name: &str, text: &str) -> Option<usize> {
        self.servers
            .get(name)
            .map(|s| line_of(text, s.span().start))
    }

    /// The line of `[supervisor]` in `text`, if the file has it.
    pub(crate) fn supervisor_line(&self, text: &str) -> Option<usize> {
        self.supervisor_at.map(|at| line_of(text, at))
    }
}

/// The `[log]` table as read, with its directory resolved against the
/// file's and the places of the keys whose errors come later.
fn log_config(mut log: LogConfig, keys: &DeTable<'_>, text: &str, source: &Source) -> LogConfig {
    let table = match keys.get("log").map(Spanned::get_ref) {
        Some(DeValue::Table(t)) => Some(t),
        _ => None,
    };
    let line = |key: &str| {
        table
            .and_then(|t| t.get(key))
            .map(|v| line_of(text, v.span().start))
    };
    log.set_origin(self::log::Origin {
        file: Some(source.file.clone()),
        level: line("level"),
        output: line("output"),
    });
    if let Some(LogOutput::Files { dir, .. }) = &mut log.output {
        *dir = source.resolve(dir);
    }
    log
}

#[cfg(test)]
mod tests;
