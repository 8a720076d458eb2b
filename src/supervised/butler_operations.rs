//! [`ButlerBuilder`]'s settings for running as a service: OS signals, the
//! config file and its reloads, metrics, and the health endpoint, each
//! behind its feature (README, "Features"). The tree, the hub options and
//! the start are in `butler_builder.rs`.

#[cfg(feature = "config")]
use std::path::Path;
#[cfg(any(feature = "metrics", feature = "health-http"))]
use std::time::Duration;

#[cfg(feature = "config")]
use serde::de::DeserializeOwned;
#[cfg(feature = "config")]
use threadbutler_supervisor::BoxError;
#[cfg(feature = "signals")]
use threadbutler_supervisor::signals::Signals;

#[cfg(feature = "config")]
use crate::data::hub::Hub;
#[cfg(feature = "config")]
use crate::error::Error;
#[cfg(feature = "config")]
use crate::ops::config::Config;
#[cfg(feature = "health-http")]
use crate::ops::health_http::HealthAt;
use crate::supervised::butler_builder::ButlerBuilder;
#[cfg(feature = "config")]
use std::sync::Arc;

impl ButlerBuilder {
    /// Handles OS signals by `signals` (none by default):
    /// `Signals::graceful()` drains on SIGTERM and SIGINT (a second one
    /// forces), reloads on SIGHUP, logs the status tree on SIGUSR1 and stops
    /// immediately on SIGQUIT. See [`crate::operations`].
    #[cfg(feature = "signals")]
    pub fn signals(mut self, signals: Signals) -> Self {
        self.signals = signals;
        self
    }

    /// A hook called on reload (SIGHUP with `Signals::graceful()`, or
    /// [`Butler::reload`](crate::Butler::reload)), on the signal thread, with the hub and the new
    /// [`Config`]: the config file read again and resolved against the
    /// declared tree, so that the program reads its own `[app]` settings
    /// from it ([`Config::app_config`]).
    ///
    /// The order (runtime-semantics §12.3): the file is read and resolved
    /// first, and any error in it is logged with its file and line and
    /// changes nothing (the hook is not called); then the hook runs, and
    /// an `Err` from it (or a panic) refuses the new config: it is logged
    /// and nothing changes either (a [`ConfigError`](crate::config::ConfigError)
    /// is logged with its file and line); then the file's policies are
    /// applied. Without a config file, SIGHUP still calls the hook, with
    /// `Config::default()` (no file: [`Config::file`] is `None`, no
    /// `[app]` table). One hook: a later call (or
    /// [`on_reload_app`](Self::on_reload_app)) replaces it.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use threadbutler::prelude::*;
    /// use threadbutler::config::Config;
    ///
    /// #[derive(Deserialize)]
    /// struct Settings {
    ///     greeting: String,
    /// }
    ///
    /// let path = std::env::temp_dir().join(format!("on-reload-doc-{}.toml", std::process::id()));
    /// std::fs::write(&path, "[app]\ngreeting = \"hello\"\n")?;
    /// let (tx, seen) = crossbeam_channel::unbounded();
    /// let app = Butler::builder("app")
    ///     .config_file(&path)?
    ///     .on_reload(move |_hub: &Hub, config: &Config| {
    ///         let settings: Option<Settings> = config.app_config()?;
    ///         tx.send(settings.map(|s| s.greeting))?;
    ///         Ok(())
    ///     })
    ///     .start()?;
    /// std::fs::write(&path, "[app]\ngreeting = \"bonjour\"\n")?;
    /// app.reload();
    /// assert_eq!(seen.try_recv()?.as_deref(), Some("bonjour"));
    /// app.shutdown();
    /// app.wait()?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "config")]
    pub fn on_reload(
        mut self,
        hook: impl Fn(&Hub, &Config) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.reload = Some(Arc::new(hook));
        self
    }

