//! One life runner for both kinds of server: the same script, played by a
//! sync server and by an async one, leaves the same trail of hooks, dead
//! letters and exit reasons, in the same order (`life.rs`'s module docs,
//! runtime-semantics §5, §7). The one documented difference: after a panic
//! in an async handler, `on_stop` does not run (§14.4).

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::{AsyncCtx, AsyncServer};
use crate::{
    BoxError, Butler, ButlerBuilder, ChildScope, Ctx, DeadLetter, DeadReason, Error, Event,
    ExitReason, Hub, Restart, Server,
};

/// Long enough for a loaded machine; only reached when a test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// What a probe does with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Work,
    Fail,
    Crash,
    Quit,
    /// Async only: spawns a future that fails.
    SpawnFail,
}

/// What both probes record, and how they misbehave.
#[derive(Clone)]
struct Script {
    trail: Sender<String>,
    fail_start: bool,
    panic_in_stop: bool,
}

impl Script {
    fn note(&self, what: String) {
        let _ = self.trail.send(what);
    }

    fn on_start(&self) -> Result<(), BoxError> {
        self.note("on_start".into());
        if self.fail_start {
            return Err("no start".into());
        }
        Ok(())
    }

    fn act(&self, step: Step, stop: impl FnOnce()) -> Result<(), BoxError> {
        self.note(format!("handle {step:?}"));
        match step {
            Step::Work | Step::SpawnFail => Ok(()),
            Step::Fail => Err("boom".into()),
            Step::Crash => panic!("crash"),
            Step::Quit => {
                stop();
                Ok(())
            }
        }
    }

    fn on_stop(&self, reason: &ExitReason) {
        self.note(format!("on_stop: {}", short(reason)));
        if self.panic_in_stop {
            panic!("stop boom");
        }
    }
}

fn short(reason: &ExitReason) -> String {
    match reason {
        ExitReason::Normal => "Normal".into(),
        ExitReason::Shutdown => "Shutdown".into(),
        ExitReason::Failed { stage, .. } => format!("failed at {stage:?}"),
        ExitReason::Panicked { stage, .. } => format!("panicked at {stage:?}"),
        ExitReason::ChildStartFailed { reason, .. } => short(reason),
        other => other.to_string(),
    }
}

struct SyncDo(Step);
struct SyncProbe(Script);
crate::messages! { enum SyncProbeMsg for SyncProbe { SyncDo } }

impl Server for SyncProbe {
    fn on_start(&mut self, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        self.0.on_start()
    }

    fn handle(&mut self, msg: SyncProbeMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let SyncProbeMsg::SyncDo(SyncDo(step)) = msg;
        self.0.act(step, || ctx.stop())
    }

    fn on_stop(&mut self, reason: &ExitReason, _: &mut Ctx<Self>) {
        self.0.on_stop(reason);
    }
}

struct AsyncDo(Step);
struct AsyncProbe(Script);
crate::messages! { enum AsyncProbeMsg for AsyncProbe { AsyncDo } }

impl AsyncServer for AsyncProbe {
    async fn on_start(&mut self, _: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
        tokio::task::yield_now().await;
        self.0.on_start()
    }

    async fn handle(
        &mut self,
        msg: AsyncProbeMsg,
        ctx: &mut AsyncCtx<Self>,
    ) -> Result<(), BoxError> {
        let AsyncProbeMsg::AsyncDo(AsyncDo(step)) = msg;
        if step == Step::SpawnFail {
            ctx.spawn(async { Err("a future failed".into()) });
        }
        // A real suspension point, so that a panic unwinds mid-`await`.
        tokio::task::yield_now().await;
        self.0.act(step, || ctx.stop())
    }

    async fn on_stop(&mut self, reason: &ExitReason, _: &mut AsyncCtx<Self>) {
        tokio::task::yield_now().await;
        self.0.on_stop(reason);
    }
}

/// A kind of server the script can be played by.
trait Probe {
    fn declare(app: ButlerBuilder, script: Script) -> ChildScope<ButlerBuilder>;
    fn send(hub: &Hub, step: Step);
}

impl Probe for SyncProbe {
    fn declare(app: ButlerBuilder, script: Script) -> ChildScope<ButlerBuilder> {
        app.server("probe", move || {
            script.note("build".into());
            SyncProbe(script.clone())
        })
    }

    fn send(hub: &Hub, step: Step) {
        hub.send(SyncDo(step)).expect("the probe's mailbox is open");
    }
}

impl Probe for AsyncProbe {
    fn declare(app: ButlerBuilder, script: Script) -> ChildScope<ButlerBuilder> {
        app.async_server("probe", move || {
            script.note("build".into());
            AsyncProbe(script.clone())
        })
    }

    fn send(hub: &Hub, step: Step) {
        hub.send(AsyncDo(step))
            .expect("the probe's mailbox is open");
    }
}

