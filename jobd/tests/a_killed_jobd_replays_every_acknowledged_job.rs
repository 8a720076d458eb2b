//! SIGKILL loses no acknowledged job: jobd answers `ok ID` only once the
//! job is durable in its intake journal, and a restart on the same files
//! replays every journaled job without a result line. Killed at seeded
//! random points while several clients pipeline jobs, then restarted:
//! every id that got `ok ID` ends with exactly one line, no id has two,
//! and the restarted jobd says how many it replayed. Ids stay unique per
//! results file across runs: an id settled in an earlier run is refused.
//!
//! The spec is the crate doc of jobd/src/lib.rs, "Durability" (issue #12,
//! point 1: 733 to 1,021 acknowledged jobs had no line after a SIGKILL).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use integration_tests::PATIENCE;
use integration_tests::jobd::{Jobd, Scratch, Settings};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");
const CLIENTS: usize = 4;
const PER_CLIENT: usize = 1_500;
const SEEDS: [u64; 5] = [1, 7, 42, 1234, 99_991];

/// A small seeded generator (xorshift64*), so a failing seed can be rerun.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn a_killed_jobd_replays_every_acknowledged_job() {
    for seed in SEEDS {
        killed_and_restarted(seed);
    }
}

fn killed_and_restarted(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let scratch = Scratch::new(&format!("replay{seed}"));
    let settings = Settings::new(&scratch);
    let file = scratch.file("words.txt", "one two three\n");
    let file = file.to_str().expect("a UTF-8 path").to_owned();

    // --- the first run: clients pipeline jobs; SIGKILL after a random number of acks
    let mut jobd = Jobd::start(JOBD, &settings);
    let total = (CLIENTS * PER_CLIENT) as u64;
    let kill_at = 50 + rng.below(total - 1_000);
    let (acked_tx, acked_rx) = mpsc::channel::<()>();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut conn = jobd.connect();
            let lines: Vec<String> = (0..PER_CLIENT)
                .map(|i| match (c + i) % 4 {
                    0 => format!("c{c}-{i} sleep 1ms\n"),
                    1 => format!("c{c}-{i} words {file}\n"),
                    2 => format!("c{c}-{i} hash {file}\n"),
                    _ => format!("c{c}-{i} sleep 0s\n"),
                })
                .collect();
            let mut writer = conn.writer();
            let acked_tx = acked_tx.clone();
            thread::spawn(move || {
                // The writes fail once jobd is killed: that ends them.
                let feeder = thread::spawn(move || {
                    for l in &lines {
                        if writer.write_all(l.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
                let mut acked = Vec::new();
                let mut other = Vec::new();
                while let Ok(answer) = conn.try_recv() {
                    match answer.strip_prefix("ok ") {
                        Some(id) => {
                            acked.push(id.to_owned());
                            let _ = acked_tx.send(());
                        }
                        None => other.push(answer),
                    }
                }
                let _ = feeder.join();
                (acked, other)
            })
        })
        .collect();
    drop(acked_tx);
    for n in 0..kill_at {
        acked_rx
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("seed {seed}: only {n} acks of {kill_at}: {e}"));
    }
    jobd.kill_hard();
    let mut acked = Vec::new();
    for c in clients {
        let (ids, other) = c.join().expect("a client thread");
        assert!(
            other.is_empty(),
            "seed {seed}: answers other than `ok ID`: {other:?}"
        );
        acked.extend(ids);
    }
    let first = jobd.results();
    let lined: HashSet<&str> = first.lines.iter().map(|l| l.id.as_str()).collect();
    let missing = acked
        .iter()
        .filter(|id| !lined.contains(id.as_str()))
        .count();

    // --- the second run, on the same files ---------------------------------------
    let mut jobd = Jobd::start(JOBD, &settings);
    let out = jobd.out.seen.join("\n");
    let replayed: usize = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("jobd: replayed ")?
                .strip_suffix(" jobs accepted before a crash")?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    assert!(
        replayed >= missing,
        "seed {seed}: {missing} acknowledged jobs had no line, {replayed} replayed\n{}",
        jobd.transcript()
    );
    // Every acknowledged job's line, waited for (pipelined).
    let mut conn = jobd.connect();
    let waits: Vec<String> = acked.iter().map(|id| format!("wait {id}\n")).collect();
    let feeder = conn.feed(waits);
    for id in &acked {
        let answer = conn.recv();
        assert!(
            answer.starts_with(&format!("done {id} ")),
            "seed {seed}: `wait {id}` answered {answer:?}\n{}",
            jobd.transcript()
        );
    }
    feeder.join().expect("the waits were written");
    drop(conn);
    jobd.signal("TERM");
    let code = jobd
        .exit_status_within(PATIENCE + Duration::from_secs(10))
        .code();
    assert_eq!(code, Some(0), "seed {seed}\n{}", jobd.transcript());
    // Read once jobd has ended: its log writer is flushed. A start with
    // nothing to replay logs nothing about it (at INFO).
    let log = jobd.log().join("\n");
    assert!(
        replayed == 0 || log.contains(&format!("replayed={replayed}")),
        "seed {seed}: the log says how many were replayed\n{log}"
    );

    let results = jobd.results();
    let by_id: HashMap<&str, usize> = results
        .by_id()
        .into_iter()
        .map(|(id, l)| (id, l.len()))
        .collect();
    let twice: Vec<_> = by_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "seed {seed}: ids with two lines: {twice:?}"
    );
    for id in &acked {
        let line = results.only(id);
        assert_eq!(line.outcome, "ok", "seed {seed}: {line:?}");
    }
    eprintln!(
        "seed {seed}: killed after {kill_at} acks; {} acknowledged, {missing} without a line at the kill, {replayed} replayed",
        acked.len()
    );
}

#[test]
fn an_id_settled_in_an_earlier_run_is_refused_after_a_restart() {
    let scratch = Scratch::new("dupid");
    let settings = Settings::new(&scratch);
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();
    conn.submit("once", "sleep 0s");
    assert_eq!(conn.wait("once"), "ok");
    drop(conn);
    jobd.signal("TERM");
    assert_eq!(jobd.exit_code(), Some(0), "{}", jobd.transcript());

    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();
    let answer = conn.ask("once sleep 0s");
    assert!(
        answer.starts_with("err once: duplicate job id"),
        "an id with a line from an earlier run: {answer:?}"
    );
    assert_eq!(conn.wait("once"), "ok", "its earlier line still answers");
    conn.submit("twice", "sleep 0s");
    assert_eq!(conn.wait("twice"), "ok");
    drop(conn);
    jobd.signal("TERM");
    assert_eq!(jobd.exit_code(), Some(0), "{}", jobd.transcript());
    let results = jobd.results();
    results.only("once");
    results.only("twice");
    assert_eq!(results.lines.len(), 2);
}