    /// A typed [`on_reload`](Self::on_reload): at a reload, the new
    /// file's `[app]` table is deserialized into `T` and the hook gets it.
    /// A table that does not fit `T` is logged with its file and line and
    /// changes nothing (the hook is not called, no policy changes), as a
    /// bad file does. Without an `[app]` table, or without a config file,
    /// the hook gets `T::default()`. The hook may refuse the new settings
    /// with an `Err`: nothing changes then either.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use threadbutler::config::HumanDuration;
    /// use threadbutler::prelude::*;
    ///
    /// #[derive(Deserialize, Default)]
    /// #[serde(deny_unknown_fields)]
    /// struct Settings {
    ///     poll: Option<HumanDuration>,
    /// }
    ///
    /// let path = std::env::temp_dir().join(format!("on-reload-app-doc-{}.toml", std::process::id()));
    /// std::fs::write(&path, "[app]\npoll = \"1s\"\n")?;
    /// let (tx, polls) = crossbeam_channel::unbounded();
    /// let app = Butler::builder("app")
    ///     .config_file(&path)?
    ///     .on_reload_app(move |_hub: &Hub, s: Settings| {
    ///         tx.send(s.poll.map(|p| p.0))?; // hand it to the servers that poll
    ///         Ok(())
    ///     })
    ///     .start()?;
    /// std::fs::write(&path, "[app]\npoll = \"5s\"\n")?;
    /// app.reload();
    /// assert_eq!(polls.try_recv()?, Some(std::time::Duration::from_secs(5)));
    /// std::fs::write(&path, "[app]\npoll = \"soon\"\n")?;
    /// app.reload(); // logged with the file and line 2: nothing changes
    /// assert!(polls.try_recv().is_err(), "the hook was not called");
    /// app.shutdown();
    /// app.wait()?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "config")]
    pub fn on_reload_app<T, F>(self, hook: F) -> Self
    where
        T: DeserializeOwned + Default + 'static,
        F: Fn(&Hub, T) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        self.on_reload(move |hub: &Hub, config: &Config| {
            let settings = config.app_config::<T>()?.unwrap_or_default();
            hook(hub, settings)
        })
    }

    /// Exports metrics through the `metrics` facade (feature `metrics`):
    /// per mailbox accepted, handled, dead-lettered (by reason) and queued,
    /// read from the mailboxes' own counters every `interval`; per child
    /// restarts, exits by reason and heartbeat misses, and per supervisor
    /// give-ups, counted as they happen. Names and labels:
    /// [`crate::metrics`], and the table in docs/operations.md.
    ///
    /// The program installs the recorder (a Prometheus exporter, ...),
    /// before `start()` so that the metrics' descriptions reach it.
    /// Costs one wake-up per `interval` on a thread named
    /// `threadbutler-metrics`, nothing per message; the last figures are
    /// read when [`Butler::wait`](crate::Butler::wait) returns.
    ///
    /// ```
    /// use std::time::Duration;
    /// use threadbutler::prelude::*;
    /// # pub struct Ping;
    /// # threadbutler::messages! { pub enum WMsg for W { Ping } }
    /// # pub struct W;
    /// # impl Server for W {
    /// #     fn handle(&mut self, _: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    ///
    /// // metrics_exporter_prometheus::PrometheusBuilder::new().install()?; or any recorder
    /// let app = Butler::builder("app")
    ///     .metrics(Duration::from_secs(10))
    ///     .server("w", || W)
    ///     .start()?;
    /// app.hub().send(Ping)?;
    /// app.shutdown();
    /// app.wait()?;
    /// # Ok::<(), threadbutler::Error>(())
    /// ```
    ///
    /// `start()` fails with [`Error::Config`] for an interval shorter than
    /// [`metrics::MIN_INTERVAL`](crate::metrics::MIN_INTERVAL) (1 ms: see
    /// there why) or longer than
    /// [`Policy::MAX_DURATION`](crate::Policy::MAX_DURATION).
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, interval: Duration) -> Self {
        use crate::ops::metrics::MIN_INTERVAL;
        if interval < MIN_INTERVAL {
            self.tree.errors.push(format!(
                "the metrics interval must be at least {MIN_INTERVAL:?} (the exporter reads every interval), found {interval:?} (metrics())"
            ));
        }
        self.check_duration("metrics", interval);
        self.metrics = Some(interval);
        self
    }

    /// Answers HTTP health probes on `addr` (feature `health-http`):
    /// `GET /livez` and `GET /readyz` with 200 `ok`, or 503 and the
    /// [`HealthIssue`](crate::HealthIssue) in one line, from
    /// [`Butler::health`](crate::Butler::health). `addr` is what `TcpListener::bind` takes:
    /// `"0.0.0.0:8080"`, or `"127.0.0.1:0"` for a port the OS chooses
    /// ([`Butler::health_endpoint`](crate::Butler::health_endpoint) tells which). It listens from before
    /// the tree starts (`/readyz` says `starting` meanwhile) until
    /// [`Butler::wait`](crate::Butler::wait) returns. A thread named `threadbutler-health`
    /// accepts (it wakes only for a connection) and answers each
    /// connection on a short-lived thread of its own: at most 8 at once
    /// (one more gets `503 busy` at once), each given 300 ms to send its
    /// request, so a silent client cannot hold up a probe; `wait` cuts the
    /// open ones and returns without waiting for them. See
    /// docs/operations.md, "Health probes", for the limits and a
    /// Kubernetes manifest.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use threadbutler::prelude::*;
    /// # pub struct Ping;
    /// # threadbutler::messages! { pub enum WMsg for W { Ping } }
    /// # pub struct W;
    /// # impl Server for W {
    /// #     fn handle(&mut self, _: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    ///
    /// let app = Butler::builder("app")
    ///     .health_endpoint("127.0.0.1:0")
    ///     .server("w", || W)
    ///     .start()?;
    /// let addr = app.health_endpoint().expect("asked for");
    /// let mut probe = std::net::TcpStream::connect(addr)?;
    /// probe.write_all(b"GET /readyz HTTP/1.1\r\nHost: app\r\n\r\n")?;
    /// let mut answer = String::new();
    /// probe.read_to_string(&mut answer)?;
    /// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
    /// assert!(answer.ends_with("\r\n\r\nok\n"));
    /// app.shutdown();
    /// app.wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// `start()` fails with [`Error::Config`] for an address that does not
    /// resolve, and with [`Error::Start`] (nothing started) when it cannot
    /// listen there.
    #[cfg(feature = "health-http")]
    pub fn health_endpoint(mut self, addr: impl Into<String>) -> Self {
        self.health_endpoint = Some(HealthAt::Address(addr.into()));
        self
    }

    /// Answers HTTP health probes on `listener`, a std `TcpListener` the
    /// program bound itself (feature `health-http`); otherwise as
    /// [`health_endpoint`](Self::health_endpoint), and the last of the two
    /// called wins.
    ///
    /// The port is held from the program's own `bind` on: bind
    /// `"127.0.0.1:0"`, read `local_addr()` and hand the listener over, and
    /// no other process can take the port in between (as it can when a
    /// port is found free, let go, then asked for by its number). Also the
    /// way to serve a socket inherited from systemd socket activation or a
    /// parent process.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::{TcpListener, TcpStream};
    /// use threadbutler::prelude::*;
    /// # pub struct Ping;
    /// # threadbutler::messages! { pub enum WMsg for W { Ping } }
    /// # pub struct W;
    /// # impl Server for W {
    /// #     fn handle(&mut self, _: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
    /// # }
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?; // ours until the endpoint closes
    /// let app = Butler::builder("app")
    ///     .health_listener(listener)
    ///     .server("w", || W)
    ///     .start()?;
    /// assert_eq!(app.health_endpoint(), Some(addr));
    /// let mut probe = TcpStream::connect(addr)?;
    /// probe.write_all(b"GET /livez HTTP/1.1\r\nHost: app\r\n\r\n")?;
    /// let mut answer = String::new();
    /// probe.read_to_string(&mut answer)?;
    /// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
    /// app.shutdown();
    /// app.wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// `start()` fails with [`Error::Start`] (nothing started) when the
    /// listener's address cannot be read or it cannot be made blocking.
    #[cfg(feature = "health-http")]
    pub fn health_listener(mut self, listener: std::net::TcpListener) -> Self {
        self.health_endpoint = Some(HealthAt::Listener(listener));
        self
    }

    /// How long the health endpoint gives a client to send its request
    /// head, and again to take the answer (feature `health-http`); by
    /// default 300 ms, well below Kubernetes' default probe timeout of
    /// 1 s. A client that keeps a connection silent holds one of the
    /// endpoint's connection slots that long. From 10 ms to 60 s; outside
    /// that, `start()` fails with [`Error::Config`].
    #[cfg(feature = "health-http")]
    pub fn health_timeout(mut self, timeout: Duration) -> Self {
        self.health_timeout = Some(timeout);
        self
    }

    /// Reads policies from a TOML file (see [`crate::config`]): the root
    /// supervisor's, and each declared child's by its name or its path
    /// below the root (`"db/reader"`), overriding what the code declares.
    /// They are laid over the declaration at [`start`](Self::start),
    /// whatever the order of the calls; a reload (SIGHUP) reads the file
    /// again.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with the file, line, key and what was expected, for
    /// an unreadable file, an unknown key, a bad duration or an impossible
    /// policy. Nothing is started. A table that names no declared child (or
    /// several), or a key that does not apply to the child named, is the
    /// same error from [`start`](Self::start).
    #[cfg(feature = "config")]
    pub fn config_file(mut self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let config = Config::load(path.as_ref()).map_err(|e| Error::Config {
            detail: e.to_string(),
        })?;
        self.config = Some(config);
        Ok(self)
    }

    /// The config file loaded by [`config_file`](Self::config_file), if
    /// any: its `[log]` table is what [`crate::logging::init`] takes.
    #[cfg(feature = "config")]
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    /// The program's own settings: the config file's `[app]` table
    /// deserialized into `T` (see [`Config::app_config`]);
    /// `None` without a file or without the table.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use threadbutler::Butler;
    ///
    /// #[derive(Deserialize)]
    /// #[serde(deny_unknown_fields)]
    /// struct Settings {
    ///     socket: String,
    /// }
    ///
    /// let path = std::env::temp_dir().join(format!("app-config-doc-{}.toml", std::process::id()));
    /// std::fs::write(&path, "[app]\nsocket = \"/run/app.sock\"\n")?;
    /// let builder = Butler::builder("app").config_file(&path)?;
    /// let settings: Option<Settings> = builder.app_config()?;
    /// assert_eq!(settings.map(|s| s.socket).as_deref(), Some("/run/app.sock"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with the file and line when the table does not fit
    /// `T`.
    #[cfg(feature = "config")]
    pub fn app_config<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        let Some(config) = &self.config else {
            return Ok(None);
        };
        config.app_config().map_err(|e| Error::Config {
            detail: e.to_string(),
        })
    }
}
