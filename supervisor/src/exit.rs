//! Why a child ended.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The error type hooks and handlers return: any error that can cross threads.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Where in its life a child was when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Building the child (the factory closure).
    Init,
    /// The start hook (`on_start`).
    Start,
    /// Handling a message.
    Handle,
    /// The periodic hook (`on_tick`).
    Tick,
    /// A custom loop, outside any message.
    Run,
    /// The stop hook (`on_stop`).
    Stop,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Init => "init",
            Stage::Start => "on_start",
            Stage::Handle => "handle",
            Stage::Tick => "on_tick",
            Stage::Run => "run",
            Stage::Stop => "on_stop",
        })
    }
}

/// Why a child ended.
///
/// [`is_failure`](ExitReason::is_failure) decides restarts: a `Transient`
/// child is restarted only after a failure. Every restart by policy counts
/// towards its supervisor's restart intensity.
///
/// ```
/// use threadbutler_supervisor::{ExitReason, Restart, Stage};
///
/// // What a handler's `Err` becomes.
/// let why = ExitReason::failed(Stage::Handle, "disk full".into());
/// assert!(why.is_failure());
/// assert!(Restart::Transient.restarts_after(why.is_failure()));
/// assert_eq!(why.kind(), "failed");
/// assert_eq!(why.to_string(), "handle failed: disk full");
/// match &why {
///     ExitReason::Failed { stage, error } => {
///         assert_eq!(*stage, Stage::Handle);
///         assert_eq!(error.to_string(), "disk full");
///     }
///     other => panic!("not a failure: {other}"),
/// }
/// // A child that stopped itself is not a failure: only `Permanent` restarts it.
/// assert!(!Restart::Transient.restarts_after(ExitReason::Normal.is_failure()));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ExitReason {
    /// The child finished on its own: its loop returned, or it asked to stop
    /// from inside (`ctx.stop()`).
    Normal,
    /// The child stopped because it was asked to from outside (a stop or a
    /// shutdown through the API, a signal).
    Shutdown,
    /// A hook or handler returned an error.
    Failed {
        /// Where the error came from.
        stage: Stage,
        /// The error itself.
        error: Arc<dyn Error + Send + Sync + 'static>,
    },
    /// A hook or handler panicked.
    Panicked {
        /// Where the panic happened.
        stage: Stage,
        /// The panic's text (`"<non-string panic payload>"` when it had none).
        message: String,
    },
    /// The child was busy in one handler longer than its heartbeat timeout
    /// without making progress.
    HeartbeatMissed {
        /// The heartbeat timeout it missed.
        timeout: Duration,
    },
    /// A supervisor gave up: its children restarted more than its intensity
    /// allows. Its parent handles this like any child failure.
    GaveUp {
        /// The restarts allowed per period.
        max_restarts: u32,
        /// The period.
        period: Duration,
    },
    /// A supervisor could not start one of its children, so it did not start.
    ChildStartFailed {
        /// The child's path.
        child: Arc<str>,
        /// Why it failed.
        reason: Box<ExitReason>,
    },
}

impl ExitReason {
    /// Wraps a hook's error.
    pub fn failed(stage: Stage, error: BoxError) -> Self {
        ExitReason::Failed {
            stage,
            error: Arc::from(error),
        }
    }

    /// True for the reasons that count as a failure: `Failed`, `Panicked`,
    /// `HeartbeatMissed`, and a nested supervisor's `GaveUp` and
    /// `ChildStartFailed`.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            ExitReason::Failed { .. }
                | ExitReason::Panicked { .. }
                | ExitReason::HeartbeatMissed { .. }
                | ExitReason::GaveUp { .. }
                | ExitReason::ChildStartFailed { .. }
        )
    }

    /// A short lowercase name of the variant, for logs and status output.
    pub fn kind(&self) -> &'static str {
        match self {
            ExitReason::Normal => "normal",
            ExitReason::Shutdown => "shutdown",
            ExitReason::Failed { .. } => "failed",
            ExitReason::Panicked { .. } => "panicked",
            ExitReason::HeartbeatMissed { .. } => "heartbeat_missed",
            ExitReason::GaveUp { .. } => "gave_up",
            ExitReason::ChildStartFailed { .. } => "child_start_failed",
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal exit"),
            ExitReason::Shutdown => f.write_str("shut down on request"),
            ExitReason::Failed { stage, error } => write!(f, "{stage} failed: {error}"),
            ExitReason::Panicked { stage, message } => write!(f, "{stage} panicked: {message}"),
            ExitReason::HeartbeatMissed { timeout } => {
                write!(f, "no progress within the heartbeat timeout of {timeout:?}")
            }
            ExitReason::GaveUp {
                max_restarts,
                period,
            } => write!(
                f,
                "gave up: more than {max_restarts} restarts within {period:?}"
            ),
            ExitReason::ChildStartFailed { child, reason } => {
                write!(f, "child {child} failed to start: {reason}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_but_normal_and_shutdown_is_a_failure() {
        assert!(!ExitReason::Normal.is_failure());
        assert!(!ExitReason::Shutdown.is_failure());
        assert!(ExitReason::failed(Stage::Handle, "bad".into()).is_failure());
        assert!(
            ExitReason::HeartbeatMissed {
                timeout: Duration::from_secs(1)
            }
            .is_failure()
        );
        let gave_up = ExitReason::GaveUp {
            max_restarts: 3,
            period: Duration::from_secs(5),
        };
        assert!(gave_up.is_failure());
        assert!(
            ExitReason::ChildStartFailed {
                child: Arc::from("app/db"),
                reason: Box::new(gave_up),
            }
            .is_failure()
        );
    }

    #[test]
    fn display_names_the_stage_and_the_cause() {
        let r = ExitReason::failed(Stage::Start, "no database".into());
        assert_eq!(r.to_string(), "on_start failed: no database");
        let p = ExitReason::Panicked {
            stage: Stage::Handle,
            message: "boom".into(),
        };
        assert_eq!(p.to_string(), "handle panicked: boom");
    }
}
