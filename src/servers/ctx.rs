//! [`Ctx`]: a sync server's view of itself, passed to every hook, and its
//! receive calls.
//!
//! What every server context holds, and the accessors a `Ctx` shares with
//! an async server's, are in `ctx_base.rs`; the receive path its calls run
//! is in `receive.rs`; the default loop, which needs the [`Server`]
//! trait, is beside that trait in `server.rs`, so that this file does not
//! import it.
//!
//! [`Server`]: crate::Server

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use threadbutler_supervisor::Stage;

use crate::data::mailbox::MailboxCore;
use crate::data::message::Endpoint;
use crate::servers::ctx_base::{CtxBase, ctx_base_accessors};
use crate::servers::reader::Next;
use crate::servers::receive::{Ticker, Wait};

/// Why [`Ctx::try_recv`] returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing is queued.
    Empty,
    /// The server was asked to stop (and, for a drain, the queue is empty):
    /// return from `run`.
    Stopped,
}

/// Why [`Ctx::recv_timeout`] returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvTimeoutError {
    /// Nothing arrived in time.
    Timeout,
    /// The server was asked to stop (and, for a drain, the queue is empty):
    /// return from `run`.
    Stopped,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "the mailbox is empty",
            TryRecvError::Stopped => "the server was asked to stop",
        })
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvTimeoutError::Timeout => "no message within the timeout",
            RecvTimeoutError::Stopped => "the server was asked to stop",
        })
    }
}

impl std::error::Error for TryRecvError {}
impl std::error::Error for RecvTimeoutError {}

/// A server's handle on itself and the hub, passed to every hook.
///
/// ```
/// use threadbutler::prelude::*;
/// # pub struct Hello;
/// # pub struct Quit;
/// # pub struct Greeting(pub String);
/// # pub struct Greeter;
/// # pub struct Main;
/// # threadbutler::messages! { pub enum GreeterMsg for Greeter { Hello, Quit } }
/// # threadbutler::messages! { pub enum MainMsg for Main { Greeting } }
///
/// impl Server for Greeter {
///     fn handle(&mut self, msg: GreeterMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
///         match msg {
///             // The hub reaches every other mailbox; the name is this server's.
///             GreeterMsg::Hello(Hello) => ctx.hub().send(Greeting(format!("hi from {}", ctx.name())))?,
///             GreeterMsg::Quit(Quit) => ctx.stop(), // after this handler, as a normal exit
///         }
///         Ok(())
///     }
/// }
///
/// let hub = Hub::new();
/// let mut main = hub.client::<Main>("main")?;
/// hub.spawn("greeter", || Greeter)?;
/// hub.send(Hello)?;
/// let MainMsg::Greeting(Greeting(text)) = main.recv();
/// assert_eq!(text, "hi from greeter");
/// hub.send(Quit)?;
/// let report = hub.join("greeter")?;
/// assert!(matches!(report.reason, Some(ExitReason::Normal)));
/// hub.shutdown()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct Ctx<S: Endpoint> {
    base: CtxBase<S>,
    ticker: Option<Ticker>,
}

impl<S: Endpoint> Ctx<S> {
    pub(crate) fn new(base: CtxBase<S>) -> Self {
        Ctx { base, ticker: None }
    }

    ctx_base_accessors!(S);

    /// Records progress inside a long handler, so the heartbeat watchdog does
    /// not take it for hung. One store; call it as often as you like.
    #[inline]
    pub fn beat(&mut self) {
        self.base.reader.beat();
    }

    /// Waits for the next message. `None` means stop: return from `run`.
    /// During a drain it returns what is queued, then `None`.
    pub fn recv(&mut self) -> Option<S::Msg> {
        match self.next(Wait::Until(None), false) {
            Next::Msg(m) => Some(m),
            _ => None,
        }
    }

    /// Takes the next message if one is queued.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if none is, [`TryRecvError::Stopped`] when
    /// the server should return from `run`.
    pub fn try_recv(&mut self) -> Result<S::Msg, TryRecvError> {
        match self.next(Wait::No, false) {
            Next::Msg(m) => Ok(m),
            Next::Empty | Next::Tick => Err(TryRecvError::Empty),
            Next::Stop => Err(TryRecvError::Stopped),
        }
    }

    /// Waits at most `timeout` for the next message.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if none came,
    /// [`RecvTimeoutError::Stopped`] when the server should return from `run`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<S::Msg, RecvTimeoutError> {
        let deadline = Instant::now().checked_add(timeout);
        match self.next(Wait::Until(deadline), false) {
            Next::Msg(m) => Ok(m),
            Next::Empty | Next::Tick => Err(RecvTimeoutError::Timeout),
            Next::Stop => Err(RecvTimeoutError::Stopped),
        }
    }

    /// The receive path (`receive.rs`), with ticks when `ticks` (the
    /// default loop) and the server has a tick interval.
    #[inline]
    pub(crate) fn next(&mut self, wait: Wait, ticks: bool) -> Next<S::Msg> {
        self.base.reader.next(&mut self.ticker, ticks, wait)
    }

    /// Ticks every `interval` from now on (the default loop delivers them).
    pub(crate) fn start_ticks(&mut self, interval: Duration) {
        self.ticker = Some(Ticker::new(interval));
    }

    /// A tick is being handled.
    pub(crate) fn begin_tick(&mut self) {
        self.base.reader.set_stage(Stage::Tick);
    }

    /// Marks the end of a tick as progress.
    pub(crate) fn finish_tick(&mut self) {
        self.base.reader.finish_tick();
    }

    /// The mailbox this server reads.
    pub(crate) fn core(&self) -> &Arc<MailboxCore<S::Msg>> {
        &self.base.core
    }

    /// The message received and not finished, if any; it is no longer in
    /// hand (a task pool dead-letters a task that panicked).
    pub(crate) fn take_in_flight(&mut self) -> Option<&'static str> {
        self.base.reader.take_in_flight()
    }

    /// What the life runner reads and settles.
    pub(crate) fn base(&mut self) -> &mut CtxBase<S> {
        &mut self.base
    }
}

impl<S: Endpoint> fmt::Debug for Ctx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("name", &self.base.name)
            .field("id", &self.base.id)
            .field("handled", &self.base.reader.handled())
            .field("stage", &self.base.reader.stage())
            .finish_non_exhaustive()
    }
}
