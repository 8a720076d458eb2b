//! The crate's error types (send and request errors live with their
//! operations, in `send_error` and `reply`).

use std::fmt;
use std::io;

use crate::data::reply::RequestError;
use crate::data::send_error::{SendError, SendTimeoutError, TrySendError};
use threadbutler_supervisor::ExitReason;

/// Why a server (or client mailbox) could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpawnError {
    /// A live mailbox already has this name.
    NameTaken {
        /// The name.
        name: String,
    },
    /// A bounded capacity of 0, above
    /// [`Capacity::MAX_BOUNDED`](crate::Capacity::MAX_BOUNDED), or whose
    /// slots would take more than
    /// [`Capacity::MAX_BOUNDED_BYTES`](crate::Capacity::MAX_BOUNDED_BYTES)
    /// for this mailbox's message type, was asked for.
    InvalidCapacity {
        /// The server's name.
        name: String,
        /// What was expected, and what was found.
        reason: String,
    },
    /// The hub is shutting down and starts nothing new.
    ShuttingDown {
        /// The server's name.
        name: String,
    },
    /// The application the hub belongs to is still starting: a server
    /// cannot be added to its tree until `start` returned.
    NotStarted {
        /// The server's name.
        name: String,
    },
    /// The OS refused to create the thread.
    Thread {
        /// The server's name.
        name: String,
        /// The OS error.
        source: io::Error,
    },
    /// The factory or `on_start` failed.
    StartFailed {
        /// The server's name.
        name: String,
        /// How it failed.
        reason: ExitReason,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::NameTaken { name } => write!(f, "a mailbox named {name:?} already exists"),
            SpawnError::InvalidCapacity { name, reason } => {
                write!(f, "mailbox {name:?}: {reason}")
            }
            SpawnError::ShuttingDown { name } => {
                write!(f, "server {name:?} not started: the hub is shutting down")
            }
            SpawnError::NotStarted { name } => {
                write!(
                    f,
                    "server {name:?} not started: the application is still starting"
                )
            }
            SpawnError::Thread { name, source } => {
                write!(f, "server {name:?}: could not spawn its thread: {source}")
            }
            SpawnError::StartFailed { name, reason } => {
                write!(f, "server {name:?} failed to start: {reason}")
            }
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Thread { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Any threadbutler error, for `?` in functions that mix operations.
///
/// Converting a send or request error into this type drops the message it
/// carried (it is named in the error); match on the specific error instead
/// where the message must be kept.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::Error;
/// # pub struct Note;
/// # pub struct Main;
/// # threadbutler::messages! { pub enum MainMsg for Main { Note } }
///
/// // A misdeclared application does not start: no restart fits in no time.
/// let err = Butler::builder("app")
///     .intensity(1, std::time::Duration::ZERO)
///     .start()
///     .expect_err("a zero period");
/// assert!(matches!(err, Error::Config { .. }));
/// assert_eq!(err.exit_code(), 78); // EX_CONFIG: a restart will not fix it
///
/// // `?` turns any operation's error into this one.
/// fn notify(hub: &Hub) -> Result<(), Error> {
///     hub.send(Note)?;
///     Ok(())
/// }
/// let err = notify(&Hub::new()).expect_err("nothing takes Note");
/// assert!(matches!(err, Error::Send { .. }));
/// assert_eq!(err.exit_code(), 1);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Starting a server failed.
    Spawn(SpawnError),
    /// No server (or supervisor, for the supervision calls) has this name.
    UnknownServer {
        /// The name asked for.
        name: String,
    },
    /// A send failed; the message was dropped by the conversion.
    Send {
        /// The message's type.
        message_type: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// A request got no answer.
    Request {
        /// The request message's type.
        message_type: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The call would wait for the calling server itself to stop.
    WouldDeadlock,
    /// The application was declared wrong (a misused builder, an invalid
    /// policy); nothing was started.
    Config {
        /// What is wrong.
        detail: String,
    },
    /// The supervision tree did not start; the reason names the child
    /// (`ChildStartFailed`) and its failure.
    Start {
        /// Why.
        reason: ExitReason,
    },
    /// The supervision tree ended in failure (it gave up).
    Failed {
        /// Why.
        reason: ExitReason,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn(e) => e.fmt(f),
            Error::UnknownServer { name } => write!(f, "no server or supervisor is named {name:?}"),
            Error::Send {
                message_type,
                detail,
            } => write!(f, "sending {message_type}: {detail}"),
            Error::Request {
                message_type,
                detail,
            } => write!(f, "request {message_type}: {detail}"),
            Error::WouldDeadlock => f.write_str(
                "a server cannot wait for itself to stop; use request_shutdown or ctx.stop",
            ),
            Error::Config { detail } => write!(f, "invalid configuration: {detail}"),
            Error::Start { reason } => write!(f, "the application did not start: {reason}"),
            Error::Failed { reason } => write!(f, "the application failed: {reason}"),
        }
    }
}

impl Error {
    /// The process exit code this error calls for, never 0: 78
    /// (`EX_CONFIG` from `sysexits.h`) for a bad configuration, which a
    /// restart will not fix; 1 for everything else (the tree gave up, a
    /// start failed), so that a service manager restarts the process.
    pub fn exit_code(&self) -> i32 {
        match self {
            // A capacity out of bounds is configuration too, also when only
            // the message type's size shows it (at start).
            Error::Config { .. } | Error::Spawn(SpawnError::InvalidCapacity { .. }) => 78,
            _ => 1,
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SpawnError> for Error {
    fn from(e: SpawnError) -> Self {
        Error::Spawn(e)
    }
}

macro_rules! send_into_error {
    ($($ty:ident => $variant:ident),+) => {$(
        impl<M> From<$ty<M>> for Error {
            fn from(e: $ty<M>) -> Self {
                Error::$variant {
                    message_type: std::any::type_name::<M>(),
                    detail: e.to_string(),
                }
            }
        }
    )+};
}

send_into_error!(SendError => Send, TrySendError => Send, SendTimeoutError => Send, RequestError => Request);
