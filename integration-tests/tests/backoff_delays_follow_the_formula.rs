//! docs/runtime-semantics.md §11.9 Backoff: the wait before the `n`th
//! consecutive restart of a child is `min(max, min × 2^(n−1))`, shortened by
//! up to `jitter` of itself, and the count starts again once the child has
//! run `reset_after` without failing. A child waiting out its backoff is not
//! running: a shutdown retires it at once, without starting it, and what was
//! queued for it is dead-lettered, not lost (§11.13, §8.1). Observed through
//! the `Restarting` events (§11.17).

use std::time::{Duration, Instant};

use crossbeam_channel::{after, unbounded};
use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Probe, ProbeConfig, Quit};
use integration_tests::wait_until;
use threadbutler::ChildState;
use threadbutler::prelude::*;

const MS: Duration = Duration::from_millis(1);

fn start(name: &str, backoff: Backoff) -> Butler {
    Butler::builder(name)
        .intensity(100, Duration::from_secs(60))
        .server("probe", Probe::factory(ProbeConfig::default()))
        .restart(Restart::Permanent)
        .backoff(backoff)
        .start()
        .expect("starts")
}

fn address(butler: &Butler) -> Address<Probe> {
    butler.hub().address::<Probe>("probe").expect("registered")
}

/// Crashes the running life and waits for the next one to have started;
/// returns the `Restarting` event's attempt and delay, after checking that
/// the restart did wait that long (a lower bound only: the crash was sent
/// before the supervisor's clock started the delay).
fn crash(butler: &Butler, events: &mut EventLog, path: &str) -> (u32, Duration) {
    let sent = Instant::now();
    address(butler).send(Crash).expect("sent");
    let Event::Restarting { attempt, delay, .. } = events.wait("Restarting", path) else {
        unreachable!()
    };
    events.wait("Started", path);
    assert!(
        sent.elapsed() >= delay,
        "attempt {attempt} started before its delay of {delay:?} passed"
    );
    (attempt, delay)
}

/// `min(max, min × 2^(n−1))` for the 10 ms .. 40 ms backoff used here.
fn base(attempt: u32) -> Duration {
    (10 * MS * 2u32.pow(attempt - 1)).min(40 * MS)
}

#[test]
fn without_jitter_the_delays_double_from_min_and_cap_at_max() {
    let butler = start("exact", Backoff::exponential(10 * MS, 40 * MS));
    let mut events = EventLog::new(butler.subscribe());
    let got: Vec<(u32, Duration)> = (0..4)
        .map(|_| crash(&butler, &mut events, "exact/probe"))
        .collect();
    assert_eq!(
        got,
        [(1, 10 * MS), (2, 20 * MS), (3, 40 * MS), (4, 40 * MS)]
    );
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn with_jitter_every_delay_lies_between_half_its_base_and_its_base() {
    let butler = start(
        "jitter",
        Backoff::exponential(10 * MS, 40 * MS).with_jitter(0.5),
    );
    let mut events = EventLog::new(butler.subscribe());
    let got: Vec<(u32, Duration)> = (0..6)
        .map(|_| crash(&butler, &mut events, "jitter/probe"))
        .collect();
    for (n, &(attempt, delay)) in got.iter().enumerate() {
        assert_eq!(attempt, n as u32 + 1, "{got:?}");
        let b = base(attempt);
        assert!(
            b / 2 <= delay && delay <= b,
            "attempt {attempt}: {delay:?} not in [{:?}, {b:?}]",
            b / 2
        );
    }
    assert!(
        got.iter().any(|&(attempt, delay)| delay < base(attempt)),
        "the jitter shortened some delay: {got:?}"
    );
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn a_child_that_ran_reset_after_without_failing_starts_again_from_min() {
    let reset_after = Duration::from_millis(500);
    let butler = start(
        "reset",
        Backoff::exponential(10 * MS, 40 * MS).with_reset_after(reset_after),
    );
    let mut events = EventLog::new(butler.subscribe());
    // Two quick failures: the count grows.
    assert_eq!(crash(&butler, &mut events, "reset/probe"), (1, 10 * MS));
    assert_eq!(crash(&butler, &mut events, "reset/probe"), (2, 20 * MS));
    // This life runs past reset_after before it fails: the count starts over.
    after(reset_after + 50 * MS)
        .recv()
        .expect("the deadline passes");
    assert_eq!(crash(&butler, &mut events, "reset/probe"), (1, 10 * MS));
    assert_eq!(crash(&butler, &mut events, "reset/probe"), (2, 20 * MS));
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

/// A child crashed into a 60 s backoff, then a shutdown: returns the
/// events after the `Restarting`, the dead letters' types, and the stats.
fn shutdown_during_backoff(queue_quit: bool) -> (Vec<String>, Vec<String>, (u64, u64)) {
    let (tx, dead) = unbounded();
    let butler = Butler::builder("waiting")
        .on_dead_letter(move |d| {
            let _ = tx.send(d);
        })
        .server("probe", Probe::factory(ProbeConfig::default()))
        .backoff(Backoff::exponential(
            Duration::from_secs(60),
            Duration::from_secs(60),
        ))
        .start()
        .expect("starts");
    let mut events = EventLog::new(butler.subscribe());
    let addr = address(&butler);
    addr.send(Crash).expect("sent");
    let Event::Restarting { delay, .. } = events.wait("Restarting", "waiting/probe") else {
        unreachable!()
    };
    assert_eq!(delay, Duration::from_secs(60));
    wait_until("the status shows the backoff", || {
        butler
            .status()
            .find("waiting/probe")
            .is_some_and(|n| n.state == ChildState::Restarting)
    });
    if queue_quit {
        // Accepted while nobody runs: it must not disappear.
        addr.send(Quit).expect("the mailbox outlives the life");
    }

    let began = Instant::now();
    butler.shutdown();
    let report = butler.wait().expect("a requested shutdown");
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "the shutdown did not wait out the backoff: {:?}",
        began.elapsed()
    );
    assert!(matches!(report.reason, ExitReason::Shutdown));
    assert_eq!(report.exit_code(), 0, "nothing queued was lost");

    events.wait("Stopped", "waiting/probe");
    let after_backoff = events.only(&["Starting", "Started", "Restarting", "Stopped"]);
    let letters: Vec<String> = dead.try_iter().map(|d| d.message_type.to_owned()).collect();
    let s = addr.stats();
    assert_eq!(s.accepted, s.handled + s.dead_lettered);
    (after_backoff, letters, (s.handled, s.dead_lettered))
}

#[test]
fn a_shutdown_during_a_backoff_wait_stops_at_once_without_starting_an_idle_child() {
    let (events, letters, counts) = shutdown_during_backoff(false);
    assert_eq!(
        events,
        ["Restarting waiting/probe", "Stopped waiting/probe"],
        "no new life was started"
    );
    assert_eq!(letters, ["Crash"], "the crash in flight");
    assert_eq!(counts, (0, 1));
}

#[test]
fn a_shutdown_during_a_backoff_wait_starts_the_child_at_once_to_drain_its_queue() {
    // §11.16: the drain is a promise to handle the queue.
    let (events, letters, counts) = shutdown_during_backoff(true);
    assert_eq!(
        events,
        [
            "Restarting waiting/probe",
            "Starting waiting/probe",
            "Started waiting/probe",
            "Stopped waiting/probe"
        ],
        "one life, started to drain"
    );
    assert_eq!(letters, ["Crash"], "only the crash in flight");
    assert_eq!(counts, (1, 1), "the queued message was handled");
}
