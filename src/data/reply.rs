//! Request/reply: a one-shot [`Reply`] and the errors of a request.

use std::fmt;

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use crate::data::answer_cell::AnswerCell;
use crate::data::send_error::NoRoute;

/// The answering half of a request: put it in a message, and the server
/// that handles the message answers through it, once.
///
/// If the server drops it unanswered (it failed, or stopped with the message
/// queued), the requester gets [`RequestError::Dropped`] at once rather than
/// waiting for its timeout.
///
/// ```
/// use threadbutler::prelude::*;
///
/// pub struct Total(pub Reply<u64>);
/// pub struct Counter;
/// threadbutler::messages! { pub enum CounterMsg for Counter { Total } }
///
/// impl Server for Counter {
///     fn handle(&mut self, msg: CounterMsg, _ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
///         match msg {
///             CounterMsg::Total(Total(reply)) => reply.send(42),
///         }
///         Ok(())
///     }
/// }
///
/// let hub = Hub::new();
/// hub.spawn("counter", || Counter)?;
/// assert_eq!(hub.request(Total)?, 42);
/// hub.shutdown()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct Reply<T> {
    back: Back<T>,
    answered: bool,
}

/// Where an answer goes: a blocking requester's reusable slot, or an async
/// requester's one-shot cell.
enum Back<T> {
    Slot { tx: Sender<Answer<T>>, seq: u64 },
    Cell(Arc<AnswerCell<T>>),
}

/// What travels back: the request's sequence number and the value, or
/// `None` when the reply was dropped unanswered.
type Answer<T> = (u64, Option<T>);

impl<T> Reply<T> {
    /// Answers the request. If the requester has given up (timed out), the
    /// value is dropped: there is nobody left to lose it for.
    pub fn send(mut self, value: T) {
        self.answered = true;
        self.deliver(Some(value));
    }

    fn deliver(&self, answer: Option<T>) {
        match &self.back {
            // Never blocks: the requester's slot has room for exactly this answer.
            Back::Slot { tx, seq } => {
                if tx.try_send((*seq, answer)).is_err() {
                    tracing::trace!("reply dropped: the requester stopped waiting");
                }
            }
            Back::Cell(cell) => cell.fill(answer),
        }
    }

    /// A reply answered into an async requester's cell.
    pub(crate) fn to_cell(cell: Arc<AnswerCell<T>>) -> Reply<T> {
        Reply {
            back: Back::Cell(cell),
            answered: false,
        }
    }

    /// A reply nobody waits for, to rebuild a request message that could
    /// not be routed (so that the caller gets it back).
    pub(crate) fn detached() -> Reply<T> {
        let (tx, _) = unbounded();
        Reply {
            back: Back::Slot { tx, seq: 0 },
            answered: true,
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if !self.answered {
            // Tell the requester now rather than at its timeout.
            self.deliver(None);
        }
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reply(..)")
    }
}

/// A thread's reusable reply channel for answers of type `T`.
///
/// A fresh channel per request costs more than the allocation: the
/// requester parks on a channel nobody has touched yet, and measured on this
/// project's 2-core machine a ping-pong over fresh reply channels took about
/// 5x as long as one over a reused channel (`docs/benchmarks.md`). So each
/// thread keeps one `bounded(1)` channel per answer type. A slot whose reply
/// got out of the requester's hands (a timeout, a request that was not sent
/// and went back to the caller) is retired, not reused, so at most one
/// answer is ever in flight on a slot; answers still carry the request's
/// sequence number as a second line of defence.
struct Slot<T> {
    tx: Sender<Answer<T>>,
    rx: Receiver<Answer<T>>,
    seq: u64,
}

thread_local! {
    static SLOTS: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// The requester's side of one request: holds the thread's slot while the
/// request is in flight and gives it back when dropped.
pub(crate) struct Waiter<T: 'static> {
    slot: Option<Slot<T>>,
}

impl<T: 'static> Waiter<T> {
    /// A reply to put in the request, and the waiter for its answer.
    pub(crate) fn new() -> (Reply<T>, Waiter<T>) {
        let taken = SLOTS
            .try_with(|s| s.borrow_mut().remove(&TypeId::of::<T>()))
            .ok()
            .flatten()
            .and_then(|b| b.downcast::<Slot<T>>().ok());
        let mut slot = match taken {
            Some(b) => *b,
            None => {
                // One answer at most is ever in flight: a slot whose reply
                // may still answer late is never reused (see `forget`).
                let (tx, rx) = bounded(1);
                Slot { tx, rx, seq: 0 }
            }
        };
        // Answers to requests that timed out earlier: nobody wants them.
        while slot.rx.try_recv().is_ok() {}
        slot.seq = slot.seq.wrapping_add(1);
        let reply = Reply {
            back: Back::Slot {
                tx: slot.tx.clone(),
                seq: slot.seq,
            },
            answered: false,
        };
        (reply, Waiter { slot: Some(slot) })
    }