/// Plays `steps` to one life of a `P` (not restarted), then shuts down if
/// the life is still running; returns the trail, ending with the exit.
fn play<P: Probe>(steps: &[Step], fail_start: bool, panic_in_stop: bool) -> Vec<String> {
    let (trail, read): (Sender<String>, Receiver<String>) = unbounded();
    let dead = trail.clone();
    let script = Script {
        trail,
        fail_start,
        panic_in_stop,
    };
    let app = P::declare(
        Butler::builder("app").on_dead_letter(move |d: DeadLetter| {
            let what = match &d.reason {
                DeadReason::InFlight(r) => format!("dead letter: in flight, {}", short(r)),
                other => format!("dead letter: {other}"),
            };
            let _ = dead.send(what);
        }),
        script,
    )
    .restart(Restart::Temporary);
    let events = app.subscribe();
    let app = match app.start() {
        Ok(app) => app,
        Err(Error::Start { reason }) => {
            let mut seen: Vec<String> = read.try_iter().collect();
            seen.push(format!("start failed: {}", short(&reason)));
            return seen;
        }
        Err(e) => panic!("{e}"),
    };
    for &step in steps {
        P::send(app.hub(), step);
    }
    if !matches!(
        steps.last(),
        Some(Step::Fail | Step::Crash | Step::Quit | Step::SpawnFail)
    ) {
        app.shutdown();
    }
    let reason = loop {
        match events.recv_timeout(PATIENCE) {
            Ok(Event::Exited { child, reason, .. }) if &*child == "app/probe" => break reason,
            Ok(_) => {}
            Err(e) => panic!("no exit of the probe: {e}"),
        }
    };
    // Everything the life recorded happened before its exit was reported.
    let mut seen: Vec<String> = read.try_iter().collect();
    seen.push(format!("exited: {}", short(&reason)));
    app.shutdown();
    let _ = app.wait();
    seen
}

/// Plays the script to both kinds and checks both trails against `want`.
fn both(steps: &[Step], fail_start: bool, panic_in_stop: bool, want: &[&str]) {
    let sync = play::<SyncProbe>(steps, fail_start, panic_in_stop);
    let r#async = play::<AsyncProbe>(steps, fail_start, panic_in_stop);
    assert_eq!(sync, want, "the sync server's trail");
    assert_eq!(r#async, want, "the async server's trail");
}

#[test]
fn a_clean_shutdown_runs_the_same_hooks_in_the_same_order() {
    both(
        &[Step::Work, Step::Work],
        false,
        false,
        &[
            "build",
            "on_start",
            "handle Work",
            "handle Work",
            "on_stop: Shutdown",
            "exited: Shutdown",
        ],
    );
}

#[test]
fn a_failing_handler_dead_letters_its_message_before_on_stop() {
    both(
        &[Step::Work, Step::Fail],
        false,
        false,
        &[
            "build",
            "on_start",
            "handle Work",
            "handle Fail",
            "dead letter: in flight, failed at Handle",
            "on_stop: failed at Handle",
            "exited: failed at Handle",
        ],
    );
}

#[test]
fn a_server_that_stops_itself_exits_normally() {
    both(
        &[Step::Quit],
        false,
        false,
        &[
            "build",
            "on_start",
            "handle Quit",
            "on_stop: Normal",
            "exited: Normal",
        ],
    );
}

#[test]
fn a_failed_start_never_calls_on_stop() {
    both(
        &[],
        true,
        false,
        &["build", "on_start", "start failed: failed at Start"],
    );
}

#[test]
fn a_panic_in_on_stop_keeps_the_failure_it_follows() {
    both(
        &[Step::Fail],
        false,
        true,
        &[
            "build",
            "on_start",
            "handle Fail",
            "dead letter: in flight, failed at Handle",
            "on_stop: failed at Handle",
            "exited: failed at Handle",
        ],
    );
}

#[test]
fn a_panicking_handler_skips_on_stop_only_in_an_async_server() {
    let sync = play::<SyncProbe>(&[Step::Crash], false, false);
    assert_eq!(
        sync,
        [
            "build",
            "on_start",
            "handle Crash",
            "dead letter: in flight, panicked at Handle",
            "on_stop: panicked at Handle",
            "exited: panicked at Handle",
        ]
    );
    // §14.4: the panic unwound through the runtime mid-`await`.
    let r#async = play::<AsyncProbe>(&[Step::Crash], false, false);
    assert_eq!(
        r#async,
        [
            "build",
            "on_start",
            "handle Crash",
            "dead letter: in flight, panicked at Handle",
            "exited: panicked at Handle",
        ]
    );
}

#[test]
fn a_failing_spawned_future_is_a_failure_at_run_and_on_stop_runs() {
    let r#async = play::<AsyncProbe>(&[Step::SpawnFail], false, false);
    assert_eq!(
        r#async,
        [
            "build",
            "on_start",
            "handle SpawnFail",
            "on_stop: failed at Run",
            "exited: failed at Run",
        ]
    );
}
