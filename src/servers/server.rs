//! The [`Server`] trait: what a server thread runs, and its default loop
//! ([`Ctx::default_loop`]), which calls the trait's hooks.

use std::time::Duration;

use crate::data::message::Endpoint;
use crate::servers::ctx::Ctx;
use crate::servers::reader::Next;
use crate::servers::receive::Wait;
use threadbutler_supervisor::{BoxError, ExitReason};

/// A long-lived server: one thread, one mailbox, handlers for its messages.
///
/// Its message type comes from [`messages!`](crate::messages), which
/// implements [`Endpoint`] for it. A server is built on its own thread by a
/// factory closure, on every (re)start, so it need not be `Send`: it may own
/// thread-bound resources.
///
/// # Lifecycle
///
/// 1. the factory builds it (a factory declared with `try_*`, such as
///    [`Hub::try_spawn`](crate::Hub::try_spawn), may refuse with an `Err`:
///    a failed start);
/// 2. [`on_start`](Server::on_start) (ThreadButler's startUp event): an `Err`
///    or panic here is a failed start, and `on_stop` is not called;
/// 3. [`run`](Server::run): by default the blocking loop, which calls
///    [`handle`](Server::handle) for each message (and
///    [`on_tick`](Server::on_tick) every [`tick_interval`](Server::tick_interval)
///    if it has one) until a stop request;
/// 4. [`on_stop`](Server::on_stop) (the shutDown event) with the reason.
///
/// A panic or `Err` anywhere ends the server with an [`ExitReason`] holding
/// the panic text or error; the message in flight is dead-lettered. The
/// program goes on.
///
/// # Loops
///
/// - Default: don't override `run`.
/// - Tick: override `tick_interval` and `on_tick` for periodic work. Ticks
///   come no earlier than the interval; under a steady stream of messages the
///   clock is checked every 64 messages, so a tick may come up to 64 messages
///   late (the data path reads no clock per message).
/// - Custom: override `run` and own the loop, reading the mailbox with
///   [`Ctx::recv`], [`Ctx::try_recv`] or [`Ctx::recv_timeout`] and checking
///   [`Ctx::should_stop`] between other work. A custom `run` may end by
///   calling [`Ctx::default_loop`], handing over to the default loop (for
///   setup work that reads a few messages first).
///
/// ```
/// use threadbutler::prelude::*;
///
/// pub struct Add(pub u64);
/// pub struct Total(pub Reply<u64>);
/// threadbutler::messages! { pub enum CounterMsg for Counter { Add, Total } }
///
/// #[derive(Default)]
/// pub struct Counter { sum: u64 }
///
/// impl Server for Counter {
///     fn handle(&mut self, msg: CounterMsg, _ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
///         match msg {
///             CounterMsg::Add(Add(n)) => self.sum += n,
///             CounterMsg::Total(Total(reply)) => reply.send(self.sum),
///         }
///         Ok(())
///     }
/// }
///
/// let hub = Hub::new();
/// hub.spawn("counter", Counter::default)?;
/// hub.send(Add(2))?;
/// hub.send(Add(3))?;
/// assert_eq!(hub.request(Total)?, 5);
/// hub.shutdown()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub trait Server: Endpoint + Sized {
    /// Handles one message.
    ///
    /// # Errors
    ///
    /// An `Err` ends the server with [`ExitReason::Failed`]; the message is
    /// counted as a dead letter, never retried.
    fn handle(&mut self, msg: Self::Msg, ctx: &mut Ctx<Self>) -> Result<(), BoxError>;

    /// Runs once on the server's thread before the first message.
    ///
    /// # Errors
    ///
    /// An `Err` is a failed start: the server never runs.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// Runs once when the server ends after a successful start, whatever the
    /// reason, on its own thread. A panic here is caught and logged; it turns
    /// a non-failure exit into a failure.
    fn on_stop(&mut self, reason: &ExitReason, ctx: &mut Ctx<Self>) {
        let _ = (reason, ctx);
    }

    /// How often the default loop calls [`on_tick`](Server::on_tick); `None`
    /// (the default) for never. Read once, after `on_start`.
    fn tick_interval(&self) -> Option<Duration> {
        None
    }

    /// Periodic work; see [`tick_interval`](Server::tick_interval).
    ///
    /// # Errors
    ///
    /// An `Err` ends the server with [`ExitReason::Failed`].
    fn on_tick(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// The server loop. The default receives messages and calls `handle`
    /// (and `on_tick`) until asked to stop: [`Ctx::default_loop`]. Override
    /// it to own the loop; an override may call `ctx.default_loop(self)` to
    /// hand control back once its own work is done.
    ///
    /// # Errors
    ///
    /// An `Err` ends the server with [`ExitReason::Failed`]; the message
    /// last received and not yet finished is dead-lettered.
    fn run(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        ctx.default_loop(self)
    }
}

