//! Pool benchmarks, each threadbutler variant in the same group as its
//! baseline:
//!
//! - `pool_throughput`: 200 CPU-bound work items (about 20 µs of arithmetic
//!   each) per iteration, sent to a pool of 1 and of 2 workers
//!   (`Butler::builder(..).pool("w", n, ..)`), whose workers count the
//!   completions together and report on a side channel when the 200th is
//!   done; against the same 200 items run on the bench thread alone. The
//!   point is the 1 → 2 worker scaling on a 2-core machine.
//! - `task_latency`: one task submitted and its result received on the
//!   bench thread, `hub.spawn_task` answering a `Client` mailbox, against
//!   `rayon::spawn` (the global pool, one thread per core) answering on a
//!   reused `crossbeam_channel::bounded(1)`. The task pool has 2 workers,
//!   like rayon's global pool here.
//!
//! Run with `cargo bench -p threadbutler-benches --bench pools`; results in `docs/benchmarks.md`.

// Imports and paths are chosen to format the same under a bare `rustfmt`
// (style edition 2015) and under `cargo fmt` (2024).
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use crossbeam_channel::Sender;
use threadbutler::prelude::*;
use threadbutler::task::TaskPool;

/// Work items per `pool_throughput` iteration.
const ITEMS: u64 = 200;
/// Rounds of the arithmetic loop per item: about 20 µs on the machine in
/// `docs/benchmarks.md` (the baseline divided by `ITEMS` tells).
const ROUNDS: u64 = 8_000;
/// Generous, so that a noisy machine never turns a slow wait into a panic.
const WAIT: Duration = Duration::from_secs(60);

/// One CPU-bound work item: `ROUNDS` dependent multiply-adds on `seed`.
fn crunch(seed: u64) -> u64 {
    let mut x = black_box(seed);
    for i in 0..black_box(ROUNDS) {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        x ^= x >> 29;
    }
    black_box(x)
}

// ---------------------------------------------------------------------------
// pool_throughput

/// One work item.
pub struct Work(pub u64);
threadbutler::messages! { pub enum CruncherMsg for Cruncher { Work } }

/// A pool worker: runs each item, and the one that completes the
/// `ITEMS`-th of the iteration reports on the side channel.
pub struct Cruncher {
    done: std::sync::Arc<AtomicU64>,
    report: Sender<()>,
}

impl Server for Cruncher {
    fn handle(&mut self, msg: CruncherMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let CruncherMsg::Work(Work(seed)) = msg;
        crunch(seed);
        if self.done.fetch_add(1, Ordering::AcqRel) + 1 == ITEMS {
            // Every item of this iteration is done: no other worker touches
            // the counter before the next iteration's first send.
            self.done.store(0, Ordering::Release);
            let _ = self.report.send(());
        }
        Ok(())
    }
}

fn pool_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool_throughput");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sampling_mode(SamplingMode::Flat);

    g.bench_function("bench_thread_alone", |b| {
        b.iter(|| {
            for i in 0..ITEMS {
                crunch(i);
            }
        });
    });

    for workers in [1, 2] {
        let (report_tx, report_rx) = crossbeam_channel::bounded::<()>(1);
        let done = std::sync::Arc::new(AtomicU64::new(0));
        let app = Butler::builder("bench")
            .pool("w", workers, move || Cruncher {
                done: std::sync::Arc::clone(&done),
                report: report_tx.clone(),
            })
            .capacity(Capacity::Bounded(ITEMS as usize))
            .start()
            .expect("starts");
        let addr = app.hub().address::<Cruncher>("w").expect("registered");
        g.bench_function(format!("threadbutler_pool_{workers}_workers"), |b| {
            b.iter(|| {
                for i in 0..ITEMS {
                    addr.send(Work(i)).expect("accepted");
                }
                report_rx.recv_timeout(WAIT).expect("the 200th completes");
            });
        });
        app.shutdown();
        app.wait().expect("clean");
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// task_latency

/// A task's result.
pub struct Answer(pub u64);
/// The bench thread, as a client mailbox.
pub struct Main;
threadbutler::messages! { pub enum MainMsg for Main { Answer } }

fn task_latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("task_latency");
    g.sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    // rayon's global pool starts on the first spawn, in the warm-up.
    let (tx, rx) = crossbeam_channel::bounded::<u64>(1);
    g.bench_function("rayon_spawn_crossbeam_back", |b| {
        b.iter(|| {
            let tx = tx.clone();
            let n = black_box(7u64);
            rayon::spawn(move || {
                let _ = tx.send(n * n);
            });
            black_box(rx.recv_timeout(WAIT).expect("the task answers"))
        });
    });

    let app = Butler::builder("bench")
        .pool("tasks", 2, TaskPool::default)
        .start()
        .expect("starts");
    let mut main = app.hub().client::<Main>("main").expect("registered");
    g.bench_function("threadbutler_spawn_task_client_back", |b| {
        b.iter(|| {
            let n = black_box(7u64);
            app.hub()
                .spawn_task(move |hub| {
                    hub.send(Answer(n * n))?;
                    Ok(())
                })
                .expect("accepted");
            let MainMsg::Answer(Answer(v)) = main.recv_timeout(WAIT).expect("the task answers");
            black_box(v)
        });
    });
    g.finish();
    drop(main);
    app.shutdown();
    app.wait().expect("clean");
}

criterion::criterion_group!(benches, pool_throughput, task_latency);
criterion::criterion_main!(benches);
