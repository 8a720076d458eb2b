//! Supervision benchmarks, each against its baseline in the same group:
//!
//! - `restart_latency`: from a panic in a handler to the replacement
//!   handling the request queued behind the fatal message, against a bare
//!   `thread::spawn` to the new thread handling the message waiting for it
//!   (the floor of any restart that needs a new thread). Both are timed by
//!   the threads themselves (`Instant`s sent back), so the wake-up of the
//!   bench thread is not counted in either. Target: at most 0.3x the spawn.
//! - `start_stop_1000`: a tree of 1,000 servers started and shut down,
//!   against 1,000 bare threads spawned, handed a stop and joined.
//!   Target: under 1 s.
//!
//! A silent panic hook is installed: the default one writes to stderr (and
//! captures a backtrace when `RUST_BACKTRACE` is set), which would be timed
//! instead of the restart.
//!
//! The idle-CPU measurement is `benches/idle_cpu.rs`.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossbeam_channel::{Sender, bounded};
use threadbutler::prelude::*;

/// Panics in its handler, after noting the time.
pub struct Crash;
/// Notes the time it is handled, and answers.
pub struct Ping(pub Reply<()>);
threadbutler::messages! { pub enum PhoenixMsg for Phoenix { Crash, Ping } }

/// A server that dies on `Crash` and is restarted by its supervisor. It
/// reports the instant of each panic and of each `Ping` it handles.
pub struct Phoenix {
    clock: Sender<Instant>,
}

impl Server for Phoenix {
    fn handle(&mut self, msg: PhoenixMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            PhoenixMsg::Crash(Crash) => {
                let _ = self.clock.send(Instant::now());
                panic!("crash on purpose")
            }
            PhoenixMsg::Ping(Ping(r)) => {
                let _ = self.clock.send(Instant::now());
                r.send(())
            }
        }
        Ok(())
    }
}

/// Idles until stopped.
pub struct Idle;
/// Never sent.
pub struct Nothing;
threadbutler::messages! { pub enum IdleMsg for Idle { Nothing } }
impl Server for Idle {
    fn handle(&mut self, _: IdleMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

fn restart_latency(c: &mut Criterion) {
    std::panic::set_hook(Box::new(|_| {}));
    let mut g = c.benchmark_group("restart_latency");
    g.sample_size(30).measurement_time(Duration::from_secs(5));

    // From just before `spawn` to the new thread handling the message that
    // was waiting for it, as the thread itself sees it.
    g.bench_function("bare_spawn_to_first_message", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (tx, rx) = bounded::<u64>(1);
                let (clock_tx, clock_rx) = bounded::<Instant>(1);
                tx.send(black_box(1)).expect("room for one");
                let t0 = Instant::now();
                let t = thread::spawn(move || {
                    if let Ok(v) = rx.recv() {
                        black_box(v);
                        let _ = clock_tx.send(Instant::now());
                    }
                });
                let t1 = clock_rx.recv().expect("the thread reports");
                total += t1 - t0;
                t.join().expect("joined");
            }
            total
        });
    });

    // From the panic in the handler to the replacement handling the request
    // queued behind the fatal message, as the server's threads see it.
    let (clock_tx, clock_rx) = bounded::<Instant>(2);
    let app = Butler::builder("bench")
        .intensity(threadbutler::Policy::MAX_RESTARTS, Duration::from_millis(1))
        .server("phoenix", move || Phoenix {
            clock: clock_tx.clone(),
        })
        .start()
        .expect("starts");
    let addr = app.hub().address::<Phoenix>("phoenix").expect("registered");
    g.bench_function("panic_to_replacement_handling_next", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                addr.send(Crash).expect("accepted");
                addr.request_timeout(Ping, Duration::from_secs(10))
                    .expect("the replacement answers");
                let panicked = clock_rx.recv().expect("panic time");
                let handled = clock_rx.recv().expect("ping time");
                total += handled - panicked;
            }
            total
        });
    });
    g.finish();
    app.shutdown();
    app.wait().expect("clean");
    let _ = std::panic::take_hook();
}

fn start_stop_1000(c: &mut Criterion) {
    let mut g = c.benchmark_group("start_stop_1000");
    g.sample_size(10).measurement_time(Duration::from_secs(20));

    g.bench_function("bare_threads", |b| {
        b.iter(|| {
            let threads: Vec<_> = (0..1000)
                .map(|_| {
                    let (tx, rx) = bounded::<()>(1);
                    let t = thread::spawn(move || {
                        let _ = rx.recv();
                    });
                    (tx, t)
                })
                .collect();
            for (tx, t) in threads.into_iter().rev() {
                let _ = tx.send(());
                t.join().expect("joined");
            }
        });
    });

    g.bench_function("butler_1000_servers", |b| {
        b.iter(|| {
            let mut builder = Butler::builder("bench").default_capacity(Capacity::Bounded(16));
            for i in 0..1000 {
                builder = builder.server(&format!("idle{i}"), || Idle).into();
            }
            let app = builder.start().expect("starts");
            app.shutdown();
            app.wait().expect("clean")
        });
    });
    g.finish();
}

criterion_group!(benches, restart_latency, start_stop_1000);
criterion_main!(benches);
