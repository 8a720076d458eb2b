//! Request/reply: a one-shot [`Reply`] and the errors of a request.

use std::fmt;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, bounded};

use crate::send_error::NoRoute;

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
    tx: Sender<T>,
}

impl<T> Reply<T> {
    /// A reply and the receiver its answer arrives on.
    pub(crate) fn new() -> (Reply<T>, Receiver<T>) {
        let (tx, rx) = bounded(1);
        (Reply { tx }, rx)
    }

    /// Answers the request. If the requester has given up (timed out), the
    /// value is dropped: there is nobody left to lose it for.
    pub fn send(self, value: T) {
        if self.tx.try_send(value).is_err() {
            tracing::trace!("reply dropped: the requester stopped waiting");
        }
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reply(..)")
    }
}

/// Waits for a reply: the fast check first, then a blocking wait.
pub(crate) fn wait_reply<T, M>(
    rx: &Receiver<T>,
    deadline: Option<std::time::Instant>,
) -> Result<T, RequestError<M>> {
    match rx.try_recv() {
        Ok(v) => return Ok(v),
        Err(TryRecvError::Disconnected) => return Err(RequestError::Dropped),
        Err(TryRecvError::Empty) => {}
    }
    let res = match deadline {
        Some(d) => rx.recv_deadline(d),
        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
    };
    match res {
        Ok(v) => Ok(v),
        Err(RecvTimeoutError::Timeout) => Err(RequestError::Timeout),
        Err(RecvTimeoutError::Disconnected) => Err(RequestError::Dropped),
    }
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
