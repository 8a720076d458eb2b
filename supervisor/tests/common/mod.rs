//! Shared helpers for the tests that run the engine in virtual time
//! (DESIGN rule 12): a tree on a [`ManualClock`], a child the test drives
//! life by life, and an event waiter that gives up after a real-time
//! [`PATIENCE`] so that a broken engine fails a test instead of hanging it.
//!
//! No helper sleeps. A negative check ("nothing happens while the clock
//! stands") first [`settle`](Vt::settle)s: two round trips through the
//! supervisor's loop, after which the loop has run a step that read the
//! clock as it stands and emitted whatever that step emits; only then does
//! it wait a short [`QUIET`] for a stray event.

// Each test file uses its own subset of the helpers.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, select, unbounded};
use threadbutler_supervisor::*;

/// How long, in real time, a test waits for something that must happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long, in real time, a negative check listens for a stray event
/// (after the engine settled, so this is belt and braces, not the proof).
pub const QUIET: Duration = Duration::from_millis(100);

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `f` on a helper thread and returns its result, or fails the test if
/// it has not returned within [`PATIENCE`]: for calls that block until the
/// engine answers (`Supervisor::start`, `terminate_child`, ...).
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = bounded(1);
    thread::Builder::new()
        .name(format!("test: {what}"))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn a helper thread");
    rx.recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("{what}: no answer within {PATIENCE:?} (the engine is stuck)"))
}

// ---------------------------------------------------------------------------
// Events

/// A subscription with a memory: what was received and not yet taken, and
/// everything seen (printed when a wait fails).
///
/// Events are taken in order per subject: taking one drops the earlier
/// events about the same subject that were not taken, and keeps the events
/// about other subjects (whose order relative to this one is not fixed).
pub struct Events {
    rx: Receiver<Event>,
    pending: VecDeque<Event>,
    seen: Vec<String>,
}

impl Events {
    /// Wraps a subscription.
    pub fn new(rx: Receiver<Event>) -> Self {
        Events {
            rx,
            pending: VecDeque::new(),
            seen: Vec::new(),
        }
    }

    fn receive(&mut self, e: Event) {
        self.seen.push(e.to_string());
        self.pending.push_back(e);
    }

    /// Every event seen so far (after taking what arrived), one a line.
    pub fn history_now(&mut self) -> String {
        while let Ok(e) = self.rx.try_recv() {
            self.receive(e);
        }
        self.history()
    }

    /// Every event seen so far, one a line.
    pub fn history(&self) -> String {
        self.seen.join("\n    ")
    }

    /// Waits for the next `kind` event about `subject`.
    pub fn take(&mut self, kind: &str, subject: &str) -> Event {
        self.take_where(subject, kind, |e| e.kind() == kind)
    }

    /// Waits for the next event about `subject` for which `pred` holds
    /// (`what` describes it in the failure message).
    pub fn take_where(
        &mut self,
        subject: &str,
        what: &str,
        pred: impl Fn(&Event) -> bool,
    ) -> Event {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found = self
                .pending
                .iter()
                .position(|e| e.subject() == subject && pred(e));
            if let Some(i) = found {
                let mut kept = VecDeque::with_capacity(self.pending.len());
                let mut hit = None;
                for (j, e) in self.pending.drain(..).enumerate() {
                    if j == i {
                        hit = Some(e);
                    } else if j > i || e.subject() != subject {
                        kept.push_back(e);
                    }
                }
                self.pending = kept;
                return hit.expect("found above");
            }
            match self.rx.recv_deadline(deadline) {
                Ok(e) => self.receive(e),
                Err(_) => panic!(
                    "no {what} {subject} within {PATIENCE:?}; events seen:\n    {}",
                    self.history()
                ),
            }
        }
    }

    /// The next `kind` event about `subject` if it already arrived.
    pub fn try_take(&mut self, kind: &str, subject: &str) -> Option<Event> {
        while let Ok(e) = self.rx.try_recv() {
            self.receive(e);
        }
        let arrived = self
            .pending
            .iter()
            .any(|e| e.subject() == subject && e.kind() == kind);
        arrived.then(|| self.take(kind, subject))
    }

    /// Fails if a `kind` event about `subject` is pending or arrives within
    /// [`QUIET`].
    pub fn assert_none(&mut self, kind: &str, subject: &str, context: &str) {
        let deadline = Instant::now() + QUIET;
        while let Ok(e) = self.rx.recv_deadline(deadline) {
            self.receive(e);
        }
        if let Some(e) = self
            .pending
            .iter()
            .find(|e| e.subject() == subject && e.kind() == kind)
        {
            panic!(
                "{context}: unexpected {e}; events seen:\n    {}",
                self.history()
            );
        }
    }
}