    /// Waits for the answer: a quick look first; the clock is read (for
    /// the deadline `timeout` from now, unless one is given) only if the
    /// answer is not there yet.
    pub(crate) fn wait<M>(
        mut self,
        deadline: Option<Instant>,
        timeout: Duration,
    ) -> Result<T, RequestError<M>> {
        let Some(slot) = &self.slot else {
            unreachable!("a waiter holds its slot until dropped")
        };
        let mut deadline = deadline;
        loop {
            let got = match slot.rx.try_recv() {
                Ok(a) => a,
                Err(_) => {
                    let d = *deadline.get_or_insert_with(|| {
                        Instant::now()
                            .checked_add(timeout)
                            .unwrap_or_else(far_future)
                    });
                    match slot.rx.recv_deadline(d) {
                        Ok(a) => a,
                        // The slot holds a sender, so only the deadline ends
                        // this. The reply may still answer: retire the slot.
                        Err(_) => {
                            self.forget();
                            return Err(RequestError::Timeout);
                        }
                    }
                }
            };
            match got {
                (seq, Some(v)) if seq == slot.seq => return Ok(v),
                (seq, None) if seq == slot.seq => return Err(RequestError::Dropped),
                _ => {} // a late answer to an earlier request
            }
        }
    }
}

impl<T: 'static> Waiter<T> {
    /// Retires the slot instead of reusing it: its reply is out of our
    /// hands (the request timed out, or was not sent and went back to the
    /// caller), so it may answer at any time later.
    pub(crate) fn forget(&mut self) {
        self.slot = None;
    }
}

impl<T: 'static> Drop for Waiter<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            // The thread may be exiting (its locals already gone): then the
            // slot is simply dropped.
            let _ = SLOTS.try_with(|s| s.borrow_mut().insert(TypeId::of::<T>(), Box::new(slot)));
        }
    }
}

/// About a hundred years from now: a deadline that never comes.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// Why a request got no answer. Where the request was never sent, the
/// message comes back.
#[non_exhaustive]
pub enum RequestError<M> {
    /// The mailbox is closed; the request was not sent.
    Closed(M),
    /// The mailbox stayed full until the timeout; the request was not sent.
    Full(M),
    /// The hub found no single mailbox for this type; the request was not sent.
    NoRoute(M, NoRoute),
    /// The request was sent but no answer came within the timeout.
    Timeout,
    /// The request was sent but the server dropped the reply unanswered: it
    /// failed or stopped with the request in hand or in its queue.
    Dropped,
}

impl<M> RequestError<M> {
    /// The request message, if it was never sent.
    pub fn into_inner(self) -> Option<M> {
        match self {
            RequestError::Closed(m) | RequestError::Full(m) | RequestError::NoRoute(m, _) => {
                Some(m)
            }
            RequestError::Timeout | RequestError::Dropped => None,
        }
    }
}

impl<M> fmt::Debug for RequestError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Closed(_) => f.write_str("Closed(..)"),
            RequestError::Full(_) => f.write_str("Full(..)"),
            RequestError::NoRoute(_, why) => write!(f, "NoRoute(.., {why:?})"),
            RequestError::Timeout => f.write_str("Timeout"),
            RequestError::Dropped => f.write_str("Dropped"),
        }
    }
}

impl<M> fmt::Display for RequestError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Closed(_) => f.write_str("request not sent: the mailbox is closed"),
            RequestError::Full(_) => {
                f.write_str("request not sent: the mailbox stayed full until the timeout")
            }
            RequestError::NoRoute(_, why) => write!(f, "request not sent: {why}"),
            RequestError::Timeout => f.write_str("no reply within the timeout"),
            RequestError::Dropped => f.write_str("the server dropped the reply unanswered"),
        }
    }
}

impl<M> std::error::Error for RequestError<M> {}
