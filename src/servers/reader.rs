//! [`Reader`]: the reading side of one server life, the same for a sync
//! server's receive path and an async server's loop.
//!
//! # Anatomy
//!
//! A life reads its mailbox through one `Reader`: the receiver, the stop
//! signal it obeys, the handled counter it registered with the mailbox and
//! its running count, the message in hand (its type name, for a dead letter
//! if the handler fails), the heartbeat, the stage the life is in, and a
//! start notice that nobody waits on, kept for the first convenient moment.
//! The stop signal is the reader's, not passed in, so that the receive path
//! reaches everything it reads through the one reference it is called on
//! (a separate reference cost the busy loop a register spill per message).
//!
//! # Per message
//!
//! Taking a message ([`begin`](Reader::begin)) records its type name and the
//! `Handle` stage; finishing it ([`finish_in_flight`](Reader::finish_in_flight),
//! when the next one is taken or the loop ends) is one store to the handled
//! counter and one to the heartbeat. No clock, no lock, no read-modify-write
//! on shared memory. The heartbeat is marked idle only while the loop
//! blocks ([`idle`](Reader::idle), [`awake`](Reader::awake)).

use std::fmt;
use std::sync::Arc;

use crossbeam_channel::{Receiver, TryRecvError};
use threadbutler_supervisor::heartbeat::HeartbeatWriter;
use threadbutler_supervisor::{Stage, StartNotice, StopMode, StopSignal};

use crate::data::counters::HandledCounter;
use crate::data::mailbox::MailboxCore;
use crate::data::message::Message;
use crate::data::spin::{SPIN_STEPS, pause};

/// What the receive path produced. The async loop never sees a tick.
pub(crate) enum Next<M> {
    /// A message, now in flight.
    Msg(M),
    /// A tick is due (the sync default loop only).
    Tick,
    /// The loop is to end: an immediate stop, or a drain with nothing left.
    Stop,
    /// Nothing queued (or nothing by the deadline), and no stop asked.
    Empty,
}

/// What looking again for a little while before parking found.
pub(crate) enum Spun<M> {
    /// A message, now in flight.
    Msg(M),
    /// A stop request: look at the stop state again.
    Signal,
    /// Nothing.
    Nothing,
}

/// The reading side of one life. See the module docs.
pub(crate) struct Reader<M: Message> {
    rx: Receiver<M>,
    stop: Arc<StopSignal>,
    counter: Arc<HandledCounter>,
    handled: u64,
    in_flight: Option<&'static str>,
    stage: Stage,
    heartbeat: HeartbeatWriter,
    /// A start notice nobody waits on, given at the first convenient moment
    /// (see `StartNotice::may_defer`).
    deferred_start: Option<StartNotice>,
}

impl<M: Message> Reader<M> {
    /// A reader of `core` obeying `stop`, its counter registered; the life
    /// is at `Init`.
    pub(crate) fn new(
        core: &MailboxCore<M>,
        stop: Arc<StopSignal>,
        heartbeat: HeartbeatWriter,
    ) -> Self {
        Reader {
            rx: core.receiver(),
            stop,
            counter: core.register_reader(),
            handled: 0,
            in_flight: None,
            stage: Stage::Init,
            heartbeat,
            deferred_start: None,
        }
    }

    /// The receiver, to block on it (or to see whether anything is queued).
    #[inline]
    pub(crate) fn rx(&self) -> &Receiver<M> {
        &self.rx
    }

    /// The stop signal this life obeys.
    #[inline]
    pub(crate) fn stop_signal(&self) -> &Arc<StopSignal> {
        &self.stop
    }

    /// Messages this life finished.
    pub(crate) fn handled(&self) -> u64 {
        self.handled
    }

    /// Where the life is: what a failure now would be reported at.
    #[inline]
    pub(crate) fn stage(&self) -> Stage {
        self.stage
    }

    pub(crate) fn set_stage(&mut self, stage: Stage) {
        self.stage = stage;
    }

    /// Under a stop, what the loop may still take: the next queued message
    /// during a drain, else [`Next::Stop`]. `None` when no stop is asked.
    #[inline]
    pub(crate) fn under_stop(&mut self) -> Option<Next<M>> {
        match self.stop.mode() {
            None => None,
            Some(StopMode::Drain) => Some(match self.rx.try_recv() {
                Ok(m) => Next::Msg(self.begin(m)),
                Err(_) => Next::Stop,
            }),
            Some(StopMode::Immediate) => Some(Next::Stop),
        }
    }

    /// Takes the next message if one is queued: [`Next::Msg`], or
    /// [`Next::Empty`].
    #[inline]
    pub(crate) fn take(&mut self) -> Next<M> {
        match self.rx.try_recv() {
            Ok(m) => Next::Msg(self.begin(m)),
            Err(TryRecvError::Empty) => Next::Empty,
            // The core holds a sender for as long as we hold it.
            Err(TryRecvError::Disconnected) => Next::Stop,
        }
    }

    /// Before parking, looks again for a little while, the way crossbeam's
    /// own `recv` does: a message that is about to arrive usually arrives
    /// within a microsecond, and parking (a select or a runtime's wait, and
    /// a wake-up) costs far more than that. About 130 spins, then four
    /// yields.
    pub(crate) fn spin(&mut self) -> Spun<M> {
        for step in 0..SPIN_STEPS {
            pause(step);
            if self.stop.is_requested() {
                return Spun::Signal;
            }
            if let Ok(m) = self.rx.try_recv() {
                return Spun::Msg(self.begin(m));
            }
        }
        Spun::Nothing
    }

    /// Records `msg` as the message in hand.
    #[inline]
    pub(crate) fn begin(&mut self, msg: M) -> M {
        self.in_flight = Some(msg.type_name());
        self.stage = Stage::Handle;
        msg
    }

    /// Counts the message in hand, if any, as handled.
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

    /// The message taken and not finished, if any; it is no longer in hand.
    pub(crate) fn take_in_flight(&mut self) -> Option<&'static str> {
        self.in_flight.take()
    }

    /// Progress inside a long handler: one store.
    #[inline]
    pub(crate) fn beat(&mut self) {
        self.heartbeat.bump();
        if self.deferred_start.is_some() {
            self.give_start_notice();
        }
    }

    /// Marks the end of a tick as progress.
    pub(crate) fn finish_tick(&mut self) {
        self.heartbeat.bump();
        self.stage = Stage::Run;
    }

    /// About to block for mail: a convenient moment for a deferred start
    /// notice, and the heartbeat goes idle (an idle life is never hung).
    #[inline]
    pub(crate) fn idle(&mut self) {
        self.at_convenient_moment();
        self.heartbeat.set_busy(false);
    }

    /// Woken: the heartbeat is busy again.
    #[inline]
    pub(crate) fn awake(&mut self) {
        self.heartbeat.set_busy(true);
    }

    /// Gives a deferred start notice, if one is pending (a loop that polls
    /// without blocking is at a convenient moment too).
    #[inline]
    pub(crate) fn at_convenient_moment(&mut self) {
        if self.deferred_start.is_some() {
            self.give_start_notice();
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

    /// Folds this life's handled count into the mailbox's (the life ends).
    pub(crate) fn retire(&self, core: &MailboxCore<M>) {
        core.retire_reader(&self.counter);
    }
}

impl<M: Message> fmt::Debug for Reader<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("handled", &self.handled)
            .field("in_flight", &self.in_flight)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}
