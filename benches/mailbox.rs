//! Mailbox benchmarks: threadbutler against a raw crossbeam baseline, each in
//! the same criterion group so that the result reads as a ratio.
//!
//! - `one_way`: 1,000,000 `u64`-carrying messages from the bench thread to
//!   a receiver thread per iteration, then a wait until the receiver has
//!   consumed them all. The time per iteration in ms is the cost per message
//!   in ns (criterion also prints it as throughput, `Melem/s`). With the
//!   feature `metrics`, a third variant runs the same sends to a `Butler`
//!   server while the metrics exporter reads every millisecond into
//!   metrics-util's debugging recorder.
//! - `round_trip`: one request and its reply per iteration.
//!
//! The receiver threads and servers are started once per benchmark and
//! stopped after it. Run with `cargo bench -p threadbutler-benches --bench mailbox`
//! (`--features metrics` for the exporter variant); the results and the
//! machine they were taken on are in `docs/benchmarks.md`.

use std::hint::black_box;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use crossbeam_channel::{Receiver, Sender, bounded};
use threadbutler::prelude::*;

/// Messages per `one_way` iteration.
const MESSAGES: u64 = 1_000_000;
/// Mailbox and raw channel capacity.
const CAPACITY: usize = 1024;
/// Generous, so that a noisy machine never turns a slow drain into an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// The threadbutler servers.

/// One counted message.
pub struct N(pub u64);
/// Reports the count since the last `Done` on the sink's report channel,
/// and resets it.
pub struct Done;

/// Holds the sink until its gate channel gets a `()`.
pub struct Hold;

// Unit markers and a u64: `SinkMsg` is 16 bytes, like the raw `RawMsg`, so
// both channels move the same bytes per message.
threadbutler::messages! { pub enum SinkMsg for Sink { N, Done, Hold } }

/// Counts what it receives.
pub struct Sink {
    count: u64,
    report: Sender<u64>,
    gate: Receiver<()>,
}

impl Sink {
    /// A factory for a sink reporting on `report` and held on `gate`.
    fn factory(
        report: Sender<u64>,
        gate: Receiver<()>,
    ) -> impl Fn() -> Sink + Send + Sync + 'static {
        move || Sink {
            count: 0,
            report: report.clone(),
            gate: gate.clone(),
        }
    }
}

impl Server for Sink {
    fn handle(&mut self, msg: SinkMsg, _ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            SinkMsg::N(N(n)) => {
                black_box(n);
                self.count += 1;
            }
            SinkMsg::Done(Done) => {
                let _ = self.report.send(std::mem::take(&mut self.count));
            }
            SinkMsg::Hold(Hold) => {
                let _ = self.gate.recv();
            }
        }
        Ok(())
    }
}

/// A request carrying a value, answered with the same value.
pub struct Echo(pub u64, pub Reply<u64>);

threadbutler::messages! { pub enum EchoerMsg for Echoer { Echo } }

/// Answers every `Echo` with its value.
pub struct Echoer;

impl Server for Echoer {
    fn handle(&mut self, msg: EchoerMsg, _ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let EchoerMsg::Echo(Echo(n, reply)) = msg;
        reply.send(n);
        Ok(())
    }
}

fn hub() -> Hub {
    Hub::builder("bench")
        .request_timeout(REQUEST_TIMEOUT)
        .build()
}

fn shut_down(hub: &Hub) {
    let report = hub.shutdown().expect("the bench thread is not a server");
    assert!(report.is_clean(), "unclean shutdown: {report:?}");
}

/// One `one_way` iteration through `sink`: `MESSAGES` sends, then a `Done`
/// and the wait for the count.
fn send_all(sink: &Address<Sink>, report: &Receiver<u64>) {
    for i in 0..MESSAGES {
        if sink.send(N(i)).is_err() {
            panic!("sink mailbox closed");
        }
    }
    if sink.send(Done).is_err() {
        panic!("sink mailbox closed");
    }
    let count = report.recv().expect("the sink reports");
    assert_eq!(count, MESSAGES);
}

