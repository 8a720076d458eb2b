//! An async server's loop: the messages one at a time, in order, through
//! the same [`Reader`](crate::servers::reader::Reader) as a sync server's; then, once
//! the queue is done with, the spawned futures.
//!
//! # Waking
//!
//! Idle, the loop sleeps in the runtime on the mailbox's `Notify`: an
//! accepted send notifies it (the mailbox's wake callback), and so does a
//! stop request (the life's bridge task, `child.rs`), and so does a spawned
//! future finishing (to surface its failure). Before sleeping it looks
//! again for a few microseconds when no future of its own is waiting to
//! run, as the sync receive path does. The notification is enabled before
//! the last look at the queue and the stop state, so none is missed.

use threadbutler_supervisor::{BoxError, StopMode, panic_message};
use tokio::sync::Notify;
use tokio::task::JoinError;

use super::ctx::AsyncCtx;
use super::server::AsyncServer;
use crate::data::message::Endpoint;
use crate::servers::life::Failure;
use crate::servers::reader::{Next, Spun};

/// Serves until the server is to stop, then waits for its spawned futures
/// (a drain) or aborts them (an immediate stop).
///
/// # Errors
///
/// A handler's `Err`, or a spawned future's `Err` or panic.
pub(super) async fn serve<S: AsyncServer>(
    server: &mut S,
    ctx: &mut AsyncCtx<S>,
    notify: &Notify,
) -> Result<(), Failure> {
    while let Some(msg) = next(ctx, notify).await? {
        server.handle(msg, ctx).await.map_err(Failure::Error)?;
        ctx.base.reader.finish_in_flight();
    }
    // The queue is done with: wait for the spawned futures, unless the stop
    // turns immediate.
    let AsyncCtx { base, tasks } = ctx;
    while !tasks.is_empty() {
        if base.stop_signal().mode() == Some(StopMode::Immediate) {
            tasks.abort_all();
            break;
        }
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        tokio::select! {
            _ = &mut notified => {}
            Some(r) = tasks.join_next() => joined(r)?,
        }
    }
    Ok(())
}

/// The next message, now in flight; `None` when the loop is to end.
async fn next<S: Endpoint>(
    ctx: &mut AsyncCtx<S>,
    notify: &Notify,
) -> Result<Option<S::Msg>, Failure> {
    let AsyncCtx { base, tasks } = ctx;
    loop {
        let next = match base.reader.under_stop() {
            Some(next) => next,
            None => base.reader.take(),
        };
        match next {
            Next::Msg(m) => return Ok(Some(m)),
            Next::Stop => return Ok(None),
            // No ticks here: only the sync receive path makes them.
            Next::Empty | Next::Tick => {}
        }
        // Nothing queued. With no future of ours waiting to run, look again
        // for a few microseconds first: parking and being woken costs far
        // more here.
        if tasks.is_empty() {
            match base.reader.spin() {
                Spun::Msg(m) => return Ok(Some(m)),
                Spun::Signal => continue,
                Spun::Nothing => {}
            }
        }
        // Idle: sleep in the runtime until mail, a stop, or a spawned future
        // finishing (to surface its failure).
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !base.reader.rx().is_empty() || base.should_stop() {
            continue;
        }
        base.reader.idle();
        tokio::select! {
            _ = &mut notified => {}
            Some(r) = tasks.join_next(), if !tasks.is_empty() => joined(r)?,
        }
        base.reader.awake();
    }
}

/// A spawned future's end: a failure if it returned `Err` or panicked.
fn joined(r: Result<Result<(), BoxError>, JoinError>) -> Result<(), Failure> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure::Error(e)),
        Err(e) if e.is_panic() => Err(Failure::Panic(panic_message(e.into_panic().as_ref()))),
        Err(_) => Ok(()), // aborted by an immediate stop
    }
}
