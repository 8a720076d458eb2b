//! [`Ctx`]: a server's view of itself, and the receive loop under every
//! server loop.
//!
//! # The receive path
//!
//! Per message: one load of the stop state, one `try_recv`, and the
//! bookkeeping of the message before (one store each to the handled counter
//! and the heartbeat). When the mailbox is empty the server first looks again
//! for a few microseconds (spinning, then yielding, as crossbeam's `recv`
//! does); only then does it block,
//! in a select over the mailbox and the stop signal's wake channel (and the
//! next tick's deadline), with its heartbeat marked idle. No clock is read per
//! message.
//!
//! # Stop priority
//!
//! A stop request is seen before the next message is taken: `Immediate`
//! stops after the message in hand, `Drain` goes on taking messages until the
//! queue is empty. See `docs/runtime-semantics.md`, "Stopping".

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, TryRecvError as ChanTryRecv};
use threadbutler_supervisor::heartbeat::HeartbeatWriter;
use threadbutler_supervisor::{BoxError, Stage, StartNotice, StopMode, StopSignal};

use crate::Hub;
use crate::address::Address;
use crate::counters::HandledCounter;
use crate::mailbox::MailboxCore;
use crate::message::Message;
use crate::server::Server;
use crate::spin::{SPIN_STEPS, pause};

/// How often, in messages, a busy tick loop reads the clock.
const TICK_CHECK_EVERY: u32 = 64;

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

/// `t + d`, or far in the future when that overflows.
fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(t)
}

/// What the receive path produced.
pub(crate) enum Next<M> {
    Msg(M),
    Tick,
    Stop,
    /// Nothing by the deadline (or nothing now, when not waiting).
    Empty,
}

#[derive(Clone, Copy)]
enum Wait {
    No,
    Until(Option<Instant>),
}

struct Ticker {
    interval: Duration,
    next: Instant,
    countdown: u32,
}

impl Ticker {
    fn fire(&mut self, now: Instant) {
        self.next = after(self.next, self.interval);
        if self.next <= now {
            // Fell behind: skip the missed ticks rather than burst.
            self.next = after(now, self.interval);
        }
    }
}

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
/// assert!(matches!(report.outcome, Outcome::Exited(ExitReason::Normal)));
/// hub.shutdown()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct Ctx<S: Server> {
    name: Arc<str>,
    id: u64,
    hub: Hub,
    core: Arc<MailboxCore<S::Msg>>,
    rx: Receiver<S::Msg>,
    stop: Arc<StopSignal>,
    heartbeat: HeartbeatWriter,
    counter: Arc<HandledCounter>,
    handled: u64,
    in_flight: Option<&'static str>,
    stage: Stage,
    stopped_itself: bool,
    ticker: Option<Ticker>,
    request_timeout: Duration,
    /// A start notice nobody waits on, given at the first convenient moment
    /// (see `StartNotice::may_defer`).
    deferred_start: Option<StartNotice>,
}