/// The exporter variant (feature `metrics`): a `Butler` whose exporter
/// reads every millisecond (`metrics::MIN_INTERVAL`, the shortest) into
/// metrics-util's debugging recorder (installed once for the process: a
/// recorder is global), while the same sends as
/// `threadbutler_address_send` run.
#[cfg(feature = "metrics")]
fn one_way_with_exporter(b: &mut criterion::Bencher<'_>) {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use std::sync::OnceLock;

    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    let snapshotter = SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .unwrap_or_else(|_| panic!("no other recorder in the bench process"));
        snapshotter
    });
    let (report_tx, report) = bounded(1);
    let (_gate, gate_rx) = bounded(1);
    let app = Butler::builder("bench")
        .request_timeout(REQUEST_TIMEOUT)
        .metrics(Duration::from_millis(1))
        .server("sink", Sink::factory(report_tx, gate_rx))
        .capacity(Capacity::Bounded(CAPACITY))
        .start()
        .expect("start the sink");
    let sink = app.hub().address::<Sink>("sink").expect("declared");
    b.iter(|| send_all(&sink, &report));
    // The exporter did read while the bench ran, before the last reading
    // at `wait`.
    let accepted = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find_map(|(key, _, _, value)| {
            let key = key.key();
            let sink_accepted = key.name() == threadbutler::metrics::MAILBOX_ACCEPTED
                && key.labels().any(|l| l.value() == "bench/sink");
            match value {
                DebugValue::Counter(n) if sink_accepted => Some(n),
                _ => None,
            }
        });
    assert!(
        accepted.is_some_and(|n| n > 0),
        "no reading during the bench: {accepted:?}"
    );
    app.shutdown();
    let report = app.wait().expect("a clean shutdown");
    assert!(report.is_clean(), "unclean shutdown: {report:?}");
}

// ---------------------------------------------------------------------------
// The raw baselines.

/// The raw one-way receiver's messages: the same shape and size as
/// `SinkMsg`.
enum RawMsg {
    N(u64),
    Done,
    Hold,
}

/// A thread that counts `RawMsg::N` with plain `recv()`, reports the count
/// on `report` at each `Done`, and waits on `gate` at each `Hold`. It ends
/// when the sender is dropped.
fn raw_sink(rx: Receiver<RawMsg>, report: Sender<u64>, gate: Receiver<()>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut count = 0u64;
        while let Ok(msg) = rx.recv() {
            match msg {
                RawMsg::N(n) => {
                    black_box(n);
                    count += 1;
                }
                RawMsg::Done => {
                    let _ = report.send(std::mem::take(&mut count));
                }
                RawMsg::Hold => {
                    let _ = gate.recv();
                }
            }
        }
    })
}

/// A thread that answers every `u64` with itself on `tx`, with plain
/// `recv()`. It ends when the request sender is dropped.
fn raw_echo(rx: Receiver<u64>, tx: Sender<u64>) -> JoinHandle<()> {
    thread::spawn(move || {
        while let Ok(n) = rx.recv() {
            if tx.send(n).is_err() {
                break;
            }
        }
    })
}

// ---------------------------------------------------------------------------
// The groups.

fn one_way(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_way");
    group
        .throughput(Throughput::Elements(MESSAGES))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));

    group.bench_function("raw_crossbeam_bounded_1024", |b| {
        let (tx, rx) = bounded::<RawMsg>(CAPACITY);
        let (report_tx, report) = bounded(1);
        let (_gate, gate_rx) = bounded(1);
        let receiver = raw_sink(rx, report_tx, gate_rx);
        b.iter(|| {
            for i in 0..MESSAGES {
                tx.send(RawMsg::N(i))
                    .unwrap_or_else(|_| panic!("raw receiver gone"));
            }
            tx.send(RawMsg::Done)
                .unwrap_or_else(|_| panic!("raw receiver gone"));
            let count = report.recv().expect("raw receiver reports");
            assert_eq!(count, MESSAGES);
        });
        drop(tx);
        receiver.join().expect("raw receiver thread");
    });

    group.bench_function("threadbutler_address_send", |b| {
        let hub = hub();
        let (report_tx, report) = bounded(1);
        let (_gate, gate_rx) = bounded(1);
        let sink = hub
            .server("sink", Sink::factory(report_tx, gate_rx))
            .capacity(Capacity::Bounded(CAPACITY))
            .spawn()
            .expect("spawn the sink");
        b.iter(|| send_all(&sink, &report));
        shut_down(&hub);
    });

    #[cfg(feature = "metrics")]
    group.bench_function(
        "threadbutler_address_send_metrics_exporter_1ms",
        one_way_with_exporter,
    );

    group.finish();
}

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_trip");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    // Request channel bounded(1024) like the mailbox, reply channel
    // bounded(1) like `Reply`; both made once and reused.
    group.bench_function("raw_two_channel_ping_pong", |b| {
        let (req_tx, req_rx) = bounded::<u64>(CAPACITY);
        let (rep_tx, rep_rx) = bounded::<u64>(1);
        let server = raw_echo(req_rx, rep_tx);
        let mut i = 0u64;
        b.iter(|| {
            i = i.wrapping_add(1);
            req_tx.send(i).expect("raw echo thread alive");
            let n = rep_rx.recv().expect("raw echo thread answers");
            assert_eq!(n, i, "the answer to this request");
            n
        });
        drop(req_tx);
        server.join().expect("raw echo thread");
    });

    // Diagnostic, not a baseline: the raw ping-pong with a fresh bounded(1)
    // reply channel per request, sent along with the value, as `Reply` does.
    // Separates the cost of the one-shot reply channel from the rest.
    group.bench_function("raw_ping_pong_fresh_reply_channel", |b| {
        let (req_tx, req_rx) = bounded::<(u64, Sender<u64>)>(CAPACITY);
        let server = thread::spawn(move || {
            while let Ok((n, reply)) = req_rx.recv() {
                let _ = reply.try_send(n);
            }
        });
        let mut i = 0u64;
        b.iter(|| {
            i = i.wrapping_add(1);
            let (rep_tx, rep_rx) = bounded::<u64>(1);
            req_tx
                .send((i, rep_tx))
                .unwrap_or_else(|_| panic!("raw echo thread gone"));
            let n = rep_rx.recv().expect("raw echo thread answers");
            assert_eq!(n, i, "the answer to this request");
            n
        });
        drop(req_tx);
        server.join().expect("raw echo thread");
    });

    group.bench_function("threadbutler_request", |b| {
        let hub = hub();
        let echo = hub
            .server("echo", || Echoer)
            .capacity(Capacity::Bounded(CAPACITY))
            .spawn()
            .expect("spawn the echoer");
        let mut i = 0u64;
        b.iter(|| {
            i = i.wrapping_add(1);
            let n = echo.request(|r| Echo(i, r)).expect("the echoer answers");
            assert_eq!(n, i, "the answer to this request");
            n
        });
        shut_down(&hub);
    });

    group.bench_function("threadbutler_hub_request", |b| {
        let hub = hub();
        hub.server("echo", || Echoer)
            .capacity(Capacity::Bounded(CAPACITY))
            .spawn()
            .expect("spawn the echoer");
        let mut i = 0u64;
        b.iter(|| {
            i = i.wrapping_add(1);
            let n = hub.request(|r| Echo(i, r)).expect("the echoer answers");
            assert_eq!(n, i, "the answer to this request");
            n
        });
        shut_down(&hub);
    });

    group.finish();
}

