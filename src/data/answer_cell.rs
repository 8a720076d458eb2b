//! [`AnswerCell`]: where a [`Reply`](crate::Reply) delivers for an async
//! requester, and where its future looks.
//!
//! It sits below both the reply (which fills it) and the async request
//! (which polls it), so that neither imports the other.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// A one-shot cell: the reply fills it once, the requester's future reads
/// it. `None` inside means the reply was dropped unanswered.
pub(crate) struct AnswerCell<T> {
    state: Mutex<(Option<Option<T>>, Option<Waker>)>,
}

impl<T> AnswerCell<T> {
    /// An empty cell.
    pub(crate) fn new() -> Arc<AnswerCell<T>> {
        Arc::new(AnswerCell {
            state: Mutex::new((None, None)),
        })
    }

    /// Stores the answer (`None`: dropped unanswered) and wakes the task.
    /// Only the first answer counts.
    pub(crate) fn fill(&self, answer: Option<T>) {
        let waker = {
            // The guarded data is two Options set in one step each; a panic
            // while holding the lock cannot leave them inconsistent.
            let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if s.0.is_some() {
                return;
            }
            s.0 = Some(answer);
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The answer once it is there (`Some(None)`: dropped unanswered);
    /// until then, remembers `cx`'s waker for [`fill`](Self::fill).
    pub(crate) fn poll_answer(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match s.0.take() {
            Some(answer) => Poll::Ready(answer),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
