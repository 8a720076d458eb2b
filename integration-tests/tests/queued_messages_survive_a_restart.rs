//! DESIGN.md rule 1 ("a mailbox belongs to the hub, not to the thread");
//! docs/runtime-semantics.md §11.12 (mailboxes across lives) and §11.10
//! (the thread of the next life), with §7 Failures and §8 Dead letters and
//! counters: a server that fails on one message is restarted
//! behind the same address; what was queued behind the failing message is
//! handled by the next life; only the message in flight is dead-lettered
//! (`InFlight`), and the counters balance. A restart after a caught failure
//! reuses the thread unless `fresh_thread_on_restart` asks for a new one.

use std::thread;

use crossbeam_channel::{Receiver, unbounded};
use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Fail, Hang, Ping, Pong, Probe, ProbeConfig};
use integration_tests::{PATIENCE, wait_until};
use threadbutler::prelude::*;

/// A butler with one probe named "probe" and a dead-letter channel.
fn start(name: &str, fresh_thread: bool) -> (Butler, ProbeConfig, Receiver<DeadLetter>) {
    let (tx, dead) = unbounded();
    let cfg = ProbeConfig::default();
    let butler = Butler::builder(name)
        .on_dead_letter(move |d| {
            // The receiver lives as long as the test.
            let _ = tx.send(d);
        })
        .server("probe", Probe::factory(cfg.clone()))
        .fresh_thread_on_restart(fresh_thread)
        .start()
        .expect("starts");
    (butler, cfg, dead)
}

fn ping(addr: &Address<Probe>) -> Pong {
    addr.request_timeout(Ping, PATIENCE).expect("answered")
}

/// Holds the probe at its gate, queues `fatal` then `n` pings behind it,
/// releases it, and checks that the next life answers every ping and that
/// only `fatal` is dead-lettered.
fn queued_pings_survive<M>(app: &str, fatal: M, n: usize, stage_text: &str)
where
    M: Routed<To = Probe>,
{
    let (butler, cfg, dead) = start(app, false);
    let mut events = EventLog::new(butler.subscribe());
    let path = format!("{app}/probe");
    let addr = butler.hub().address::<Probe>("probe").expect("registered");
    let first = ping(&addr);

    addr.send(Hang).expect("sent");
    cfg.gate.wait_arrival();
    addr.send(fatal).expect("queued behind the hang");
    let pongs: Vec<Pong> = thread::scope(|s| {
        let waiting: Vec<_> = (0..n).map(|_| s.spawn(|| ping(&addr))).collect();
        wait_until("the pings are queued behind the fatal message", || {
            addr.depth() == n + 1
        });
        cfg.gate.open(1);
        waiting
            .into_iter()
            .map(|h| h.join().expect("a pinger"))
            .collect()
    });

    let Event::Exited { id, reason, .. } = events.wait("Exited", &path) else {
        unreachable!()
    };
    assert_eq!(id, first.id);
    assert!(reason.is_failure(), "{reason}");
    let Event::Started { id: new_id, .. } = events.wait("Started", &path) else {
        unreachable!()
    };
    assert_ne!(new_id, first.id);

    let mut handled_before: Vec<u64> = pongs
        .iter()
        .map(|p| {
            assert_eq!(p.name, "probe");
            assert_eq!(p.id, new_id, "answered by the new life");
            p.handled
        })
        .collect();
    handled_before.sort_unstable();
    assert_eq!(
        handled_before,
        (0..n as u64).collect::<Vec<_>>(),
        "the new life handled exactly the queued pings"
    );
    assert_eq!(
        butler
            .hub()
            .address::<Probe>("probe")
            .map(|a| a.name().to_owned()),
        Some("probe".to_owned()),
        "the same mailbox, still registered under its name"
    );

    // Everything accepted: the first ping, the hang, the fatal message, n pings.
    let accepted = 3 + n as u64;
    wait_until("the handled count settles", || {
        butler.hub().stats("probe").expect("registered").handled == accepted - 1
    });
    let s = butler.hub().stats("probe").expect("registered");
    assert_eq!(s.queued, 0);
    assert_eq!(s.dead_lettered, 1);
    assert_eq!(s.accepted, s.handled + s.dead_lettered);
    assert_eq!(s.accepted, accepted);

    let d = dead.recv_timeout(PATIENCE).expect("the fatal message");
    assert_eq!(&*d.server, "probe");
    assert!(
        matches!(&d.reason, DeadReason::InFlight(r) if r.to_string().starts_with(stage_text)),
        "{d}"
    );
    assert!(d.payload.is_none(), "the handler consumed it");

    butler.shutdown();
    butler.wait().expect("a requested shutdown");
    let left: Vec<String> = dead.try_iter().map(|d| d.to_string()).collect();
    assert!(left.is_empty(), "nothing else was dead-lettered: {left:?}");
    let s = addr.stats();
    assert_eq!(s.accepted, accepted);
    assert_eq!(s.accepted, s.handled + s.dead_lettered);
}

#[test]
fn pings_queued_behind_a_panic_are_answered_by_the_next_life() {
    queued_pings_survive("panic", Crash, 8, "handle panicked");
}

#[test]
fn pings_queued_behind_an_error_are_answered_by_the_next_life() {
    queued_pings_survive("error", Fail, 8, "handle failed");
}

/// Crashes the probe once; returns the pongs before and after the restart.
fn crash_once(butler: &Butler, path: &str) -> (Pong, Pong) {
    let mut events = EventLog::new(butler.subscribe());
    let addr = butler.hub().address::<Probe>("probe").expect("registered");
    let before = ping(&addr);
    addr.send(Crash).expect("sent");
    events.wait("Restarting", path);
    events.wait("Started", path);
    let after = ping(&addr);
    assert_ne!(after.id, before.id, "a new life");
    (before, after)
}

#[test]
fn a_restart_after_a_caught_panic_reuses_the_thread() {
    let (butler, _cfg, _dead) = start("same-thread", false);
    let (before, after) = crash_once(&butler, "same-thread/probe");
    assert_eq!(after.thread, before.thread);
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}

#[test]
fn fresh_thread_on_restart_gives_every_life_a_new_thread() {
    let (butler, _cfg, _dead) = start("fresh-thread", true);
    let (before, after) = crash_once(&butler, "fresh-thread/probe");
    assert_ne!(after.thread, before.thread);
    butler.shutdown();
    butler.wait().expect("a requested shutdown");
}
