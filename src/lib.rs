//! threadbutler: supervised server threads with typed mailboxes.
//!
//! A **server** is a thread that lives as long as the program, with one
//! typed mailbox. Mailboxes belong to the **hub**, which routes each message
//! by its type to the one server that accepts it. Servers start in order,
//! stop in reverse order, fail without taking the program down, and never
//! lose a message silently: what is not handled is a **dead letter** with a
//! reason.
//!
//! # A server in five steps
//!
//! ```
//! use threadbutler::prelude::*;
//!
//! // 1. Message types: plain structs of your own.
//! pub struct Add(pub u64);
//! pub struct Total(pub Reply<u64>);
//!
//! // 2. The server's message enum; the type alone decides where it goes.
//! threadbutler::messages! { pub enum CounterMsg for Counter { Add, Total } }
//!
//! // 3. The server's state.
//! #[derive(Default)]
//! pub struct Counter { sum: u64 }
//!
//! // 4. Its handlers.
//! impl Server for Counter {
//!     fn handle(&mut self, msg: CounterMsg, _ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
//!         match msg {
//!             CounterMsg::Add(Add(n)) => self.sum += n,
//!             CounterMsg::Total(Total(reply)) => reply.send(self.sum),
//!         }
//!         Ok(())
//!     }
//! }
//!
//! // 5. A hub, the server on it, messages, and an orderly stop.
//! let hub = Hub::new();
//! let counter = hub.spawn("counter", Counter::default)?;   // factory: rebuilt on restart
//! hub.send(Add(5))?;                                      // routed by type
//! counter.send(Add(2))?;                                  // or straight to the address
//! assert_eq!(hub.request(Total)?, 7);                     // request/reply with a timeout
//! let report = hub.shutdown()?;                           // drains, reverse start order
//! assert!(report.is_clean());
//! # Ok::<(), threadbutler::Error>(())
//! ```
//!
//! # Nothing is lost
//!
//! A send that is not accepted gives the message back in its error
//! ([`TrySendError::Full`], [`SendError::Closed`], ...). An accepted message
//! is handled or dead-lettered, and the counters show it:
//!
//! ```
//! use threadbutler::prelude::*;
//! use std::time::Duration;
//!
//! pub struct Job(pub u32);
//! pub struct Worker;
//! threadbutler::messages! { pub enum WorkerMsg for Worker { Job } }
//! impl Server for Worker {
//!     fn handle(&mut self, msg: WorkerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
//!         let WorkerMsg::Job(Job(n)) = msg;
//!         if n == 3 { panic!("job 3 is cursed") }
//!         Ok(())
//!     }
//! }
//!
//! let (dead_tx, dead_rx) = crossbeam_channel::unbounded();
//! let hub = Hub::builder("jobs").on_dead_letter(move |d| { let _ = dead_tx.send(d); }).build();
//! let worker = hub.spawn("worker", || Worker)?;
//! for n in 1..=5 {
//!     let _ = worker.send(Job(n)); // after the panic the mailbox is closed
//! }
//! let report = hub.join("worker")?; // ended: nothing restarts it
//! assert!(matches!(report.reason, Some(ExitReason::Panicked { .. })));
//! let first = dead_rx.recv_timeout(Duration::from_secs(5)).unwrap();
//! assert_eq!(first.message_type, "Job");
//! assert!(matches!(first.reason, DeadReason::InFlight(_)));
//! let s = report.mailbox.expect("a server has a mailbox");
//! assert_eq!(s.accepted, s.handled + s.dead_lettered);
//! # Ok::<(), threadbutler::Error>(())
//! ```
//!
//! # Supervised
//!
//! [`Butler`] runs the same servers under an Erlang/OTP-style supervision
//! tree: restart types and strategies, restart intensity with escalation,
//! backoff, heartbeats, nested supervisors, pools, signals, systemd and
//! config files. See [`ButlerBuilder`] for a complete example, and the
//! [`operations`] module for running as a daemon.
//!
//! # Where things are
//!
//! - Messages and routing: [`messages!`](crate::messages), [`Address`], [`Hub`].
//! - Servers: [`Server`], [`Ctx`]; clients: [`Client`].
//! - Supervision: [`Butler`], [`Policy`] ([`Restart`], [`Strategy`],
//!   [`Backoff`], [`Shutdown`], ...), [`Event`], [`StatusNode`].
//! - Pools and tasks: [`ButlerBuilder::pool`], [`task`].
//! - Operations: [`Signals`], [`config`], [`logging`], [`operations`],
//!   [`Butler::health`].
//!
//! The guarantees are stated in `docs/runtime-semantics.md`.
#![forbid(unsafe_code)]
// docs.rs (nightly) marks each item with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
// The docs link to the optional parts (signals, config, logging, ...);
// with a part compiled out its links have nothing to point to. docs.rs
// builds every feature, so there every link resolves.
#![cfg_attr(
    not(all(
        feature = "config",
        feature = "logging",
        feature = "signals",
        feature = "systemd",
        feature = "metrics",
        feature = "health-http",
        feature = "async"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

mod data;
mod error;
mod ops;
mod servers;
mod supervised;

pub use data::async_request;
#[cfg(feature = "config")]
pub use ops::config;
#[cfg(feature = "logging")]
pub use ops::logging;
#[cfg(feature = "metrics")]
pub use ops::metrics;
pub use ops::operations;
#[cfg(feature = "async")]
pub use servers::async_server;
pub use servers::task;

pub mod prelude;

pub use data::address::Address;
pub use data::client::{Client, ClientOptions};
pub use data::counters::MailboxStats;
pub use data::dead_letter::{DeadLetter, DeadReason};
pub use data::hub::{Hub, HubBuilder};
pub use data::mailbox::{Capacity, WakeFn};
#[doc(hidden)]
pub use data::message::EachMessageTypeIsListedByOneEndpointOnly;
pub use data::message::{Endpoint, Message, Routed};
pub use data::reply::{Reply, RequestError};
pub use data::send_error::{NoRoute, SendError, SendTimeoutError, TrySendError};
pub use error::{Error, SpawnError};
pub use ops::health::{Health, HealthIssue};
pub use servers::ctx::{Ctx, RecvTimeoutError, TryRecvError};
pub use servers::pool::MAX_POOL_SIZE;
pub use servers::server::Server;
pub use supervised::butler::Butler;
pub use supervised::butler_builder::ButlerBuilder;
pub use supervised::child_options::ChildOptions;
pub use supervised::child_scope::ChildScope;
pub use supervised::report::{Report, UNCLEAN_EXIT};
pub use supervised::spawn::ServerBuilder;
pub use supervised::stop_report::StopReport;
pub use supervised::tree_builder::SupervisorBuilder;
pub use threadbutler_supervisor::heartbeat::HeartbeatSample;
#[cfg(feature = "signals")]
pub use threadbutler_supervisor::signals::{SignalAction, Signals};
pub use threadbutler_supervisor::{
    Backoff, BoxError, ChildCounts, ChildError, ChildInfo, ChildKind, ChildState, Clock, Event,
    ExitReason, Intensity, Life, ManualClock, Policy, Restart, Shutdown, Stage, StatusNode,
    StopMode, Strategy, SupervisorRef, SystemClock,
};

/// The README's example is compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