impl<S: Server> Ctx<S> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: Arc<str>,
        id: u64,
        hub: Hub,
        core: Arc<MailboxCore<S::Msg>>,
        stop: Arc<StopSignal>,
        heartbeat: HeartbeatWriter,
        request_timeout: Duration,
    ) -> Self {
        let rx = core.receiver();
        let counter = core.register_reader();
        Ctx {
            name,
            id,
            hub,
            core,
            rx,
            stop,
            heartbeat,
            counter,
            handled: 0,
            in_flight: None,
            stage: Stage::Init,
            stopped_itself: false,
            ticker: None,
            request_timeout,
            deferred_start: None,
        }
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This instance's id, unique in the process; a restarted server gets a
    /// new one. Log fields call it `id`.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The hub, to send to other servers.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// This server's own address.
    pub fn address(&self) -> Address<S> {
        Address::new(Arc::clone(&self.core), self.request_timeout)
    }

    /// Records progress inside a long handler, so the heartbeat watchdog does
    /// not take it for hung. One store; call it as often as you like.
    #[inline]
    pub fn beat(&mut self) {
        self.heartbeat.bump();
        if self.deferred_start.is_some() {
            self.give_start_notice();
        }
    }

    /// Stops this server after the current handler returns (ThreadButler's
    /// kill from inside). It ends with [`ExitReason::Normal`](crate::ExitReason::Normal):
    /// under a supervisor, a `Permanent` server is then restarted, a
    /// `Transient` or `Temporary` one is not. Without a supervisor, what is
    /// still queued is dead-lettered.
    pub fn stop(&mut self) {
        self.stopped_itself = true;
        self.stop.request(StopMode::Immediate);
    }

    /// True once this server was asked to stop, from outside or by
    /// [`stop`](Self::stop). A custom loop checks it between other work; the
    /// receive methods also report it.
    #[inline]
    pub fn should_stop(&self) -> bool {
        self.stop.is_requested()
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

    pub(crate) fn start_ticks(&mut self, interval: Duration) {
        self.ticker = Some(Ticker {
            interval,
            next: after(Instant::now(), interval),
            countdown: TICK_CHECK_EVERY,
        });
    }

    pub(crate) fn set_stage(&mut self, stage: Stage) {
        self.stage = stage;
    }

    pub(crate) fn stage(&self) -> Stage {
        self.stage
    }

    pub(crate) fn stopped_itself(&self) -> bool {
        self.stopped_itself
    }

    pub(crate) fn core(&self) -> &Arc<MailboxCore<S::Msg>> {
        &self.core
    }

    /// The message received and not finished when `run` ended, if any.
    pub(crate) fn take_in_flight(&mut self) -> Option<&'static str> {
        self.in_flight.take()
    }

    /// Counts the message in hand as handled.
    #[inline]
    pub(crate) fn finish_in_flight(&mut self) {
        if self.in_flight.take().is_some() {
            self.handled += 1;
            self.counter.publish(self.handled);
            self.heartbeat.bump();
            self.stage = Stage::Run;
            if self.deferred_start.is_some() {
                self.give_start_notice();
            }
        }
    }

    /// Gives the start notice now, or, if nobody waits on it, at the first
    /// convenient moment: after the first message, before the first wait
    /// for mail, or when the life ends.
    pub(crate) fn started(&mut self, mut notice: StartNotice) {
        if notice.may_defer() {
            self.deferred_start = Some(notice);
        } else {
            notice.give();
        }
    }

    /// Gives a deferred start notice, if one is pending.
    #[cold]
    pub(crate) fn give_start_notice(&mut self) {
        if let Some(mut n) = self.deferred_start.take() {
            n.give();
        }
    }

    /// Marks the end of a tick as progress.
    pub(crate) fn finish_tick(&mut self) {
        self.heartbeat.bump();
        self.stage = Stage::Run;
    }

    pub(crate) fn retire(&self) {
        self.core.retire_reader(&self.counter);
    }

    #[inline]
    fn begin(&mut self, msg: S::Msg) -> Next<S::Msg> {
        self.in_flight = Some(msg.type_name());
        self.stage = Stage::Handle;
        Next::Msg(msg)
    }

    /// The receive path; see the module docs.
    #[inline]
    fn next(&mut self, wait: Wait, ticks: bool) -> Next<S::Msg> {
        self.finish_in_flight();
        loop {
            match self.stop.mode() {
                None => {}
                Some(StopMode::Drain) => {
                    return match self.rx.try_recv() {
                        Ok(m) => self.begin(m),
                        Err(_) => Next::Stop,
                    };
                }
                Some(StopMode::Immediate) => return Next::Stop,
            }
            if ticks && let Some(t) = &mut self.ticker {
                t.countdown -= 1;
                if t.countdown == 0 {
                    t.countdown = TICK_CHECK_EVERY;
                    let now = Instant::now();
                    if now >= t.next {
                        t.fire(now);
                        return Next::Tick;
                    }
                }
            }
            match self.rx.try_recv() {
                Ok(m) => return self.begin(m),
                // The core holds a sender for as long as we hold it.
                Err(ChanTryRecv::Disconnected) => return Next::Stop,
                Err(ChanTryRecv::Empty) => {}
            }
            let until = match wait {
                Wait::No => {
                    // A loop that polls is at a convenient moment now.
                    if self.deferred_start.is_some() {
                        self.give_start_notice();
                    }
                    return Next::Empty;
                }
                Wait::Until(d) => d,
            };
            match self.spin() {
                Spun::Msg(m) => return self.begin(m),
                Spun::Signal => continue,
                Spun::Nothing => {}
            }
            let tick_at = if ticks {
                self.ticker.as_ref().map(|t| t.next)
            } else {
                None
            };
            let deadline = match (until, tick_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if self.deferred_start.is_some() {
                self.give_start_notice();
            }
            self.heartbeat.set_busy(false);
            let woke = self.block(deadline);
            self.heartbeat.set_busy(true);
            match woke {
                Woke::Msg(m) => return self.begin(m),
                Woke::Closed => return Next::Stop,
                Woke::Signal => continue,
                Woke::Deadline => {
                    let now = Instant::now();
                    if let (Some(t), Some(at)) = (self.ticker.as_mut(), tick_at)
                        && now >= at
                    {
                        t.fire(now);
                        t.countdown = TICK_CHECK_EVERY;
                        return Next::Tick;
                    }
                    if until.is_some_and(|u| now >= u) {
                        return Next::Empty;
                    }
                }
            }
        }
    }

    /// Before parking, looks again for a little while, the way crossbeam's
    /// own `recv` does: a message that is about to arrive usually arrives
    /// within a microsecond, and parking (a select, a futex wait and a
    /// wake-up) costs far more than that. About 130 spins, then four yields.
    fn spin(&self) -> Spun<S::Msg> {
        for step in 0..SPIN_STEPS {
            pause(step);
            if self.stop.is_requested() {
                return Spun::Signal;
            }
            if let Ok(m) = self.rx.try_recv() {
                return Spun::Msg(m);
            }
        }
        Spun::Nothing
    }

    fn block(&self, deadline: Option<Instant>) -> Woke<S::Msg> {
        let mut sel = Select::new();
        let mail = sel.recv(&self.rx);
        let signal = sel.recv(self.stop.waker());
        let op = match deadline {
            None => sel.select(),
            Some(d) => match sel.select_deadline(d) {
                Ok(op) => op,
                Err(_) => return Woke::Deadline,
            },
        };
        let i = op.index();
        if i == mail {
            match op.recv(&self.rx) {
                Ok(m) => Woke::Msg(m),
                Err(_) => Woke::Closed,
            }
        } else {
            debug_assert_eq!(i, signal);
            // The token only says "look at the state again".
            let _ = op.recv(self.stop.waker());
            Woke::Signal
        }
    }
}

enum Spun<M> {
    Msg(M),
    Signal,
    Nothing,
}

enum Woke<M> {
    Msg(M),
    Signal,
    Deadline,
    Closed,
}

impl<S: Server> fmt::Debug for Ctx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("handled", &self.handled)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
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
    /// assert!(matches!(report.outcome, Outcome::Exited(ExitReason::Shutdown)));
    /// assert_eq!(report.mailbox.handled, 2); // the setup message counts too
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
                    self.set_stage(Stage::Tick);
                    server.on_tick(self)?;
                    self.finish_tick();
                }
                Next::Stop => return Ok(()),
                Next::Empty => {}
            }
        }
    }
}