/// The `delay` of a `Restarting` event.
pub fn delay_of(e: &Event) -> Duration {
    match e {
        Event::Restarting { delay, .. } => *delay,
        other => panic!("not a Restarting event: {other}"),
    }
}

/// The `attempt` of a `Restarting` event.
pub fn attempt_of(e: &Event) -> u32 {
    match e {
        Event::Restarting { attempt, .. } => *attempt,
        other => panic!("not a Restarting event: {other}"),
    }
}

/// The life id of a `Starting`, `Started`, `Exited`, `HeartbeatMissed` or
/// `Abandoned` event.
pub fn id_of(e: &Event) -> u64 {
    match e {
        Event::Starting { id, .. }
        | Event::Started { id, .. }
        | Event::Exited { id, .. }
        | Event::HeartbeatMissed { id, .. }
        | Event::Abandoned { id, .. } => *id,
        other => panic!("no life id in {other}"),
    }
}

/// The reason of an `Exited` event.
pub fn reason_of(e: &Event) -> ExitReason {
    match e {
        Event::Exited { reason, .. } => reason.clone(),
        other => panic!("not an Exited event: {other}"),
    }
}

// ---------------------------------------------------------------------------
// A tree on a manual clock

/// The child [`Vt::settle`] asks to delete; no child has this name.
const NO_SUCH_CHILD: &str = "\u{0}settle: no such child";

/// How far [`Vt::start`] moves the clock once the tree started: every
/// deadline after that lies days ahead of real time, so an engine that
/// waited for real time to pass instead of for the clock to jump would
/// fail a test (at [`PATIENCE`]) rather than pass it slowly.
pub const EPOCH: Duration = Duration::from_secs(10 * 24 * 3600);

/// A tree whose control plane reads a [`ManualClock`].
pub struct Vt {
    /// The tree's clock.
    pub clock: Arc<ManualClock>,
    /// The clock's reading that [`now`](Self::now) counts from.
    epoch: Duration,
    /// The root.
    pub root: Supervisor,
    /// The root's handle.
    pub app: SupervisorRef,
    /// Every event since before the start.
    pub events: Events,
}

impl Vt {
    /// Starts `spec` on a new manual clock, subscribed before the start,
    /// then moves the clock by [`EPOCH`] (nothing is due then: no child
    /// failed yet, and a child that is idle is never hung).
    pub fn start(spec: SupervisorSpec) -> Vt {
        Vt::start_on(spec, Arc::new(ManualClock::new()), EventBus::new())
    }

    /// [`start`](Self::start) on a clock and a bus the test made (to tap
    /// the bus, say, on the engine's own thread).
    pub fn start_on(spec: SupervisorSpec, clock: Arc<ManualClock>, bus: EventBus) -> Vt {
        let spec = spec.clock(clock.clone());
        let events = Events::new(bus.subscribe());
        let root = within("Supervisor::start", move || Supervisor::start(spec, bus))
            .unwrap_or_else(|e| panic!("the tree did not start: {e}"));
        let app = root.root();
        let mut vt = Vt {
            clock,
            epoch: Duration::ZERO,
            root,
            app,
            events,
        };
        vt.advance(EPOCH);
        vt.epoch = vt.clock.elapsed();
        vt
    }

    /// Virtual time since the start (after the [`EPOCH`] jump).
    pub fn now(&self) -> Duration {
        self.clock.elapsed() - self.epoch
    }

