//! The sync receive path under every sync server loop: [`Reader::next`],
//! and the ticks it delivers.
//!
//! # The receive path
//!
//! Per message: one load of the stop state, one `try_recv`, and the
//! bookkeeping of the message before (one store each to the handled counter
//! and the heartbeat). When the mailbox is empty the server first looks again
//! for a few microseconds (spinning, then yielding, as crossbeam's `recv`
//! does); only then does it block, in a select over the mailbox and the stop
//! signal's wake channel (and the next tick's deadline), with its heartbeat
//! marked idle. No clock is read per message: a busy tick loop reads it every
//! [`TICK_CHECK_EVERY`] messages.
//!
//! # Stop priority
//!
//! A stop request is seen before the next message (or tick) is taken:
//! `Immediate` stops after the message in hand, `Drain` goes on taking
//! messages until the queue is empty. See `docs/runtime-semantics.md`,
//! "Stopping".

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select};
use threadbutler_supervisor::StopSignal;

use crate::data::message::Message;
use crate::servers::reader::{Next, Reader, Spun};

/// How often, in messages, a busy tick loop reads the clock.
pub(crate) const TICK_CHECK_EVERY: u32 = 64;

/// `t + d`, or far in the future when that overflows.
fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(t)
}

/// How long the receive path may wait for a message.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    /// Not at all.
    No,
    /// Until the deadline (`None`: for as long as it takes).
    Until(Option<Instant>),
}

/// When the next tick is due, and the countdown to the next clock read.
pub(crate) struct Ticker {
    interval: Duration,
    next: Instant,
    countdown: u32,
}

impl Ticker {
    /// Ticks every `interval`, the first one `interval` from now.
    pub(crate) fn new(interval: Duration) -> Self {
        Ticker {
            interval,
            next: after(Instant::now(), interval),
            countdown: TICK_CHECK_EVERY,
        }
    }

    /// Counts one look at the queue; every [`TICK_CHECK_EVERY`] looks, reads
    /// the clock and fires the tick if it is due.
    #[inline]
    fn due_by_count(&mut self) -> bool {
        self.countdown -= 1;
        if self.countdown != 0 {
            return false;
        }
        self.countdown = TICK_CHECK_EVERY;
        let now = Instant::now();
        if now >= self.next {
            self.fire(now);
            return true;
        }
        false
    }

    fn fire(&mut self, now: Instant) {
        self.next = after(self.next, self.interval);
        if self.next <= now {
            // Fell behind: skip the missed ticks rather than burst.
            self.next = after(now, self.interval);
        }
    }
}

impl<M: Message> Reader<M> {
    /// The receive path; see the module docs. It finishes the message in
    /// hand, then takes the next one, or a tick when `ticks` and `ticker`
    /// has one due.
    ///
    /// The ticker comes as the caller's own `Option` and a flag, not as an
    /// `Option<&mut Ticker>` made per call: on a busy mailbox making that
    /// option cost a handful of instructions per message.
    #[inline]
    pub(crate) fn next(&mut self, ticker: &mut Option<Ticker>, ticks: bool, wait: Wait) -> Next<M> {
        self.finish_in_flight();
        loop {
            // Option<Next> uses a value Next does not: `Some(next)` is
            // `next` as it is, so passing it on costs no conversion.
            if let Some(next) = self.under_stop() {
                return next;
            }
            if ticks
                && let Some(t) = ticker
                && t.due_by_count()
            {
                return Next::Tick;
            }
            match self.take() {
                Next::Empty => {}
                next => return next,
            }
            let until = match wait {
                Wait::No => {
                    // A loop that polls is at a convenient moment now.
                    self.at_convenient_moment();
                    return Next::Empty;
                }
                Wait::Until(d) => d,
            };
            match self.spin() {
                Spun::Msg(m) => return Next::Msg(m),
                Spun::Signal => continue,
                Spun::Nothing => {}
            }
            let tick_at = if ticks {
                ticker.as_ref().map(|t| t.next)
            } else {
                None
            };
            let deadline = match (until, tick_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            self.idle();
            let woke = block(self.rx(), self.stop_signal(), deadline);
            self.awake();
            match woke {
                Woke::Msg(m) => return Next::Msg(self.begin(m)),
                Woke::Closed => return Next::Stop,
                Woke::Signal => continue,
                Woke::Deadline => {
                    let now = Instant::now();
                    if let (Some(t), Some(at)) = (ticker.as_mut(), tick_at)
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
}

enum Woke<M> {
    Msg(M),
    Signal,
    Deadline,
    Closed,
}

/// Blocks until mail, a stop signal's wake token, or the deadline.
fn block<M>(rx: &Receiver<M>, stop: &StopSignal, deadline: Option<Instant>) -> Woke<M> {
    let mut sel = Select::new();
    let mail = sel.recv(rx);
    let signal = sel.recv(stop.waker());
    let op = match deadline {
        None => sel.select(),
        Some(d) => match sel.select_deadline(d) {
            Ok(op) => op,
            Err(_) => return Woke::Deadline,
        },
    };
    let i = op.index();
    if i == mail {
        match op.recv(rx) {
            Ok(m) => Woke::Msg(m),
            Err(_) => Woke::Closed,
        }
    } else {
        debug_assert_eq!(i, signal);
        // The token only says "look at the state again".
        let _ = op.recv(stop.waker());
        Woke::Signal
    }
}
