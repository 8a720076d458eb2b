//! One call to set up logging: human or JSON lines, to standard error or to
//! rolling files, filtered by `RUST_LOG` or the config's level.
//!
//! ```no_run
//! use threadbutler::logging;
//! use threadbutler::config::LogConfig;
//!
//! let guard = logging::init("counterd", &LogConfig::default())?; // stderr, human, "info"
//! tracing::info!("up");
//! drop(guard); // flushes what is buffered
//! # Ok::<(), threadbutler::Error>(())
//! ```
//!
//! File output goes through `tracing-appender`'s non-blocking writer: a
//! thread writes the lines, so a server never waits on the disk. Its buffer
//! is flushed when the returned [`LogGuard`] is dropped or
//! [`flush`](LogGuard::flush)ed: keep the guard alive in `main`, and flush it
//! before `std::process::exit` (which runs no destructors).
//! [`Report::exit_flushing`](crate::Report::exit_flushing) flushes the guard
//! it is given, then exits.
//!
//! # What is logged
//!
//! At INFO a healthy run says little: one line when a
//! [`Butler`](crate::Butler)'s tree has started ("started N servers in T",
//! with `app`, `servers`, `supervisors` and `elapsed_ms`), one when the
//! root's shutdown began, and one when the application has stopped
//! ("stopped: exit CODE, WHY, WHAT WAS LEFT", with `app`, `exit_code`,
//! `reason`, `reason_kind`, `abandoned`, `given_up`, `dead_letters` and
//! `queued`; WARN when the exit code is not 0), besides the operations'
//! own lines (a signal by name, `signal = "SIGHUP"`; a reload; the status
//! tree on SIGUSR1, one event per node with its fields).
//!
//! Each child's own lifecycle (starting, started, exited normally, drained
//! with nothing left, stopped; a nested supervisor's shutdown; a client
//! mailbox registered or dropped) is DEBUG: see it with
//! `RUST_LOG=info,threadbutler=debug` (the filter's `threadbutler` also
//! covers `threadbutler_supervisor`) or `level = "info,threadbutler=debug"`
//! in the config. What goes wrong stays WARN or ERROR: a failed exit, a
//! restart, a missed heartbeat, a give-up, an abandoned child, a drain that
//! left work, a drain deadline passed. Dead letters are aggregated per
//! mailbox and reason: the first of an interval of 10 s in full, the rest as
//! one "N more dead letters" line when the interval is over or the mailbox
//! ends.
//!
//! # Panics
//!
//! `init` also installs a panic hook that logs every panic as one ERROR
//! event, "panicked", with `thread`, `panic` (its message), `location` and,
//! when `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE` enables it, `backtrace`,
//! through the subscriber set up here (so a JSON log file gets it as a JSON
//! line); the default hook's text on standard error is not printed as well.
//! A server's panic is still caught at its boundary and becomes
//! `ExitReason::Panicked` with its message.

use std::fmt;
use std::io::Write;
use std::path::Path;

use crate::ops::config::{
    LogConfig, LogFormat, LogOutput, Rotation, check_max_files, check_prefix,
};
use crate::ops::log_retention::Retained;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation as AppenderRotation};
use tracing_subscriber::EnvFilter;

use crate::error::Error;

/// Keeps the log writer alive; dropping it flushes buffered lines.
#[must_use = "dropping the guard stops file logging; keep it alive in main"]
pub struct LogGuard {
    worker: Option<WorkerGuard>,
}

impl LogGuard {
    /// Flushes buffered lines and stops the writer thread (file output).
    pub fn flush(mut self) {
        self.worker.take();
    }
}

impl fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogGuard")
            .field("buffered", &self.worker.is_some())
            .finish()
    }
}

fn filter(config: &LogConfig) -> Result<EnvFilter, Error> {
    if let Ok(env) = std::env::var("RUST_LOG")
        && !env.trim().is_empty()
    {
        return EnvFilter::try_new(&env).map_err(|e| Error::Config {
            detail: format!("RUST_LOG: {e}"),
        });
    }
    let level = config.level.as_deref().unwrap_or("info");
    // A file's level was checked at load; one set in code is checked here.
    EnvFilter::try_new(level).map_err(|e| Error::Config {
        detail: format!("{}log.level {level:?}: {e}", config.level_origin()),
    })
}

/// Installs the global `tracing` subscriber described by `config`.
/// `app` names the log files when the config gives no prefix.
/// It also installs the panic hook of the module docs (replacing any hook
/// set before).
///
/// # Errors
///
/// [`Error::Config`] for a bad level filter, a log directory that cannot be
/// created, or when a global subscriber is already installed.
pub fn init(app: &str, config: &LogConfig) -> Result<LogGuard, Error> {
    // Before the log directory is made or pruned: a second setup touches
    // no file.
    if tracing::dispatcher::has_been_set() {
        return Err(Error::Config {
            detail: "logging is already set up: a global subscriber is installed".into(),
        });
    }
    let filter = filter(config)?;
    let json = config.format == Some(LogFormat::Json);
    let (writer, worker) = match &config.output {
        None | Some(LogOutput::Stream(_)) => {
            let (w, g) = tracing_appender::non_blocking(std::io::stderr());
            (w, g)
        }
        Some(LogOutput::Files {
            dir,
            rotation,
            prefix,
            max_files,
        }) => {
            let prefix = prefix.as_deref().unwrap_or(app);
            let appender = rolling(config, dir, *rotation, prefix, *max_files)?;
            tracing_appender::non_blocking(appender)
        }
    };
    let to_file = matches!(config.output, Some(LogOutput::Files { .. }));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(!to_file && !json && colour_wanted())
        .with_thread_names(true);
    let installed = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    installed.map_err(|e| Error::Config {
        detail: format!("logging is already set up: {e}"),
    })?;
    crate::ops::panic_log::install();
    Ok(LogGuard {
        worker: Some(worker),
    })
}

/// Colour only on a terminal, and never with `NO_COLOR` set (journald and
/// pipes get plain text).
fn colour_wanted() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// The rolling files in `dir`, keeping the newest `max_files`
/// (`log_retention`); errors name the config file and line `config` set
/// the output at.
fn rolling(
    config: &LogConfig,
    dir: &Path,
    rotation: Rotation,
    prefix: &str,
    max_files: Option<usize>,
) -> Result<Box<dyn Write + Send>, Error> {
    let refused = |e: &dyn fmt::Display| Error::Config {
        detail: format!(
            "{}log.output.dir {}: {e}",
            config.output_origin(),
            dir.display()
        ),
    };
    // A file's values were checked at load; ones set in code are checked here.
    check_prefix(prefix).map_err(|e| Error::Config {
        detail: format!("{}log.output.prefix: {e}", config.output_origin()),
    })?;
    if let Some(n) = max_files {
        check_max_files(n, rotation).map_err(|e| Error::Config {
            detail: format!("{}log.output.max_files: {e}", config.output_origin()),
        })?;
    }
    crate::ops::log_dir::prepare(dir).map_err(|e| refused(&e))?;
    let appender_rotation = match rotation {
        Rotation::Daily => AppenderRotation::DAILY,
        Rotation::Hourly => AppenderRotation::HOURLY,
        Rotation::Never => AppenderRotation::NEVER,
    };
    let appender = RollingFileAppender::builder()
        .rotation(appender_rotation)
        .filename_prefix(prefix)
        .build(dir)
        .map_err(|e| refused(&e))?;
    Ok(match max_files {
        Some(keep) => Box::new(Retained::new(appender, dir, prefix, rotation, keep)),
        None => Box::new(appender),
    })
}