    /// Returns once the root's loop has run a step that read the clock as
    /// it stands now (and emitted what that step emits): two requests
    /// answered by the loop, one after the other. Also fine while the root
    /// closes or after it ended (the requests are refused).
    pub fn settle(&self) {
        let app = self.app.clone();
        within("a round trip through the supervisor's loop", move || {
            for _ in 0..2 {
                let _ = app.delete_child(NO_SUCH_CHILD);
            }
        });
    }

    /// Moves the clock forward by `by` and waits until the root's loop has
    /// looked at it.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.settle();
    }

    /// Moves the clock forward to `t` after the start (it must not be past).
    pub fn advance_to(&self, t: Duration) {
        let now = self.now();
        assert!(t >= now, "the clock stands at {now:?}, past {t:?}");
        self.advance(t - now);
    }

    /// The state of the root's child `name`, as `which_children` says.
    pub fn state_of(&self, name: &str) -> ChildState {
        self.info(name).state
    }

    /// The root's child `name`, as `which_children` lists it.
    pub fn info(&self, name: &str) -> ChildInfo {
        self.app
            .which_children()
            .into_iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no child {name} in which_children"))
    }

    /// Asks for a shutdown and waits (at most [`PATIENCE`]) for the root.
    pub fn shutdown(&self) -> ExitReason {
        self.root.shutdown();
        self.wait()
    }

    /// Waits (at most [`PATIENCE`]) for the root to end.
    pub fn wait(&self) -> ExitReason {
        self.root
            .wait_timeout(PATIENCE)
            .unwrap_or_else(|| panic!("the root did not end within {PATIENCE:?}"))
    }
}

// ---------------------------------------------------------------------------
// A child the test drives

/// What the test tells the current life of a [`Puppet`].
enum Cmd {
    /// Return a failure.
    Fail,
    /// Return `Normal`.
    Exit,
    /// Set the heartbeat's busy flag.
    Busy(bool),
    /// Bump the heartbeat's progress.
    Beat,
    /// Busy without progress: set busy and block until released (deaf to
    /// stop requests meanwhile), then go on (or end if a stop came).
    Hang(Receiver<()>),
    /// When the stop comes, block until released before ending.
    IgnoreStop(Receiver<()>),
}

/// One life of a puppet, as it announced itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifeInfo {
    /// The life's id.
    pub id: u64,
    /// The thread it runs on.
    pub thread: ThreadId,
}

/// Keeps a hung life (or one ignoring its stop) blocked; dropping it (or
/// [`release`](Self::release)) lets the life go on.
#[must_use = "dropping a Hold releases the life at once"]
pub struct Hold(Sender<()>);

impl Hold {
    /// Lets the life go on.
    pub fn release(self) {}
}

/// The test's side of a child whose lives it drives: each life announces
/// itself, starts at once, idles (not busy) and does what it is told. It
/// ends with `Shutdown` when asked to stop, unless told to ignore the stop.
pub struct Puppet {
    cmds: Sender<(Cmd, Sender<u64>)>,
    lives: Receiver<LifeInfo>,
    stops: Receiver<u64>,
}

impl Puppet {
    /// A puppet and the child to put in a spec.
    pub fn new() -> (Puppet, FnChild) {
        let (cmd_tx, cmd_rx) = unbounded::<(Cmd, Sender<u64>)>();
        let (life_tx, life_rx) = unbounded();
        let (stop_tx, stop_rx) = unbounded();
        let child = FnChild::new(move |life| live(life, &cmd_rx, &life_tx, &stop_tx));
        (
            Puppet {
                cmds: cmd_tx,
                lives: life_rx,
                stops: stop_rx,
            },
            child,
        )
    }

    /// The next life that started running the child.
    pub fn next_life(&self) -> LifeInfo {
        self.lives
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no new life within {PATIENCE:?}"))
    }

    /// The id of the next life that saw its stop request (a hung life sees
    /// it only once released).
    pub fn next_stop(&self) -> u64 {
        self.stops
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no life saw a stop within {PATIENCE:?}"))
    }

