//! How a child is asked to stop.

use std::time::Duration;

use crate::StopMode;

/// How a child stops when it is asked to.
///
/// - `Drain(timeout)`: its mailbox is closed to new sends, it handles what is
///   already queued, then runs its stop hook. If it has not finished within
///   `timeout`, the stop is escalated to `Immediate` and what is left is
///   dead-lettered.
/// - `Immediate`: it finishes the message in hand, skips the queue (which is
///   dead-lettered) and runs its stop hook.
///
/// With the `serde` feature it reads as `{ drain = "5s" }` or
/// `"immediate"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Shutdown {
    /// Handle what is queued, for at most this long.
    Drain(
        #[cfg_attr(
            feature = "serde",
            serde(deserialize_with = "crate::policy::de::duration")
        )]
        Duration,
    ),
    /// Skip the queue.
    Immediate,
}

impl Shutdown {
    /// The stop mode this shutdown starts with.
    pub fn mode(self) -> StopMode {
        match self {
            Shutdown::Drain(_) => StopMode::Drain,
            Shutdown::Immediate => StopMode::Immediate,
        }
    }

    /// How long the drain may take; zero for `Immediate`.
    pub fn drain_timeout(self) -> Duration {
        match self {
            Shutdown::Drain(d) => d,
            Shutdown::Immediate => Duration::ZERO,
        }
    }
}

impl Default for Shutdown {
    /// `Drain(5s)`.
    fn default() -> Self {
        Shutdown::Drain(Duration::from_secs(5))
    }
}
