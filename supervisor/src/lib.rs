//! The supervision engine behind [threadbutler], generic over children and
//! knowing nothing of messages.
//!
//! This crate holds the vocabulary a supervisor and its children share:
//!
//! - [`ExitReason`]: why a child ended, with the [`Stage`] it was in, and
//!   the [`ExitCell`] its thread leaves it in.
//! - [`Shutdown`]: how a child is asked to stop (`Drain(timeout)` or
//!   `Immediate`).
//! - [`StopSignal`]: the stop request itself, which reaches a child even
//!   when its mailbox is full or it is blocked waiting for one.
//! - [`heartbeat`]: the progress counter and busy flag a child publishes and a
//!   supervisor samples, at the cost of one uncontended store per message.
//! - [`Policy`]: every policy of a child or a supervisor (restart type,
//!   shutdown, heartbeat, backoff, strategy, intensity, ...) as one value
//!   with optional fields and one merge rule, laid over a [`ChildSpec`] or
//!   [`SupervisorSpec`] and given to a running supervisor by
//!   [`SupervisorRef::reconfigure`].
//!
//! # Features
//!
//! - `serde`: the policy types ([`Policy`], [`Restart`], [`Strategy`],
//!   [`Intensity`], [`Backoff`], [`Shutdown`]) deserialize from TOML-shaped
//!   data with human durations (`"250ms"`, `"5s"`; see `HumanDuration`),
//!   refusing unknown keys and impossible values; the status tree
//!   ([`StatusNode`]) serializes. The file format around them is the
//!   application's (`threadbutler::config`).
//!
//! - `signals` (default): [`signals`], the table of what each OS signal does,
//!   through `signal-hook`.
//! - `systemd` (default): [`notify`], the sd_notify protocol (`READY=1`,
//!   `STOPPING=1`, the watchdog), with std alone.
//!
//! Users normally depend on `threadbutler`, which re-exports what they need.
//!
//! ```
//! use threadbutler_supervisor::{ExitReason, Shutdown, Stage, StopSignal, StopMode};
//! use std::time::Duration;
//!
//! let stop = StopSignal::new();
//! assert_eq!(stop.mode(), None);
//! stop.request(Shutdown::Drain(Duration::from_secs(1)).mode());
//! assert_eq!(stop.mode(), Some(StopMode::Drain));
//!
//! let why = ExitReason::Panicked { stage: Stage::Handle, message: "boom".into() };
//! assert!(why.is_failure());
//! assert!(!ExitReason::Shutdown.is_failure());
//! ```
//!
//! [threadbutler]: https://docs.rs/threadbutler
#![forbid(unsafe_code)]
// docs.rs (nightly) marks each item with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

mod child;
mod clock;
mod engine;
mod event;
mod exit;
mod exit_cell;
mod fast_restart;
pub mod heartbeat;
#[cfg(feature = "systemd")]
pub mod notify;
mod panic;
mod policy;
mod shutdown;
#[cfg(feature = "signals")]
pub mod signals;
mod spec;
mod status;
mod stop;
mod supervisor_ref;
mod tree;
mod worker;

pub use child::{Child, ChildDetails, FnChild, Life, StartNotice, next_life_id};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use engine::{ChildCounts, ChildError, ChildInfo, ChildKind, RemoveReport};
pub use event::{Event, EventBus};
pub use exit::{BoxError, ExitReason, Stage};
pub use exit_cell::ExitCell;
pub use panic::panic_message;
#[cfg(feature = "serde")]
pub use policy::HumanDuration;
pub use policy::{
    Backoff, Intensity, InvalidBackoff, JitterRng, Policy, Restart, RestartWindow, Strategy,
};
pub use shutdown::Shutdown;
pub use spec::{ChildSpec, SupervisorSpec};
pub use status::{ChildState, StatusNode};
pub use stop::{StopIntent, StopMode, StopSignal};
pub use supervisor_ref::{AddChildError, SupervisorRef};
pub use tree::{Supervisor, SupervisorChild};
