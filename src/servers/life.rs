//! The life runner: one life of any server, sync or async, from its
//! factory to its exit reason, on the current thread.
//!
//! # Order of events on the thread
//!
//! 1. factory, then `on_start`; either failing (a factory's `Err` or panic
//!    at `Stage::Init`, `on_start`'s at `Stage::Start`) is a failed start:
//!    the start notice is never given, the reason is returned, `on_stop` is
//!    not called (a message `on_start` took from the mailbox itself is
//!    dead-lettered with that reason, as in step 3);
//! 2. the start notice is given (or, when nobody waits on it, kept for the
//!    first convenient moment: see [`Reader::started`]), then the loop;
//! 3. the exit reason is settled: a loop that ends without failing is
//!    `Normal` (the server stopped itself, or its loop ended unasked) or
//!    `Shutdown` (it was asked to); an `Err` or panic is a failure at the
//!    stage it happened in. A message in flight at a failure is
//!    dead-lettered with that reason, once;
//! 4. `on_stop(reason)`; a panic there makes a non-failure reason a failure
//!    at `Stage::Stop`, and keeps a failure it follows;
//! 5. the driver's own end ([`Driver::end`]); the reader retires its handled
//!    count. The mailbox is left to the supervisor: a next life reads it,
//!    or the child's retirement finishes it;
//! 6. the reason is returned (the caller reports it as the thread's last act).
//!
//! Every step that changes the life's state is a structured `tracing`
//! event with the fields `server`, `id` and `kind` ("server starting",
//! "server started", "server failed to start", "on_stop panicked",
//! "server exited", the latter with `reason`). A life that goes well logs
//! at DEBUG only; a failed start, a panicking `on_stop` and a failed exit
//! are ERROR.
//!
//! # Drivers
//!
//! What differs between kinds of server is only how their hooks are
//! called, and that is a [`Driver`]: the sync one (`sync_life.rs`) calls
//! them directly; the async one (`async_server/child.rs`) drives each in its
//! life's current-thread runtime. Both keep their books in one
//! [`CtxBase`] (name, id, mailbox, and the [`Reader`] with the stop signal
//! it obeys), which the runner reads to settle the reason.
//!
//! [`Reader`]: crate::servers::reader::Reader
//! [`Reader::started`]: crate::servers::reader::Reader::started

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use threadbutler_supervisor::{BoxError, ExitReason, Stage, StartNotice, panic_message};

use crate::data::dead_letter::DeadReason;
use crate::data::message::Endpoint;
use crate::servers::ctx_base::CtxBase;

/// A loop that ended in a failure the driver caught itself (a panic the
/// runner catches needs no such value).
pub(crate) enum Failure {
    /// An `Err` returned by a hook, or by a future the server spawned.
    Error(BoxError),
    /// A panic caught inside the driver (a spawned future's), with its text.
    #[cfg_attr(not(feature = "async"), allow(dead_code))] // only async servers spawn futures
    Panic(String),
}

/// How one kind of server is built and its hooks are called. The runner
/// ([`run`]) does everything else, the same way for every kind.
///
/// The runner calls [`build`](Driver::build) first; the other hooks only
/// after it succeeded, in the order of the module docs, each at most once,
/// and [`end`](Driver::end) last, whatever happened.
pub(crate) trait Driver {
    /// The endpoint whose mailbox the life reads.
    type Endpoint: Endpoint;
    /// The server value the hooks run on.
    type Server;
    /// The `kind` field of this driver's log events.
    const KIND: &'static str;

    /// The life's books: who it is, its mailbox, its stop, its reader.
    fn base(&mut self) -> &mut CtxBase<Self::Endpoint>;

    /// Builds the server (the factory), at `Stage::Init`.
    ///
    /// # Errors
    ///
    /// The factory's refusal: a failed start.
    fn build(&mut self) -> Result<Self::Server, BoxError>;

    /// `on_start`, and whatever the kind of server sets up with it, at
    /// `Stage::Start`.
    ///
    /// # Errors
    ///
    /// A failed start.
    fn start(&mut self, server: &mut Self::Server) -> Result<(), BoxError>;

    /// The loop, until the server is to stop.
    ///
    /// # Errors
    ///
    /// A failure at the reader's stage.
    fn run(&mut self, server: &mut Self::Server) -> Result<(), Failure>;

    /// `on_stop(reason)`.
    fn stop(&mut self, server: &mut Self::Server, reason: &ExitReason);

    /// The driver's own end, before the reader retires.
    fn end(&mut self) {}
}

thread_local! {
    static ON_SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// True on a thread that is running a server life (sync or async).
pub(crate) fn on_server_thread() -> bool {
    ON_SERVER_THREAD.with(Cell::get)
}

/// Runs `f`, turning an `Err` or a panic into a failure at `stage`.
fn caught<T>(stage: Stage, f: impl FnOnce() -> Result<T, BoxError>) -> Result<T, ExitReason> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ExitReason::failed(stage, e)),
        Err(p) => Err(ExitReason::Panicked {
            stage,
            message: panic_message(p.as_ref()),
        }),
    }
}