    /// A life that started within `d`, if any.
    pub fn lives_within(&self, d: Duration) -> Option<LifeInfo> {
        self.lives.recv_timeout(d).ok()
    }

    /// The id of a life that saw its stop within `d`, if any.
    pub fn stops_within(&self, d: Duration) -> Option<u64> {
        self.stops.recv_timeout(d).ok()
    }

    /// Fails if a life started that was not taken with `next_life`.
    pub fn assert_no_new_life(&self) {
        if let Ok(l) = self.lives.try_recv() {
            panic!("an unexpected life started: {l:?}");
        }
    }

    /// Sends `cmd` to the running life; returns the id of the life that
    /// took it, once it did.
    fn command(&self, cmd: Cmd) -> u64 {
        let (ack_tx, ack_rx) = bounded(1);
        self.cmds
            .send((cmd, ack_tx))
            .expect("the child holds the receiver");
        ack_rx
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no life took the command within {PATIENCE:?}"))
    }

    /// The running life fails (`Failed` at stage `Run`); returns its id.
    pub fn fail(&self) -> u64 {
        self.command(Cmd::Fail)
    }

    /// The running life ends normally; returns its id.
    pub fn exit_normally(&self) -> u64 {
        self.command(Cmd::Exit)
    }

    /// The running life says it is busy (or idle).
    pub fn busy(&self, busy: bool) {
        self.command(Cmd::Busy(busy));
    }

    /// The running life makes progress.
    pub fn beat(&self) {
        self.command(Cmd::Beat);
    }

    /// The running life hangs: busy, no progress, deaf to its stop, until
    /// the hold is released.
    pub fn hang(&self) -> Hold {
        let (tx, rx) = bounded(1);
        self.command(Cmd::Hang(rx));
        Hold(tx)
    }

    /// The running life will not end when asked to stop, until the hold is
    /// released.
    pub fn ignore_stop(&self) -> Hold {
        let (tx, rx) = bounded(1);
        self.command(Cmd::IgnoreStop(rx));
        Hold(tx)
    }
}

/// One life of a puppet.
fn live(
    mut life: Life,
    cmds: &Receiver<(Cmd, Sender<u64>)>,
    lives: &Sender<LifeInfo>,
    stops: &Sender<u64>,
) -> ExitReason {
    let _ = lives.send(LifeInfo {
        id: life.id,
        thread: thread::current().id(),
    });
    life.heartbeat.set_busy(false);
    life.started();
    let mut deaf: Option<Receiver<()>> = None;
    loop {
        if life.stop.is_requested() {
            let _ = stops.send(life.id);
            if let Some(hold) = deaf.take() {
                let _ = hold.recv();
            }
            return ExitReason::Shutdown;
        }
        select! {
            recv(cmds) -> msg => {
                let Ok((cmd, ack)) = msg else {
                    // The test let go of the puppet: wait for the stop.
                    while !life.stop.is_requested() {
                        let _ = life.stop.waker().recv();
                    }
                    continue;
                };
                // The acknowledgement follows the change it confirms: once
                // the test has it, the supervisor can see the change.
                let id = life.id;
                let done = move || {
                    let _ = ack.send(id);
                };
                match cmd {
                    Cmd::Fail => {
                        done();
                        return ExitReason::failed(Stage::Run, "told to fail".into());
                    }
                    Cmd::Exit => {
                        done();
                        return ExitReason::Normal;
                    }
                    Cmd::Busy(b) => {
                        life.heartbeat.set_busy(b);
                        done();
                    }
                    Cmd::Beat => {
                        life.heartbeat.bump();
                        done();
                    }
                    Cmd::Hang(hold) => {
                        life.heartbeat.set_busy(true);
                        done();
                        let _ = hold.recv();
                    }
                    Cmd::IgnoreStop(hold) => {
                        deaf = Some(hold);
                        done();
                    }
                }
            }
            recv(life.stop.waker()) -> _ => {}
        }
    }
}
