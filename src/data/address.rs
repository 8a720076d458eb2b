//! [`Address`]: the direct, lock-free way to one mailbox.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::data::mailbox::{MailboxCore, MailboxStats, Refused, deadline_after};
use crate::data::message::{Endpoint, Routed};
use crate::data::reply::{Reply, RequestError, Waiter};
use crate::data::send_error::{SendError, SendTimeoutError, TrySendError};

/// A handle to one endpoint's mailbox. Cheap to clone, valid for as long as
/// the mailbox exists, across restarts of the server behind it.
///
/// It accepts exactly the endpoint's message types (those listed in its
/// [`messages!`](crate::messages)) and the enum itself. Sending through an
/// address is the data path: no lock, no lookup, no clock read; one channel
/// operation and two flag loads.
///
/// ```
/// use threadbutler::prelude::*;
/// # pub struct Add(pub u64);
/// # pub struct Total(pub Reply<u64>);
/// # threadbutler::messages! { pub enum CounterMsg for Counter { Add, Total } }
/// # #[derive(Default)]
/// # pub struct Counter { sum: u64 }
/// # impl Server for Counter {
/// #     fn handle(&mut self, msg: CounterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
/// #         match msg {
/// #             CounterMsg::Add(Add(n)) => self.sum += n,
/// #             CounterMsg::Total(Total(reply)) => reply.send(self.sum),
/// #         }
/// #         Ok(())
/// #     }
/// # }
///
/// let hub = Hub::new();
/// let counter: Address<Counter> = hub.spawn("counter", Counter::default)?;
/// counter.send(Add(2))?; // no lookup: straight to the mailbox
/// let same = hub.address::<Counter>("counter").expect("registered under its name");
/// same.send(Add(3))?;
/// assert_eq!(counter.request(Total)?, 5);
/// hub.shutdown()?;
/// // The address outlives the server: the final counters, and no more sends.
/// assert_eq!(counter.stats().handled, 3);
/// assert!(counter.is_closed());
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct Address<E: Endpoint> {
    core: Arc<MailboxCore<E::Msg>>,
    request_timeout: Duration,
}

impl<E: Endpoint> Address<E> {
    pub(crate) fn new(core: Arc<MailboxCore<E::Msg>>, request_timeout: Duration) -> Self {
        Address {
            core,
            request_timeout,
        }
    }

    /// The mailbox's name (the server's name).
    pub fn name(&self) -> &str {
        self.core.name()
    }

    /// Sends `msg`, waiting while the mailbox is full (backpressure).
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] with the message if the mailbox is closed, also
    /// when it closes while this call waits for room.
    #[inline]
    pub fn send<M: Routed<To = E>>(&self, msg: M) -> Result<(), SendError<M>> {
        match self.core.try_send(msg.wrap()) {
            Ok(()) => Ok(()),
            Err(Refused::Full(m)) => match self.core.send_until(m, None) {
                Ok(()) => Ok(()),
                Err(r) => Err(SendError::Closed(M::unwrap(refused_msg(r)))),
            },
            Err(r) => Err(SendError::Closed(M::unwrap(refused_msg(r)))),
        }
    }

    /// Sends `msg` if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the message.
    #[inline]
    pub fn try_send<M: Routed<To = E>>(&self, msg: M) -> Result<(), TrySendError<M>> {
        self.core.try_send(msg.wrap()).map_err(|r| match r {
            Refused::Full(m) => TrySendError::Full(M::unwrap(m)),
            Refused::Closed(m) | Refused::Timeout(m) => TrySendError::Closed(M::unwrap(m)),
        })
    }

    /// Sends `msg`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with the
    /// message.
    pub fn send_timeout<M: Routed<To = E>>(
        &self,
        msg: M,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<M>> {
        let deadline = deadline_after(timeout);
        self.core
            .send_until(msg.wrap(), deadline)
            .map_err(|r| match r {
                Refused::Timeout(m) | Refused::Full(m) => SendTimeoutError::Timeout(M::unwrap(m)),
                Refused::Closed(m) => SendTimeoutError::Closed(M::unwrap(m)),
            })
    }

    /// Sends the request `make(reply)` and waits for the answer, for at most
    /// the hub's default request timeout.
    ///
    /// # Errors
    ///
    /// See [`RequestError`]: the message comes back when it was not sent.
    pub fn request<M, T>(&self, make: impl FnOnce(Reply<T>) -> M) -> Result<T, RequestError<M>>
    where
        M: Routed<To = E>,
        T: 'static,
    {
        self.request_timeout(make, self.request_timeout)
    }

    /// Like [`request`](Self::request) with its own timeout, which covers
    /// both waiting for room in the mailbox and waiting for the answer.
    ///
    /// # Errors
    ///
    /// See [`RequestError`].
    pub fn request_timeout<M, T>(
        &self,
        make: impl FnOnce(Reply<T>) -> M,
        timeout: Duration,
    ) -> Result<T, RequestError<M>>
    where
        M: Routed<To = E>,
        T: 'static,
    {
        let (reply, mut waiter) = Waiter::new();
        let msg = make(reply).wrap();
        // The deadline (a clock read) is only taken if we have to wait.
        let mut deadline = None;
        let sent = match self.core.try_send(msg) {
            Ok(()) => Ok(()),
            Err(Refused::Full(m)) => {
                deadline = deadline_after(timeout);
                self.core.send_until(m, deadline).map_err(|r| match r {
                    Refused::Full(m) | Refused::Timeout(m) => RequestError::Full(M::unwrap(m)),
                    Refused::Closed(m) => RequestError::Closed(M::unwrap(m)),
                })
            }
            Err(r) => Err(RequestError::Closed(M::unwrap(refused_msg(r)))),
        };
        if let Err(e) = sent {
            // The reply goes back to the caller inside the message.
            waiter.forget();
            return Err(e);
        }
        waiter.wait(deadline, timeout)
    }

    /// A snapshot of the mailbox's counters.
    pub fn stats(&self) -> MailboxStats {
        self.core.stats()
    }

    /// Messages waiting now.
    pub fn depth(&self) -> usize {
        self.core.depth()
    }

    pub(crate) fn core(&self) -> &Arc<MailboxCore<E::Msg>> {
        &self.core
    }

    /// True once the mailbox refuses new sends.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }
}

fn refused_msg<M>(r: Refused<M>) -> M {
    match r {
        Refused::Full(m) | Refused::Closed(m) | Refused::Timeout(m) => m,
    }
}

impl<E: Endpoint> Clone for Address<E> {
    fn clone(&self) -> Self {
        Address {
            core: Arc::clone(&self.core),
            request_timeout: self.request_timeout,
        }
    }
}

impl<E: Endpoint> fmt::Debug for Address<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address")
            .field("name", &self.core.name())
            .field("endpoint", &std::any::type_name::<E>())
            .finish()
    }
}
