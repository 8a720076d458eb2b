//! Requests from async code, on any executor: the answer is awaited, not
//! waited for, so the executor's thread is never blocked.
//!
//! ```
//! use threadbutler::prelude::*;
//! # use std::future::Future;
//! # use std::sync::Arc;
//! # use std::task::{Context, Poll, Wake, Waker};
//! # struct Unpark(std::thread::Thread);
//! # impl Wake for Unpark { fn wake(self: Arc<Self>) { self.0.unpark() } }
//! # fn block_on<F: Future>(f: F) -> F::Output {
//! #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
//! #     let mut cx = Context::from_waker(&waker);
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } std::thread::park() }
//! # }
//!
//! pub struct Total(pub Reply<u64>);
//! pub struct Counter;
//! threadbutler::messages! { pub enum CounterMsg for Counter { Total } }
//! impl Server for Counter {
//!     fn handle(&mut self, msg: CounterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
//!         let CounterMsg::Total(Total(reply)) = msg;
//!         reply.send(7);
//!         Ok(())
//!     }
//! }
//!
//! let hub = Hub::new();
//! let counter = hub.spawn("counter", || Counter)?;
//! // In an async fn on your runtime: `counter.request_async(Total).await`.
//! assert_eq!(block_on(counter.request_async(Total))?, 7);
//! hub.shutdown()?;
//! # Ok::<(), threadbutler::Error>(())
//! ```
//!
//! # Limits
//!
//! - The request is sent with `try_send`: a full mailbox gives
//!   [`RequestError::Full`] at once with the message, rather than a wait
//!   that would block the executor. Retry, or give the server a larger
//!   mailbox.
//! - There is no built-in timeout: wrap the future in your runtime's
//!   (`tokio::time::timeout`, ...). A server that fails or stops with the
//!   request drops the reply, which ends the wait at once with
//!   [`RequestError::Dropped`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::data::address::Address;
use crate::data::answer_cell::AnswerCell;
use crate::data::mailbox::Refused;
use crate::data::message::{Endpoint, Routed};
use crate::data::reply::{Reply, RequestError};

/// The answer to an async request; see the module docs.
#[must_use = "a request's answer arrives only if the future is awaited"]
pub struct Answer<T, M> {
    cell: Arc<AnswerCell<T>>,
    unsent: Option<RequestError<M>>,
}

impl<T, M> Future for Answer<T, M> {
    type Output = Result<T, RequestError<M>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Neither field is structurally pinned.
        let this = Pin::into_inner(self);
        if let Some(e) = this.unsent.take() {
            return Poll::Ready(Err(e));
        }
        this.cell.poll_answer(cx).map(|answer| match answer {
            Some(v) => Ok(v),
            None => Err(RequestError::Dropped),
        })
    }
}

impl<T, M> Unpin for Answer<T, M> {}

impl<T, M> std::fmt::Debug for Answer<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("sent", &self.unsent.is_none())
            .finish()
    }
}

impl<E: Endpoint> Address<E> {
    /// Sends the request `make(reply)` and returns a future of the answer,
    /// for async code on any executor. See the module docs for the limits.
    pub fn request_async<M, T>(&self, make: impl FnOnce(Reply<T>) -> M) -> Answer<T, M>
    where
        M: Routed<To = E>,
    {
        let cell = AnswerCell::new();
        let msg = make(Reply::to_cell(Arc::clone(&cell))).wrap();
        let unsent = match self.core().try_send(msg) {
            Ok(()) => None,
            Err(Refused::Full(m)) => Some(RequestError::Full(M::unwrap(m))),
            Err(Refused::Closed(m) | Refused::Timeout(m)) => {
                Some(RequestError::Closed(M::unwrap(m)))
            }
        };
        Answer { cell, unsent }
    }
}
