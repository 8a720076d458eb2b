//! The intake's admit path without and with the journal's group commit:
//! several submitters, each pipelining a batch of jobs (as a client does
//! over one connection: the batch is what one read of its socket holds)
//! and waiting for the batch's answers. Without the journal a job is
//! admitted and queued; with it, it is admitted, journaled (one `fsync`
//! covers every job appended while the previous one ran) and queued once
//! durable. The two share one group so that the result reads as a ratio.
//!
//! `cargo bench -p jobd --bench journal`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_channel::{Receiver, Sender, bounded};
use threadbutler::prelude::*;

use jobd::job::{Job, JobId, Kind};
use jobd::journal::{self, Journal};
use jobd::ledger::Ledger;

const SUBMITTERS: usize = 4;
/// Jobs a submitter pipelines before it waits for their answers.
const BATCH: usize = 256;

fn job(id: JobId) -> Job {
    Job {
        id,
        kind: Kind::Sleep(Duration::ZERO),
    }
}

/// Runs `per_batch` for `iters` batches spread over the submitters; each
/// submitter uses its own id range (`run` keeps ids unique across calls).
fn submit(iters: u64, run: &mut u64, per_batch: impl Fn(&[JobId]) + Sync) -> Duration {
    *run += 1;
    let run = *run;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..SUBMITTERS {
            let per_batch = &per_batch;
            s.spawn(move || {
                let mine = iters.div_ceil(SUBMITTERS as u64);
                for b in 0..mine {
                    let ids: Vec<JobId> = (0..BATCH)
                        .map(|i| Arc::from(format!("r{run}-t{t}-b{b}-{i}")))
                        .collect();
                    per_batch(&ids);
                }
            });
        }
    });
    start.elapsed()
}

fn queue() -> (Sender<Job>, std::thread::JoinHandle<()>) {
    // The workers' queue, drained by one consumer.
    let (tx, rx): (Sender<Job>, Receiver<Job>) = bounded(1024);
    let drain = std::thread::spawn(move || for _ in rx {});
    (tx, drain)
}

fn journal_vs_none(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("jobd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    let path = dir.join("journal.tsv");
    let app = Butler::builder("bench")
        .server("journal", {
            let path = path.clone();
            move || Journal::new(path.clone(), 0o600)
        })
        .start()
        .expect("the journal starts");
    let journal = app.hub().route::<Journal>().expect("declared");

    let mut g = c.benchmark_group("intake_admit");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let mut run = 0;

    g.bench_function("no_journal", |b| {
        let ledger = Ledger::default();
        let (workers, drain) = queue();
        b.iter_custom(|iters| {
            submit(iters, &mut run, |ids| {
                for id in ids {
                    ledger.admit(id).expect("a fresh id");
                    workers.send(job(id.clone())).expect("drained");
                }
            })
        });
        drop(workers);
        drain.join().expect("the drain ends");
    });

    g.bench_function("journal_group_commit", |b| {
        let ledger = Ledger::default();
        let (workers, drain) = queue();
        b.iter_custom(|iters| {
            submit(iters, &mut run, |ids| {
                let pending: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        ledger.admit(id).expect("a fresh id");
                        journal::append(&journal, job(id.clone())).expect("the journal runs")
                    })
                    .collect();
                for synced in pending {
                    let (job, durable) = synced.recv().expect("answered");
                    durable.expect("journaled");
                    workers.send(job).expect("drained");
                }
            })
        });
        drop(workers);
        drain.join().expect("the drain ends");
    });
    g.finish();
    app.shutdown();
    let _ = app.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, journal_vs_none);
criterion_main!(benches);