/// Runs one life to its end on the current thread. See the module docs.
pub(crate) fn run<D: Driver>(mut driver: D, started: StartNotice) -> ExitReason {
    ON_SERVER_THREAD.with(|c| c.set(true));
    let (name, id, kind) = {
        let base = driver.base();
        (Arc::clone(&base.name), base.id, D::KIND)
    };
    tracing::debug!(server = %name, id, kind, "server starting");

    let start = caught(Stage::Init, || driver.build()).and_then(|mut server| {
        driver.base().reader.set_stage(Stage::Start);
        caught(Stage::Start, || driver.start(&mut server))?;
        Ok(server)
    });
    let mut server = match start {
        Ok(s) => s,
        Err(reason) => {
            tracing::error!(server = %name, id, kind, reason = %reason, "server failed to start");
            dead_letter_in_flight(driver.base(), &reason);
            finish(&mut driver);
            return reason;
        }
    };
    let base = driver.base();
    base.reader.set_stage(Stage::Run);
    base.reader.started(started);
    tracing::debug!(server = %name, id, kind, "server started");

    let outcome = catch_unwind(AssertUnwindSafe(|| driver.run(&mut server)));
    let base = driver.base();
    // A life that started reports it before it reports its end.
    base.reader.give_start_notice();
    let stage = base.reader.stage();
    let mut reason = match outcome {
        Ok(Ok(())) => {
            base.reader.finish_in_flight();
            if base.stopped_itself() || !base.should_stop() {
                ExitReason::Normal
            } else {
                ExitReason::Shutdown
            }
        }
        Ok(Err(Failure::Error(e))) => ExitReason::failed(stage, e),
        Ok(Err(Failure::Panic(message))) => ExitReason::Panicked { stage, message },
        Err(p) => ExitReason::Panicked {
            stage,
            message: panic_message(p.as_ref()),
        },
    };
    dead_letter_in_flight(base, &reason);

    base.reader.set_stage(Stage::Stop);
    let stop_hook = catch_unwind(AssertUnwindSafe(|| {
        driver.stop(&mut server, &reason);
        drop(server);
    }));
    if let Err(p) = stop_hook {
        let message = panic_message(p.as_ref());
        tracing::error!(server = %name, id, kind, panic = %message, "on_stop panicked");
        if !reason.is_failure() {
            reason = ExitReason::Panicked {
                stage: Stage::Stop,
                message,
            };
        }
    }
    finish(&mut driver);
    if reason.is_failure() {
        tracing::error!(server = %name, id, kind, reason = %reason, "server exited");
    } else {
        tracing::debug!(server = %name, id, kind, reason = %reason, "server exited");
    }
    reason
}

/// Dead-letters the message in hand, if any, with `reason`. Only a failure
/// leaves one; it is never retried.
fn dead_letter_in_flight<E: Endpoint>(base: &mut CtxBase<E>, reason: &ExitReason) {
    if let Some(message_type) = base.reader.take_in_flight() {
        base.core
            .dead_letter(message_type, DeadReason::InFlight(reason.clone()), None);
    }
}

/// The driver's end and the reader's retirement.
fn finish<D: Driver>(driver: &mut D) {
    driver.end();
    let base = driver.base();
    base.reader.retire(&base.core);
}

#[cfg(test)]
mod tests {
    use crossbeam_channel::unbounded;

    use crate::{
        BoxError, Ctx, DeadLetter, DeadReason, ExitReason, Hub, Server, SpawnError, Stage,
    };

    struct Early;
    struct Greedy;
    crate::messages! { enum GreedyMsg for Greedy { Early } }

    /// Takes a message in `on_start`, then refuses to start.
    impl Server for Greedy {
        fn on_start(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
            ctx.address().send(Early)?;
            let _taken = ctx.recv();
            Err("not today".into())
        }

        fn handle(&mut self, _: GreedyMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
            Ok(())
        }
    }

    #[test]
    fn a_message_taken_by_a_start_that_fails_is_dead_lettered_with_its_reason() {
        let (tx, dead) = unbounded();
        let hub = Hub::builder("app")
            .on_dead_letter(move |d: DeadLetter| {
                let _ = tx.send(d);
            })
            .build();
        let err = hub.spawn("greedy", || Greedy).expect_err("the start fails");
        assert!(
            matches!(
                &err,
                SpawnError::StartFailed {
                    reason: ExitReason::Failed {
                        stage: Stage::Start,
                        ..
                    },
                    ..
                }
            ),
            "{err}"
        );
        let letter = dead
            .try_recv()
            .expect("the message in hand was dead-lettered");
        assert_eq!(letter.message_type, "Early");
        assert!(
            matches!(
                letter.reason,
                DeadReason::InFlight(ExitReason::Failed {
                    stage: Stage::Start,
                    ..
                })
            ),
            "{}",
            letter.reason
        );
        assert!(dead.try_recv().is_err(), "once");
        let _ = hub.shutdown();
    }
}