/// The two halves of `one_way` apart: the sender filling a mailbox whose
/// reader is held (no reader running), and the reader draining a full
/// mailbox (no sender running). Each half's cost per message, without the
/// cache-line traffic between a sender and a reader running at once.
fn one_way_halves(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_way_halves");
    group
        .throughput(Throughput::Elements(MESSAGES))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    let room = MESSAGES as usize + 16;

    // Hold the reader, fill (timed or not), release, drain (timed or not),
    // and wait for the count: the same steps for raw and threadbutler.
    fn halves(
        iters: u64,
        time_send: bool,
        send: &dyn Fn(RawMsg),
        gate: &Sender<()>,
        report: &Receiver<u64>,
    ) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            send(RawMsg::Hold);
            let t = std::time::Instant::now();
            for i in 0..MESSAGES {
                send(RawMsg::N(i));
            }
            if time_send {
                total += t.elapsed();
            }
            send(RawMsg::Done);
            let t = std::time::Instant::now();
            gate.send(()).expect("the reader waits at the gate");
            assert_eq!(report.recv().expect("the reader reports"), MESSAGES);
            if !time_send {
                total += t.elapsed();
            }
        }
        total
    }

    for time_send in [true, false] {
        let half = if time_send {
            "send_only"
        } else {
            "receive_only"
        };
        group.bench_function(format!("raw_{half}"), |b| {
            let (tx, rx) = bounded::<RawMsg>(room);
            let (report_tx, report) = bounded(1);
            let (gate, gate_rx) = bounded(1);
            let receiver = raw_sink(rx, report_tx, gate_rx);
            b.iter_custom(|iters| {
                let send = |m: RawMsg| {
                    tx.send(m).unwrap_or_else(|_| panic!("raw receiver gone"));
                };
                halves(iters, time_send, &send, &gate, &report)
            });
            drop(tx);
            receiver.join().expect("raw receiver thread");
        });
        group.bench_function(format!("threadbutler_{half}"), |b| {
            let hub = hub();
            let (report_tx, report) = bounded(1);
            let (gate, gate_rx) = bounded(1);
            let sink = hub
                .server("sink", Sink::factory(report_tx, gate_rx))
                .capacity(Capacity::Bounded(room))
                .spawn()
                .expect("spawn the sink");
            b.iter_custom(|iters| {
                let send = |m: RawMsg| {
                    let sent = match m {
                        RawMsg::N(i) => sink.send(N(i)).is_ok(),
                        RawMsg::Done => sink.send(Done).is_ok(),
                        RawMsg::Hold => sink.send(Hold).is_ok(),
                    };
                    assert!(sent, "sink mailbox closed");
                };
                halves(iters, time_send, &send, &gate, &report)
            });
            shut_down(&hub);
        });
    }
    group.finish();
}

criterion_group!(benches, one_way, one_way_halves, round_trip);
criterion_main!(benches);