impl<S: Server> Ctx<S> {
    /// Runs the default server loop, the one [`Server::run`] runs unless
    /// overridden: [`handle`](Server::handle) for each message and
    /// [`on_tick`](Server::on_tick) when one is due, until the server is to
    /// stop, with the same stop and drain rules (runtime-semantics §5.3,
    /// §6). A custom `run` calls it to hand control back once its own work
    /// is done, for example after reading a few messages itself:
    ///
    /// ```
    /// use threadbutler::prelude::*;
    ///
    /// pub struct Setup(pub String);
    /// pub struct Greet(pub Reply<String>);
    /// threadbutler::messages! { pub enum GreeterMsg for Greeter { Setup, Greet } }
    ///
    /// #[derive(Default)]
    /// pub struct Greeter { greeting: String }
    ///
    /// impl Server for Greeter {
    ///     fn run(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
    ///         // Nothing is served before the setup message.
    ///         match ctx.recv() {
    ///             Some(GreeterMsg::Setup(Setup(greeting))) => self.greeting = greeting,
    ///             Some(_) => return Err("the first message must be Setup".into()),
    ///             None => return Ok(()), // asked to stop before it came
    ///         }
    ///         ctx.default_loop(self) // from here on, as if `run` were not overridden
    ///     }
    ///
    ///     fn handle(&mut self, msg: GreeterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
    ///         match msg {
    ///             GreeterMsg::Setup(_) => return Err("set up twice".into()),
    ///             GreeterMsg::Greet(Greet(reply)) => reply.send(self.greeting.clone()),
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let hub = Hub::new();
    /// let greeter = hub.spawn("greeter", Greeter::default)?;
    /// greeter.send(Setup("hello".into()))?;
    /// assert_eq!(greeter.request(Greet)?, "hello");
    /// let report = hub.stop("greeter")?;
    /// assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
    /// assert_eq!(report.mailbox.map(|m| m.handled), Some(2)); // the setup message counts too
    /// # Ok::<(), threadbutler::Error>(())
    /// ```
    ///
    /// The message the custom part received last counts as handled when
    /// the loop takes its next one, as with any receive call. Ticks are due
    /// from `on_start` on, but only this loop delivers them: one that fell
    /// due while the custom part ran comes once the loop is running, and
    /// the ones missed are skipped.
    ///
    /// # Errors
    ///
    /// The first `Err` of `handle` or `on_tick`; return it from `run`, as
    /// the default `run` does. `Ok(())` means the server is to stop.
    pub fn default_loop(&mut self, server: &mut S) -> Result<(), BoxError> {
        loop {
            match self.next(Wait::Until(None), true) {
                Next::Msg(m) => server.handle(m, self)?,
                Next::Tick => {
                    self.begin_tick();
                    server.on_tick(self)?;
                    self.finish_tick();
                }
                Next::Stop => return Ok(()),
                Next::Empty => {}
            }
        }
    }
}
